/*
 * index.c - the public wn_index_* API over all index types: argument checks,
 * external ids, cosine normalisation, deletes and replaces, compaction, threads
 * over queries, and the conversion of internal distances to public scores.
 * It does not search or build: flat.c, hnsw.c and ivf.c do, index_io.c persists.
 */
#include <math.h>
#include <string.h>

#include "index.h"

wn_index_params wn_index_default_params(void) {
    wn_index_params p;
    memset(&p, 0, sizeof p);
    p.storage = WN_STORAGE_FP32;
    p.n_threads = 0;
    p.seed = 42;
    p.m = 16;
    p.ef_construction = 200;
    p.keep_vectors = 1;
    p.compact_ratio = 0.3f;
    return p;
}

wn_index_search_params wn_index_search_default_params(void) {
    wn_index_search_params s;
    memset(&s, 0, sizeof s);
    s.ef = 64;
    s.nprobe = 8;
    s.n_threads = 1;
    return s;
}

static const char *type_names[] = {"flat", "hnsw", "ivf", "ivfpq"};
static const char *metric_names[] = {"ip", "l2", "cos"};
static const char *storage_names[] = {"fp32", "fp16", "int8"};

const char *wn_index_type_name(wn_index_type t) { return (unsigned)t < 4 ? type_names[t] : "?"; }
const char *wn_metric_name(wn_metric m) { return (unsigned)m < 3 ? metric_names[m] : "?"; }
wn_status wn_index_type_parse(const char *s, wn_index_type *out) {
    WN_ENTRY();
    int v;
    wn_status st = wn_parse_name("index type", s, type_names, 4, &v);
    if (st == WN_OK) *out = (wn_index_type)v;
    return st;
}

wn_status wn_metric_parse(const char *s, wn_metric *out) {
    WN_ENTRY();
    if (s && !strcmp(s, "cosine")) return *out = WN_METRIC_COS, WN_OK;
    int v;
    wn_status st = wn_parse_name("metric", s, metric_names, 3, &v);
    if (st == WN_OK) *out = (wn_metric)v;
    return st;
}

wn_status wn_storage_parse(const char *s, wn_storage *out) {
    WN_ENTRY();
    int v;
    wn_status st = wn_parse_name("storage", s, storage_names, 3, &v);
    if (st == WN_OK) *out = (wn_storage)v;
    return st;
}

wn_status check_finite(const char *what, int64_t n, int dim, const float *x) {
    for (int64_t i = 0; i < n * dim; i++)
        if (!isfinite(x[i]))
            return wn_seterr(WN_ERR_ARG, "index: %s: vector %lld has a non-finite value (%g) at dimension %d", what,
                             (long long)(i / dim), (double)x[i], (int)(i % dim));
    return WN_OK;
}

wn_status index_pool(wn_pool *given, int n_threads, wn_pool **out) {
    *out = NULL;
    if (n_threads == 1) return WN_OK;
    if (given) {
        *out = given;
        return WN_OK;
    }
    if (n_threads <= 0) n_threads = wn_ncpu();
    if (n_threads == 1) return WN_OK;
    return wn_pool_create(n_threads, out);
}

void index_pool_release(wn_pool *given, wn_pool *p) {
    if (p != given) wn_pool_free(p);
}

static void normalize_rows(float *x, int64_t n, int d) {
    for (int64_t r = 0; r < n; r++) {
        float *v = x + (size_t)r * d;
        double s = 0;
        for (int i = 0; i < d; i++) s += (double)v[i] * v[i];
        if (s > 0) {
            float inv = (float)(1.0 / sqrt(s));
            for (int i = 0; i < d; i++) v[i] *= inv;
        }
    }
}

wn_status wn_index_create(wn_index_type type, int dim, wn_metric metric, const wn_index_params *p, wn_index **out) {
    WN_ENTRY();
    *out = NULL;
    wn_index_params dp = wn_index_default_params();
    if (!p) p = &dp;
    if ((unsigned)type > WN_INDEX_IVFPQ) return wn_seterr(WN_ERR_ARG, "index: unknown index type %d", (int)type);
    if ((unsigned)metric > WN_METRIC_COS) return wn_seterr(WN_ERR_ARG, "index: unknown metric %d", (int)metric);
    if (dim < 1 || dim > 65536) return wn_seterr(WN_ERR_ARG, "index: dimension %d is outside 1..65536", dim);
    if ((unsigned)p->storage > WN_STORAGE_INT8)
        return wn_seterr(WN_ERR_ARG, "index: unknown storage %d", (int)p->storage);
    if (type == WN_INDEX_HNSW && (p->m < 2 || p->m > 256 || p->ef_construction < 1))
        return wn_seterr(WN_ERR_ARG, "index: HNSW needs m in 2..256 (got %d) and ef_construction >= 1 (got %d)",
                         p->m, p->ef_construction);
    if (type >= WN_INDEX_IVF && (p->nlist < 0 || p->nlist > WN_IVF_MAX_NLIST))
        return wn_seterr(WN_ERR_ARG, "index: nlist %d is outside 0..%d", p->nlist, WN_IVF_MAX_NLIST);
    if (type == WN_INDEX_IVFPQ) {
        int m = p->pq_m ? p->pq_m : (dim % 4 == 0 ? dim / 4 : dim);
        if (m < 1 || dim % m != 0)
            return wn_seterr(WN_ERR_ARG, "index: pq_m %d must divide the dimension %d", p->pq_m, dim);
    }
    wn_index *ix = wn_calloc(1, sizeof *ix);
    if (!ix) return wn_seterr(WN_ERR_NOMEM, "index: out of memory");
    ix->type = type;
    ix->dim = dim;
    ix->metric = metric;
    ix->p = *p;
    if (ix->p.threads) ix->p.n_threads = wn_pool_size(ix->p.threads); /* the caller's pool decides */
    ix->has_vectors = type != WN_INDEX_IVFPQ || p->keep_vectors;
    vstore_init(&ix->vs, dim, p->storage);
    wn_status st = WN_OK;
    if (type == WN_INDEX_HNSW) st = hnsw_init(ix);
    if (type >= WN_INDEX_IVF) st = ivf_init(ix);
    if (st != WN_OK) {
        wn_index_free(ix);
        return st;
    }
    *out = ix;
    return WN_OK;
}

void wn_index_free(wn_index *ix) {
    if (!ix) return;
    vstore_free(&ix->vs);
    ibuf_free(&ix->ids);
    ibuf_free(&ix->del);
    idmap_free(&ix->map);
    if (ix->type == WN_INDEX_HNSW) hnsw_free(&ix->h);
    if (ix->type >= WN_INDEX_IVF) ivf_free(&ix->v);
    wn_unmap_file(ix->map_base, ix->map_len);
    wn_free(ix);
}

int64_t wn_index_count(const wn_index *ix) { return ix ? ix->n_live : 0; }
int wn_index_dim(const wn_index *ix) { return ix->dim; }
wn_metric wn_index_metric_of(const wn_index *ix) { return ix->metric; }
wn_index_type wn_index_type_of(const wn_index *ix) { return ix->type; }

size_t wn_index_memory(const wn_index *ix, size_t *mapped) {
    size_t heap = 0, map = 0;
    const ibuf *bufs[] = {&ix->vs.data, &ix->vs.norm, &ix->vs.scale, &ix->ids, &ix->del, &ix->h.level, &ix->h.l0,
                          &ix->h.up_off, &ix->h.up, &ix->v.cent, &ix->v.cnorm, &ix->v.pq, &ix->v.assign};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) {
        if (bufs[i]->owned) heap += bufs[i]->cap;
        else map += bufs[i]->len;
    }
    if (ix->type >= WN_INDEX_IVF && ix->v.lists)
        for (int l = 0; l < ix->v.nlist; l++) {
            const ivf_list *L = &ix->v.lists[l];
            heap += (L->slots.owned ? L->slots.cap : 0) + (L->codes.owned ? L->codes.cap : 0);
            map += (L->slots.owned ? 0 : L->slots.len) + (L->codes.owned ? 0 : L->codes.len);
        }
    heap += ix->map.cap * 16 + ix->h.n_locks;
    if (mapped) *mapped = map;
    return heap;
}

wn_status wn_index_train(wn_index *ix, int64_t n, const float *x) {
    WN_ENTRY();
    if (ix->type < WN_INDEX_IVF) return WN_OK;
    if (n < 1 || !x) return wn_seterr(WN_ERR_ARG, "index: train needs at least one vector (got %lld)", (long long)n);
    wn_status st = check_finite("train", n, ix->dim, x);
    if (st != WN_OK) return st;
    float *tmp = NULL;
    if (ix->metric == WN_METRIC_COS) {
        tmp = wn_malloc((size_t)n * ix->dim * sizeof(float));
        if (!tmp) return wn_seterr(WN_ERR_NOMEM, "index: out of memory normalising %lld vectors", (long long)n);
        memcpy(tmp, x, (size_t)n * ix->dim * sizeof(float));
        normalize_rows(tmp, n, ix->dim);
        x = tmp;
    }
    st = ivf_train(ix, n, x);
    wn_free(tmp);
    return st;
}

/* Appends n vectors (already normalised for COS) with external ids. */
static wn_status add_normalised(wn_index *ix, int64_t n, const float *x, const int64_t *ids) {
    wn_status st;
    if (ix->type >= WN_INDEX_IVF && !ix->v.trained && (st = ivf_train(ix, n, x)) != WN_OK) return st;
    int64_t first = ix->n;
    if (first + n > INT32_MAX) return wn_seterr(WN_ERR_ARG, "index: more than %d vectors", INT32_MAX);
    if (ix->has_vectors && (st = vstore_append(&ix->vs, n, x)) != WN_OK) return st;
    if ((st = ibuf_append(&ix->ids, ids, (size_t)n * 8)) != WN_OK) return st;
    if ((st = ibuf_reserve(&ix->del, ix->del.len + (size_t)n)) != WN_OK) return st;
    memset((char *)ix->del.p + ix->del.len, 0, (size_t)n);
    ix->del.len += (size_t)n;
    for (int64_t i = 0; i < n; i++)
        if (ids[i] != first + i && (st = idmap_put(&ix->map, ids[i], first + i)) != WN_OK) return st;
    ix->n += n;
    ix->n_live += n;
    for (int64_t i = 0; i < n; i++)
        if (ids[i] >= ix->next_id) ix->next_id = ids[i] + 1;
    if (ix->type == WN_INDEX_HNSW) st = hnsw_add(ix, first, n);
    else if (ix->type >= WN_INDEX_IVF) st = ivf_add(ix, first, n, x);
    if (st != WN_OK) /* a batch half-linked into the graph or lists is withdrawn: its slots become deleted */
        for (int64_t i = first; i < first + n; i++)
            if (!ix_deleted(ix, i)) {
                ((uint8_t *)ix->del.p)[i] = 1;
                idmap_del(&ix->map, ix_ids(ix)[i]);
                ix->n_live--;
            }
    return st;
}

wn_status wn_index_add(wn_index *ix, int64_t n, const float *x, const int64_t *ids) {
    WN_ENTRY();
    if (n < 0 || (n > 0 && !x)) return wn_seterr(WN_ERR_ARG, "index: add of %lld vectors without data", (long long)n);
    if (n == 0) return WN_OK;
    wn_status st = check_finite("add", n, ix->dim, x);
    if (st != WN_OK) return st;
    int64_t *own_ids = NULL;
    float *tmp = NULL;
    idmap seen = {0};
    if (ids) {
        for (int64_t i = 0; i < n; i++) {
            if (ids[i] < 0) {
                st = wn_seterr(WN_ERR_ARG, "index: add: id %lld of vector %lld is negative", (long long)ids[i],
                               (long long)i);
                goto done;
            }
            if (ix_slot_of(ix, ids[i]) >= 0 || idmap_get(&seen, ids[i]) >= 0) {
                st = wn_seterr(WN_ERR_ARG, "index: add: id %lld (vector %lld) is already in the index", (long long)ids[i],
                               (long long)i);
                goto done;
            }
            if ((st = idmap_put(&seen, ids[i], i)) != WN_OK) goto done;
        }
    } else {
        own_ids = wn_malloc((size_t)n * sizeof *own_ids);
        if (!own_ids) {
            st = wn_seterr(WN_ERR_NOMEM, "index: out of memory for %lld ids", (long long)n);
            goto done;
        }
        for (int64_t i = 0; i < n; i++) own_ids[i] = ix->next_id + i;
        ids = own_ids;
    }
    if (ix->metric == WN_METRIC_COS) {
        tmp = wn_malloc((size_t)n * ix->dim * sizeof(float));
        if (!tmp) {
            st = wn_seterr(WN_ERR_NOMEM, "index: out of memory normalising %lld vectors", (long long)n);
            goto done;
        }
        memcpy(tmp, x, (size_t)n * ix->dim * sizeof(float));
        normalize_rows(tmp, n, ix->dim);
        x = tmp;
    }
    st = add_normalised(ix, n, x, ids);
done:
    idmap_free(&seen);
    wn_free(own_ids);
    wn_free(tmp);
    return st;
}

/* Rebuilds the index from its live vectors (new slots, same ids and parameters):
 * drops deleted slots and, for HNSW, their links. */
static wn_status compact(wn_index *ix) {
    if (!ix->has_vectors) return WN_OK; /* IVF-PQ without vectors: deleted slots stay skipped */
    wn_index *nx = NULL;
    wn_index_params p = ix->p;
    p.progress = NULL;
    if (ix->type >= WN_INDEX_IVF && ix->v.trained) p.nlist = ix->v.nlist;
    float *x = NULL;
    int64_t *ids = NULL;
    wn_status st = wn_index_create(ix->type, ix->dim, ix->metric, &p, &nx);
    if (st != WN_OK) return st;
    x = wn_malloc((size_t)(ix->n_live ? ix->n_live : 1) * ix->dim * sizeof(float));
    ids = wn_malloc((size_t)(ix->n_live ? ix->n_live : 1) * sizeof(int64_t));
    if (!x || !ids) {
        st = wn_seterr(WN_ERR_NOMEM, "index: out of memory compacting %lld vectors", (long long)ix->n_live);
        goto done;
    }
    int64_t m = 0;
    for (int64_t i = 0; i < ix->n; i++) {
        if (ix_deleted(ix, i)) continue;
        vstore_get(&ix->vs, i, x + (size_t)m * ix->dim);
        ids[m++] = ix_ids(ix)[i];
    }
    if (ix->type >= WN_INDEX_IVF && ix->v.trained) { /* keep the trained quantisers */
        nx->v.trained = 1;
        if ((st = ibuf_append(&nx->v.cent, ix->v.cent.p, ix->v.cent.len)) != WN_OK) goto done;
        if ((st = ibuf_append(&nx->v.cnorm, ix->v.cnorm.p, ix->v.cnorm.len)) != WN_OK) goto done;
        if ((st = ibuf_append(&nx->v.pq, ix->v.pq.p, ix->v.pq.len)) != WN_OK) goto done;
    }
    if (m && (st = add_normalised(nx, m, x, ids)) != WN_OK) goto done;
    nx->next_id = ix->next_id;
    /* swap the contents: ix keeps its address */
    wn_index tmp = *ix;
    *ix = *nx;
    ix->p = tmp.p;
    *nx = tmp;
done:
    wn_free(x);
    wn_free(ids);
    wn_index_free(nx);
    return st;
}

static void remove_slot(wn_index *ix, int64_t slot) {
    ((uint8_t *)ix->del.p)[slot] = 1;
    idmap_del(&ix->map, ix_ids(ix)[slot]);
    ix->n_live--;
}

static wn_status make_del_owned(wn_index *ix) { return ibuf_reserve(&ix->del, ix->del.len); }

wn_status wn_index_remove(wn_index *ix, int64_t id) {
    WN_ENTRY();
    int64_t slot = ix_slot_of(ix, id);
    if (slot < 0) return wn_seterr(WN_ERR_NOTFOUND, "index: remove: id %lld is not in the index", (long long)id);
    wn_status st = make_del_owned(ix);
    if (st != WN_OK) return st;
    remove_slot(ix, slot);
    float ratio = ix->p.compact_ratio > 0 ? ix->p.compact_ratio : 0.3f;
    if (ix->n - ix->n_live > 16 && (double)(ix->n - ix->n_live) > ratio * (double)ix->n) return compact(ix);
    return WN_OK;
}

wn_status wn_index_replace(wn_index *ix, int64_t id, const float *x) {
    WN_ENTRY();
    int64_t slot = ix_slot_of(ix, id);
    if (slot < 0) return wn_seterr(WN_ERR_NOTFOUND, "index: replace: id %lld is not in the index", (long long)id);
    wn_status st = check_finite("replace", 1, ix->dim, x);
    if (st != WN_OK) return st;
    if ((st = make_del_owned(ix)) != WN_OK) return st;
    /* the new vector takes a new slot; the old one is deleted (links stay usable) */
    remove_slot(ix, slot);
    st = wn_index_add(ix, 1, x, &id);
    if (st != WN_OK) { /* restore the old vector */
        ((uint8_t *)ix->del.p)[slot] = 0;
        ix->n_live++;
        if (slot != id && idmap_put(&ix->map, id, slot) != WN_OK) st = WN_ERR_NOMEM;
    }
    return st;
}

int sfilter_ok(const sfilter *f, int64_t slot) {
    if (!f->any_filter) return 1;
    const wn_index *ix = f->ix;
    if (ix_deleted(ix, slot)) return 0;
    const wn_index_search_params *sp = f->sp;
    int64_t id = ix_ids(ix)[slot];
    if (sp->allow && (id >= sp->allow_bits || !((sp->allow[id >> 3] >> (id & 7)) & 1))) return 0;
    if (sp->filter && !sp->filter(sp->filter_ud, id)) return 0;
    return 1;
}

/* ---------------------------------------------------------------- search */

typedef struct {
    const wn_index *ix;
    int64_t nq;
    const float *q, *qn;
    int k;
    const wn_index_search_params *sp;
    float *dist;
    int64_t *slots;
    wn_task_err err; /* the first query that failed, with its worker's message */
} graph_task;

/* HNSW and IVF: one query at a time, queries strided over the threads. */
static void graph_worker(void *arg, int ith, int nth) {
    graph_task *t = arg;
    const wn_index *ix = t->ix;
    const dist_kernels *kr = dist_get();
    int k = t->k;
    topk h = {wn_malloc((size_t)k * sizeof(float)), wn_malloc((size_t)k * sizeof(int64_t)), 0, k};
    sfilter f = {ix, t->sp, ix->n_live < ix->n || t->sp->allow || t->sp->filter};
    wn_status st = WN_OK;
    if (!h.d || !h.i) st = wn_seterr(WN_ERR_NOMEM, "index: out of memory in search");
    for (int64_t qi = ith; st == WN_OK && qi < t->nq && !wn_task_failed(&t->err); qi += nth) {
        iquery q = {t->q + (size_t)qi * ix->dim, t->qn[qi], 0};
        h.n = 0;
        if (ix->type == WN_INDEX_HNSW) {
            int ef = t->sp->ef > k ? t->sp->ef : k;
            st = hnsw_search1(ix, kr, &q, k, ef, &f, &h);
        } else st = ivf_search1(ix, kr, &q, k, t->sp, &f, &h);
        int n = topk_sort(&h);
        for (int j = 0; j < k; j++) {
            t->dist[qi * k + j] = j < n ? h.d[j] : INFINITY;
            t->slots[qi * k + j] = j < n ? h.i[j] : -1;
        }
    }
    wn_task_fail(&t->err, st);
    wn_free(h.d);
    wn_free(h.i);
}

/* Searches in the internal convention (slots, internal distances) into dist/slots. */
static wn_status index_search_internal(const wn_index *ix, int64_t nq, const float *q, int k,
                                       const wn_index_search_params *sp, float *dist, int64_t *slots) {
    float *qn = wn_malloc((size_t)(nq ? nq : 1) * sizeof(float));
    if (!qn) return wn_seterr(WN_ERR_NOMEM, "index: out of memory for %lld queries", (long long)nq);
    const dist_kernels *kr = dist_get();
    for (int64_t i = 0; i < nq; i++) qn[i] = kr->dot_f32(q + (size_t)i * ix->dim, q + (size_t)i * ix->dim, ix->dim);
    int nth = sp->threads ? wn_pool_size(sp->threads) : sp->n_threads <= 0 ? wn_ncpu() : sp->n_threads;
    wn_status st;
    if (ix->type == WN_INDEX_FLAT) st = flat_search(ix, nq, q, qn, k, sp, nth, dist, slots);
    else {
        graph_task t = {ix, nq, q, qn, k, sp, dist, slots, {0}};
        wn_pool *pool = NULL;
        wn_task_err_init(&t.err);
        st = index_pool(sp->threads, nq > 1 ? (int)WN_MIN(nth, nq) : 1, &pool);
        if (st == WN_OK) {
            wn_pool_run(pool, graph_worker, &t);
            index_pool_release(sp->threads, pool);
            st = wn_task_raise(&t.err);
        }
    }
    wn_free(qn);
    return st;
}

wn_status wn_index_search(const wn_index *ix, int64_t nq, const float *q, int k, const wn_index_search_params *sp,
                          float *dist, int64_t *ids) {
    WN_ENTRY();
    wn_index_search_params dsp = wn_index_search_default_params();
    if (!sp) sp = &dsp;
    if (nq < 0 || k < 1 || (nq > 0 && (!q || !dist || !ids)))
        return wn_seterr(WN_ERR_ARG, "index: search needs nq >= 0 (got %lld), k >= 1 (got %d) and arrays",
                         (long long)nq, k);
    if (sp->allow && sp->allow_bits < 0) return wn_seterr(WN_ERR_ARG, "index: allow_bits < 0");
    if (nq == 0) return WN_OK;
    wn_status st = check_finite("search query", nq, ix->dim, q);
    if (st != WN_OK) return st;
    float *tmp = NULL;
    if (ix->metric == WN_METRIC_COS) {
        tmp = wn_malloc((size_t)nq * ix->dim * sizeof(float));
        if (!tmp) return wn_seterr(WN_ERR_NOMEM, "index: out of memory normalising %lld queries", (long long)nq);
        memcpy(tmp, q, (size_t)nq * ix->dim * sizeof(float));
        normalize_rows(tmp, nq, ix->dim);
        q = tmp;
    }
    st = index_search_internal(ix, nq, q, k, sp, dist, ids);
    if (st == WN_OK) {
        const int64_t *ext = ix_ids(ix);
        int l2 = ix->metric == WN_METRIC_L2;
        for (int64_t i = 0; i < nq * k; i++) {
            if (ids[i] < 0) dist[i] = l2 ? INFINITY : -INFINITY;
            else {
                ids[i] = ext[ids[i]];
                if (!l2) dist[i] = -dist[i];
            }
        }
    }
    wn_free(tmp);
    return st;
}
