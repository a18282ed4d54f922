/*
 * optim.c - torch.optim.AdamW (its single-tensor update order: decoupled weight
 * decay, moments, bias corrections, step), HF's get_linear_schedule_with_warmup
 * and torch.nn.utils.clip_grad_norm_. Moments are fp32, each element's update
 * is computed in double and rounded once.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <math.h>
#include <string.h>

#include "train.h"

wn_status train_adamw_init(train_adamw *o, const train_model *m, float lr, float weight_decay) {
    memset(o, 0, sizeof *o);
    o->lr = lr, o->beta1 = 0.9f, o->beta2 = 0.999f, o->eps = 1e-8f, o->weight_decay = weight_decay;
    o->m1 = wn_calloc(m->n_params, sizeof(float));
    o->m2 = wn_calloc(m->n_params, sizeof(float));
    if (!o->m1 || !o->m2) {
        train_adamw_free(o);
        return wn_seterr(WN_ERR_NOMEM, "train: out of memory for the optimiser state (%zu parameters)", m->n_params);
    }
    return WN_OK;
}

void train_adamw_free(train_adamw *o) {
    wn_free(o->m1);
    wn_free(o->m2);
    o->m1 = o->m2 = NULL;
}

typedef struct {
    train_adamw *o;
    train_model *m;
    float lr;
    double step, bc2s;
    double *part; /* clip: one partial sum per chunk */
    size_t n_chunks;
    double coef;
} opt_task;

/* Threads take contiguous ranges of the flat parameter block; each element's
 * update depends on that element alone. */
static void adamw_run(void *arg, int ith, int nth) {
    const opt_task *t = arg;
    train_adamw *o = t->o;
    const train_model *m = t->m;
    const size_t lo = m->n_params * (size_t)ith / (size_t)nth, hi = m->n_params * (size_t)(ith + 1) / (size_t)nth;
    const double b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    for (int i = 0; i < m->n_tensors; i++) {
        const train_tensor *tt = &m->t[i];
        size_t a = WN_MAX(lo, tt->off), b = WN_MIN(hi, tt->off + tt->n);
        if (a >= b) continue;
        const double decay = tt->decay ? 1.0 - (double)t->lr * o->weight_decay : 1.0;
        float *w = m->w, *g = m->g, *m1 = o->m1, *m2 = o->m2;
        for (size_t k = a; k < b; k++) {
            double p = w[k] * decay, gk = g[k];
            double mm = b1 * m1[k] + (1.0 - b1) * gk, v = b2 * m2[k] + (1.0 - b2) * gk * gk;
            m1[k] = (float)mm;
            m2[k] = (float)v;
            w[k] = (float)(p - t->step * mm / (sqrt(v) / t->bc2s + eps));
        }
    }
}

void train_adamw_step(train_adamw *o, train_model *m, float lr) {
    o->t++;
    const double bc1 = 1.0 - pow(o->beta1, (double)o->t), bc2 = 1.0 - pow(o->beta2, (double)o->t);
    opt_task t = {o, m, lr, lr / bc1, sqrt(bc2), NULL, 0, 0};
    wn_pool_run(m->pool, adamw_run, &t);
    train_model_touch(m);
}

double train_linear_schedule(int64_t step, int64_t warmup, int64_t total) {
    if (step < warmup) return (double)step / (double)WN_MAX(1, warmup);
    return fmax(0.0, (double)(total - step) / (double)WN_MAX(1, total - warmup));
}

/* The sum of squares in fixed chunks (whatever the thread count), added in order. */
#define CLIP_CHUNK 65536
static void sumsq_run(void *arg, int ith, int nth) {
    const opt_task *t = arg;
    for (size_t c = (size_t)ith; c < t->n_chunks; c += (size_t)nth) {
        size_t a = c * CLIP_CHUNK, b = WN_MIN(t->m->n_params, a + CLIP_CHUNK);
        double s = 0;
        for (size_t k = a; k < b; k++) s += (double)t->m->g[k] * t->m->g[k];
        t->part[c] = s;
    }
}

static void scale_run(void *arg, int ith, int nth) {
    const opt_task *t = arg;
    size_t a = t->m->n_params * (size_t)ith / (size_t)nth, b = t->m->n_params * (size_t)(ith + 1) / (size_t)nth;
    for (size_t k = a; k < b; k++) t->m->g[k] = (float)(t->m->g[k] * t->coef);
}

double train_clip_grad_norm(train_model *m, double max_norm) {
    size_t nc = (m->n_params + CLIP_CHUNK - 1) / CLIP_CHUNK;
    double part1, *part = nc > 1 ? wn_malloc(nc * sizeof *part) : &part1;
    double ss = 0;
    opt_task t = {NULL, m, 0, 0, 0, part, nc, 0};
    if (part) {
        wn_pool_run(m->pool, sumsq_run, &t);
        for (size_t c = 0; c < nc; c++) ss += part[c];
        if (part != &part1) wn_free(part);
    } else { /* out of memory for the partial sums: the same sums, on this thread */
        for (size_t c = 0; c < nc; c++) {
            double s = 0;
            for (size_t k = c * CLIP_CHUNK; k < WN_MIN(m->n_params, (c + 1) * CLIP_CHUNK); k++) s += (double)m->g[k] * m->g[k];
            ss += s;
        }
    }
    double norm = sqrt(ss);
    if (max_norm > 0) {
        t.coef = max_norm / (norm + 1e-6);
        if (t.coef < 1.0) wn_pool_run(m->pool, scale_run, &t);
    }
    return norm;
}
