/*
 * hnsw.c - Hierarchical Navigable Small World graphs (Malkov & Yashunin, "Efficient
 * and robust approximate nearest neighbor search using HNSW graphs", TPAMI 2018):
 * insertion (Algorithm 1), layer search (Algorithm 2), heuristic neighbour
 * selection (Algorithm 4) and K-NN search (Algorithm 5). Builds run on a thread
 * pool with one spin lock per node for the writers of its link lists (readers take
 * none, see ld_link), over an fp16 copy of the rows for big batches (half_copy); a
 * node's level comes from a hash of (seed, slot), so a fixed seed gives the same
 * levels whatever the threads, and the same graph single-threaded.
 * Deletes are marks (index.c): deleted nodes are traversed but never collected,
 * and index.c rebuilds the graph past a threshold. Filters work the same way:
 * disallowed nodes carry the search, only allowed ones fill the result list, so
 * the search keeps expanding until ef allowed nodes are found (k results back).
 * Not here: saving (index_io.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"

/* M links per node on layers > 0, M0 = 2M on layer 0, efc ef_construction. */
enum { MAX_LEVEL = 15 };

/* Speed: the search and insert code below is written once as always-inline
 * functions taking a constant `simd` flag and instantiated twice: generic (the
 * distance through ix_dist and the kernel table) and, on x86-64, as functions
 * compiled for AVX2 + FMA where the fp32 dot product is inlined into the loops
 * (no call per distance). The AVX2 copy runs when the kernels are not the scalar
 * reference (so WN_FORCE_SCALAR=1 still checks the generic path) and storage is fp32. */
#define HN_INLINE static inline __attribute__((always_inline))
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HN_AVX2 1
#define HN_TARGET __attribute__((target("avx2,fma,f16c")))

/* Dot product with 4 accumulators (the order of dist_avx2.c's dot_f32). */
HN_TARGET static inline float hn_dot_avx2(const float *a, const float *b, int d) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= d; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    __m256 v = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    float s = _mm_cvtss_f32(h);
    for (; i < d; i++) s += a[i] * b[i];
    return s;
}

/* fp32 query . fp16 row (the build copy below), 4 accumulators. */
HN_TARGET static inline float hn_dot_f16_avx2(const float *a, const uint16_t *b, int d) {
#define HN_H(o) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i + (o))))
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), HN_H(0), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), HN_H(8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), HN_H(16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), HN_H(24), s3);
    }
    for (; i + 8 <= d; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), HN_H(0), s0);
#undef HN_H
    __m256 v = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    float s = _mm_cvtss_f32(h);
    for (; i < d; i++) s += a[i] * _cvtsh_ss(b[i]);
    return s;
}

/* Row i of the fp16 build copy, decoded and scaled back, into out. */
HN_TARGET static inline void hn_f16_row(const hnsw *h, int64_t i, int d, float *out) {
    const uint16_t *b = h->b16 + (size_t)i * (size_t)d;
    __m256 s = _mm256_set1_ps(h->b16_inv);
    int j = 0;
    for (; j + 8 <= d; j += 8)
        _mm256_storeu_ps(out + j, _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + j))), s));
    for (; j < d; j++) out[j] = _cvtsh_ss(b[j]) * h->b16_inv;
}

/* x * scale rounded to fp16 (nearest even), n a multiple of 8 or not. */
HN_TARGET static void hn_to_f16(const float *x, uint16_t *out, int n, float scale) {
    __m256 s = _mm256_set1_ps(scale);
    int j = 0;
    for (; j + 8 <= n; j += 8)
        _mm_storeu_si128((__m128i *)(out + j),
                         _mm256_cvtps_ph(_mm256_mul_ps(_mm256_loadu_ps(x + j), s), _MM_FROUND_TO_NEAREST_INT));
    for (; j < n; j++) out[j] = _cvtss_sh(x[j] * scale, _MM_FROUND_TO_NEAREST_INT);
}
#endif

/* The distance of query q to slot i: ix_dist, with the dot product inlined when simd
 * (1: fp32 rows; 2: the rows of the fp16 build copy). */
HN_INLINE float hdist(const wn_index *ix, const dist_kernels *kr, const iquery *q, int64_t i, int simd) {
#ifdef HN_AVX2
    if (simd) {
        float dot = simd == 2 ? hn_dot_f16_avx2(q->x, ix->h.b16 + (size_t)i * (size_t)ix->dim, ix->dim) * ix->h.b16_inv
                              : hn_dot_avx2(q->x, (const float *)vstore_row(&ix->vs, i), ix->dim);
        if (ix->metric != WN_METRIC_L2) { /* the same augmented-space rule as ix_dist */
            if (q->aug != 0) {
                float t = ix->h.phi2 - vstore_norms(&ix->vs)[i];
                return -dot - q->aug * (t > 0 ? sqrtf(t) : 0);
            }
            return -dot;
        }
        float d = q->qn - 2 * dot + vstore_norms(&ix->vs)[i];
        return d > 0 ? d : 0;
    }
#endif
    (void)simd;
    return ix_dist(ix, kr, q, i);
}


typedef struct {
    float d;
    int32_t i;
} hn;

/* binary min-heap on d (results use -d to get a max-heap) */
typedef struct {
    hn *a;
    int n, cap;
} hheap;

static int hheap_grow(hheap *h) {
    int cap = h->cap ? h->cap * 2 : 256;
    hn *a = wn_realloc(h->a, (size_t)cap * sizeof *a);
    if (!a) return -1;
    h->a = a, h->cap = cap;
    return 0;
}

static inline int hheap_push(hheap *h, float d, int32_t i) {
    if (h->n == h->cap && hheap_grow(h)) return -1;
    int c = h->n++;
    while (c > 0) {
        int p = (c - 1) / 2;
        if (h->a[p].d <= d) break;
        h->a[c] = h->a[p];
        c = p;
    }
    h->a[c] = (hn){d, i};
    return 0;
}

static inline hn hheap_pop(hheap *h) {
    hn top = h->a[0], last = h->a[--h->n];
    int c = 0;
    for (;;) {
        int l = 2 * c + 1, r = l + 1, m = c;
        float md = last.d;
        if (l < h->n && h->a[l].d < md) m = l, md = h->a[l].d;
        if (r < h->n && h->a[r].d < md) m = r;
        if (m == c) break;
        h->a[c] = h->a[m];
        c = m;
    }
    if (h->n) h->a[c] = last;
    return top;
}

/* Per-thread scratch of a build or a search: the visited list (epoch tags, so no
 * clearing between searches) and heaps, recycled through the index's free list. */
struct visited {
    uint32_t *tag;
    uint32_t cur;
    int64_t n;
    hheap cand, res;
    hn *sel;       /* selection buffer */
    int32_t *nb;   /* the links of the node being expanded, then the unvisited ones of them */
    float *qbuf;   /* decoded vector (fp16 / int8 storage) */
    float *qbuf2;
    int cap_sel;
};
typedef struct visited hctx;

/* ---------------------------------------------------------------- layout */

static inline int32_t *links_of(const hnsw *h, int64_t i, int lv) {
    if (lv == 0) return (int32_t *)h->l0.p + (size_t)i * (1 + h->M0);
    return (int32_t *)h->up.p + ((const int64_t *)h->up_off.p)[i] + (size_t)(lv - 1) * (1 + h->M);
}
static inline int level_of(const hnsw *h, int64_t i) { return ((const uint8_t *)h->level.p)[i]; }

static inline void lock_node(const hnsw *h, int64_t i) {
    if (!h->locks) return;
    while (atomic_exchange_explicit(&h->locks[i], 1, memory_order_acquire)) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
}
static inline void unlock_node(const hnsw *h, int64_t i) {
    if (h->locks) atomic_store_explicit(&h->locks[i], 0, memory_order_release);
}

/* Link lists while building: a writer holds the node's lock and stores each entry
 * (and then the count) with relaxed atomic stores; readers take no lock and load
 * them the same way (as plain moves on x86). A reader racing a writer may see some
 * old and some new entries, or a count one ahead of its entry: every entry it can
 * see is a valid slot (lists start zeroed, and all vectors of the batch are stored
 * before the build starts), so the search stays in bounds and only explores a
 * slightly older graph. A search outside a build reads plainly (no writers). */
static inline int32_t ld_link(const int32_t *p, int building) {
    return building ? __atomic_load_n(p, __ATOMIC_RELAXED) : *p;
}
static inline void st_link(int32_t *p, int32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

/* The links of i on layer lv: *nb points at them (read them with ld_link) and the
 * count is returned, at most the layer's capacity. */
static inline int neighbors(const hnsw *h, int64_t i, int lv, int building, const int32_t **nb) {
    const int32_t *l = links_of(h, i, lv);
    *nb = l + 1;
    int n = ld_link(l, building), cap = lv ? h->M : h->M0;
    return n < cap ? n : cap;
}

/* ---------------------------------------------------------------- visited lists */

static void hctx_free(hctx *c) {
    if (!c) return;
    wn_free(c->tag), wn_free(c->cand.a), wn_free(c->res.a), wn_free(c->sel), wn_free(c->nb), wn_free(c->qbuf),
        wn_free(c->qbuf2);
    wn_free(c);
}

static struct visited *visited_get(const wn_index *ix) {
    hnsw *h = (hnsw *)&ix->h; /* the free list is internal, guarded by vl_mu */
    struct visited *v = NULL;
    pthread_mutex_lock(&h->vl_mu);
    if (h->n_vl_free) v = h->vl_free[--h->n_vl_free];
    pthread_mutex_unlock(&h->vl_mu);
    if (v && v->n < ix->n) {
        hctx_free(v);
        v = NULL;
    }
    if (!v) {
        v = wn_calloc(1, sizeof *v);
        if (!v) return NULL;
        v->n = ix->n + ix->n / 4 + 64;
        v->tag = wn_calloc((size_t)v->n, sizeof *v->tag);
        v->nb = wn_malloc(sizeof(int32_t) * (size_t)(ix->h.M0 + 2));
        v->qbuf = wn_malloc(sizeof(float) * (size_t)ix->dim);
        v->qbuf2 = wn_malloc(sizeof(float) * (size_t)ix->dim);
        if (!v->tag || !v->nb || !v->qbuf || !v->qbuf2) {
            hctx_free(v);
            return NULL;
        }
    }
    if (++v->cur == 0) { /* wrapped: clear once every 2^32 searches */
        memset(v->tag, 0, (size_t)v->n * sizeof *v->tag);
        v->cur = 1;
    }
    return v;
}

static void visited_put(const wn_index *ix, struct visited *v) {
    if (!v) return;
    hnsw *h = (hnsw *)&ix->h;
    pthread_mutex_lock(&h->vl_mu);
    if (h->n_vl_free < 64) {
        if (h->n_vl_free == h->cap_vl_free) {
            int cap = h->cap_vl_free ? 2 * h->cap_vl_free : 8;
            struct visited **a = wn_realloc(h->vl_free, (size_t)cap * sizeof *a);
            if (a) h->vl_free = a, h->cap_vl_free = cap;
        }
        if (h->n_vl_free < h->cap_vl_free) {
            h->vl_free[h->n_vl_free++] = v;
            v = NULL;
        }
    }
    pthread_mutex_unlock(&h->vl_mu);
    hctx_free(v);
}

/* The stored vector of slot i as a query (decoded into buf unless fp32; with
 * simd == 2 the fp16 build copy's row, decoded). */
HN_INLINE iquery node_query(const wn_index *ix, int64_t i, float *buf, int simd) {
    iquery q;
    (void)simd; /* without HN_AVX2 (e.g. aarch64) there is one path */
#ifdef HN_AVX2
    if (simd == 2) {
        hn_f16_row(&ix->h, i, ix->dim, buf);
        q.x = buf;
    } else
#endif
        if (ix->vs.st == WN_STORAGE_FP32) q.x = vstore_row(&ix->vs, i);
    else {
        vstore_get(&ix->vs, i, buf);
        q.x = buf;
    }
    q.qn = vstore_norms(&ix->vs)[i];
    q.aug = 0;
    if (ix->metric == WN_METRIC_IP) { /* a tiny floor keeps aug != 0 for the largest vector */
        float t = ix->h.phi2 - q.qn;
        q.aug = t > 1e-20f ? sqrtf(t) : 1e-10f;
    }
    return q;
}

/* ---------------------------------------------------------------- Algorithm 2 */

/* Starts a visited epoch (tags of other epochs are stale: no clearing). */
static inline uint32_t new_epoch(hctx *c) {
    if (++c->cur == 0) {
        memset(c->tag, 0, (size_t)c->n * sizeof *c->tag);
        c->cur = 1;
    }
    return c->cur;
}


/* SEARCH-LAYER(q, ep, ef, lc): the ef nearest found on layer lv, left in c->res as
 * a max-heap (keys -d). With a filter f, every node is traversed but only those
 * f accepts enter the results. building: links are read under node locks. */
HN_INLINE int search_layer(const wn_index *ix, const dist_kernels *kr, hctx *c, const iquery *q, const hn *eps, int n_eps,
                        int ef, int lv, const sfilter *f, int building, int simd) {
    const hnsw *h = &ix->h;
    uint32_t *tag = c->tag, cur = new_epoch(c);
    c->cand.n = c->res.n = 0;
    for (int e = 0; e < n_eps; e++) {
        tag[eps[e].i] = cur;
        if (hheap_push(&c->cand, eps[e].d, eps[e].i)) return -1;
        if ((!f || sfilter_ok(f, eps[e].i)) && hheap_push(&c->res, -eps[e].d, eps[e].i)) return -1;
    }
    const char *vbase = simd == 2 ? (const char *)h->b16 : (const char *)ix->vs.data.p;
    const float *norms = vstore_norms(&ix->vs);
    size_t row = simd == 2 ? (size_t)ix->dim * 2 : ix->vs.row;
    while (c->cand.n) {
        hn cn = hheap_pop(&c->cand);
        if (c->res.n >= ef && cn.d > -c->res.a[0].d) break;
        if (c->cand.n) /* the likely next node to expand: its link list */
            __builtin_prefetch(links_of(h, c->cand.a[0].i, lv));
        const int32_t *nb;
        int nn = neighbors(h, cn.i, lv, building, &nb);
        /* first the unvisited neighbours (tags set now: each node is scored once),
         * then their distances with the next rows prefetched */
        int32_t *todo = c->nb;
        int nt = 0;
        for (int j = 0; j < nn; j++) todo[j] = ld_link(nb + j, building), __builtin_prefetch(tag + todo[j]);
        for (int j = 0; j < nn; j++) {
            int32_t e = todo[j];
            if (tag[e] != cur) tag[e] = cur, todo[nt++] = e;
        }
        if (nt) __builtin_prefetch(vbase + (size_t)todo[0] * row), __builtin_prefetch(norms + todo[0]);
        for (int j = 0; j < nt; j++) {
            if (j + 1 < nt) {
                const char *nx = vbase + (size_t)todo[j + 1] * row;
                __builtin_prefetch(nx), __builtin_prefetch(nx + 64), __builtin_prefetch(nx + 128);
                __builtin_prefetch(norms + todo[j + 1]); /* L2 = qn - 2 q.x + |x|^2 */
            }
            int32_t e = todo[j];
            float d = hdist(ix, kr, q, e, simd);
            if (c->res.n < ef || d < -c->res.a[0].d) {
                if (hheap_push(&c->cand, d, e)) return -1;
                if (!f || sfilter_ok(f, e)) {
                    if (hheap_push(&c->res, -d, e)) return -1;
                    if (c->res.n > ef) hheap_pop(&c->res);
                }
            }
        }
    }
    return 0;
}

/* Greedy descent on one layer (Algorithm 2 with ef = 1), within the visited epoch
 * of the whole descent: a node scored before is skipped, which changes nothing,
 * since cur.d only decreases and each scan ends at the best of what it scored, so
 * no node scored earlier can be strictly closer than cur (about 1 in 5 of the
 * upper-layer distances of a query are such repeats). */
HN_INLINE hn greedy(const wn_index *ix, const dist_kernels *kr, hctx *c, const iquery *q, hn cur, int lv, int building,
                   int simd) {
    const hnsw *h = &ix->h;
    uint32_t *tag = c->tag, ep = c->cur;
    tag[cur.i] = ep;
    for (int changed = 1; changed;) {
        changed = 0;
        const int32_t *nb;
        int nn = neighbors(h, cur.i, lv, building, &nb);
        int32_t *todo = c->nb;
        int nt = 0;
        for (int j = 0; j < nn; j++) {
            int32_t e = ld_link(nb + j, building);
            if (tag[e] != ep) tag[e] = ep, todo[nt++] = e;
        }
        for (int j = 0; j < nt; j++) {
            if (j + 1 < nt) __builtin_prefetch(vstore_row(&ix->vs, todo[j + 1]));
            float d = hdist(ix, kr, q, todo[j], simd);
            if (d < cur.d) cur = (hn){d, todo[j]}, changed = 1;
        }
    }
    return cur;
}

/* ---------------------------------------------------------------- Algorithm 4 */

static int cmp_hn(const void *a, const void *b) {
    const hn *x = a, *y = b;
    return x->d < y->d ? -1 : x->d > y->d ? 1 : x->i - y->i;
}

/* Sorts by (d, i): a total order, so the result equals qsort's with cmp_hn.
 * Insertion sort for the short lists of link_back, qsort beyond. */
static void sort_hn(hn *a, int n) {
    if (n > 48) {
        qsort(a, (size_t)n, sizeof *a, cmp_hn);
        return;
    }
    for (int j = 1; j < n; j++) {
        hn x = a[j];
        int r = j;
        while (r > 0 && (a[r - 1].d > x.d || (a[r - 1].d == x.d && a[r - 1].i > x.i))) a[r] = a[r - 1], r--;
        a[r] = x;
    }
}

/* SELECT-NEIGHBORS-HEURISTIC(q, C, M): cand (distances to q) sorted ascending
 * (sorted here unless the caller says it is);
 * keeps a candidate only if it is closer to q than to every one kept so far,
 * which spreads links over directions (extendCandidates and
 * keepPrunedConnections off, as in the paper's recommended setting and hnswlib).
 * Returns the count kept, moved to the front of cand. */
HN_INLINE int select_heuristic(const wn_index *ix, const dist_kernels *kr, hctx *c, hn *cand, int n, int M, int sorted,
                               int simd) {
    if (!sorted) sort_hn(cand, n);
    if (n <= M) return n;
    int kept = 0;
    for (int j = 0; j < n && kept < M; j++) {
        iquery e = node_query(ix, cand[j].i, c->qbuf2, simd);
        int good = 1;
        for (int r = 0; r < kept && good; r++)
            if (hdist(ix, kr, &e, cand[r].i, simd) < cand[j].d) good = 0;
        if (good) cand[kept++] = cand[j];
    }
    return kept;
}

static int ensure_sel(hctx *c, int n) {
    if (n <= c->cap_sel) return 0;
    hn *a = wn_realloc(c->sel, (size_t)n * sizeof *a);
    if (!a) return -1;
    c->sel = a, c->cap_sel = n;
    return 0;
}

/* Adds the link e -> i on layer lv; shrinks e's list with Algorithm 4 when full. */
HN_INLINE int link_back(const wn_index *ix, const dist_kernels *kr, hctx *c, int32_t e, int32_t i, float d_ei, int lv,
                        int simd) {
    const hnsw *h = &ix->h;
    int Mmax = lv == 0 ? h->M0 : h->M;
    if (ensure_sel(c, Mmax + 1)) return -1;
    lock_node(h, e);
    int32_t *l = links_of(h, e, lv);
    int n = l[0];
    for (int j = 0; j < n; j++)
        if (l[1 + j] == i) {
            unlock_node(h, e);
            return 0;
        }
    if (n < Mmax) {
        st_link(l + 1 + n, i);
        st_link(l, n + 1);
    } else {
        iquery qe = node_query(ix, e, c->qbuf, simd);
        for (int j = 0; j < n; j++) {
            if (j + 1 < n) {
                const char *nx = simd == 2 ? (const char *)(h->b16 + (size_t)l[2 + j] * (size_t)ix->dim)
                                           : (const char *)vstore_row(&ix->vs, l[2 + j]);
                __builtin_prefetch(nx), __builtin_prefetch(nx + 64), __builtin_prefetch(nx + 128);
            }
            c->sel[j] = (hn){hdist(ix, kr, &qe, l[1 + j], simd), l[1 + j]};
        }
        c->sel[n] = (hn){d_ei, i};
        int kept = select_heuristic(ix, kr, c, c->sel, n + 1, Mmax, 0, simd);
        for (int j = 0; j < kept; j++) st_link(l + 1 + j, c->sel[j].i);
        st_link(l, kept);
    }
    unlock_node(h, e);
    return 0;
}

/* ---------------------------------------------------------------- Algorithm 1 */

/* INSERT(hnsw, q, M, Mmax, efConstruction, mL) for slot i, whose level is set. */
HN_INLINE int insert(wn_index *ix, const dist_kernels *kr, hctx *c, int32_t i, int simd) {
    hnsw *h = &ix->h;
    int l = level_of(h, i);
    pthread_mutex_lock(&h->glock);
    int L = h->max_level;
    int64_t ep = h->entry;
    int hold = l > L; /* a new top level: keep the global lock for the whole insert */
    if (ep < 0) {
        h->entry = i, h->max_level = l;
        pthread_mutex_unlock(&h->glock);
        return 0;
    }
    if (!hold) pthread_mutex_unlock(&h->glock);
    /* the query is node i's own vector; decoded into a private copy unless fp32
     * (qbuf and qbuf2 are scratch of link_back and select_heuristic) */
    iquery q = node_query(ix, i, c->qbuf, simd == 2 ? 1 : simd); /* its own row at full precision */
    float *qown = NULL;
    hn *w = NULL;
    if (ix->vs.st != WN_STORAGE_FP32) {
        qown = wn_malloc(sizeof(float) * (size_t)ix->dim);
        if (!qown) goto fail;
        memcpy(qown, c->qbuf, sizeof(float) * (size_t)ix->dim);
        q.x = qown;
    }
    hn cur = {hdist(ix, kr, &q, ep, simd), (int32_t)ep};
    new_epoch(c);
    for (int lv = L; lv > l; lv--) cur = greedy(ix, kr, c, &q, cur, lv, 1, simd);
    hn *eps = &cur;
    int n_eps = 1;
    for (int lv = WN_MIN(L, l); lv >= 0; lv--) {
        if (search_layer(ix, kr, c, &q, eps, n_eps, h->efc, lv, NULL, 1, simd)) goto fail;
        int n = c->res.n;
        wn_free(w);
        w = wn_malloc(sizeof(hn) * (size_t)(n ? n : 1));
        if (!w) goto fail;
        for (int j = 0; j < n; j++) w[j] = (hn){-c->res.a[j].d, c->res.a[j].i};
        qsort(w, (size_t)n, sizeof *w, cmp_hn);
        /* neighbours: Algorithm 4 over a copy (w stays the entry set of the next layer)
         * without i itself, which a concurrent insert can have made reachable: kept
         * first at distance ~0 it would prune the others at random (never happens
         * single-threaded) */
        if (ensure_sel(c, n + 1)) goto fail;
        int ns = 0;
        for (int j = 0; j < n; j++)
            if (w[j].i != i) c->sel[ns++] = w[j];
        int nsel = select_heuristic(ix, kr, c, c->sel, ns, h->M, 1, simd);
        int32_t mine[512];
        float md[512];
        /* A concurrent insert may already have linked itself into i's list on this
         * layer (it found i through a higher layer): keep those links, or i loses
         * them while they keep pointing at i (recall fell to ~0.97 on 2 threads). */
        int32_t prior[512];
        lock_node(h, i);
        int32_t *li = links_of(h, i, lv);
        int n_prior = li[0];
        memcpy(prior, li + 1, sizeof(int32_t) * (size_t)n_prior);
        int cnt = 0;
        for (int j = 0; j < nsel; j++)
            mine[cnt] = c->sel[j].i, md[cnt] = c->sel[j].d, st_link(li + 1 + cnt, c->sel[j].i), cnt++;
        st_link(li, cnt);
        unlock_node(h, i);
        for (int j = 0; j < cnt; j++)
            if (link_back(ix, kr, c, mine[j], i, md[j], lv, simd)) goto fail;
        for (int j = 0; j < n_prior; j++)
            if (prior[j] != i && link_back(ix, kr, c, i, prior[j], hdist(ix, kr, &q, prior[j], simd), lv, simd))
                goto fail;
        eps = w, n_eps = n;
    }
    wn_free(w);
    wn_free(qown);
    if (hold) {
        h->entry = i, h->max_level = l;
        pthread_mutex_unlock(&h->glock);
    }
    return 0;
fail:
    wn_free(w);
    wn_free(qown);
    if (hold) pthread_mutex_unlock(&h->glock);
    return -1;
}

static int insert_generic(wn_index *ix, const dist_kernels *kr, hctx *c, int32_t i) { return insert(ix, kr, c, i, 0); }
#ifdef HN_AVX2
HN_TARGET static int insert_avx2(wn_index *ix, const dist_kernels *kr, hctx *c, int32_t i) {
    return insert(ix, kr, c, i, 1);
}
HN_TARGET static int insert_avx2_f16(wn_index *ix, const dist_kernels *kr, hctx *c, int32_t i) {
    return insert(ix, kr, c, i, 2);
}
#endif

#ifdef HN_AVX2
/* 1 when the AVX2 instantiation applies: fp32 rows and SIMD kernels selected. */
static int use_simd(const wn_index *ix, const dist_kernels *kr) {
    return ix->vs.st == WN_STORAGE_FP32 && kr != dist_ref() && wn_cpu_isa() >= WN_ISA_AVX2 &&
           wn_cpu_isa() <= WN_ISA_AVX512;
}
#endif

/* ---------------------------------------------------------------- build */

static int draw_level(uint64_t seed, int64_t slot, int M) {
    uint64_t x = seed ^ ((uint64_t)slot * 0x9E3779B97F4A7C15ULL);
    x ^= x >> 30, x *= 0xbf58476d1ce4e5b9ULL, x ^= x >> 27, x *= 0x94d049bb133111ebULL, x ^= x >> 31;
    double u = ((double)(x >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
    int l = (int)(-log(u) / log((double)M)); /* mL = 1 / ln M */
    return l > MAX_LEVEL ? MAX_LEVEL : l;
}

wn_status hnsw_init(wn_index *ix) {
    hnsw *h = &ix->h;
    h->M = ix->p.m;
    h->M0 = 2 * ix->p.m;
    h->efc = ix->p.ef_construction;
    h->max_level = -1;
    h->entry = -1;
    pthread_mutex_init(&h->glock, NULL);
    pthread_mutex_init(&h->vl_mu, NULL);
    return WN_OK;
}

void hnsw_free(hnsw *h) {
    ibuf_free(&h->level), ibuf_free(&h->l0), ibuf_free(&h->up_off), ibuf_free(&h->up);
    wn_free_aligned(h->locks);
    for (int i = 0; i < h->n_vl_free; i++) hctx_free(h->vl_free[i]);
    wn_free(h->vl_free);
    pthread_mutex_destroy(&h->glock);
    pthread_mutex_destroy(&h->vl_mu);
}

typedef struct {
    wn_index *ix;
    int64_t first, n;
    atomic_llong next, done;
    wn_task_err err; /* the first insert that failed, with its worker's message */
} build_task;

static void build_worker(void *arg, int ith, int nth) {
    build_task *t = arg;
    wn_index *ix = t->ix;
    const dist_kernels *kr = dist_get();
    int (*ins)(wn_index *, const dist_kernels *, hctx *, int32_t) = insert_generic;
#ifdef HN_AVX2
    if (use_simd(ix, kr)) ins = ix->h.b16 ? insert_avx2_f16 : insert_avx2;
#endif
    hctx *c = visited_get(ix);
    if (!c) {
        wn_task_fail(&t->err, wn_seterr(WN_ERR_NOMEM, "hnsw: out of memory for the search scratch of build thread %d of %d",
                                        ith, nth));
        return;
    }
    for (;;) {
        int64_t j = atomic_fetch_add(&t->next, 1);
        if (j >= t->n || wn_task_failed(&t->err)) break;
        if (ins(ix, kr, c, (int32_t)(t->first + j))) { /* an insert fails only for memory */
            wn_task_fail(&t->err, wn_seterr(WN_ERR_NOMEM, "hnsw: out of memory inserting vector %lld of %lld",
                                            (long long)j, (long long)t->n));
            break;
        }
        int64_t d = atomic_fetch_add(&t->done, 1) + 1;
        if (ith == 0 && ix->p.progress && (d % 1024 == 0 || d == t->n))
            ix->p.progress(ix->p.progress_ud, "hnsw build", (uint64_t)d, (uint64_t)t->n);
    }
    visited_put(ix, c);
}

/* Speed of a build: graph construction is memory bound (each distance reads a
 * random 1.5 KB row at 384 dimensions; a 100k build reads ~300M of them), so a
 * batch that is at least a quarter of the index is built over an fp16 copy of the
 * rows (half the bytes: ~40% less build time). Values are scaled by a power of two
 * so the largest |value| is below 2^15 (no overflow; scaling is exact), and only
 * the graph's choices see the rounding (relative 2^-11 per value): the index keeps
 * and searches the fp32 rows. Recall of the resulting graph equals the fp32 one's
 * (bench/ann.sh: same recall@10 at every ef; test_index checks recall). The copy
 * is freed when the add returns. Off for fp16/int8 storage, the scalar kernels,
 * small batches, or when the caller sets wn_index_params.exact_build. */
static wn_status half_copy(wn_index *ix, int64_t first, int64_t n, ibuf *b) {
    hnsw *h = &ix->h;
    h->b16 = NULL;
#ifdef HN_AVX2
    int64_t total = first + n;
    if (!use_simd(ix, dist_get()) || n < 64 || n * 4 < total || ix->p.exact_build) return WN_OK;
    float mx = 0;
    const float *x = vstore_row(&ix->vs, 0);
    for (size_t j = 0; j < (size_t)total * (size_t)ix->dim; j++) mx = fmaxf(mx, fabsf(x[j]));
    int e = 0;
    (void)frexpf(mx, &e); /* mx = m 2^e, m in [0.5, 1) */
    if (mx > 0 && e < -100) return WN_OK; /* too small for fp16 even scaled: build over fp32 */
    int k = mx > 0 ? 15 - e : 0;
    wn_status st = ibuf_reserve(b, (size_t)total * (size_t)ix->dim * 2);
    if (st != WN_OK) return st;
    uint16_t *o = b->p;
    for (int64_t i = 0; i < total; i++)
        hn_to_f16(vstore_row(&ix->vs, i), o + (size_t)i * (size_t)ix->dim, ix->dim, ldexpf(1, k));
    h->b16 = o, h->b16_inv = ldexpf(1, -k);
#else
    (void)ix, (void)first, (void)n, (void)b;
#endif
    return WN_OK;
}

wn_status hnsw_add(wn_index *ix, int64_t first, int64_t n) {
    hnsw *h = &ix->h;
    int64_t total = first + n;
    size_t blk = (size_t)(1 + h->M0) * sizeof(int32_t);
    wn_status st;
    if ((st = ibuf_reserve(&h->l0, (size_t)total * blk)) != WN_OK) return st;
    memset((char *)h->l0.p + h->l0.len, 0, (size_t)n * blk);
    h->l0.len = (size_t)total * blk;
    if ((st = ibuf_reserve(&h->level, (size_t)total)) != WN_OK) return st;
    if ((st = ibuf_reserve(&h->up_off, (size_t)total * 8)) != WN_OK) return st;
    if (ix->metric == WN_METRIC_IP)
        for (int64_t i = first; i < total; i++) h->phi2 = fmaxf(h->phi2, vstore_norms(&ix->vs)[i]);
    size_t up_need = h->up.len;
    for (int64_t i = first; i < total; i++) {
        int l = draw_level(ix->p.seed, i, h->M);
        ((uint8_t *)h->level.p)[i] = (uint8_t)l;
        ((int64_t *)h->up_off.p)[i] = l ? (int64_t)(up_need / 4) : -1;
        up_need += (size_t)l * (1 + h->M) * 4;
    }
    h->level.len = (size_t)total, h->up_off.len = (size_t)total * 8;
    if ((st = ibuf_reserve(&h->up, up_need + 64)) != WN_OK) return st;
    memset((char *)h->up.p + h->up.len, 0, up_need - h->up.len);
    h->up.len = up_need;
    /* locks: one byte per node, kept for later adds */
    if (h->n_locks < (size_t)total) {
        size_t cap = (size_t)total + (size_t)total / 2;
        atomic_uchar *lk = wn_malloc_aligned(cap);
        if (!lk) return wn_seterr(WN_ERR_NOMEM, "hnsw: out of memory for %zu node locks", cap);
        memset(lk, 0, cap);
        wn_free_aligned(h->locks);
        h->locks = lk, h->n_locks = cap;
    }
    ibuf b16 = {0};
    if ((st = half_copy(ix, first, n, &b16)) != WN_OK) return st;
    build_task t = {ix, first, n, 0, 0, {0}};
    wn_task_err_init(&t.err);
    wn_pool *pool = NULL;
    int nth = ix->p.n_threads <= 0 ? wn_ncpu() : ix->p.n_threads;
    if ((st = index_pool(ix->p.threads, n < 256 ? 1 : nth, &pool)) != WN_OK) {
        ibuf_free(&b16), h->b16 = NULL;
        return st;
    }
    wn_pool_run(pool, build_worker, &t);
    index_pool_release(ix->p.threads, pool);
    ibuf_free(&b16), h->b16 = NULL;
    return wn_task_raise(&t.err);
}

/* ---------------------------------------------------------------- Algorithm 5 */

static int64_t count_allowed(const sfilter *f) {
    const wn_index_search_params *sp = f->sp;
    if (!sp->allow || sp->filter) return -1;
    int64_t n = 0, nb = sp->allow_bits / 8;
    for (int64_t b = 0; b < nb; b++) n += __builtin_popcount(sp->allow[b]);
    for (int64_t i = nb * 8; i < sp->allow_bits; i++) n += (sp->allow[i >> 3] >> (i & 7)) & 1;
    return n;
}

/* K-NN-SEARCH(hnsw, q, K, ef): greedy descent to layer 1, Algorithm 2 on layer 0;
 * the ef best are left in c->res. */
HN_INLINE int knn(const wn_index *ix, const dist_kernels *kr, hctx *c, const iquery *q, int ef, const sfilter *f,
                  int simd) {
    const hnsw *h = &ix->h;
    hn cur = {hdist(ix, kr, q, h->entry, simd), (int32_t)h->entry};
    new_epoch(c);
    for (int lv = h->max_level; lv > 0; lv--) cur = greedy(ix, kr, c, q, cur, lv, 0, simd);
    return search_layer(ix, kr, c, q, &cur, 1, ef, 0, f, 0, simd);
}
static int knn_generic(const wn_index *ix, const dist_kernels *kr, hctx *c, const iquery *q, int ef, const sfilter *f) {
    return knn(ix, kr, c, q, ef, f, 0);
}
#ifdef HN_AVX2
HN_TARGET static int knn_avx2(const wn_index *ix, const dist_kernels *kr, hctx *c, const iquery *q, int ef,
                              const sfilter *f) {
    return knn(ix, kr, c, q, ef, f, 1);
}
#endif

/* The caller's entry point: the ef best of knn into the caller's top-k. */
wn_status hnsw_search1(const wn_index *ix, const dist_kernels *kr, const iquery *q, int k, int ef, const sfilter *f,
                       topk *out) {
    const hnsw *h = &ix->h;
    (void)k; /* ef >= k, the caller's heap keeps the k best */
    if (h->entry < 0 || ix->n_live == 0) return WN_OK;
    /* a very selective allow-list: scanning the allowed vectors is cheaper and exact */
    if (f->sp->allow && !f->sp->filter && ix->n > 1000) {
        int64_t na = count_allowed(f);
        if (na >= 0 && na * 50 < ix->n) {
            flat_scan(ix, kr, q, 0, ix->n, f, out);
            return WN_OK;
        }
    }
    hctx *c = visited_get(ix);
    if (!c) return wn_seterr(WN_ERR_NOMEM, "hnsw: out of memory for search scratch");
    int rc;
#ifdef HN_AVX2
    if (use_simd(ix, kr)) rc = knn_avx2(ix, kr, c, q, ef, f->any_filter ? f : NULL);
    else
#endif
        rc = knn_generic(ix, kr, c, q, ef, f->any_filter ? f : NULL);
    wn_status st = WN_OK;
    if (rc) st = wn_seterr(WN_ERR_NOMEM, "hnsw: out of memory in search");
    for (int j = 0; st == WN_OK && j < c->res.n; j++)
        if (-c->res.a[j].d < topk_worst(out)) topk_push(out, -c->res.a[j].d, c->res.a[j].i);
    visited_put(ix, c);
    return st;
}
