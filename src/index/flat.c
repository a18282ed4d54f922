/*
 * flat.c - exact search: every query against every stored vector. fp32 rows go
 * through the blocked dot-product kernel (QB queries x NB rows per tile, so a
 * tile of the base stays in L2 while all the queries of a block use it); fp16 and
 * int8 rows through the per-row kernels. Threads split the queries when there are
 * enough of them, else the base (each thread keeps its own top-k, merged after).
 * The K best per query come from a max-heap of size K.
 */
#include <math.h>
#include <string.h>

#include "index.h"

enum { QB = 64, NB = 256 };

void flat_scan(const wn_index *ix, const dist_kernels *kr, const iquery *q, int64_t lo, int64_t hi, const sfilter *f,
               topk *h) {
    for (int64_t i = lo; i < hi; i++) {
        if (f->any_filter && !sfilter_ok(f, i)) continue;
        float d = ix_dist(ix, kr, q, i);
        if (d < topk_worst(h)) topk_push(h, d, i);
    }
}

typedef struct {
    const wn_index *ix;
    const float *q, *qn;
    int64_t nq;
    int k;
    int split_base;
    const wn_index_search_params *sp;
    float *pd;     /* (nth or 1) * nq * k partial distances */
    int64_t *pi;   /* same, slots */
    wn_task_err err; /* a worker's scratch allocation that failed */
} flat_task;

/* Queries [q0, q1) against base [b0, b1): sorted K best into od/oi (rows of k). */
static int flat_range(const flat_task *t, const dist_kernels *kr, int64_t q0, int64_t q1, int64_t b0, int64_t b1,
                      float *od, int64_t *oi) {
    const wn_index *ix = t->ix;
    int d = ix->dim, k = t->k, l2 = ix->metric == WN_METRIC_L2;
    sfilter f = {ix, t->sp, ix->n_live < ix->n || t->sp->allow || t->sp->filter};
    float *hd = wn_malloc((size_t)QB * k * sizeof(float));
    int64_t *hi = wn_malloc((size_t)QB * k * sizeof(int64_t));
    float *tile = ix->vs.st == WN_STORAGE_FP32 ? wn_malloc((size_t)QB * NB * sizeof(float)) : NULL;
    if (!hd || !hi || (ix->vs.st == WN_STORAGE_FP32 && !tile)) {
        wn_free(hd), wn_free(hi), wn_free(tile);
        return -1;
    }
    const float *xn = vstore_norms(&ix->vs);
    for (int64_t qb = q0; qb < q1; qb += QB) {
        int nqb = (int)WN_MIN(QB, q1 - qb);
        topk h[QB];
        for (int u = 0; u < nqb; u++) h[u] = (topk){hd + (size_t)u * k, hi + (size_t)u * k, 0, k};
        if (tile) {
            for (int64_t bb = b0; bb < b1; bb += NB) {
                int nbb = (int)WN_MIN(NB, b1 - bb);
                kr->dot_block(t->q + (size_t)qb * d, nqb, (size_t)d, vstore_row(&ix->vs, bb), nbb, (size_t)d, d, tile,
                              NB);
                for (int u = 0; u < nqb; u++) {
                    const float *row = tile + (size_t)u * NB;
                    float qn = t->qn[qb + u], worst = topk_worst(&h[u]);
                    for (int j = 0; j < nbb; j++) {
                        float dist = l2 ? qn - 2 * row[j] + xn[bb + j] : -row[j];
                        if (l2 && dist < 0) dist = 0;
                        if (dist < worst && (!f.any_filter || sfilter_ok(&f, bb + j))) {
                            topk_push(&h[u], dist, bb + j);
                            worst = topk_worst(&h[u]);
                        }
                    }
                }
            }
        } else {
            for (int u = 0; u < nqb; u++) {
                iquery iq = {t->q + (size_t)(qb + u) * d, t->qn[qb + u], 0};
                flat_scan(ix, kr, &iq, b0, b1, &f, &h[u]);
            }
        }
        for (int u = 0; u < nqb; u++) {
            int n = topk_sort(&h[u]);
            float *rd = od + (size_t)(qb + u) * k;
            int64_t *ri = oi + (size_t)(qb + u) * k;
            for (int j = 0; j < k; j++) rd[j] = j < n ? h[u].d[j] : INFINITY, ri[j] = j < n ? h[u].i[j] : -1;
        }
    }
    wn_free(hd), wn_free(hi), wn_free(tile);
    return 0;
}

static void flat_worker(void *arg, int ith, int nth) {
    flat_task *t = arg;
    const dist_kernels *kr = dist_get();
    int64_t n = t->ix->n, q0 = 0, q1 = t->nq, b0 = 0, b1 = n;
    float *od = t->pd;
    int64_t *oi = t->pi;
    if (t->split_base) {
        /* rows split in NB-aligned chunks so tiles stay whole */
        int64_t chunk = ((n + nth - 1) / nth + NB - 1) / NB * NB;
        b0 = WN_MIN(n, chunk * ith), b1 = WN_MIN(n, b0 + chunk);
        od += (size_t)ith * t->nq * t->k, oi += (size_t)ith * t->nq * t->k;
    } else {
        int64_t chunk = (t->nq + nth - 1) / nth;
        q0 = WN_MIN(t->nq, chunk * ith), q1 = WN_MIN(t->nq, q0 + chunk);
    }
    if (flat_range(t, kr, q0, q1, b0, b1, od, oi) != 0)
        wn_task_fail(&t->err, wn_seterr(WN_ERR_NOMEM, "index: out of memory for flat search scratch (thread %d of %d)",
                                        ith, nth));
}

wn_status flat_search(const wn_index *ix, int64_t nq, const float *q, const float *qn, int k,
                      const wn_index_search_params *sp, int n_threads, float *dist, int64_t *slots) {
    /* threads only pay off with enough work: ~ nq * n * d multiply-adds */
    double work = (double)nq * (double)ix->n * ix->dim;
    int nth = work < 4e6 ? 1 : n_threads;
    wn_pool *given = nth > 1 ? sp->threads : NULL; /* the caller's pool runs with all its threads */
    if (given) nth = wn_pool_size(given);
    int split_base = nq < 4 * nth && ix->n >= (int64_t)nth * NB;
    if (!given && !split_base && nq < nth) nth = (int)nq;
    if (nth < 1) nth = 1;
    flat_task t = {ix, q, qn, nq, k, split_base && nth > 1, sp, dist, slots, {0}};
    wn_task_err_init(&t.err);
    float *pd = NULL;
    int64_t *pi = NULL;
    if (t.split_base) {
        pd = wn_malloc((size_t)nth * nq * k * sizeof(float));
        pi = wn_malloc((size_t)nth * nq * k * sizeof(int64_t));
        if (!pd || !pi) {
            wn_free(pd), wn_free(pi);
            return wn_seterr(WN_ERR_NOMEM, "index: out of memory for flat search partials");
        }
        t.pd = pd, t.pi = pi;
    }
    wn_pool *pool = NULL;
    wn_status st = index_pool(given, nth, &pool);
    if (st != WN_OK) goto done;
    wn_pool_run(pool, flat_worker, &t);
    nth = wn_pool_size(pool);
    index_pool_release(given, pool);
    if ((st = wn_task_raise(&t.err)) != WN_OK) goto done;
    if (t.split_base) { /* merge the per-thread sorted lists (ties: lower slot first) */
        for (int64_t i = 0; i < nq; i++) {
            int pos[256] = {0};
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int th = 0; th < nth; th++) {
                    size_t o = ((size_t)th * nq + i) * k + pos[th];
                    if (pos[th] >= k || pi[o] < 0) continue;
                    if (best < 0) best = th;
                    else {
                        size_t ob = ((size_t)best * nq + i) * k + pos[best];
                        if (pd[o] < pd[ob] || (pd[o] == pd[ob] && pi[o] < pi[ob])) best = th;
                    }
                }
                if (best < 0) dist[i * k + j] = INFINITY, slots[i * k + j] = -1;
                else {
                    size_t ob = ((size_t)best * nq + i) * k + pos[best]++;
                    dist[i * k + j] = pd[ob], slots[i * k + j] = pi[ob];
                }
            }
        }
    }
done:
    wn_free(pd), wn_free(pi);
    return st;
}
