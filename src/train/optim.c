/*
 * optim.c - torch.optim.AdamW (its single-tensor update order: decoupled weight
 * decay, moments, bias corrections, step), HF's get_linear_schedule_with_warmup
 * and torch.nn.utils.clip_grad_norm_. Moments are fp32, each element's update
 * is computed in double and rounded once.
 */
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

void train_adamw_step(train_adamw *o, train_model *m, float lr) {
    o->t++;
    const double b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    const double bc1 = 1.0 - pow(b1, (double)o->t), bc2 = 1.0 - pow(b2, (double)o->t);
    const double step = lr / bc1, bc2s = sqrt(bc2);
    for (int i = 0; i < m->n_tensors; i++) {
        const train_tensor *t = &m->t[i];
        const double decay = t->decay ? 1.0 - (double)lr * o->weight_decay : 1.0;
        float *w = m->w + t->off, *g = m->g + t->off, *m1 = o->m1 + t->off, *m2 = o->m2 + t->off;
        for (size_t k = 0; k < t->n; k++) {
            double p = w[k] * decay, gk = g[k];
            double a = b1 * m1[k] + (1.0 - b1) * gk, v = b2 * m2[k] + (1.0 - b2) * gk * gk;
            m1[k] = (float)a;
            m2[k] = (float)v;
            w[k] = (float)(p - step * a / (sqrt(v) / bc2s + eps));
        }
    }
    train_model_touch(m);
}

double train_linear_schedule(int64_t step, int64_t warmup, int64_t total) {
    if (step < warmup) return (double)step / (double)WN_MAX(1, warmup);
    return fmax(0.0, (double)(total - step) / (double)WN_MAX(1, total - warmup));
}

double train_clip_grad_norm(train_model *m, double max_norm) {
    double ss = 0;
    for (size_t k = 0; k < m->n_params; k++) ss += (double)m->g[k] * m->g[k];
    double norm = sqrt(ss);
    if (max_norm > 0) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1.0)
            for (size_t k = 0; k < m->n_params; k++) m->g[k] = (float)(m->g[k] * coef);
    }
    return norm;
}
