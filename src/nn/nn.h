/*
 * nn.h - floor 1: the kernels a BERT forward pass needs, behind run-time dispatch.
 *
 * Dimensions: M rows (batch*tokens), K inputs, N outputs, H hidden, T tokens,
 * NH heads, HD head size. Matrices are row-major float32 unless stated.
 *
 * Every kernel has a scalar reference in ops_ref.c (always compiled, the oracle in
 * tests); ISA variants live in ops_avx2.c / ops_avx512.c and are chosen once by
 * nn_kernels() from wn_cpu_isa(). Kernels take (ith, nth) work splits through the
 * pool helpers so results never depend on the number of threads.
 */
#ifndef WN_NN_H
#define WN_NN_H

#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"

typedef enum { NN_F32 = 0, NN_F16 = 1, NN_BF16 = 2 } nn_dtype;
typedef enum { NN_PREC_FP32 = 0, NN_PREC_BF16 = 1, NN_PREC_INT8 = 2 } nn_precision;
typedef enum { NN_ACT_NONE = 0, NN_ACT_GELU = 1, NN_ACT_TANH = 2 } nn_act;

float nn_f16_to_f32(uint16_t h);
float nn_bf16_to_f32(uint16_t h);
uint16_t nn_f32_to_bf16(float f); /* round to nearest even */
uint16_t nn_f32_to_f16(float f);  /* round to nearest even */
/* Converts n stored values of type dt to float32. */
void nn_to_f32(nn_dtype dt, const void *src, float *dst, size_t n);

/* A linear layer's weight W (N, K) in PyTorch's (out, in) layout, prepared once at
 * load for the chosen precision (packed, converted or quantised as the ISA likes).
 * The struct owns what it allocates; nn_weight_free releases it. */
struct nn_kernels_s;
typedef struct {
    int N, K;
    nn_precision prec;
    const float *w;   /* (N, K) float32 view, may point into a mapped file; NULL once
                         packed (kernels with a pack step read only packed: the caller's
                         data is then free to go, and no f32 copy is kept) */
    void *owned;      /* storage this struct allocated (converted or packed) */
    void *packed;     /* ISA-specific layout, or NULL */
    float *scales;    /* int8: per output channel */
    int32_t *colsum;  /* int8: per output channel sum of the quantised weights */
    const struct nn_kernels_s *k; /* the kernels that packed it (they run it) */
} nn_weight;

/* data: N*K values of type dt. Returns WN_ERR_NOMEM on failure. Packs for nn_kernels(). */
wn_status nn_weight_init(nn_weight *w, const void *data, nn_dtype dt, int N, int K, nn_precision prec);
/* int8 weights for the u8 x s8 4-byte dot products (vpmaddubsw+vpmaddwd, vpdpbusd):
 * per output channel, symmetric in [-qmax, qmax] with its scale and the sum of its
 * codes; panels of nr channels, K padded to 4; in a panel, k-quad g holds channel i's
 * 4 bytes (k = 4g..4g+3) at 4i. Sets w->packed, scales, colsum. */
wn_status nn_pack_int8_quads(nn_weight *w, int nr, int qmax);
/* The same with K padded to a multiple of kmul (a multiple of 4; zero codes past K). */
wn_status nn_pack_int8_quads_k(nn_weight *w, int nr, int qmax, int kmul);
/* The same, packed for the given kernel table (tests compare ISA variants). */
wn_status nn_weight_init_for(const struct nn_kernels_s *k, nn_weight *w, const void *data, nn_dtype dt, int N,
                             int K, nn_precision prec);
void nn_weight_free(nn_weight *w);

/* out (M, N) = act(x (M, K) . W^T + bias (N)); bias may be NULL. */
void nn_linear(wn_pool *pool, const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out);

/* out (M, H) = LayerNorm(x + res) * gamma + beta; res may be NULL; out may alias x. */
void nn_add_layernorm(wn_pool *pool, const float *x, const float *res, int M, int H, const float *gamma,
                      const float *beta, float eps, float *out);

/* Multi-head self-attention for one batch of B sequences padded to T tokens.
 * qkv: (B*T, 3*H) with q, k, v side by side per row (H = NH*HD);
 * len[b]: number of real tokens of sequence b (keys past it are masked out);
 * out: (B*T, H) context; rows of padding positions are left finite but unspecified.
 * scratch: at least nn_attention_scratch(T, nth) floats. */
size_t nn_attention_scratch(int T, int nth);
void nn_attention(wn_pool *pool, const float *qkv, int B, int T, int NH, int HD, const int *len, float *out,
                  float *scratch);

/* MPNet: nn_attention with a relative position bias added to each score before
 * the softmax: score(i, j) of head h += rel[h * (2T - 1) + (T - 1) + j - i].
 * rel: (NH, 2T - 1) floats. */
void nn_attention_rel(wn_pool *pool, const float *qkv, int B, int T, int NH, int HD, const int *len, const float *rel,
                      float *out, float *scratch);

/* The attention kernels pack one head's keys (HD x T) in the scratch: heads up to this size;
 * and keep the probabilities of up to NN_ATTN_ROWS query rows at once. */
#define NN_ATTN_MAX_HD 64
#define NN_ATTN_ROWS 6
/* the most query rows any ISA's attention keeps at once (AVX-512: 14), and the
 * rounding of the key count it packs (16) */
#define NN_ATTN_ROWS_MAX 16
#define NN_ATTN_KPAD 16

/* ---- the dispatch table: the reference ops and each ISA's replacements */
typedef struct nn_kernels_s {
    const char *name;
    /* Prepares w->packed (and scales) for w->prec from w->w; NULL: uses w->w as is. */
    wn_status (*pack)(nn_weight *w);
    /* The part ith of nth of out = act(x . W^T + b); each kernel picks its own
     * static split, and every output element is computed the same whatever nth. */
    void (*linear)(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out, int ith,
                   int nth);
    void (*add_layernorm_rows)(const float *x, const float *res, int m0, int m1, int H, const float *gamma,
                               const float *beta, float eps, float *out);
    /* One (sequence, head): rows of out for queries [0, T) of that head; keys [0, L).
     * base: the sequence's first qkv row; out: its first out row; scratch: nn_attention_scratch(T, 1) floats. */
    void (*attention_head)(const float *base, int T, int L, int H, int h, int HD, float *out, float *scratch);
    /* The same with this head's relative bias rel (2T - 1): score(i, j) += rel[T - 1 + j - i].
     * NULL: nn_attention_rel runs the reference. */
    void (*attention_head_rel)(const float *base, int T, int L, int H, int h, int HD, const float *rel, float *out,
                               float *scratch);
    /* what the kernels' rounding is (the tests' oracle mimics it): bf16_x: the bf16
     * precision rounds activations to bf16 too (else only weights); q_wmax: int8
     * weights are quantised to [-q_wmax, q_wmax] per output channel. */
    int bf16_x, q_wmax;
    const char *desc; /* what runs, for --version and the benchmarks */
    /* the bf16 precision as fp16 products (AVX512-FP16) summed in fp16 over blocks of
     * ph_kb values of k, then in fp32, with power-of-two scales per row and channel
     * (ops_avx512.c); 0: not this way */
    int ph_kb;
} nn_kernels_t;

const nn_kernels_t *nn_kernels(void);        /* chosen for this CPU (WN_FORCE_ISA / WN_FORCE_SCALAR obeyed) */
const nn_kernels_t *nn_kernels_ref(void);    /* the scalar oracle */
/* One line naming the kernels nn_kernels() runs per precision (e.g. for --version). */
const char *nn_kernels_describe(void);
/* A given ISA's kernels, or NULL if not compiled in or this CPU lacks it. */
const nn_kernels_t *nn_kernels_isa(wn_isa isa);
const nn_kernels_t *nn_kernels_avx2(void);   /* ops_avx2.c */
const nn_kernels_t *nn_kernels_neon(void);    /* ops_neon.c (+ ops_neon_dot.c): aarch64; NULL elsewhere */
const nn_kernels_t *nn_kernels_avxvnni(void); /* ops_avxvnni.c: avx2 with AVX-VNNI int8; NULL without it */
const nn_kernels_t *nn_kernels_avx512(void); /* ops_avx512.c */
/* the same with bf16 through vdpbf16ps (activations rounded to bf16), NULL without AVX512_BF16 */
const nn_kernels_t *nn_kernels_avx512_dpbf16(void);
/* the same with bf16 as fp16 products (vfmadd231ph), NULL without AVX512-FP16 */
const nn_kernels_t *nn_kernels_avx512_ph(void);
/* the AVX-512 table whose bf16 is fastest here (once measured; see ops_avx512.c):
 * vdpbf16ps where it is fast, else fp16 products, else bf16 weights on fp32 FMA */
const nn_kernels_t *nn_kernels_avx512_best(void);
/* ops_avx512.c compiled against SIMDe's emulation (AVX2 suffices): only in the
 * test binary that checks the AVX-512 logic on any x86-64 (tests/test_nn_simde.c) */
const nn_kernels_t *nn_kernels_avx512_simde(void);
const nn_kernels_t *nn_kernels_avx512_dpbf16_simde(void);
const nn_kernels_t *nn_kernels_avx512_ph_simde(void);
/* ops_amx.c: the AVX-512 table with its bf16 and int8 GEMMs on AMX tiles
 * (tdpbf16ps, tdpbusd); NULL where the CPU, the OS or the kernel's permission
 * lacks AMX (wn_cpu_features.amx_*). nn_kernels_isa(WN_ISA_AVX512) returns it
 * where it exists. The _emu variant: ops_amx.c compiled against the scalar tile
 * emulation (src/nn/amx_emu.h), only in tests/test_nn_amx.c; needs AVX-512. */
const nn_kernels_t *nn_kernels_amx(void);
const nn_kernels_t *nn_kernels_amx_emu(void);

/* reference implementations (ops_ref.c) */
void nn_linear_rows_ref(const float *x, int m0, int m1, const nn_weight *w, const float *bias, nn_act act,
                        float *out);
void nn_add_layernorm_rows_ref(const float *x, const float *res, int m0, int m1, int H, const float *gamma,
                               const float *beta, float eps, float *out);
void nn_linear_ref(const float *x, int M, const nn_weight *w, const float *bias, nn_act act, float *out, int ith,
                   int nth);
void nn_attention_head_ref(const float *base, int T, int L, int H, int h, int HD, float *out, float *scratch);
void nn_attention_head_rel_ref(const float *base, int T, int L, int H, int h, int HD, const float *rel, float *out,
                               float *scratch);
float nn_gelu_ref(float x); /* 0.5 x (1 + erf(x / sqrt 2)), HF's "gelu" */

#endif
