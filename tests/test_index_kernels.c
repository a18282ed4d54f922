/*
 * test_index_kernels.c - each ISA variant of the index's distance kernels against
 * the scalar reference at awkward sizes (1, 7, 8, 9, 383, 384, 385), with
 * integer-valued inputs so that sums are exact and equality is required; fp16
 * conversion against hand-computed IEEE binary16 values; CRC32C against the
 * published check value ("123456789" -> 0xE3069283, RFC 3720).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "index/index.h"

static int small_int(unsigned *s) { /* integers in [-8, 8] */
    *s = *s * 1103515245u + 12345u;
    return (int)((*s >> 16) % 17) - 8;
}

static void test_variant(const dist_kernels *k) {
    const dist_kernels *r = dist_ref();
    static const int sizes[] = {1, 7, 8, 9, 383, 384, 385};
    unsigned s = 7;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        int d = sizes[si];
        float *a = malloc(sizeof(float) * d * 5), *b = malloc(sizeof(float) * d * 7);
        uint16_t *h = malloc(2 * d);
        int8_t *c = malloc(d);
        for (int i = 0; i < d * 5; i++) a[i] = (float)small_int(&s);
        for (int i = 0; i < d * 7; i++) b[i] = (float)small_int(&s);
        for (int i = 0; i < d; i++) h[i] = f32_to_f16(b[i]), c[i] = (int8_t)(small_int(&s) * 15);
        CHECK(k->dot_f32(a, b, d) == r->dot_f32(a, b, d), "%s dot_f32 d=%d: %g vs %g", k->name, d,
              k->dot_f32(a, b, d), r->dot_f32(a, b, d));
        CHECK(k->dot_f16(a, h, d) == r->dot_f16(a, h, d), "%s dot_f16 d=%d", k->name, d);
        CHECK(k->dot_i8(a, c, d) == r->dot_i8(a, c, d), "%s dot_i8 d=%d", k->name, d);
        /* 5 x 7 block: exercises the full tiles and both edges */
        float o1[5 * 8], o2[5 * 8];
        for (int nq = 1; nq <= 5; nq += 4)
            for (int nx = 1; nx <= 7; nx += 3) {
                memset(o1, 0, sizeof o1), memset(o2, 0, sizeof o2);
                k->dot_block(a, nq, d, b, nx, d, d, o1, 8);
                r->dot_block(a, nq, d, b, nx, d, d, o2, 8);
                CHECK(!memcmp(o1, o2, sizeof o1), "%s dot_block %dx%d d=%d", k->name, nq, nx, d);
            }
        /* ADC: m sub-quantisers, n codes, tables of small integers */
        int m = d < 64 ? d : 48, n = d;
        float *tab = malloc(sizeof(float) * m * 256), *e1 = malloc(sizeof(float) * n), *e2 = malloc(sizeof(float) * n);
        uint8_t *codes = malloc((size_t)n * m);
        for (int i = 0; i < m * 256; i++) tab[i] = (float)small_int(&s);
        for (int i = 0; i < n * m; i++) codes[i] = (uint8_t)(s = s * 1103515245u + 12345u, s >> 24);
        k->adc(tab, codes, n, m, e1);
        r->adc(tab, codes, n, m, e2);
        CHECK(!memcmp(e1, e2, sizeof(float) * n), "%s adc n=%d m=%d", k->name, n, m);
        CHECK(k->crc32c(0, codes, (size_t)n * m) == r->crc32c(0, codes, (size_t)n * m), "%s crc32c %d", k->name, n * m);
        free(tab), free(e1), free(e2), free(codes);
        free(a), free(b), free(h), free(c);
    }
    CHECK(k->crc32c(0, "123456789", 9) == 0xE3069283u, "%s crc32c check value %08x", k->name,
          k->crc32c(0, "123456789", 9));
}

int main(void) {
    test_variant(dist_ref());
    const dist_kernels *v[3] = {dist_avx2(), dist_avx512(), dist_neon()};
    const wn_cpu_features *cf = wn_cpu_get();
    int have[3] = {cf->avx2 && cf->fma && cf->f16c, cf->avx512f && cf->avx512bw && cf->avx512vl,
                   wn_cpu_isa() == WN_ISA_NEON};
    for (int i = 0; i < 3; i++) {
        if (v[i] && have[i]) test_variant(v[i]);
        else fprintf(stderr, "variant %d not tested: not compiled or not supported by this CPU\n", i);
    }
    /* binary16 by hand: 1 = 0x3C00, 65504 = 0x7BFF (max), 1/3 -> 0x3555, 2^-24 = 0x0001
     * (smallest subnormal), 65520 rounds to inf 0x7C00, -2 = 0xC000, 1+2^-11 ties to even 0x3C00 */
    CHECK(f32_to_f16(1.0f) == 0x3C00, "1.0");
    CHECK(f32_to_f16(65504.0f) == 0x7BFF, "65504");
    CHECK(f32_to_f16(1.0f / 3) == 0x3555, "1/3 -> %04x", f32_to_f16(1.0f / 3));
    CHECK(f32_to_f16(ldexpf(1, -24)) == 0x0001, "2^-24");
    CHECK(f32_to_f16(65520.0f) == 0x7C00, "65520");
    CHECK(f32_to_f16(-2.0f) == 0xC000, "-2");
    CHECK(f32_to_f16(1.0f + ldexpf(1, -11)) == 0x3C00, "tie to even");
    CHECK(f32_to_f16(1.0f + 3 * ldexpf(1, -11)) == 0x3C02, "tie to even up");
    CHECK(f16_to_f32(0x3555) == 0.333251953125f, "0x3555 -> %.12g", f16_to_f32(0x3555));
    CHECK(f16_to_f32(0x0001) == ldexpf(1, -24), "subnormal");
    for (unsigned h = 0; h < 0x7C00; h++) CHECK(f32_to_f16(f16_to_f32((uint16_t)h)) == h, "round trip %04x", h);
    return check_done();
}
