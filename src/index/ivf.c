/*
 * ivf.c - inverted-file indexes (Jegou, Douze & Schmid, "Product quantization for
 * nearest neighbor search", TPAMI 2011): a coarse k-means quantiser of nlist
 * centroids splits the vectors into lists; a search visits the nprobe lists
 * nearest the query. IVF-Flat computes exact distances from the stored vectors;
 * IVF-PQ stores per entry pq_m 8-bit codes of the residual x - c (each code the
 * nearest of 256 centroids of one dim/pq_m-wide subspace) and ranks by
 * asymmetric distances (ADC): a table of query-to-codeword distances per subspace,
 * summed with the SIMD gather kernel; the best candidates are then re-ranked
 * exactly from the kept vectors when the index keeps them.
 * k-means: a seeded sample, initial centroids drawn from it, Lloyd iterations
 * with the blocked dot kernel, empty clusters re-seeded by splitting the largest.
 * IP indexes assign and probe by the largest inner product (as FAISS does); L2 and
 * COS (unit vectors) by the nearest centroid.
 */
#include <math.h>
#include <string.h>

#include "index.h"

/* PQ_TRAIN: residuals per codebook's k-means (FAISS asks for >= 39 per centroid) */
enum { KM_ITERS = 12, KSUB = 256, QB = 32, CB = 256, PQ_TRAIN = 16384 };

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* ---------------------------------------------------------------- nearest centroid */

typedef struct {
    const float *x; /* n rows of d, ldx apart */
    size_t ldx;
    int64_t n;
    int d, k;
    const float *cent, *cnorm; /* k x d, k */
    int ip;                    /* 1: largest inner product, 0: smallest L2 */
    int32_t *out;
} assign_task;

/* argmin over centroids of cn - 2 x.c (L2) or -x.c (IP), in tiles of QB x CB. */
static void assign_worker(void *arg, int ith, int nth) {
    assign_task *t = arg;
    const dist_kernels *kr = dist_get();
    float tile[QB * CB], best[QB];
    int64_t chunk = (t->n + nth - 1) / nth, lo = chunk * ith, hi = WN_MIN(t->n, lo + chunk);
    for (int64_t b = lo; b < hi; b += QB) {
        int nb = (int)WN_MIN(QB, hi - b);
        for (int u = 0; u < nb; u++) best[u] = INFINITY, t->out[b + u] = 0;
        for (int c0 = 0; c0 < t->k; c0 += CB) {
            int nc = WN_MIN(CB, t->k - c0);
            kr->dot_block(t->x + (size_t)b * t->ldx, nb, t->ldx, t->cent + (size_t)c0 * t->d, nc, (size_t)t->d, t->d,
                          tile, CB);
            for (int u = 0; u < nb; u++)
                for (int j = 0; j < nc; j++) {
                    float s = t->ip ? -tile[u * CB + j] : t->cnorm[c0 + j] - 2 * tile[u * CB + j];
                    if (s < best[u]) best[u] = s, t->out[b + u] = c0 + j;
                }
        }
    }
}

static wn_status assign_all(wn_pool *pool, const float *x, size_t ldx, int64_t n, int d, const float *cent, int k,
                            int ip, int32_t *out) {
    float *cn = wn_malloc(sizeof(float) * (size_t)k);
    if (!cn) return wn_seterr(WN_ERR_NOMEM, "ivf: out of memory assigning %lld vectors", (long long)n);
    const dist_kernels *kr = dist_get();
    for (int c = 0; c < k; c++) cn[c] = kr->dot_f32(cent + (size_t)c * d, cent + (size_t)c * d, d);
    assign_task t = {x, ldx, n, d, k, cent, cn, ip, out};
    wn_pool_run(pool, assign_worker, &t);
    wn_free(cn);
    return WN_OK;
}

/* Lloyd's k-means of n rows (d wide, ldx apart) into k centroids; ip: points go to
 * the centroid of largest inner product (as the IP index will assign them). */
static wn_status kmeans(wn_pool *pool, const float *x, size_t ldx, int64_t n, int d, int k, int ip, uint64_t seed,
                        float *cent) {
    int32_t *asg = wn_malloc(sizeof(int32_t) * (size_t)n);
    int64_t *cnt = wn_malloc(sizeof(int64_t) * (size_t)k);
    double *sum = wn_malloc(sizeof(double) * (size_t)k * d);
    if (!asg || !cnt || !sum) {
        wn_free(asg), wn_free(cnt), wn_free(sum);
        return wn_seterr(WN_ERR_NOMEM, "ivf: out of memory for k-means of %lld x %d into %d", (long long)n, d, k);
    }
    /* init: k distinct sample rows (with repeats only when n < k) */
    uint64_t s = seed;
    for (int c = 0; c < k; c++) {
        int64_t r = n >= k ? (int64_t)((uint64_t)c * (uint64_t)n / (uint64_t)k + splitmix(&s) % (uint64_t)((n / k) ? n / k : 1))
                           : (int64_t)(splitmix(&s) % (uint64_t)n);
        if (r >= n) r = n - 1;
        memcpy(cent + (size_t)c * d, x + (size_t)r * ldx, sizeof(float) * (size_t)d);
    }
    for (int it = 0; it < KM_ITERS; it++) {
        if (assign_all(pool, x, ldx, n, d, cent, k, ip, asg) != WN_OK) {
            wn_free(asg), wn_free(cnt), wn_free(sum);
            return WN_ERR_NOMEM;
        }
        memset(cnt, 0, sizeof(int64_t) * (size_t)k);
        memset(sum, 0, sizeof(double) * (size_t)k * d);
        for (int64_t i = 0; i < n; i++) {
            cnt[asg[i]]++;
            double *sc = sum + (size_t)asg[i] * d;
            const float *xi = x + (size_t)i * ldx;
            for (int j = 0; j < d; j++) sc[j] += xi[j];
        }
        for (int c = 0; c < k; c++)
            if (cnt[c])
                for (int j = 0; j < d; j++) cent[(size_t)c * d + j] = (float)(sum[(size_t)c * d + j] / (double)cnt[c]);
        /* empty clusters: split the largest one in two by a small symmetric nudge (FAISS) */
        for (int c = 0; c < k; c++) {
            if (cnt[c]) continue;
            int big = 0;
            for (int o = 1; o < k; o++)
                if (cnt[o] > cnt[big]) big = o;
            if (cnt[big] < 2) break;
            for (int j = 0; j < d; j++) {
                float v = cent[(size_t)big * d + j], e = 1.0f / 1024;
                cent[(size_t)c * d + j] = j % 2 ? v * (1 + e) : v * (1 - e);
                cent[(size_t)big * d + j] = j % 2 ? v * (1 - e) : v * (1 + e);
            }
            cnt[c] = cnt[big] / 2, cnt[big] -= cnt[c];
        }
    }
    wn_free(asg), wn_free(cnt), wn_free(sum);
    return WN_OK;
}

/* ---------------------------------------------------------------- train */

wn_status ivf_init(wn_index *ix) {
    ivf *v = &ix->v;
    v->nlist = ix->p.nlist;
    if (ix->type == WN_INDEX_IVFPQ) {
        v->pq_m = ix->p.pq_m ? ix->p.pq_m : (ix->dim % 4 == 0 ? ix->dim / 4 : ix->dim);
        v->dsub = ix->dim / v->pq_m;
    }
    if (v->nlist > 0) {
        v->lists = wn_calloc((size_t)v->nlist, sizeof *v->lists);
        if (!v->lists) return wn_seterr(WN_ERR_NOMEM, "ivf: out of memory for %d lists", v->nlist);
    }
    return WN_OK;
}

void ivf_free(ivf *v) {
    ibuf_free(&v->cent), ibuf_free(&v->cnorm), ibuf_free(&v->pq), ibuf_free(&v->assign);
    if (v->lists)
        for (int l = 0; l < v->nlist; l++) ibuf_free(&v->lists[l].slots), ibuf_free(&v->lists[l].codes);
    wn_free(v->lists);
    v->lists = NULL;
}

/* The PQ codes of the residuals r (n rows of d): nearest codeword per subspace. */
static void pq_encode(const ivf *v, const float *r, int64_t n, int d, uint8_t *codes) {
    const dist_kernels *kr = dist_get();
    const float *cb = v->pq.p;
    int ds = v->dsub;
    float cn[KSUB], dots[KSUB];
    for (int j = 0; j < v->pq_m; j++) {
        const float *cj = cb + (size_t)j * KSUB * ds;
        for (int c = 0; c < KSUB; c++) cn[c] = kr->dot_f32(cj + (size_t)c * ds, cj + (size_t)c * ds, ds);
        for (int64_t i = 0; i < n; i++) {
            kr->dot_block(r + (size_t)i * d + (size_t)j * ds, 1, (size_t)d, cj, KSUB, (size_t)ds, ds, dots, KSUB);
            int best = 0;
            float bd = INFINITY;
            for (int c = 0; c < KSUB; c++) {
                float s = cn[c] - 2 * dots[c];
                if (s < bd) bd = s, best = c;
            }
            codes[(size_t)i * v->pq_m + j] = (uint8_t)best;
        }
    }
}

wn_status ivf_train(wn_index *ix, int64_t n, const float *x) {
    ivf *v = &ix->v;
    int d = ix->dim;
    if (v->trained) return WN_OK;
    int nlist = v->nlist > 0 ? v->nlist : (int)WN_MAX(1, (int64_t)sqrt((double)n));
    if (n < nlist)
        return wn_seterr(WN_ERR_ARG, "ivf: training needs at least nlist = %d vectors, got %lld", nlist, (long long)n);
    int ip = ix->metric == WN_METRIC_IP;
    int64_t ns = ix->p.max_train > 0 ? ix->p.max_train : (int64_t)64 * nlist;
    if (ix->type == WN_INDEX_IVFPQ && ns < 64 * KSUB / 4) ns = 64 * KSUB / 4; /* PQ needs a few thousand */
    if (ns > n) ns = n;
    float *sample = wn_malloc(sizeof(float) * (size_t)ns * d);
    int32_t *asg = wn_malloc(sizeof(int32_t) * (size_t)ns);
    wn_pool *pool = NULL;
    wn_status st = WN_OK;
    if (!sample || !asg) {
        st = wn_seterr(WN_ERR_NOMEM, "ivf: out of memory for a training sample of %lld", (long long)ns);
        goto done;
    }
    /* seeded sample: strided with a random phase inside each stride */
    uint64_t s = ix->p.seed;
    for (int64_t i = 0; i < ns; i++) {
        int64_t lo = i * n / ns, hi = (i + 1) * n / ns;
        int64_t r = lo + (int64_t)(splitmix(&s) % (uint64_t)(hi - lo));
        memcpy(sample + (size_t)i * d, x + (size_t)r * d, sizeof(float) * (size_t)d);
    }
    if ((st = index_pool(ix->p.threads, ix->p.n_threads, &pool)) != WN_OK) goto done;
    if (v->nlist != nlist) {
        ivf_free(v);
        v->nlist = nlist;
        v->lists = wn_calloc((size_t)nlist, sizeof *v->lists);
        if (!v->lists) {
            st = wn_seterr(WN_ERR_NOMEM, "ivf: out of memory for %d lists", nlist);
            goto done;
        }
    }
    if ((st = ibuf_reserve(&v->cent, (size_t)nlist * d * 4)) != WN_OK) goto done;
    if ((st = ibuf_reserve(&v->cnorm, (size_t)nlist * 4)) != WN_OK) goto done;
    v->cent.len = (size_t)nlist * d * 4, v->cnorm.len = (size_t)nlist * 4;
    if (ix->p.progress) ix->p.progress(ix->p.progress_ud, "ivf k-means", 0, 0);
    if ((st = kmeans(pool, sample, (size_t)d, ns, d, nlist, ip, ix->p.seed + 1, v->cent.p)) != WN_OK) goto done;
    const dist_kernels *kr = dist_get();
    for (int c = 0; c < nlist; c++)
        ((float *)v->cnorm.p)[c] = kr->dot_f32((float *)v->cent.p + (size_t)c * d, (float *)v->cent.p + (size_t)c * d, d);
    if (ix->type == WN_INDEX_IVFPQ) {
        /* residuals of the sample, then one k-means of 256 per subspace */
        if ((st = assign_all(pool, sample, (size_t)d, ns, d, v->cent.p, nlist, ip, asg)) != WN_OK) goto done;
        for (int64_t i = 0; i < ns; i++)
            for (int j = 0; j < d; j++) sample[(size_t)i * d + j] -= ((float *)v->cent.p)[(size_t)asg[i] * d + j];
        if ((st = ibuf_reserve(&v->pq, (size_t)v->pq_m * KSUB * v->dsub * 4)) != WN_OK) goto done;
        v->pq.len = (size_t)v->pq_m * KSUB * v->dsub * 4;
        for (int j = 0; j < v->pq_m; j++) {
            if (ix->p.progress) ix->p.progress(ix->p.progress_ud, "pq k-means", (uint64_t)j, (uint64_t)v->pq_m);
            float *cb = (float *)v->pq.p + (size_t)j * KSUB * v->dsub;
            if ((st = kmeans(pool, sample + (size_t)j * v->dsub, (size_t)d, WN_MIN(ns, PQ_TRAIN), v->dsub, KSUB, 0,
                             ix->p.seed + 2 + j,
                             cb)) != WN_OK)
                goto done;
        }
    }
    v->trained = 1;
done:
    index_pool_release(ix->p.threads, pool);
    wn_free(sample), wn_free(asg);
    return st;
}

/* ---------------------------------------------------------------- add */

wn_status ivf_add(wn_index *ix, int64_t first, int64_t n, const float *x) {
    ivf *v = &ix->v;
    int d = ix->dim;
    wn_status st = WN_OK;
    int32_t *asg = wn_malloc(sizeof(int32_t) * (size_t)n);
    uint8_t *codes = ix->type == WN_INDEX_IVFPQ ? wn_malloc((size_t)n * v->pq_m) : NULL;
    float *res = ix->type == WN_INDEX_IVFPQ ? wn_malloc(sizeof(float) * (size_t)n * d) : NULL;
    wn_pool *pool = NULL;
    if (!asg || (ix->type == WN_INDEX_IVFPQ && (!codes || !res))) {
        st = wn_seterr(WN_ERR_NOMEM, "ivf: out of memory adding %lld vectors", (long long)n);
        goto done;
    }
    if ((st = index_pool(ix->p.threads, n < 1024 ? 1 : ix->p.n_threads, &pool)) != WN_OK) goto done;
    if ((st = assign_all(pool, x, (size_t)d, n, d, v->cent.p, v->nlist, ix->metric == WN_METRIC_IP, asg)) != WN_OK)
        goto done;
    if (ix->type == WN_INDEX_IVFPQ) {
        for (int64_t i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
                res[(size_t)i * d + j] = x[(size_t)i * d + j] - ((const float *)v->cent.p)[(size_t)asg[i] * d + j];
        pq_encode(v, res, n, d, codes);
    }
    if ((st = ibuf_append(&v->assign, asg, (size_t)n * 4)) != WN_OK) goto done;
    for (int64_t i = 0; i < n; i++) {
        ivf_list *L = &v->lists[asg[i]];
        int32_t slot = (int32_t)(first + i);
        if ((st = ibuf_append(&L->slots, &slot, 4)) != WN_OK) goto done;
        if (codes && (st = ibuf_append(&L->codes, codes + (size_t)i * v->pq_m, (size_t)v->pq_m)) != WN_OK) goto done;
        L->n++;
    }
    if (ix->p.progress) ix->p.progress(ix->p.progress_ud, "ivf add", (uint64_t)n, (uint64_t)n);
done:
    index_pool_release(ix->p.threads, pool);
    wn_free(asg), wn_free(codes), wn_free(res);
    return st;
}

/* ---------------------------------------------------------------- search */

wn_status ivf_search1(const wn_index *ix, const dist_kernels *kr, const iquery *q, int k, const wn_index_search_params *sp,
                      const sfilter *f, topk *out) {
    const ivf *v = &ix->v;
    if (!v->trained || ix->n_live == 0) return WN_OK;
    int d = ix->dim, l2 = ix->metric == WN_METRIC_L2;
    int ip = ix->metric == WN_METRIC_IP; /* COS: unit vectors, probed by L2 (their Voronoi cells) */
    int nprobe = sp->nprobe < 1 ? 1 : WN_MIN(sp->nprobe, v->nlist);
    const float *cent = v->cent.p, *cnorm = v->cnorm.p;
    /* the nprobe nearest lists */
    float *cd = wn_malloc(sizeof(float) * (size_t)v->nlist);
    float *pd = wn_malloc(sizeof(float) * (size_t)nprobe);
    int64_t *pl = wn_malloc(sizeof(int64_t) * (size_t)nprobe);
    wn_status st = WN_OK;
    float *tab = NULL, *adc = NULL, *rq = NULL, *rd = NULL;
    int64_t *ri = NULL;
    if (!cd || !pd || !pl) goto nomem;
    for (int c0 = 0; c0 < v->nlist; c0 += CB) {
        int nc = WN_MIN(CB, v->nlist - c0);
        kr->dot_block(q->x, 1, (size_t)d, cent + (size_t)c0 * d, nc, (size_t)d, d, cd + c0, CB);
    }
    topk probe = {pd, pl, 0, nprobe};
    for (int c = 0; c < v->nlist; c++) topk_push(&probe, ip ? -cd[c] : q->qn + cnorm[c] - 2 * cd[c], c);
    int np = topk_sort(&probe);
    if (ix->type == WN_INDEX_IVF) {
        for (int p = 0; p < np; p++) {
            const ivf_list *L = &v->lists[pl[p]];
            const int32_t *sl = L->slots.p;
            for (int64_t e = 0; e < L->n; e++) {
                if (e + 2 < L->n) __builtin_prefetch(vstore_row(&ix->vs, sl[e + 2]));
                if (f->any_filter && !sfilter_ok(f, sl[e])) continue;
                float dd = ix_dist(ix, kr, q, sl[e]);
                if (dd < topk_worst(out)) topk_push(out, dd, sl[e]);
            }
        }
        goto done;
    }
    /* IVF-PQ: ADC tables, then exact re-ranking of the best R when vectors are kept */
    int m = v->pq_m, ds = v->dsub;
    int rerank = ix->has_vectors && sp->rerank >= 0;
    int R = rerank ? WN_MAX(k, sp->rerank > 0 ? sp->rerank : 4 * k) : k;
    int64_t maxlen = 0;
    for (int p = 0; p < np; p++) maxlen = WN_MAX(maxlen, v->lists[pl[p]].n);
    tab = wn_malloc(sizeof(float) * (size_t)m * KSUB);
    adc = wn_malloc(sizeof(float) * (size_t)(maxlen ? maxlen : 1));
    rq = wn_malloc(sizeof(float) * (size_t)d);
    rd = wn_malloc(sizeof(float) * (size_t)R);
    ri = wn_malloc(sizeof(int64_t) * (size_t)R);
    if (!tab || !adc || !rq || !rd || !ri) goto nomem;
    topk cand = {rd, ri, 0, R};
    const float *cb = v->pq.p;
    float *wn2 = NULL; /* L2: squared norms of the codewords, once per query */
    if (l2) {
        if (!(wn2 = wn_malloc(sizeof(float) * (size_t)m * KSUB))) goto nomem;
        for (int j = 0; j < m * KSUB; j++) wn2[j] = kr->dot_f32(cb + (size_t)j * ds, cb + (size_t)j * ds, ds);
    }
    if (!l2) /* -q_j . codeword: the same for every list */
        for (int j = 0; j < m; j++)
            kr->dot_block(q->x + (size_t)j * ds, 1, (size_t)d, cb + (size_t)j * KSUB * ds, KSUB, (size_t)ds, ds,
                          tab + (size_t)j * KSUB, KSUB);
    for (int p = 0; p < np; p++) {
        const ivf_list *L = &v->lists[pl[p]];
        if (!L->n) continue;
        float base;
        if (l2) { /* |q - c - w|^2 per subspace: residual query rq = q - c */
            const float *c = cent + (size_t)pl[p] * d;
            for (int j = 0; j < d; j++) rq[j] = q->x[j] - c[j];
            for (int j = 0; j < m; j++) {
                const float *cj = cb + (size_t)j * KSUB * ds;
                float *tj = tab + (size_t)j * KSUB;
                kr->dot_block(rq + (size_t)j * ds, 1, (size_t)d, cj, KSUB, (size_t)ds, ds, tj, KSUB);
                float rn = kr->dot_f32(rq + (size_t)j * ds, rq + (size_t)j * ds, ds);
                for (int c2 = 0; c2 < KSUB; c2++) tj[c2] = rn - 2 * tj[c2] + wn2[j * KSUB + c2];
            }
            base = 0;
        } else base = -cd[pl[p]];
        kr->adc(tab, L->codes.p, (int)L->n, m, adc);
        const int32_t *sl = L->slots.p;
        for (int64_t e = 0; e < L->n; e++) {
            float dd = l2 ? adc[e] : base - adc[e];
            if (dd < topk_worst(&cand) && (!f->any_filter || sfilter_ok(f, sl[e]))) topk_push(&cand, dd, sl[e]);
        }
    }
    wn_free(wn2);
    if (rerank) {
        int nc = topk_sort(&cand);
        for (int j = 0; j < nc; j++) {
            float dd = ix_dist(ix, kr, q, ri[j]);
            if (dd < topk_worst(out)) topk_push(out, dd, ri[j]);
        }
    } else {
        int nc = topk_sort(&cand);
        for (int j = 0; j < nc; j++)
            if (rd[j] < topk_worst(out)) topk_push(out, rd[j], ri[j]);
    }
    goto done;
nomem:
    st = wn_seterr(WN_ERR_NOMEM, "ivf: out of memory in search");
done:
    wn_free(cd), wn_free(pd), wn_free(pl), wn_free(tab), wn_free(adc), wn_free(rq), wn_free(rd), wn_free(ri);
    return st;
}
