/*
 * bm25_search.c - top k documents by BM25 for OR-queries, one query or a batch
 * on a thread pool.
 *
 * Scoring, as Lucene 8's BM25Similarity (and so Anserini / Pyserini) computes it:
 *   N      = documents with at least one term (Lucene's docCount)
 *   avgdl  = (float)(sum of document lengths / N)
 *   idf(t) = (float) ln(1 + (N - df + 0.5) / (df + 0.5))
 *   K(d)   = k1 * (1 - b + b * L(d) / avgdl), L(d) the length decoded from Lucene's
 *            one-byte norm (bm25_norm_to_len: exact below 24, then 4 significant bits)
 *   s(q,d) = sum over unique query terms t of  c(t) * idf(t) * (k1 + 1) * tf / (tf + K(d))
 * where c(t) is how often t occurs in the analyzed query: Anserini's bag-of-words
 * query has one SHOULD clause per query token, so a repeated term counts again.
 * Per-term scores are floats, their sum is a double rounded to float (Lucene sums
 * clause scores in a double too). The factor (k1 + 1) is the textbook formula;
 * Lucene 8 dropped it (LUCENE-8563): our scores are Lucene's times (k1 + 1), the
 * ranking is the same. Ties: the document added first comes first (Lucene's
 * order of internal ids).
 *
 * Top k: document-at-a-time MaxScore (Turtle & Flood 1995): the query's terms are
 * sorted by their upper bound; the lists whose bounds together cannot lift a
 * document above the k-th score so far are "non-essential", only probed for the
 * candidates that the others produce. Each probe first checks the bound of the
 * posting block it would land in (block-max, Ding & Suel 2011), which needs no
 * decoding. Bounds come from each block's largest tf and smallest norm.
 */
#include <stdatomic.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lexical.h"

typedef struct {
    const bm25_term *t;
    float w;        /* c(t) * idf * (k1 + 1) */
    float ub;       /* bound of the term's score over all its documents */
    uint32_t nb;    /* blocks, the tail included */
    uint32_t bi;    /* current block (decoded when dec == bi) */
    uint32_t dec;   /* block held in docs/tfs, UINT32_MAX = none */
    int n, pos;     /* entries in docs/tfs, current entry */
    uint32_t doc;   /* current document, UINT32_MAX when exhausted */
    uint32_t docs[BM25_BLOCK], tfs[BM25_BLOCK];
    float one[256]; /* term_score(w, 1, K[norm]): most postings have tf = 1 */
} cursor;

typedef struct {
    float score;
    uint32_t doc;
} hit;

/* Per-thread scratch, reused across queries. */
typedef struct {
    cursor *cur;
    size_t cap_cur;
    hit *heap;
    size_t cap_heap;
    uint32_t *qterms, *qcounts;
    size_t cap_q, n_q;
    double *cum;
    size_t cap_cum;
    int overflow; /* analyzer callback ran out of memory */
} scratch;

static void scratch_free(scratch *s) {
    wn_free(s->cur);
    wn_free(s->heap);
    wn_free(s->qterms);
    wn_free(s->qcounts);
    wn_free(s->cum);
    memset(s, 0, sizeof *s);
}

typedef struct {
    const wn_bm25 *ix;
    scratch *s;
} qctx;

static int on_query_term(void *ud, const char *term, int len) {
    qctx *q = ud;
    scratch *s = q->s;
    int64_t t = bm25_find_term(q->ix, term, (size_t)len);
    if (t < 0 || q->ix->terms[t].df == 0) return 0; /* unknown terms score nothing */
    if (s->n_q && s->qterms[s->n_q - 1] == (uint32_t)t) { /* "the the": cheap case of a repeat */
        s->qcounts[s->n_q - 1]++;
        return 0;
    }
    if (s->n_q + 1 > s->cap_q) {
        size_t c1 = s->cap_q, c2 = s->cap_q;
        if (wn_grow((void **)&s->qterms, &c1, s->n_q + 1, sizeof *s->qterms) ||
            wn_grow((void **)&s->qcounts, &c2, s->n_q + 1, sizeof *s->qcounts)) {
            s->overflow = 1;
            return 1;
        }
        s->cap_q = WN_MIN(c1, c2);
    }
    s->qterms[s->n_q] = (uint32_t)t;
    s->qcounts[s->n_q] = 1;
    s->n_q++;
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Analyzes query into s->qterms / s->qcounts: unique known terms with their count
 * (sorted by term id: O(q log q) however long the query). */
static wn_status query_terms(const wn_bm25 *ix, scratch *s, const char *query) {
    s->n_q = 0;
    s->overflow = 0;
    qctx q = {ix, s};
    bm25_analyze(query, strlen(query), ix->p.stem, ix->p.stopwords, on_query_term, &q);
    if (s->overflow) return wn_seterr(WN_ERR_NOMEM, "bm25: out of memory analyzing the query");
    if (s->n_q < 2) return WN_OK;
    /* pack (term, count) into 64 bits to sort both together */
    uint64_t *pk = wn_malloc(s->n_q * sizeof *pk);
    if (!pk) return wn_seterr(WN_ERR_NOMEM, "bm25: out of memory analyzing the query");
    for (size_t i = 0; i < s->n_q; i++) pk[i] = (uint64_t)s->qterms[i] << 32 | s->qcounts[i];
    qsort(pk, s->n_q, sizeof *pk, cmp_u64);
    size_t m = 0;
    for (size_t i = 0; i < s->n_q; i++) {
        uint32_t t = (uint32_t)(pk[i] >> 32), c = (uint32_t)pk[i];
        if (m && s->qterms[m - 1] == t) {
            s->qcounts[m - 1] += c;
        } else {
            s->qterms[m] = t;
            s->qcounts[m++] = c;
        }
    }
    s->n_q = m;
    wn_free(pk);
    return WN_OK;
}

static inline float term_score(float w, uint32_t tf, float K) {
    float f = (float)tf;
    return w * f / (f + K);
}

static inline float posting_score(const cursor *c, const float *K, uint8_t norm) {
    uint32_t tf = c->tfs[c->pos];
    return tf == 1 ? c->one[norm] : term_score(c->w, tf, K[norm]);
}

static inline uint32_t block_last(const bm25_term *t, uint32_t bi) {
    return bi < t->n_blocks ? t->blocks[bi].last_doc : t->last_doc;
}

static inline float block_ub(const cursor *c, uint32_t bi, const float *K) {
    const bm25_term *t = c->t;
    uint32_t tf = bi < t->n_blocks ? t->blocks[bi].max_tf : t->tail_max_tf;
    uint32_t nm = bi < t->n_blocks ? t->blocks[bi].min_norm : t->tail_min_norm;
    return term_score(c->w, tf, K[nm]) * 1.00001f;
}

static void load_block(cursor *c) {
    if (c->bi >= c->nb) {
        c->doc = UINT32_MAX;
        return;
    }
    c->n = bm25_decode_block(c->t, c->bi, c->docs, c->tfs);
    c->dec = c->bi;
    c->pos = 0;
    c->doc = c->docs[0];
}

static inline void next(cursor *c) {
    if (++c->pos < c->n) {
        c->doc = c->docs[c->pos];
        return;
    }
    c->bi++;
    load_block(c);
}

/* Moves to the block that may hold target, without decoding (block-max's shallow
 * advance); returns 0 when the list ends before target. */
static inline int shallow(cursor *c, uint32_t target) {
    while (c->bi < c->nb && block_last(c->t, c->bi) < target) c->bi++;
    return c->bi < c->nb;
}

/* Advances to the first document >= target. */
static void seek(cursor *c, uint32_t target) {
    if (c->doc >= target) return;
    if (!shallow(c, target)) {
        c->doc = UINT32_MAX;
        return;
    }
    if (c->dec != c->bi) load_block(c);
    int p = c->pos;
    while (c->docs[p] < target) p++; /* the block's last document is >= target */
    c->pos = p;
    c->doc = c->docs[p];
}

/* heap of the k best: the root is the worst (lowest score; on a tie, the later document) */
static inline int worse(hit a, hit b) { return a.score < b.score || (a.score == b.score && a.doc > b.doc); }

static void heap_down(hit *h, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(h[l], h[m])) m = l;
        if (r < n && worse(h[r], h[m])) m = r;
        if (m == i) return;
        hit t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_up(hit *h, int i) {
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!worse(h[i], h[p])) return;
        hit t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static int cmp_ub(const void *a, const void *b) {
    float x = ((const cursor *)a)->ub, y = ((const cursor *)b)->ub;
    if (x != y) return x < y ? -1 : 1;
    /* a fixed order for equal bounds: the term id */
    const bm25_term *s = ((const cursor *)a)->t, *t = ((const cursor *)b)->t;
    return s < t ? -1 : s > t;
}

static int cmp_hit(const void *a, const void *b) {
    hit x = *(const hit *)a, y = *(const hit *)b;
    if (x.score != y.score) return x.score > y.score ? -1 : 1;
    return x.doc < y.doc ? -1 : x.doc > y.doc;
}

/* The length-normalisation table of the collection: K[norm]. */
static void norm_table(const wn_bm25 *ix, float *K) {
    float avgdl = ix->n_nonempty ? (float)((double)ix->sum_len / (double)ix->n_nonempty) : 1.0f;
    float k1 = ix->p.k1, b = ix->p.b;
    for (int i = 0; i < 256; i++) K[i] = k1 * ((1 - b) + b * (float)bm25_norm_to_len((uint8_t)i) / avgdl);
}

static wn_status search_one(const wn_bm25 *ix, const float *K, scratch *s, const char *query, int k, float *scores,
                            int64_t *ids, int *n_out) {
    *n_out = 0;
    wn_status st = query_terms(ix, s, query);
    if (st) return st;
    int n = (int)s->n_q;
    if (k > ix->n_docs) k = (int)ix->n_docs; /* the heap never needs more */
    if (n == 0 || k <= 0) return WN_OK;
    size_t need = (size_t)n;
    if (wn_grow((void **)&s->cur, &s->cap_cur, need, sizeof *s->cur) ||
        wn_grow((void **)&s->heap, &s->cap_heap, (size_t)k, sizeof *s->heap) ||
        wn_grow((void **)&s->cum, &s->cap_cum, need, sizeof *s->cum))
        return wn_seterr(WN_ERR_NOMEM, "wn_bm25_search: out of memory for %d terms, k = %d", n, k);

    double N = (double)ix->n_nonempty;
    float k1p1 = ix->p.k1 + 1.0f;
    cursor *c = s->cur;
    for (int i = 0; i < n; i++) {
        const bm25_term *t = &ix->terms[s->qterms[i]];
        float idf = (float)log(1.0 + (N - t->df + 0.5) / (t->df + 0.5));
        c[i].t = t;
        c[i].w = (float)s->qcounts[i] * idf * k1p1;
        c[i].ub = term_score(c[i].w, t->max_tf, K[t->min_norm]) * 1.00001f;
        for (int j = 0; j < 256; j++) c[i].one[j] = term_score(c[i].w, 1, K[j]);
        c[i].nb = bm25_n_blocks(t);
        c[i].bi = 0;
        c[i].dec = UINT32_MAX;
        load_block(&c[i]);
    }
    qsort(c, (size_t)n, sizeof *c, cmp_ub);
    double *cum = s->cum;
    for (int i = 0; i < n; i++) cum[i] = (i ? cum[i - 1] : 0.0) + c[i].ub;

    hit *heap = s->heap;
    int nh = 0;
    double theta = -1.0; /* the k-th score once the heap is full */
    int e = 0;           /* lists [0, e) are non-essential */
    for (;;) {
        uint32_t d = UINT32_MAX;
        for (int i = e; i < n; i++)
            if (c[i].doc < d) d = c[i].doc;
        if (d == UINT32_MAX) break;
        double score = 0.0;
        for (int i = e; i < n; i++)
            if (c[i].doc == d) {
                score += posting_score(&c[i], K, ix->norms[d]);
                next(&c[i]);
            }
        int pruned = 0;
        for (int i = e - 1; i >= 0; i--) {
            if (score + cum[i] <= theta) {
                pruned = 1;
                break;
            }
            if (!shallow(&c[i], d)) continue;
            if (score + (i ? cum[i - 1] : 0.0) + block_ub(&c[i], c[i].bi, K) <= theta) {
                pruned = 1;
                break;
            }
            seek(&c[i], d);
            if (c[i].doc == d) score += posting_score(&c[i], K, ix->norms[d]);
        }
        if (pruned) continue;
        hit h = {(float)score, d};
        if (nh < k) {
            heap[nh] = h;
            heap_up(heap, nh++);
            if (nh == k) theta = heap[0].score;
        } else if (worse(heap[0], h)) {
            heap[0] = h;
            heap_down(heap, nh, 0);
            theta = heap[0].score;
        } else {
            continue;
        }
        while (e < n && cum[e] <= theta) e++;
        if (e == n) break;
    }
    qsort(heap, (size_t)nh, sizeof *heap, cmp_hit);
    for (int i = 0; i < nh; i++) {
        scores[i] = heap[i].score;
        ids[i] = ix->ext_ids[heap[i].doc];
    }
    *n_out = nh;
    return WN_OK;
}

wn_status wn_bm25_search(const wn_bm25 *ix, const char *query, int k, float *scores, int64_t *ids, int *n_out) {
    WN_ENTRY();
    if (n_out) *n_out = 0;
    if (!ix || !query || !n_out || (k > 0 && (!scores || !ids)))
        return wn_seterr(WN_ERR_ARG, "wn_bm25_search: %s is NULL",
                         !ix ? "the index" : !query ? "query" : !n_out ? "n_out" : "scores or ids");
    if (k < 0) return wn_seterr(WN_ERR_ARG, "wn_bm25_search: k = %d, expected k >= 0", k);
    float K[256];
    norm_table(ix, K);
    scratch s = {0};
    wn_status st = search_one(ix, K, &s, query, k, scores, ids, n_out);
    scratch_free(&s);
    return st;
}

/* ---- batch */

typedef struct {
    const wn_bm25 *ix;
    const float *K;
    int64_t nq;
    const char *const *queries;
    int k;
    float *scores;
    int64_t *ids;
    int *n_out;
    atomic_llong next;
    wn_task_err err; /* the first failure, with its worker's message */
} batch;

static void batch_task(void *arg, int ith, int nth) {
    (void)ith;
    (void)nth;
    batch *b = arg;
    scratch s = {0};
    for (;;) {
        int64_t q = atomic_fetch_add(&b->next, 1);
        if (q >= b->nq || wn_task_failed(&b->err)) break;
        float *sc = b->scores + q * b->k;
        int64_t *id = b->ids + q * b->k;
        int got = 0;
        wn_status st = b->queries[q] ? search_one(b->ix, b->K, &s, b->queries[q], b->k, sc, id, &got)
                                     : wn_seterr(WN_ERR_ARG, "wn_bm25_search_batch: query %lld is NULL", (long long)q);
        if (st) {
            wn_task_fail(&b->err, st);
            break;
        }
        for (int i = got; i < b->k; i++) {
            sc[i] = 0.0f;
            id[i] = -1;
        }
        if (b->n_out) b->n_out[q] = got;
    }
    scratch_free(&s);
}

/* The batch on pool (NULL: the caller's thread), or on a pool of n_threads started
 * for this call when own_threads > 1. */
static wn_status search_batch(const wn_bm25 *ix, wn_pool *pool, int own_threads, int64_t nq,
                              const char *const *queries, int k, float *scores, int64_t *ids, int *n_out) {
    if (!ix || (nq > 0 && (!queries || (k > 0 && (!scores || !ids)))))
        return wn_seterr(WN_ERR_ARG, "wn_bm25_search_batch: a NULL argument (index, queries, scores or ids)");
    if (k < 0 || nq < 0) return wn_seterr(WN_ERR_ARG, "wn_bm25_search_batch: k = %d, nq = %lld", k, (long long)nq);
    if (nq == 0) return WN_OK;
    if (own_threads > nq) own_threads = (int)nq;
    float K[256];
    norm_table(ix, K);
    batch *b = wn_calloc(1, sizeof *b);
    if (!b) return wn_seterr(WN_ERR_NOMEM, "wn_bm25_search_batch: out of memory");
    b->ix = ix;
    b->K = K;
    b->nq = nq;
    b->queries = queries;
    b->k = k;
    b->scores = scores;
    b->ids = ids;
    b->n_out = n_out;
    atomic_init(&b->next, 0);
    wn_task_err_init(&b->err);
    wn_pool *own = NULL;
    wn_status st = WN_OK;
    if (!pool && own_threads > 1 && (st = wn_pool_create(own_threads, &own)) != WN_OK) {
        wn_free(b);
        return st;
    }
    wn_pool_run(pool ? pool : own, batch_task, b); /* NULL: on this thread */
    wn_pool_free(own);
    st = wn_task_raise(&b->err);
    wn_free(b);
    return st;
}

wn_status wn_bm25_search_batch(const wn_bm25 *ix, int64_t nq, const char *const *queries, int k, int n_threads,
                               float *scores, int64_t *ids, int *n_out) {
    WN_ENTRY();
    return search_batch(ix, NULL, n_threads <= 0 ? wn_ncpu() : n_threads, nq, queries, k, scores, ids, n_out);
}

wn_status wn_bm25_search_batch_threads(const wn_bm25 *ix, wn_threads *t, int64_t nq, const char *const *queries,
                                       int k, float *scores, int64_t *ids, int *n_out) {
    WN_ENTRY();
    return search_batch(ix, t, 1, nq, queries, k, scores, ids, n_out);
}

/* ---- explain */

static int appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return -1;
        if (*buf && *len + (size_t)n < *cap) {
            *len += (size_t)n;
            return 0;
        }
        if (wn_grow((void **)buf, cap, *len + (size_t)n + 1, 1)) return -1;
    }
}

wn_status wn_bm25_explain(const wn_bm25 *ix, const char *query, int64_t id, char **out) {
    WN_ENTRY();
    if (out) *out = NULL;
    if (!ix || !query || !out) return wn_seterr(WN_ERR_ARG, "wn_bm25_explain: a NULL argument");
    int64_t doc = bm25_find_doc(ix, id);
    if (doc < 0) return wn_seterr(WN_ERR_NOTFOUND, "wn_bm25_explain: no document with id %lld", (long long)id);
    float K[256];
    norm_table(ix, K);
    scratch s = {0};
    wn_status st = query_terms(ix, &s, query);
    if (st) {
        scratch_free(&s);
        return st;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int bad = 0;
    uint8_t norm = ix->norms[doc];
    double N = (double)ix->n_nonempty, total = 0.0;
    float avgdl = ix->n_nonempty ? (float)((double)ix->sum_len / N) : 1.0f;
    bad |= appendf(&buf, &len, &cap, "doc %lld: length %u (as Lucene's norm: %u), avgdl %.9g, N %lld, k1 %.9g, b %.9g\n",
                   (long long)id, ix->lens[doc], bm25_norm_to_len(norm), (double)avgdl, (long long)ix->n_nonempty,
                   (double)ix->p.k1, (double)ix->p.b);
    uint32_t docs[BM25_BLOCK], tfs[BM25_BLOCK];
    for (size_t i = 0; i < s.n_q && !bad; i++) {
        const bm25_term *t = &ix->terms[s.qterms[i]];
        uint32_t tf = 0;
        for (uint32_t bi = 0; bi < bm25_n_blocks(t); bi++) {
            uint32_t last = bi < t->n_blocks ? t->blocks[bi].last_doc : t->last_doc;
            if (last < (uint32_t)doc) continue;
            int n = bm25_decode_block(t, bi, docs, tfs);
            for (int j = 0; j < n; j++)
                if (docs[j] == (uint32_t)doc) tf = tfs[j];
            break;
        }
        float idf = (float)log(1.0 + (N - t->df + 0.5) / (t->df + 0.5));
        float w = (float)s.qcounts[i] * idf * (ix->p.k1 + 1.0f);
        float c = tf ? term_score(w, tf, K[norm]) : 0.0f;
        total += c;
        bad |= appendf(&buf, &len, &cap, "  %.*s: count %u, df %u, idf %.9g, tf %u, score %.9g\n", (int)t->name_len,
                       ix->names + t->name_off, s.qcounts[i], t->df, (double)idf, tf, (double)c);
    }
    bad |= appendf(&buf, &len, &cap, "total %.9g\n", (double)(float)total);
    scratch_free(&s);
    if (bad) {
        wn_free(buf);
        return wn_seterr(WN_ERR_NOMEM, "wn_bm25_explain: out of memory");
    }
    *out = buf;
    return WN_OK;
}
