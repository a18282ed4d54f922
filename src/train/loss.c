/*
 * loss.c - the training objectives and their gradients, computed in double and
 * returned as float: sentence-transformers' MultipleNegativesRankingLoss,
 * BCEWithLogitsLoss (CrossEncoder.fit with one label) and a listwise softmax
 * cross-entropy. Each is the mean over the batch, as PyTorch's reduction='mean'.
 * No model here: inputs are embeddings or logits.
 */
#include <math.h>
#include <string.h>

#include "train.h"

/* Normalises rows of v (n, dim) into vn (doubles), keeping each norm max(||v||, 1e-12). */
static void normalize_rows(int n, int dim, const float *v, double *vn, double *nrm) {
    for (int i = 0; i < n; i++) {
        double ss = 0;
        for (int j = 0; j < dim; j++) ss += (double)v[(size_t)i * dim + j] * v[(size_t)i * dim + j];
        nrm[i] = fmax(sqrt(ss), 1e-12);
        for (int j = 0; j < dim; j++) vn[(size_t)i * dim + j] = v[(size_t)i * dim + j] / nrm[i];
    }
}

/* d(v / max(||v||, eps)) / dv applied to dvn: (dvn - vn (vn . dvn)) / ||v|| when the norm is above eps. */
static void normalize_back(int n, int dim, const double *vn, const double *nrm, const double *dvn, float *dv) {
    for (int i = 0; i < n; i++) {
        const double *y = vn + (size_t)i * dim, *dy = dvn + (size_t)i * dim;
        double yd = 0;
        if (nrm[i] > 1e-12)
            for (int j = 0; j < dim; j++) yd += y[j] * dy[j];
        for (int j = 0; j < dim; j++) dv[(size_t)i * dim + j] = (float)((dy[j] - y[j] * yd) / nrm[i]);
    }
}

float train_mnrl(int nq, int nd, int dim, const float *q, const float *d, float scale, float *dq, float *dd) {
    WN_ASSERT(nq > 0 && nd >= nq && dim > 0);
    size_t nqd = (size_t)nq * dim, ndd = (size_t)nd * dim;
    double *buf = wn_calloc(2 * (nqd + ndd) + (size_t)nq * nd + nq + nd, sizeof(double));
    if (!buf) { /* out of memory: no gradient, and a loss that cannot pass for one */
        memset(dq, 0, nqd * sizeof *dq);
        memset(dd, 0, ndd * sizeof *dd);
        return NAN;
    }
    double *qn = buf, *dn = qn + nqd, *dqn = dn + ndd, *ddn = dqn + nqd, *p = ddn + ndd, *nq_ = p + (size_t)nq * nd,
           *nd_ = nq_ + nq;
    normalize_rows(nq, dim, q, qn, nq_);
    normalize_rows(nd, dim, d, dn, nd_);
    double loss = 0;
    for (int i = 0; i < nq; i++) {
        double *s = p + (size_t)i * nd, mx = -INFINITY, sum = 0;
        for (int j = 0; j < nd; j++) {
            double c = 0;
            for (int k = 0; k < dim; k++) c += qn[(size_t)i * dim + k] * dn[(size_t)j * dim + k];
            s[j] = (double)scale * c;
            mx = fmax(mx, s[j]);
        }
        for (int j = 0; j < nd; j++) sum += exp(s[j] - mx);
        loss += mx + log(sum) - s[i];
        /* dL/ds = (softmax - onehot(i)) / nq */
        for (int j = 0; j < nd; j++) s[j] = (exp(s[j] - mx) / sum - (j == i)) / nq;
    }
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < nd; j++) {
            double g = p[(size_t)i * nd + j] * scale;
            for (int k = 0; k < dim; k++) {
                dqn[(size_t)i * dim + k] += g * dn[(size_t)j * dim + k];
                ddn[(size_t)j * dim + k] += g * qn[(size_t)i * dim + k];
            }
        }
    normalize_back(nq, dim, qn, nq_, dqn, dq);
    normalize_back(nd, dim, dn, nd_, ddn, dd);
    wn_free(buf);
    return (float)(loss / nq);
}

float train_bce(int n, const float *x, const float *y, float *dx) {
    double loss = 0;
    for (int i = 0; i < n; i++) {
        double v = x[i];
        loss += fmax(v, 0) - v * y[i] + log1p(exp(-fabs(v)));
        dx[i] = (float)((1.0 / (1.0 + exp(-v)) - y[i]) / n);
    }
    return (float)(loss / n);
}

float train_listwise(int n_groups, int g, const float *x, float *dx) {
    double loss = 0;
    for (int i = 0; i < n_groups; i++) {
        const float *r = x + (size_t)i * g;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < g; j++) mx = fmax(mx, r[j]);
        for (int j = 0; j < g; j++) sum += exp(r[j] - mx);
        loss += mx + log(sum) - r[0];
        for (int j = 0; j < g; j++) dx[(size_t)i * g + j] = (float)((exp(r[j] - mx) / sum - (j == 0)) / n_groups);
    }
    return (float)(loss / n_groups);
}
