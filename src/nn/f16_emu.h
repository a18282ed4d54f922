/*
 * f16_emu.h - a scalar model of AVX512-FP16's fused multiply-add on binary16
 * (vfmadd231ph: c + a * b rounded once, to nearest even, with subnormals), for
 * the SIMDe build of ops_avx512.c (CPUs without AVX512-FP16 test the fp16 GEMM
 * through it) and for the oracle of tests/test_nn.c. On a CPU with AVX512-FP16,
 * test_nn checks the native kernel against that oracle bit for bit, which checks
 * this model against the hardware.
 *
 * Exact: a * b of two binary16 values is exact in double (22 significant bits);
 * the sum with c is a double s plus its rounding error e (Knuth's TwoSum), and
 * s + e rounds to binary16 as s does, except where s falls exactly halfway
 * between two binary16 values: e (if not 0) then says which side the exact sum
 * is on (binary16's halfway points are doubles, so the exact sum cannot cross one).
 */
#ifndef WN_F16_EMU_H
#define WN_F16_EMU_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn.h"

static inline double f16e_pow2(int e) { /* 2^e, e in [-1022, 1023] */
    uint64_t b = (uint64_t)(e + 1023) << 52;
    double d;
    memcpy(&d, &b, 8);
    return d;
}

/* the binary16 bits of v, a value binary16 holds exactly (or 2^16 and beyond:
 * infinity; NaN) */
static inline uint16_t f16e_bits(double v) {
    if (fabs(v) >= 65536.0) return (uint16_t)(v < 0 ? 0xfc00 : 0x7c00);
    return nn_f32_to_f16((float)v);
}

/* s + e rounded to binary16, nearest even; e: the part of the value s could not
 * hold (|e| <= half an ulp of s), or 0 */
static inline uint16_t f16e_round(double s, double e) {
    if (!(fabs(s) < 65536.0)) return f16e_bits(s);
    uint64_t b;
    memcpy(&b, &s, 8);
    int E = (int)((b >> 52) & 0x7ff) - 1023; /* s in [2^E, 2^(E+1)) */
    int sp = E < -14 ? -24 : E - 10;          /* binary16's spacing there: 2^sp */
    double qs = s * f16e_pow2(-sp);           /* exact; |qs| < 2^11 */
    double q = (qs + 0x1.8p52) - 0x1.8p52;    /* the nearest integer, ties to even */
    if (e != 0 && qs - floor(qs) == 0.5) q = e > 0 ? ceil(qs) : floor(qs);
    return f16e_bits(copysign(q * f16e_pow2(sp), s)); /* >= 65520 rounded to 2^16: infinity */
}

/* x rounded to binary16 (nearest even) */
static inline uint16_t f16e_from_double(double x) { return f16e_round(x, 0); }

/* c + a * b, rounded once to binary16 */
static inline uint16_t f16e_fma(uint16_t a, uint16_t b, uint16_t c) {
    double p = (double)nn_f16_to_f32(a) * nn_f16_to_f32(b), dc = nn_f16_to_f32(c);
    double s = p + dc, bb = s - p, e = (p - (s - bb)) + (dc - bb);
    return f16e_round(s, isfinite(s) ? e : 0);
}
#endif
