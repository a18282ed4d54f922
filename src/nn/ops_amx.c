/*
 * ops_amx.c - the AVX-512 kernels (ops_avx512.c, compiled again here) with the
 * bf16 and int8 GEMMs on AMX tiles (Intel Sapphire Rapids and later): tdpbf16ps
 * (bf16 pairs, fp32 accumulation) and tdpbusd (u8 x s8 quads, int32). fp32,
 * LayerNorm and attention are ops_avx512.c's code.
 *
 * Tiles (palette 1: 8 tiles of 16 rows x 64 bytes; one configuration for both
 * precisions): tmm0-3 the 2 x 2 accumulators of a 32 x 32 block of out (fp32 or
 * int32), tmm4-5 two A tiles (rows 0-15 and 16-31 of the block, 64 bytes of k:
 * 32 bf16 or 64 u8), tmm6-7 two B tiles (16 pairs / quads of k for output
 * channels 0-15 and 16-31 of the panel). Per K step: 2 A + 2 B loads, 4 tile
 * products; blocks with at most 16 real rows use one A tile and two products.
 *  - W is packed at load in ops_avx512.c's panels of 32 channels: per pair (bf16)
 *    or quad (int8) of k, 128 bytes, channel i's 2 bf16 or 4 bytes at 4i: rows of
 *    the two B tiles with a stride of 128 bytes, exactly the layout the tiles want
 *    ("VNNI" layout). K is padded with zero weights to the 64-byte K step (32 bf16,
 *    64 int8). int8 uses nn_pack_int8_quads_k: the AVX-512 VNNI path's quantisation.
 *  - Activations: a chunk of rows is converted once (bf16_row / quant_row of
 *    ops_avx512.c: bf16 round to nearest even; u8 with a zero point), row-major,
 *    which is what the A tiles read (stride = the converted row), rows padded with
 *    zeros to a multiple of 32.
 *  - Epilogue over the stored accumulators (32 x 32 on the stack), as the AVX-512
 *    micro-kernels: bf16 c + bias; int8 (acc - z colsum) * (sa sw) + bias; then
 *    the activation; masked stores for the last panel's columns. The int32 sums of
 *    tdpbusd equal vpdpbusd's exactly, and the epilogue is the same code, so int8
 *    results equal the AVX-512 VNNI kernels' bit for bit (tests/test_nn_amx.c).
 * The tile configuration is per thread: each call of linear loads it and releases
 * the tiles at the end. Work splits are static (as linear_q): results are
 * bit-identical for any thread count.
 *
 * Built natively with -mamx-tile -mamx-bf16 -mamx-int8 and the AVX-512 flags, and
 * (WN_AMX_EMU) against src/nn/amx_emu.h, the scalar tile emulation, as
 * nn_kernels_amx_emu(), so CPUs without AMX test this same source
 * (tests/test_nn_amx.c; the AVX-512 parts stay native, so that needs AVX-512).
 */
#define WN_AMX
#include "ops_avx512.c"

#ifdef WN_AMX_EMU
#include "amx_emu.h"
#define AMX_KNAME "amx-emu"
#define nn_kernels_amx nn_kernels_amx_emu
#define HAVE_AMX() 1
#else
#define AMX_KNAME "amx"
#define HAVE_AMX() (wn_cpu_get()->amx_tile && wn_cpu_get()->amx_bf16 && wn_cpu_get()->amx_int8)
#endif

#define AMX_MB 32                   /* rows per block: 2 A tiles */
#define AMX_KB 64                   /* bytes of k per K step: 32 bf16 or 64 u8 */
#define AMX_ROWS 96                 /* rows per converted chunk, at most */
#define AMX_A_BYTES (AMX_MB * 8192) /* the converted rows, on the stack: 32 rows of K <= 4096 bf16 / 8192 int8 */
#define AMX_BSTRIDE (NR * 4)        /* bytes per pair / quad row of a panel: 128 */

static const nn_kernels_t amx_kernels;

/* the palette-1 configuration: all 8 tiles 16 rows x 64 bytes. A constant: GCC 12's
 * _tile_loadconfig tells the compiler it reads 8 bytes of it, so stores to a local
 * config's other bytes could be dropped as dead. */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_cfg;
_Static_assert(sizeof(amx_cfg) == 64, "the tile configuration is 64 bytes");
static const _Alignas(64) amx_cfg amx_cfg_all = {
    1, 0, {0}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16},
};

/* GCC 12's _tile_loadd is an asm that does not say it reads memory: this barrier
 * makes the converted rows reach memory before the tiles load them (clang's
 * intrinsics are builtins the compiler understands; a no-op cost either way). */
#define AMX_MEMORY_BARRIER() __asm__ volatile("" ::: "memory")

/* K padded to the K step: elements of 2 (bf16) or 1 (int8) bytes */
static int amx_kp(int K, int i8) { return kpad(K, i8 ? AMX_KB : AMX_KB / 2); }

/* ---- packing: fp32 as ops_avx512.c; bf16 pairs / int8 quads in panels of 32,
 * K padded to the K step. Weights whose 32 converted rows would not fit the
 * stack buffer (K > 4096 bf16 / 8192 int8) go to the AVX-512 kernels. */
static wn_status pack_amx(nn_weight *w) {
    if (w->prec == NN_PREC_FP32) return pack_avx512(w);
    const int i8 = w->prec == NN_PREC_INT8;
    const int N = w->N, K = w->K, P = (N + NR - 1) / NR, Kp = amx_kp(K, i8);
    if ((size_t)Kp * (i8 ? 1 : 2) * AMX_MB > AMX_A_BYTES) {
        const nn_kernels_t *k5 = i8 ? NULL : nn_kernels_avx512_dpbf16(); /* bf16 activations there too */
        w->k = k5 ? k5 : nn_kernels_avx512();
        return w->k->pack(w);
    }
    if (i8) return nn_pack_int8_quads_k(w, NR, Q_WMAX, AMX_KB);
    return pack_bf16_pairs(w, P, Kp);
}

/* One 32-row block (mr of them real) against one panel over all of K:
 * a: the block's converted rows (stride rb bytes), b: the panel, cb: 32 x 32
 * accumulators out (stride 128 bytes). */
static void amx_block(int i8, int nks, const unsigned char *a, size_t rb, const unsigned char *b, int mr, void *cb) {
    const int two = mr > 16;
    _tile_zero(0);
    _tile_zero(1);
    if (two) {
        _tile_zero(2);
        _tile_zero(3);
    }
    for (int s = 0; s < nks; s++) {
        const unsigned char *as = a + (size_t)s * AMX_KB, *bs = b + (size_t)s * 16 * AMX_BSTRIDE;
        _tile_loadd(4, as, rb);
        _tile_loadd(6, bs, AMX_BSTRIDE);
        _tile_loadd(7, bs + 64, AMX_BSTRIDE);
        if (two) _tile_loadd(5, as + 16 * rb, rb);
        if (i8) {
            _tile_dpbusd(0, 4, 6);
            _tile_dpbusd(1, 4, 7);
            if (two) {
                _tile_dpbusd(2, 5, 6);
                _tile_dpbusd(3, 5, 7);
            }
        } else {
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            if (two) {
                _tile_dpbf16ps(2, 5, 6);
                _tile_dpbf16ps(3, 5, 7);
            }
        }
    }
    unsigned char *c = cb;
    _tile_stored(0, c, 128);
    _tile_stored(1, c + 64, 128);
    if (two) {
        _tile_stored(2, c + 16 * 128, 128);
        _tile_stored(3, c + 16 * 128 + 64, 128);
    }
}

/* out rows [0, mr) x columns [0, nc) of the panel (ldc = N) from the accumulators */
static void amx_epilogue(int i8, const void *cb, int mr, int nc, const float *sa, const int32_t *za, const float *sw,
                         const int32_t *cs, const float *bias, nn_act act, float *c, size_t ldc) {
    const __mmask16 m0 = lanes16(nc), m1 = lanes16(nc - 16);
    __m512 bb0 = _mm512_setzero_ps(), bb1 = _mm512_setzero_ps();
    if (bias) {
        bb0 = _mm512_maskz_loadu_ps(m0, bias);
        bb1 = _mm512_maskz_loadu_ps(m1, bias + 16);
    }
    if (i8) {
        const int32_t *acc = cb;
        __m512 s0 = _mm512_maskz_loadu_ps(m0, sw), s1 = _mm512_maskz_loadu_ps(m1, sw + 16);
        __m512i cs0 = _mm512_maskz_loadu_epi32(m0, cs), cs1 = _mm512_maskz_loadu_epi32(m1, cs + 16);
        for (int r = 0; r < mr; r++) { /* as ukernel_i8's IEPI */
            __m512i z = _mm512_set1_epi32(za[r]);
            __m512 sr = _mm512_set1_ps(sa[r]);
            __m512i i0 = _mm512_load_si512((const void *)(acc + r * 32));
            __m512i i1 = _mm512_load_si512((const void *)(acc + r * 32 + 16));
            __m512 f0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(i0, _mm512_mullo_epi32(z, cs0)));
            __m512 f1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(i1, _mm512_mullo_epi32(z, cs1)));
            f0 = act512(act, _mm512_fmadd_ps(f0, _mm512_mul_ps(sr, s0), bb0));
            f1 = act512(act, _mm512_fmadd_ps(f1, _mm512_mul_ps(sr, s1), bb1));
            _mm512_mask_storeu_ps(c + r * ldc, m0, f0);
            _mm512_mask_storeu_ps(c + r * ldc + 16, m1, f1);
        }
    } else {
        const float *acc = cb;
        for (int r = 0; r < mr; r++) {
            __m512 f0 = act512(act, _mm512_add_ps(_mm512_load_ps(acc + r * 32), bb0));
            __m512 f1 = act512(act, _mm512_add_ps(_mm512_load_ps(acc + r * 32 + 16), bb1));
            _mm512_mask_storeu_ps(c + r * ldc, m0, f0);
            _mm512_mask_storeu_ps(c + r * ldc + 16, m1, f1);
        }
    }
}

/* ---- the driver: tiles of (row chunk x panels) as linear_q; a chunk of up to
 * 96 rows is converted once, then runs against its panels in blocks of 32 rows
 * (the panel's weights, K x 64 bytes, stay in cache for the chunk's blocks). */
static void linear_amx(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out, int ith,
                       int nth) {
    const int i8 = w->prec == NN_PREC_INT8;
    const int N = w->N, K = w->K, P = (N + NR - 1) / NR, Kp = amx_kp(K, i8), nks = Kp * (i8 ? 1 : 2) / AMX_KB;
    const size_t rb = (size_t)Kp * (i8 ? 1 : 2); /* bytes per converted row, a multiple of 64 */
    int rows = (int)(AMX_A_BYTES / rb) / AMX_MB * AMX_MB; /* >= 32: pack_amx saw to it */
    rows = WN_MIN(rows, AMX_ROWS);
    _Alignas(64) unsigned char aq[AMX_A_BYTES];
    _Alignas(64) int32_t cb[AMX_MB * NR]; /* the accumulators of a block, fp32 or int32 */
    float sa[AMX_ROWS];
    int32_t za[AMX_ROWS];
    const int nmt = (M + rows - 1) / rows;
    const int tp = nmt >= 4 * nth                                                 ? P
                   : (long)nmt * ((P + TILE_PANELS - 1) / TILE_PANELS) >= 4L * nth ? TILE_PANELS
                                                                                   : 1;
    const int nnt = (P + tp - 1) / tp;
    const long ntiles = (long)nmt * nnt;
    const long t0 = ntiles * ith / nth, t1 = ntiles * (ith + 1) / nth;
    if (t0 >= t1) return;
    _tile_loadconfig(&amx_cfg_all);
    int have = -1; /* the row chunk converted in aq */
    for (long t = t0; t < t1; t++) {
        int mt = (int)(t / nnt), m0 = mt * rows, m1 = WN_MIN(M, m0 + rows);
        int p0 = (int)(t % nnt) * tp, p1 = WN_MIN(P, p0 + tp);
        int mpad = (m1 - m0 + AMX_MB - 1) / AMX_MB * AMX_MB; /* rows the A tiles read */
        if (have != mt) {
            for (int m = m0; m < m1; m++) {
                unsigned char *row = aq + (size_t)(m - m0) * rb;
                if (i8) quant_row(x + (size_t)m * K, K, Kp, (uint32_t *)(void *)row, 1, &sa[m - m0], &za[m - m0]);
                else bf16_row(x + (size_t)m * K, K, Kp, (uint32_t *)(void *)row, 1);
            }
            memset(aq + (size_t)(m1 - m0) * rb, 0, (size_t)(mpad - (m1 - m0)) * rb);
            AMX_MEMORY_BARRIER();
            have = mt;
        }
        for (int p = p0; p < p1; p++) {
            const int nc = WN_MIN(NR, N - p * NR);
            const float *bi = bias ? bias + p * NR : NULL;
            const unsigned char *bp = (const unsigned char *)w->packed + (size_t)p * Kp * NR * (i8 ? 1 : 2);
            for (int m = m0; m < m1; m += AMX_MB) {
                const int mr = WN_MIN(AMX_MB, m1 - m);
                amx_block(i8, nks, aq + (size_t)(m - m0) * rb, rb, bp, mr, cb);
                amx_epilogue(i8, cb, mr, nc, sa + (m - m0), za + (m - m0), i8 ? w->scales + p * NR : NULL,
                             i8 ? w->colsum + p * NR : NULL, bi, act, out + (size_t)m * N + p * NR, (size_t)N);
            }
        }
    }
    _tile_release();
}

static void linear_amx_dispatch(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out,
                                int ith, int nth) {
    if (w->k != &amx_kernels) w->k->linear(x, M, w, bias, act, out, ith, nth); /* packed by the AVX-512 kernels */
    else if (!w->packed) nn_linear_ref(x, M, w, bias, act, out, ith, nth);
    else if (w->prec == NN_PREC_FP32) linear_f32(x, M, w, bias, act, out, ith, nth);
    else linear_amx(x, M, w, bias, act, out, ith, nth);
}

static const nn_kernels_t amx_kernels = {
    AMX_KNAME, pack_amx, linear_amx_dispatch, add_layernorm_avx512, attention_head_avx512, NULL, 1, Q_WMAX,
    AMX_KNAME ": fp32 14x32 zmm FMA (avx512); bf16 AMX tdpbf16ps (bf16 activations); int8 AMX tdpbusd "
              "(8-bit weights); 32x32 blocks of 2x2 tiles",
    0,
};

const nn_kernels_t *nn_kernels_amx(void) { return HAVE_AMX() ? &amx_kernels : NULL; }
