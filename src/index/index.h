/*
 * index.h - internals shared by src/index/: the wn_index struct, the vector store
 * (fp32 / fp16 / int8 rows), distance kernels with their ISA variants, top-k heaps,
 * and the entry points of each index type (flat.c, hnsw.c, ivf.c, index_io.c).
 * Names: D dimension, N slots (internal ids 0..N-1, in insertion order), K results.
 * Internal distances are "smaller is better": -dot for IP/COS, squared L2 for L2;
 * index.c converts them to the public scores.
 */
#ifndef WN_INDEX_INTERNAL_H
#define WN_INDEX_INTERNAL_H

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "util/util.h"

/* ---- a byte buffer that is either owned (heap, 64-byte aligned) or borrowed from
 * the mapped file; any change first makes it owned (copy on write). */
typedef struct {
    void *p;
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated when owned */
    int owned;
} ibuf;
/* Makes b owned with room for at least cap bytes, keeping its len bytes. */
wn_status ibuf_reserve(ibuf *b, size_t cap);
/* Appends n bytes (growing geometrically). */
wn_status ibuf_append(ibuf *b, const void *data, size_t n);
void ibuf_free(ibuf *b);

/* ---- distance kernels: dot products of an fp32 query with a stored row */
typedef struct {
    const char *name;
    float (*dot_f32)(const float *a, const float *b, int d);
    float (*dot_f16)(const float *a, const uint16_t *b, int d);
    float (*dot_i8)(const float *a, const int8_t *b, int d); /* unscaled */
    /* out[i*ldo + j] = dot(Q row i, X row j) for i < nq, j < nx; rows of length d,
     * Q rows ldq floats apart, X rows ldx floats apart. */
    void (*dot_block)(const float *Q, int nq, size_t ldq, const float *X, int nx, size_t ldx, int d, float *out,
                      int ldo);
    /* Asymmetric PQ distances: out[i] = sum_j tab[j*256 + codes[i*m + j]], i < n. */
    void (*adc)(const float *tab, const uint8_t *codes, int n, int m, float *out);
    /* CRC32C (Castagnoli) continuing from crc. */
    uint32_t (*crc32c)(uint32_t crc, const void *data, size_t n);
} dist_kernels;
const dist_kernels *dist_ref(void);
const dist_kernels *dist_avx2(void);   /* NULL when not compiled for this target */
const dist_kernels *dist_avx512(void); /* NULL when not compiled for this target */
const dist_kernels *dist_neon(void);   /* aarch64 (dist_neon.c); NULL elsewhere */
/* The kernels for this CPU (wn_cpu_isa(); WN_FORCE_SCALAR=1 gives the reference). */
const dist_kernels *dist_get(void);
/* CRC32C with the SSE4.2 instruction (dist_avx2.c; only called when AVX2 is present). */
uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t n);

uint16_t f32_to_f16(float f); /* round to nearest even */
float f16_to_f32(uint16_t h);

/* ---- vector store: N rows of D values in one of three storages. norm[i] is the
 * squared norm of the row as stored (decoded), scale[i] the int8 step. */
typedef struct {
    int dim;
    wn_storage st;
    size_t row; /* bytes per row */
    ibuf data;  /* N rows */
    ibuf norm;  /* N floats */
    ibuf scale; /* N floats (int8 only) */
} vstore;
void vstore_init(vstore *v, int dim, wn_storage st);
wn_status vstore_append(vstore *v, int64_t n, const float *x);
wn_status vstore_reserve(vstore *v, int64_t n);
void vstore_get(const vstore *v, int64_t i, float *out); /* decodes row i */
void vstore_free(vstore *v);
static inline const void *vstore_row(const vstore *v, int64_t i) {
    return (const char *)v->data.p + (size_t)i * v->row;
}
static inline const float *vstore_norms(const vstore *v) { return (const float *)v->norm.p; }

/* ---- a query prepared for one index: the (normalised) vector and its squared norm */
typedef struct {
    const float *x;
    float qn;
    float aug; /* HNSW build under IP: the query node's extra coordinate (else 0) */
} iquery;

/* ---- the id map: external id -> slot (open addressing, linear probing) */
typedef struct {
    int64_t *keys; /* -1 empty */
    int64_t *vals;
    size_t cap, n;
} idmap;
wn_status idmap_put(idmap *m, int64_t key, int64_t val);
int64_t idmap_get(const idmap *m, int64_t key); /* -1 absent */
void idmap_del(idmap *m, int64_t key);
void idmap_free(idmap *m);

/* ---- HNSW graph (hnsw.c). Layer 0: N blocks of 1 + M0 int32 (count, links).
 * Upper layers: node i with level L > 0 owns L blocks of 1 + M int32 in up,
 * starting at up_off[i]. */
typedef struct {
    int M, M0, efc;
    int max_level;
    int64_t entry; /* -1 when empty */
    float phi2;    /* IP: the largest squared norm seen (the MIPS -> L2 reduction) */
    ibuf level;    /* uint8 per slot */
    ibuf l0;       /* int32 N * (1 + M0) */
    ibuf up_off;   /* int64 per slot (-1: none) */
    ibuf up;       /* int32 pool */
    /* during a big add only (hnsw.c, not saved): an fp16 copy of all rows, each
     * value times 2^k (k from the largest |value|), and b16_inv = 2^-k */
    uint16_t *b16;
    float b16_inv;
    atomic_uchar *locks; /* per-slot spin locks during build (heap, not saved) */
    size_t n_locks;
    pthread_mutex_t glock; /* entry point and max level */
    /* visited lists handed to searches (kept for reuse; guarded by vl_mu) */
    pthread_mutex_t vl_mu;
    struct visited **vl_free;
    int n_vl_free, cap_vl_free;
} hnsw;

/* ---- IVF (ivf.c): nlist lists of slots (+ PQ codes of m bytes per entry). */
typedef struct {
    ibuf slots; /* int32 */
    ibuf codes; /* uint8 n * pq_m (IVF-PQ) */
    int64_t n;
} ivf_list;
typedef struct {
    int nlist, pq_m, dsub, trained;
    ibuf cent; /* float nlist * D */
    ibuf cnorm; /* float nlist: squared norms of centroids */
    ibuf pq;   /* float pq_m * 256 * dsub: codebooks of residuals */
    ivf_list *lists;
    ibuf assign; /* int32 per slot: its list (for removal bookkeeping) */
} ivf;

struct wn_index {
    wn_index_type type;
    int dim;
    wn_metric metric;
    wn_index_params p;
    int64_t n;      /* slots */
    int64_t n_live; /* slots not deleted */
    int has_vectors;
    vstore vs;  /* all types but IVF-PQ without keep_vectors */
    ibuf ids;   /* int64 external id per slot */
    ibuf del;   /* uint8 per slot: 1 = deleted */
    idmap map;  /* external id -> live slot */
    int64_t next_id;
    hnsw h;
    ivf v;
    void *map_base; /* the mapped file (NULL: nothing mapped) */
    size_t map_len;
};

static inline const int64_t *ix_ids(const wn_index *ix) { return (const int64_t *)ix->ids.p; }
static inline int ix_deleted(const wn_index *ix, int64_t slot) { return ((const uint8_t *)ix->del.p)[slot]; }
/* The live slot of external id (-1: none). A slot whose id equals its number (ids
 * given by the index, the common case) needs no map entry: the map holds only the
 * others, which saves 16+ bytes per vector. */
static inline int64_t ix_slot_of(const wn_index *ix, int64_t id) {
    if (id >= 0 && id < ix->n && ix_ids(ix)[id] == id && !ix_deleted(ix, id)) return id;
    return idmap_get(&ix->map, id);
}

/* ---- search context of one thread: filter + top-k heap */
typedef struct {
    const wn_index *ix;
    const wn_index_search_params *sp;
    int any_filter; /* deletes or caller filter present */
} sfilter;
/* 1 when slot may be returned: not deleted, passes the allow-list and callback. */
int sfilter_ok(const sfilter *f, int64_t slot);

/* A max-heap of the K best (smallest) distances. */
typedef struct {
    float *d;
    int64_t *i;
    int n, k;
} topk;
void topk_push(topk *h, float d, int64_t i);
/* Sorts ascending in place (heap destroyed); returns the count. */
int topk_sort(topk *h);
static inline float topk_worst(const topk *h) { return h->n < h->k ? INFINITY : h->d[0]; }

/* Distance of a query to stored row i (internal convention). */
float ix_dist(const wn_index *ix, const dist_kernels *kr, const iquery *q, int64_t i);

/* ---- per-type entry points */
wn_status flat_search(const wn_index *ix, int64_t nq, const float *q, const float *qn, int k,
                      const wn_index_search_params *sp, int n_threads, float *dist, int64_t *slots);
/* Brute force of one query over the base slots [lo, hi) into h (used by flat and
 * by small filtered searches). */
void flat_scan(const wn_index *ix, const dist_kernels *kr, const iquery *q, int64_t lo, int64_t hi, const sfilter *f,
               topk *h);

wn_status hnsw_init(wn_index *ix);
void hnsw_free(hnsw *h);
/* Inserts slots [first, first+n) (their vectors are stored already). */
wn_status hnsw_add(wn_index *ix, int64_t first, int64_t n);
/* One query: K best slots into h (sorted later by the caller). */
wn_status hnsw_search1(const wn_index *ix, const dist_kernels *kr, const iquery *q, int k, int ef, const sfilter *f,
                       topk *h);

wn_status ivf_init(wn_index *ix);
void ivf_free(ivf *v);
wn_status ivf_train(wn_index *ix, int64_t n, const float *x);
/* Assigns and encodes slots [first, first+n): x holds their (normalised) vectors. */
wn_status ivf_add(wn_index *ix, int64_t first, int64_t n, const float *x);
wn_status ivf_search1(const wn_index *ix, const dist_kernels *kr, const iquery *q, int k, const wn_index_search_params *sp,
                      const sfilter *f, topk *h);

/* Builds a pool of n threads (0: all CPUs), or NULL for one thread. */
/* The pool for work over n_threads (1: none, the caller's thread; <= 0: all CPUs):
 * the caller's pool given (wn_index_params / wn_index_search_params .threads) when set,
 * else a new one; index_pool_release frees only one made here. */
wn_status index_pool(wn_pool *given, int n_threads, wn_pool **out);
void index_pool_release(wn_pool *given, wn_pool *p);

/* Returns WN_ERR_ARG naming the first non-finite value of x[n*dim]. */
wn_status check_finite(const char *what, int64_t n, int dim, const float *x);

#endif
