/*
 * backward.c - the training forward pass of a BERT encoder (HF's BertModel in
 * train mode, + sentence-transformers pooling / Normalize, or
 * BertForSequenceClassification's pooler, dropout and classifier) keeping what
 * the backward needs, and the backward pass of every op. The forward's matrix
 * products run through nn_linear (src/nn), the backward's through tmm.c; the
 * rest is written out here, one function per op.
 *
 * Per layer (post-LayerNorm BERT), with drop() HF's dropout sites:
 *   qkv = x Wqkv^T + bqkv;  P = softmax(q k^T / sqrt(HD) + padding mask);
 *   ctx = drop(P) v;  h1 = LN(drop(ctx Wo^T + bo) + x);
 *   u = h1 Wi^T + bi;  x' = LN(drop(GELU(u) Wout^T + bout) + h1)
 * Kept per layer: x, qkv, P (and its dropout mask), ctx, the LayerNorms'
 * normalised inputs and 1/std, h1, u, GELU(u), the dropout masks.
 *
 * Padding: rows past a sequence's length are computed (as PyTorch does, they
 * attend to the real tokens) but receive no gradient; keys past it are masked.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the per-head axpys and element-wise loops should vectorise */
#endif
#include <math.h>
#include <string.h>

#include "model/model.h"
#include "tmm.h"
#include "train.h"

/* Dimensions: B batch, T tokens, H hidden, NH heads, HD head size, I intermediate, L layers. */

typedef struct {
    float *x;        /* (BT, H) the layer's input */
    float *qkv;      /* (BT, 3H) */
    float *p;        /* (B, NH, T, T) attention probabilities */
    uint8_t *mp;     /* (B, NH, T, T) their dropout mask, or NULL */
    float *ctx;      /* (BT, H) */
    uint8_t *m1;     /* (BT, H) attention output dropout mask */
    float *xh1, *rs1; /* (BT, H), (BT) first LayerNorm */
    float *h1;       /* (BT, H) */
    float *u, *gu;   /* (BT, I) pre-activation and GELU(u) */
    uint8_t *m2;     /* (BT, H) feed-forward output dropout mask */
    float *xh2, *rs2; /* (BT, H), (BT) second LayerNorm */
} layer_acts;

struct train_acts {
    int B, T;
    float *blk;
    size_t cap;      /* floats */
    uint8_t *mblk;
    size_t mcap;     /* bytes */
    int32_t *ids, *types;
    int *len;
    float *exh, *ers; /* (BT, H), (BT) embedding LayerNorm */
    uint8_t *em;      /* (BT, H) embedding dropout mask */
    layer_acts *ly;   /* (L) */
    int n_ly;
    float *hidden;    /* (BT, H) the last layer's output */
    float *pooled;    /* (B, dim) bi: before Normalize */
    float *cls, *z;   /* (B, H) ce: [CLS] rows and tanh(pooler) */
    uint8_t *mz;      /* (B, H) ce: dropout mask before the classifier */
    /* backward scratch */
    float *dx, *ds, *dh, *dbig, *dctx, *tr;
    float *att;       /* per thread: att_per floats */
    size_t att_per;
};

void train_acts_free(train_acts *a) {
    if (!a) return;
    wn_free_aligned(a->blk);
    wn_free(a->mblk);
    wn_free(a->ids);
    wn_free(a->types);
    wn_free(a->len);
    wn_free(a->ly);
    wn_free(a);
}

/* ---- dropout: a counter-based generator, so masks depend on (seed, site, index)
 * only, never on threads or order. keep = u >= p; kept values scale by 1/(1-p). */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void make_mask(uint8_t *mask, size_t n, float p, uint64_t seed, uint64_t site) {
    uint64_t key = mix64(seed * 0x9E3779B97F4A7C15ULL ^ mix64(site + 1));
    const double thr = p;
    for (size_t i = 0; i < n; i++) {
        double u = (double)(mix64(key + (i + 1) * 0x9E3779B97F4A7C15ULL) >> 11) * (1.0 / 9007199254740992.0);
        mask[i] = u >= thr;
    }
}

static void apply_mask(float *x, const uint8_t *mask, size_t n, float p) {
    if (!mask) return;
    const float s = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) x[i] = mask[i] ? x[i] * s : 0.0f;
}

/* ---- LayerNorm over rows of H: y = (x + res - mean) / sqrt(var + eps) * g + b
 * (res may be NULL), keeping the normalised input xh and 1/std rs. Rows split
 * between threads; the parameter gradients' column sums split by columns, each
 * summed over the rows in order: nothing depends on the thread count. */
typedef struct {
    const float *x, *res, *g, *b, *dy, *xh, *rs_in;
    float eps;
    float *xh_out, *rs, *y, *dg, *db, *dx;
    int M, H;
} ln_task;

static void ln_fwd_run(void *arg, int ith, int nth) {
    const ln_task *t = arg;
    const int H = t->H, m0 = (int)((int64_t)t->M * ith / nth), m1 = (int)((int64_t)t->M * (ith + 1) / nth);
    for (int m = m0; m < m1; m++) {
        const float *r = t->x + (size_t)m * H, *q = t->res ? t->res + (size_t)m * H : NULL;
        double s = 0, ss = 0;
        for (int j = 0; j < H; j++) s += q ? r[j] + q[j] : r[j];
        double mean = s / H;
        for (int j = 0; j < H; j++) {
            double v = (q ? r[j] + q[j] : r[j]) - mean;
            ss += v * v;
        }
        float rstd = (float)(1.0 / sqrt(ss / H + t->eps));
        t->rs[m] = rstd;
        float *o = t->xh_out + (size_t)m * H, *yo = t->y + (size_t)m * H;
        for (int j = 0; j < H; j++) {
            o[j] = (float)(((q ? r[j] + q[j] : r[j]) - mean) * rstd);
            yo[j] = o[j] * t->g[j] + t->b[j];
        }
    }
}

static void ln_forward(wn_pool *pool, const float *x, const float *res, int M, int H, const float *g, const float *b,
                       float eps, float *xh, float *rs, float *y) {
    ln_task t = {x, res, g, b, NULL, NULL, NULL, eps, xh, rs, y, NULL, NULL, NULL, M, H};
    wn_pool_run(pool, ln_fwd_run, &t);
}

static void ln_bwd_run(void *arg, int ith, int nth) {
    const ln_task *t = arg;
    const int H = t->H, m0 = (int)((int64_t)t->M * ith / nth), m1 = (int)((int64_t)t->M * (ith + 1) / nth);
    for (int m = m0; m < m1; m++) {
        const float *d = t->dy + (size_t)m * H, *h = t->xh + (size_t)m * H;
        float *o = t->dx + (size_t)m * H;
        double a = 0, c = 0;
        for (int j = 0; j < H; j++) {
            float dh = d[j] * t->g[j];
            a += dh;
            c += (double)dh * h[j];
        }
        a /= H, c /= H;
        for (int j = 0; j < H; j++) o[j] = t->rs_in[m] * (float)(d[j] * t->g[j] - a - h[j] * c);
    }
}

static void ln_param_run(void *arg, int ith, int nth) {
    const ln_task *t = arg;
    const int H = t->H, j0 = H * ith / nth, j1 = H * (ith + 1) / nth;
    for (int m = 0; m < t->M; m++) {
        const float *d = t->dy + (size_t)m * H, *h = t->xh + (size_t)m * H;
        for (int j = j0; j < j1; j++) {
            t->dg[j] += d[j] * h[j];
            t->db[j] += d[j];
        }
    }
}

/* dx (M, H) from dy; dg, db (H) accumulate the parameter gradients. */
static void ln_backward(wn_pool *pool, const float *dy, const float *xh, const float *rs, int M, int H, const float *g,
                        float *dg, float *db, float *dx) {
    ln_task t = {NULL, NULL, g, NULL, dy, xh, rs, 0, NULL, NULL, NULL, dg, db, dx, M, H};
    wn_pool_run(pool, ln_bwd_run, &t);
    wn_pool_run(pool, ln_param_run, &t);
}

/* ---- GELU (the erf form) forward, and its derivative applied to a gradient, element-wise */
static float gelu_grad(float u) {
    return 0.5f * (1.0f + erff(u * 0.70710678118654752f)) + u * expf(-0.5f * u * u) * 0.39894228040143268f;
}

typedef struct {
    const float *u;
    float *v;
    size_t n;
    int grad;
} gelu_task;

static void gelu_run(void *arg, int ith, int nth) {
    const gelu_task *t = arg;
    size_t a = t->n * (size_t)ith / (size_t)nth, b = t->n * (size_t)(ith + 1) / (size_t)nth;
    if (t->grad)
        for (size_t i = a; i < b; i++) t->v[i] *= gelu_grad(t->u[i]);
    else
        for (size_t i = a; i < b; i++) t->v[i] = nn_gelu_ref(t->u[i]);
}

static void gelu_par(wn_pool *pool, const float *u, float *v, size_t n, int grad) {
    gelu_task t = {u, v, n, grad};
    wn_pool_run(pool, gelu_run, &t);
}

/* ---- attention, one (sequence, head) per task. The per-head products are
 * written as axpys over a contiguous dimension (keys and values packed
 * transposed, HD x T, in the thread's scratch) so they vectorise; each sum
 * still runs over d (or j) in order. */
typedef struct {
    const train_acts *a;
    const layer_acts *la;
    int T, H, NH, HD;
    float p_attn;
    const float *dctx; /* backward: (BT, H) */
    float *dqkv;       /* backward: (BT, 3H) */
} att_task;

static inline void axpy(int n, float a, const float *restrict x, float *restrict y) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/* dst (HD, T) = the head's columns of rows [0, L) of part (0 q, 1 k, 2 v) of qkv, transposed */
static void pack_t(const float *base, int L, int T, int H, int h, int HD, int part, float *restrict dst) {
    for (int j = 0; j < L; j++) {
        const float *r = base + (size_t)j * 3 * H + part * H + h * HD;
        for (int d = 0; d < HD; d++) dst[(size_t)d * T + j] = r[d];
    }
}

static void att_fwd(void *arg, int ith, int nth) {
    const att_task *t = arg;
    const int T = t->T, H = t->H, NH = t->NH, HD = t->HD, B = t->a->B;
    const float scale = 1.0f / sqrtf((float)HD), ps = 1.0f / (1.0f - t->p_attn);
    float *kt = t->a->att + (size_t)ith * t->a->att_per;
    for (int job = ith; job < B * NH; job += nth) {
        const int b = job / NH, h = job % NH, L = t->a->len[b];
        const float *base = t->la->qkv + (size_t)b * T * 3 * H;
        float *P = t->la->p + (size_t)job * T * T;
        const uint8_t *mk = t->la->mp ? t->la->mp + (size_t)job * T * T : NULL;
        pack_t(base, L, T, H, h, HD, 1, kt);
        for (int i = 0; i < T; i++) {
            const float *q = base + (size_t)i * 3 * H + h * HD;
            float *pr = P + (size_t)i * T, mx = -INFINITY;
            memset(pr, 0, sizeof(float) * T);
            for (int d = 0; d < HD; d++) axpy(L, q[d], kt + (size_t)d * T, pr);
            for (int j = 0; j < L; j++) {
                pr[j] *= scale;
                mx = fmaxf(mx, pr[j]);
            }
            double sum = 0;
            for (int j = 0; j < L; j++) {
                pr[j] = expf(pr[j] - mx);
                sum += pr[j];
            }
            const float inv = (float)(1.0 / sum);
            for (int j = 0; j < L; j++) pr[j] *= inv;
            float *o = t->la->ctx + ((size_t)b * T + i) * H + h * HD;
            memset(o, 0, sizeof(float) * HD);
            for (int j = 0; j < L; j++) {
                float pj = mk ? (mk[(size_t)i * T + j] ? pr[j] * ps : 0.0f) : pr[j];
                axpy(HD, pj, base + (size_t)j * 3 * H + 2 * H + h * HD, o);
            }
        }
    }
}

/* dP = dctx v^T, dV = P^T dctx, dS = P (dP - rowsum(P dP)), dQ = dS k scale, dK = dS^T q scale.
 * Queries past the length have no gradient (their dctx rows are zero). */
static void att_bwd(void *arg, int ith, int nth) {
    const att_task *t = arg;
    const int T = t->T, H = t->H, NH = t->NH, HD = t->HD, B = t->a->B;
    const float scale = 1.0f / sqrtf((float)HD), ps = 1.0f / (1.0f - t->p_attn);
    float *vt = t->a->att + (size_t)ith * t->a->att_per, *dp = vt + (size_t)HD * T;
    for (int job = ith; job < B * NH; job += nth) {
        const int b = job / NH, h = job % NH, L = t->a->len[b];
        const float *base = t->la->qkv + (size_t)b * T * 3 * H;
        float *dbase = t->dqkv + (size_t)b * T * 3 * H;
        const float *P = t->la->p + (size_t)job * T * T;
        const uint8_t *mk = t->la->mp ? t->la->mp + (size_t)job * T * T : NULL;
        for (int i = 0; i < T; i++)
            for (int part = 0; part < 3; part++) memset(dbase + (size_t)i * 3 * H + part * H + h * HD, 0, sizeof(float) * HD);
        pack_t(base, L, T, H, h, HD, 2, vt);
        for (int i = 0; i < L; i++) {
            const float *dc = t->dctx + ((size_t)b * T + i) * H + h * HD;
            const float *pr = P + (size_t)i * T;
            const float *q = base + (size_t)i * 3 * H + h * HD;
            memset(dp, 0, sizeof(float) * L);
            for (int d = 0; d < HD; d++) axpy(L, dc[d], vt + (size_t)d * T, dp);
            double r = 0;
            for (int j = 0; j < L; j++) {
                float keep = mk ? (mk[(size_t)i * T + j] ? ps : 0.0f) : 1.0f;
                axpy(HD, pr[j] * keep, dc, dbase + (size_t)j * 3 * H + 2 * H + h * HD);
                dp[j] *= keep;
                r += (double)pr[j] * dp[j];
            }
            float *dq = dbase + (size_t)i * 3 * H + h * HD;
            for (int j = 0; j < L; j++) {
                float ds = pr[j] * (dp[j] - (float)r) * scale;
                axpy(HD, ds, base + (size_t)j * 3 * H + H + h * HD, dq);
                axpy(HD, ds, q, dbase + (size_t)j * 3 * H + H + h * HD);
            }
        }
    }
}

/* ---- the forward pass */

/* One weight (N, K) packed for the forward and, transposed into *wt, for the backward. */
static wn_status pack_one(train_model *m, int i, const float *w, int N, int K, float **wt) {
    nn_weight_free(&m->packed[i]);
    nn_weight_free(&m->packed_t[i]);
    wn_status st = nn_weight_init(&m->packed[i], w, NN_F32, N, K, NN_PREC_FP32);
    if (st) return st;
    tk_transpose(m->pool, w, N, K, *wt);
    st = nn_weight_init(&m->packed_t[i], *wt, NN_F32, K, N, NN_PREC_FP32);
    *wt += (size_t)N * K;
    return st;
}

static wn_status pack_weights(train_model *m) {
    if (m->packed_ok) return WN_OK;
    const int H = m->cfg.hidden_size, I = m->cfg.intermediate_size, L = m->cfg.num_hidden_layers;
    const int NL = m->cfg.num_labels;
    if (!m->wt) {
        size_t n = (size_t)L * (4 * (size_t)H * H + 2 * (size_t)H * I) + (size_t)H * H +
                   (size_t)WN_MAX(NL, m->cfg.vocab_size) * H;
        if (!(m->wt = wn_malloc_aligned(n * sizeof(float))))
            return wn_seterr(WN_ERR_NOMEM, "train: out of memory for the transposed weights");
    }
    float *wt = m->wt;
    wn_status st = WN_OK;
    for (int l = 0; l < L && !st; l++) {
        const train_layer *ly = &m->layer[l];
        st = pack_one(m, 4 * l, ly->qkv_w, 3 * H, H, &wt);
        if (!st) st = pack_one(m, 4 * l + 1, ly->ao_w, H, H, &wt);
        if (!st) st = pack_one(m, 4 * l + 2, ly->i_w, I, H, &wt);
        if (!st) st = pack_one(m, 4 * l + 3, ly->o_w, H, I, &wt);
    }
    if (m->kind == TRAIN_CE && !st) {
        st = pack_one(m, 4 * L, m->pool_w, H, H, &wt);
        if (!st) st = pack_one(m, 4 * L + 1, m->cls_w, NL, H, &wt);
    }
    if (m->kind == TRAIN_MLM && !st) { /* the head's dense, and the tied decoder (V, H) */
        st = pack_one(m, 4 * L, m->mlm_w, H, H, &wt);
        if (!st) st = pack_one(m, 4 * L + 1, m->word, m->cfg.vocab_size, H, &wt);
    }
    if (!st) m->packed_ok = 1;
    return st;
}

static float *take(float **p, size_t n) {
    float *r = *p;
    *p += (n + 15) & ~(size_t)15;
    return r;
}

static uint8_t *takeb(uint8_t **p, size_t n, int on) {
    if (!on) return NULL;
    uint8_t *r = *p;
    *p += (n + 63) & ~(size_t)63;
    return r;
}

/* attention scratch per thread: a head's keys or values transposed (HD, T) and a row of T */
static size_t att_floats(size_t T, size_t HD) { return (HD + 1) * T + 16; }

/* tmm.c's scratch: the largest (N + K) M + N K of the layers' products, or M K for dx. */
static size_t tr_floats(size_t BT, size_t H, size_t I, size_t NL) {
    size_t nk = WN_MAX(WN_MAX(4 * H, H + I), H + NL);
    return BT * nk + WN_MAX(3 * H * H, I * H) + 64;
}

/* Carves every buffer of a (B, T) batch out of two blocks (grown when short). */
static wn_status acts_reserve(train_model *m, train_acts **pa, int B, int T) {
    const bert_config *c = &m->cfg;
    const size_t H = c->hidden_size, I = c->intermediate_size, L = c->num_hidden_layers, NH = c->num_attention_heads;
    const size_t BT = (size_t)B * T, TT = (size_t)T * T, NL = (size_t)c->num_labels;
    const int drop_h = m->p_hidden > 0, drop_a = m->p_attn > 0;
    const int nth = wn_pool_size(m->pool);
    train_acts *a = *pa;
    if (!a) {
        if (!(a = wn_calloc(1, sizeof *a))) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
        *pa = a;
    }
    size_t big = WN_MAX(3 * H, I);
    size_t need = 0; /* the sum of what take() carves below */
#define R16(n) (((n) + 15) & ~(size_t)15)
    need += R16(BT * H) + R16(BT);                                                       /* exh, ers */
    need += L * (R16(BT * H) + R16(BT * 3 * H) + R16((size_t)B * NH * TT) + R16(BT * H) + R16(BT * H) + R16(BT) +
                 R16(BT * H) + 2 * R16(BT * I) + R16(BT * H) + R16(BT));
    need += R16(BT * H);                                                                 /* hidden */
    need += R16((size_t)B * m->dim) + 2 * R16((size_t)B * H);                            /* head */
    need += 3 * R16(BT * H) + R16(BT * big) + R16(BT * H) + R16(tr_floats(BT, H, I, NL)) + R16((size_t)nth * att_floats(T, H / NH)); /* backward */
#undef R16
    size_t mneed = 0;
#define R64(n) (((n) + 63) & ~(size_t)63)
    mneed += drop_h ? R64(BT * H) : 0;
    mneed += L * ((drop_a ? R64((size_t)B * NH * TT) : 0) + (drop_h ? 2 * R64(BT * H) : 0));
    mneed += drop_h ? R64((size_t)B * H) : 0;
#undef R64
    if (need > a->cap) {
        float *blk = wn_malloc_aligned(need * sizeof(float));
        if (!blk) return wn_seterr(WN_ERR_NOMEM, "train: out of memory for the activations of %d x %d tokens", B, T);
        wn_free_aligned(a->blk);
        a->blk = blk, a->cap = need;
    }
    if (mneed > a->mcap) {
        uint8_t *mb = wn_malloc(mneed);
        if (!mb) return wn_seterr(WN_ERR_NOMEM, "train: out of memory for the dropout masks of %d x %d tokens", B, T);
        wn_free(a->mblk);
        a->mblk = mb, a->mcap = mneed;
    }
    if (!a->ly || a->n_ly != (int)L) {
        wn_free(a->ly);
        if (!(a->ly = wn_calloc(L + 1, sizeof *a->ly))) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
        a->n_ly = (int)L;
    }
    wn_free(a->ids), wn_free(a->types), wn_free(a->len);
    a->ids = wn_malloc(BT * sizeof *a->ids);
    a->types = wn_malloc(BT * sizeof *a->types);
    a->len = wn_malloc((size_t)B * sizeof *a->len);
    if (!a->ids || !a->types || !a->len) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
    float *p = a->blk;
    uint8_t *q = a->mblk;
    a->B = B, a->T = T;
    a->exh = take(&p, BT * H), a->ers = take(&p, BT);
    a->em = takeb(&q, BT * H, drop_h);
    for (size_t l = 0; l < L; l++) {
        layer_acts *la = &a->ly[l];
        la->x = take(&p, BT * H);
        la->qkv = take(&p, BT * 3 * H);
        la->p = take(&p, (size_t)B * NH * TT);
        la->mp = takeb(&q, (size_t)B * NH * TT, drop_a);
        la->ctx = take(&p, BT * H);
        la->m1 = takeb(&q, BT * H, drop_h);
        la->xh1 = take(&p, BT * H), la->rs1 = take(&p, BT);
        la->h1 = take(&p, BT * H);
        la->u = take(&p, BT * I), la->gu = take(&p, BT * I);
        la->m2 = takeb(&q, BT * H, drop_h);
        la->xh2 = take(&p, BT * H), la->rs2 = take(&p, BT);
    }
    a->hidden = take(&p, BT * H);
    a->pooled = take(&p, (size_t)B * m->dim);
    a->cls = take(&p, (size_t)B * H), a->z = take(&p, (size_t)B * H);
    a->mz = takeb(&q, (size_t)B * H, drop_h);
    a->dx = take(&p, BT * H), a->ds = take(&p, BT * H), a->dh = take(&p, BT * H);
    a->dbig = take(&p, BT * big);
    a->dctx = take(&p, BT * H);
    a->tr = take(&p, tr_floats(BT, H, I, NL));
    a->att_per = att_floats(T, H / NH);
    a->att = take(&p, (size_t)nth * a->att_per);
    WN_ASSERT((size_t)(p - a->blk) <= a->cap && (size_t)(q - a->mblk) <= a->mcap);
    return WN_OK;
}

/* sentence-transformers Pooling: the inference pass's own (bert_pool). */
static void pool_fwd(const train_model *m, const float *h, int n, float *o) { bert_pool(&m->pc, m->cfg.hidden_size, h, n, o); }

wn_status train_forward(train_model *m, train_acts **pa, int B, int T, const int32_t *ids, const int32_t *types,
                        const int *len, uint64_t seed, float *out) {
    const bert_config *c = &m->cfg;
    const int H = c->hidden_size, I = c->intermediate_size, L = c->num_hidden_layers, NH = c->num_attention_heads;
    const int HD = H / NH, BT = B * T;
    const float eps = c->layer_norm_eps;
    if (T > c->max_position_embeddings)
        return wn_seterr(WN_ERR_ARG, "train: %d tokens, the model has %d positions", T, c->max_position_embeddings);
    for (int b = 0; b < B; b++)
        if (len[b] < 1 || len[b] > T) return wn_seterr(WN_ERR_ARG, "train: sequence %d has %d tokens of %d", b, len[b], T);
    for (int i = 0; i < BT; i++) {
        int32_t id = ids[i], ty = types ? types[i] : 0;
        if (id < 0 || id >= c->vocab_size || ty < 0 || ty >= c->type_vocab_size)
            return wn_seterr(WN_ERR_ARG, "train: token %d (type %d) at position %d is outside the vocabulary", id, ty,
                             i % T);
    }
    wn_status st = pack_weights(m);
    if (!st) st = acts_reserve(m, pa, B, T);
    if (st) return st;
    train_acts *a = *pa;
    memcpy(a->ids, ids, (size_t)BT * sizeof *ids);
    if (types) memcpy(a->types, types, (size_t)BT * sizeof *types);
    else memset(a->types, 0, (size_t)BT * sizeof *types);
    memcpy(a->len, len, (size_t)B * sizeof *len);
    const float ph = m->p_hidden, pa_ = m->p_attn;

    /* embeddings: (word + token type) + position, LayerNorm, dropout */
    float *e = a->dx; /* scratch until the backward */
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)b * T + t;
            const float *w = m->word + (size_t)a->ids[i] * H, *ty = m->type + (size_t)a->types[i] * H,
                        *ps = m->pos + (size_t)t * H;
            float *r = e + i * H;
            for (int j = 0; j < H; j++) r[j] = (w[j] + ty[j]) + ps[j];
        }
    float *x0 = L > 0 ? a->ly[0].x : a->hidden;
    ln_forward(m->pool, e, NULL, BT, H, m->emb_g, m->emb_b, eps, a->exh, a->ers, x0);
    if (a->em) {
        make_mask(a->em, (size_t)BT * H, ph, seed, 0);
        apply_mask(x0, a->em, (size_t)BT * H, ph);
    }
    for (int l = 0; l < L; l++) {
        layer_acts *la = &a->ly[l];
        const train_layer *ly = &m->layer[l];
        const nn_weight *pk = m->packed + 4 * l;
        float *tmp = a->ds;
        nn_linear(m->pool, la->x, BT, &pk[0], ly->qkv_b, NN_ACT_NONE, la->qkv);
        if (la->mp) make_mask(la->mp, (size_t)B * NH * T * T, pa_, seed, 1 + 3 * (uint64_t)l);
        att_task at = {a, la, T, H, NH, HD, pa_, NULL, NULL};
        wn_pool_run(m->pool, att_fwd, &at);
        nn_linear(m->pool, la->ctx, BT, &pk[1], ly->ao_b, NN_ACT_NONE, tmp);
        if (la->m1) {
            make_mask(la->m1, (size_t)BT * H, ph, seed, 2 + 3 * (uint64_t)l);
            apply_mask(tmp, la->m1, (size_t)BT * H, ph);
        }
        ln_forward(m->pool, tmp, la->x, BT, H, ly->ln1_g, ly->ln1_b, eps, la->xh1, la->rs1, la->h1);
        nn_linear(m->pool, la->h1, BT, &pk[2], ly->i_b, NN_ACT_NONE, la->u);
        gelu_par(m->pool, la->u, la->gu, (size_t)BT * I, 0);
        nn_linear(m->pool, la->gu, BT, &pk[3], ly->o_b, NN_ACT_NONE, tmp);
        if (la->m2) {
            make_mask(la->m2, (size_t)BT * H, ph, seed, 3 + 3 * (uint64_t)l);
            apply_mask(tmp, la->m2, (size_t)BT * H, ph);
        }
        float *next = l + 1 < L ? a->ly[l + 1].x : a->hidden;
        ln_forward(m->pool, tmp, la->h1, BT, H, ly->ln2_g, ly->ln2_b, eps, la->xh2, la->rs2, next);
    }

    if (m->kind == TRAIN_MLM) return WN_OK; /* train_mlm runs the head */
    if (m->kind == TRAIN_BI) {
        for (int b = 0; b < B; b++) {
            float *v = a->pooled + (size_t)b * m->dim, *o = out + (size_t)b * m->dim;
            pool_fwd(m, a->hidden + (size_t)b * T * H, len[b], v);
            double nrm = 1;
            if (m->pc.normalize) {
                double ss = 0;
                for (int j = 0; j < m->dim; j++) ss += (double)v[j] * v[j];
                nrm = WN_MAX(sqrt(ss), 1e-12);
            }
            for (int j = 0; j < m->dim; j++) o[j] = (float)(v[j] / nrm);
        }
        return WN_OK;
    }
    /* BertPooler tanh(W h[CLS] + b), dropout, classifier */
    const nn_weight *pk = m->packed + 4 * L;
    for (int b = 0; b < B; b++) memcpy(a->cls + (size_t)b * H, a->hidden + (size_t)b * T * H, sizeof(float) * H);
    nn_linear(m->pool, a->cls, B, &pk[0], m->pool_b, NN_ACT_TANH, a->z);
    float *zd = a->dh; /* scratch: the dropped-out copy feeds the classifier */
    memcpy(zd, a->z, sizeof(float) * B * H);
    if (a->mz) {
        make_mask(a->mz, (size_t)B * H, ph, seed, 1000000);
        apply_mask(zd, a->mz, (size_t)B * H, ph);
    }
    nn_linear(m->pool, zd, B, &pk[1], m->cls_b, NN_ACT_NONE, out);
    return WN_OK;
}

/* ---- the backward pass */

/* dpooled (one sequence) -> rows of dh (T, H), which it sets for all rows. */
static void pool_bwd(const train_model *m, const float *h, int n, int T, const float *dv, float *dh) {
    const int H = m->cfg.hidden_size;
    memset(dh, 0, sizeof(float) * T * H);
    if (m->pc.cls) {
        for (int j = 0; j < H; j++) dh[j] += dv[j];
        dv += H;
    }
    if (m->pc.max) {
        for (int j = 0; j < H; j++) {
            int at = 0;
            for (int t = 1; t < n; t++)
                if (h[(size_t)t * H + j] > h[(size_t)at * H + j]) at = t;
            dh[(size_t)at * H + j] += dv[j];
        }
        dv += H;
    }
    if (m->pc.mean) {
        for (int t = 0; t < n; t++)
            for (int j = 0; j < H; j++) dh[(size_t)t * H + j] += dv[j] / (float)n;
        dv += H;
    }
    if (m->pc.mean_sqrt) {
        float s = (float)sqrt((double)n);
        for (int t = 0; t < n; t++)
            for (int j = 0; j < H; j++) dh[(size_t)t * H + j] += dv[j] / s;
    }
}

/* The encoder's backward from dx (BT, H), the gradient of the last layer's output
 * (overwritten as it goes). */
static wn_status encoder_backward(train_model *m, train_acts *a) {
    const bert_config *c = &m->cfg;
    const int H = c->hidden_size, I = c->intermediate_size, L = c->num_hidden_layers, NH = c->num_attention_heads;
    const int HD = H / NH, B = a->B, T = a->T, BT = B * T;
    const float ph = m->p_hidden, pa_ = m->p_attn;
    float *dx = a->dx;
    const nn_weight *pt = m->packed_t;
    wn_status st;
    for (int l = L - 1; l >= 0; l--) {
        layer_acts *la = &a->ly[l];
        const train_layer *ly = &m->layer[l];
        float *ds = a->ds, *dh1 = a->dh, *dbig = a->dbig;
        /* second LayerNorm: ds is the gradient of (drop(out) + h1) */
        ln_backward(m->pool, dx, la->xh2, la->rs2, BT, H, ly->ln2_g, TRAIN_GRAD(m, ly->ln2_g), TRAIN_GRAD(m, ly->ln2_b), ds);
        memcpy(dh1, ds, sizeof(float) * BT * H);
        apply_mask(ds, la->m2, (size_t)BT * H, ph);
        if ((st = tk_dw(m->pool, ds, la->gu, BT, H, I, TRAIN_GRAD(m, ly->o_w), TRAIN_GRAD(m, ly->o_b), a->tr))) return st;
        tk_dx(m->pool, ds, &pt[4 * l + 3], BT, dbig, 0, a->tr);
        gelu_par(m->pool, la->u, dbig, (size_t)BT * I, 1);
        if ((st = tk_dw(m->pool, dbig, la->h1, BT, I, H, TRAIN_GRAD(m, ly->i_w), TRAIN_GRAD(m, ly->i_b), a->tr))) return st;
        tk_dx(m->pool, dbig, &pt[4 * l + 2], BT, dh1, 1, a->tr);
        /* first LayerNorm: its input is drop(ao) + x */
        ln_backward(m->pool, dh1, la->xh1, la->rs1, BT, H, ly->ln1_g, TRAIN_GRAD(m, ly->ln1_g), TRAIN_GRAD(m, ly->ln1_b), ds);
        memcpy(dx, ds, sizeof(float) * BT * H); /* the residual */
        apply_mask(ds, la->m1, (size_t)BT * H, ph);
        if ((st = tk_dw(m->pool, ds, la->ctx, BT, H, H, TRAIN_GRAD(m, ly->ao_w), TRAIN_GRAD(m, ly->ao_b), a->tr))) return st;
        tk_dx(m->pool, ds, &pt[4 * l + 1], BT, a->dctx, 0, a->tr);
        att_task at = {a, la, T, H, NH, HD, pa_, a->dctx, dbig};
        wn_pool_run(m->pool, att_bwd, &at);
        if ((st = tk_dw(m->pool, dbig, la->x, BT, 3 * H, H, TRAIN_GRAD(m, ly->qkv_w), TRAIN_GRAD(m, ly->qkv_b), a->tr))) return st;
        tk_dx(m->pool, dbig, &pt[4 * l], BT, dx, 1, a->tr);
    }

    /* embeddings: dropout, LayerNorm, then the three tables (real tokens only) */
    apply_mask(dx, a->em, (size_t)BT * H, ph);
    float *de = a->ds;
    ln_backward(m->pool, dx, a->exh, a->ers, BT, H, m->emb_g, TRAIN_GRAD(m, m->emb_g), TRAIN_GRAD(m, m->emb_b), de);
    float *gw = TRAIN_GRAD(m, m->word), *gt = TRAIN_GRAD(m, m->type), *gp = TRAIN_GRAD(m, m->pos);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < a->len[b]; t++) {
            size_t i = (size_t)b * T + t;
            const float *d = de + i * H;
            float *w = gw + (size_t)a->ids[i] * H, *ty = gt + (size_t)a->types[i] * H, *p = gp + (size_t)t * H;
            for (int j = 0; j < H; j++) {
                w[j] += d[j];
                ty[j] += d[j];
                p[j] += d[j];
            }
        }
    return WN_OK;
}

wn_status train_backward(train_model *m, train_acts *a, const float *dout) {
    const bert_config *c = &m->cfg;
    const int H = c->hidden_size, L = c->num_hidden_layers, B = a->B, T = a->T, BT = B * T;
    const float ph = m->p_hidden;
    float *dx = a->dx; /* the gradient of the last layer's output */
    if (m->kind == TRAIN_MLM) return wn_seterr(WN_ERR_ARG, "train: an MLM model's backward is train_mlm");
    const nn_weight *pt = m->packed_t;
    wn_status st;

    if (m->kind == TRAIN_BI) {
        const int D = m->dim;
        float *dv = a->ds; /* (D) */
        for (int b = 0; b < B; b++) {
            const float *v = a->pooled + (size_t)b * D, *dy = dout + (size_t)b * D;
            if (m->pc.normalize) {
                double ss = 0, yd = 0;
                for (int j = 0; j < D; j++) ss += (double)v[j] * v[j];
                double n = sqrt(ss);
                if (n > 1e-12) {
                    for (int j = 0; j < D; j++) yd += (double)v[j] / n * dy[j];
                    for (int j = 0; j < D; j++) dv[j] = (float)((dy[j] - v[j] / n * yd) / n);
                } else {
                    for (int j = 0; j < D; j++) dv[j] = (float)(dy[j] / 1e-12);
                }
            } else {
                memcpy(dv, dy, sizeof(float) * D);
            }
            pool_bwd(m, a->hidden + (size_t)b * T * H, a->len[b], T, dv, dx + (size_t)b * T * H);
        }
    } else {
        const int NL = c->num_labels;
        float *zd = a->dh, *dz = a->ds, *du = a->dctx, *dcls = a->dbig;
        memcpy(zd, a->z, sizeof(float) * B * H);
        apply_mask(zd, a->mz, (size_t)B * H, ph);
        if ((st = tk_dw(m->pool, dout, zd, B, NL, H, TRAIN_GRAD(m, m->cls_w), TRAIN_GRAD(m, m->cls_b), a->tr))) return st;
        tk_dx(m->pool, dout, &pt[4 * L + 1], B, dz, 0, a->tr);
        apply_mask(dz, a->mz, (size_t)B * H, ph);
        for (size_t i = 0; i < (size_t)B * H; i++) du[i] = dz[i] * (1.0f - a->z[i] * a->z[i]);
        if ((st = tk_dw(m->pool, du, a->cls, B, H, H, TRAIN_GRAD(m, m->pool_w), TRAIN_GRAD(m, m->pool_b), a->tr))) return st;
        tk_dx(m->pool, du, &pt[4 * L], B, dcls, 0, a->tr);
        memset(dx, 0, sizeof(float) * BT * H);
        for (int b = 0; b < B; b++) memcpy(dx + (size_t)b * T * H, dcls + (size_t)b * H, sizeof(float) * H);
    }

    return encoder_backward(m, a);
}


/* ---- BertOnlyMLMHead: logits = LN(GELU(h Wt^T + bt)) E^T + bias over the labelled
 * positions (E the word embeddings, tied), cross-entropy averaged over them. */
wn_status train_mlm(train_model *m, train_acts *a, const int32_t *labels, float scale, float *loss) {
    const bert_config *c = &m->cfg;
    const int H = c->hidden_size, V = c->vocab_size, L = c->num_hidden_layers, B = a->B, T = a->T, BT = B * T;
    const nn_weight *pk = m->packed + 4 * L, *pt = m->packed_t + 4 * L;
    *loss = 0;
    if (m->kind != TRAIN_MLM) return wn_seterr(WN_ERR_ARG, "train: train_mlm on a model without an MLM head");
    int n = 0;
    for (int i = 0; i < BT; i++) {
        if (labels[i] >= V) return wn_seterr(WN_ERR_ARG, "train: MLM label %d outside the vocabulary (%d)", labels[i], V);
        n += labels[i] >= 0 && i % T < a->len[i / T];
    }
    if (n == 0) return WN_OK;
    const size_t nH = (size_t)n * H, nV = (size_t)n * V;
    float *buf = wn_malloc_aligned((7 * nH + 2 * nV + (size_t)n + (size_t)V * n + (size_t)H * n + (size_t)V * H + 64) *
                                   sizeof(float));
    int *rows = wn_malloc((size_t)n * sizeof *rows);
    if (!buf || !rows) {
        wn_free_aligned(buf);
        wn_free(rows);
        return wn_seterr(WN_ERR_NOMEM, "train: out of memory for the MLM head (%d positions)", n);
    }
    float *hm = buf, *t1 = hm + nH, *xh = t1 + nH, *y = xh + nH, *dy = y + nH, *dg = dy + nH, *dh = dg + nH;
    float *logits = dh + nH, *dl = logits + nV, *rs = dl + nV, *scratch = rs + n;
    for (int i = 0, k = 0; i < BT; i++)
        if (labels[i] >= 0 && i % T < a->len[i / T]) {
            rows[k] = i;
            memcpy(hm + (size_t)k * H, a->hidden + (size_t)i * H, sizeof(float) * H);
            k++;
        }
    nn_linear(m->pool, hm, n, &pk[0], m->mlm_b, NN_ACT_NONE, t1);
    gelu_par(m->pool, t1, dg, nH, 0); /* dg holds GELU(t1) until the backward */
    ln_forward(m->pool, dg, NULL, n, H, m->mlm_g, m->mlm_beta, c->layer_norm_eps, xh, rs, y);
    nn_linear(m->pool, y, n, &pk[1], m->mlm_bias, NN_ACT_NONE, logits);
    double total = 0;
    for (int k = 0; k < n; k++) {
        const float *r = logits + (size_t)k * V;
        float *d = dl + (size_t)k * V;
        double mx = -INFINITY, sum = 0;
        for (int v = 0; v < V; v++) mx = fmax(mx, r[v]);
        for (int v = 0; v < V; v++) sum += exp(r[v] - mx);
        int lab = labels[rows[k]];
        total += mx + log(sum) - r[lab];
        for (int v = 0; v < V; v++) d[v] = (float)((exp(r[v] - mx) / sum - (v == lab)) / n * scale);
    }
    *loss = (float)(total / n);
    if (scale == 0) { /* the loss alone */
        wn_free_aligned(buf);
        wn_free(rows);
        return WN_OK;
    }
    wn_status st = tk_dw(m->pool, dl, y, n, V, H, TRAIN_GRAD(m, m->word), TRAIN_GRAD(m, m->mlm_bias), scratch);
    if (!st) {
        tk_dx(m->pool, dl, &pt[1], n, dy, 0, scratch);
        ln_backward(m->pool, dy, xh, rs, n, H, m->mlm_g, TRAIN_GRAD(m, m->mlm_g), TRAIN_GRAD(m, m->mlm_beta), dg);
        gelu_par(m->pool, t1, dg, nH, 1);
        st = tk_dw(m->pool, dg, hm, n, H, H, TRAIN_GRAD(m, m->mlm_w), TRAIN_GRAD(m, m->mlm_b), scratch);
    }
    if (!st) {
        tk_dx(m->pool, dg, &pt[0], n, dh, 0, scratch);
        memset(a->dx, 0, sizeof(float) * BT * H);
        for (int k = 0; k < n; k++) memcpy(a->dx + (size_t)rows[k] * H, dh + (size_t)k * H, sizeof(float) * H);
        st = encoder_backward(m, a);
    }
    wn_free_aligned(buf);
    wn_free(rows);
    return st;
}
