/*
 * rerank.c - the second stage: a cross-encoder over the top candidates, and the
 * k-candidates sweep. One rule everywhere for several labels: the last label's logit
 * (the only one of ms-marco cross-encoders; "relevant" of a two-label classifier).
 * Each (query, row) pair's logit is kept in a cache (open addressing over the pair,
 * queries interned): a pair is scored once, whichever call asks first, which is exact
 * because the model computes every sequence alone (docs/EXACTNESS.md). A pair also
 * keeps its share of the batched call that scored it, so a re-ranking's time is the
 * sum of its pairs' shares plus its sort, whether its pairs were fresh or cached.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

#define MAX_PAIRS ((size_t)1 << 22)

void pipeline_rerank_free(wn_searcher *s) {
    for (size_t i = 0; s->texts_buf && i < s->ce_cap; i++) wn_free(s->texts_buf[i]);
    wn_free(s->texts_buf);
    wn_free(s->texts_cap);
    wn_free(s->qs);
    wn_free(s->ds);
    wn_free(s->todo);
    wn_free(s->logits);
    s->texts_buf = NULL;
    s->ce_cap = 0;
    wn_strmap_free(&s->cq);
    wn_free(s->slots);
    wn_free(s->key_q);
    wn_free(s->key_row);
    wn_free(s->logit);
    wn_free(s->secs);
}

void wn_searcher_cache_clear(wn_searcher *s) {
    if (!s) return;
    wn_strmap_free(&s->cq);
    wn_strmap_init(&s->cq);
    s->n_pairs = 0;
    if (s->slots) memset(s->slots, 0xff, s->slot_cap * sizeof *s->slots);
}

void wn_searcher_cache_stats(const wn_searcher *s, int64_t *scored, int64_t *reused) {
    if (scored) *scored = s ? s->scored : 0;
    if (reused) *reused = s ? s->reused : 0;
}

static size_t pair_hash(int64_t q, int64_t row) {
    uint64_t h = (uint64_t)q * 0x9E3779B97F4A7C15ull ^ ((uint64_t)row + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h ^ (h >> 29));
}

/* The cache entry of (q, row), or -1. */
static int64_t cache_find(const wn_searcher *s, int64_t q, int64_t row) {
    if (!s->slot_cap) return -1;
    for (size_t i = pair_hash(q, row) & (s->slot_cap - 1);; i = (i + 1) & (s->slot_cap - 1)) {
        int64_t e = s->slots[i];
        if (e < 0) return -1;
        if (s->key_q[e] == q && s->key_row[e] == row) return e;
    }
}

/* Room for n more entries (table at most half full). */
static wn_status cache_reserve(wn_searcher *s, size_t n) {
    size_t need = s->n_pairs + n;
    if (need > s->pair_cap) {
        size_t c = s->pair_cap ? s->pair_cap : 1024;
        while (c < need) c *= 2;
        int64_t *kq = wn_realloc(s->key_q, c * sizeof *kq);
        if (kq) s->key_q = kq;
        int64_t *kr = kq ? wn_realloc(s->key_row, c * sizeof *kr) : NULL;
        if (kr) s->key_row = kr;
        float *lg = kr ? wn_realloc(s->logit, c * sizeof *lg) : NULL;
        if (lg) s->logit = lg;
        double *sc = lg ? wn_realloc(s->secs, c * sizeof *sc) : NULL;
        if (sc) s->secs = sc;
        if (!sc) return wn_seterr(WN_ERR_NOMEM, "rerank: out of memory for %zu cached pairs", need);
        s->pair_cap = c;
    }
    if (need * 2 > s->slot_cap) {
        size_t c = s->slot_cap ? s->slot_cap : 2048;
        while (c < need * 2) c *= 2;
        int64_t *sl = wn_malloc(c * sizeof *sl);
        if (!sl) return wn_seterr(WN_ERR_NOMEM, "rerank: out of memory for %zu cached pairs", need);
        memset(sl, 0xff, c * sizeof *sl);
        for (size_t e = 0; e < s->n_pairs; e++) {
            size_t i = pair_hash(s->key_q[e], s->key_row[e]) & (c - 1);
            while (sl[i] >= 0) i = (i + 1) & (c - 1);
            sl[i] = (int64_t)e;
        }
        wn_free(s->slots);
        s->slots = sl;
        s->slot_cap = c;
    }
    return WN_OK;
}

static int64_t cache_add(wn_searcher *s, int64_t q, int64_t row) {
    int64_t e = (int64_t)s->n_pairs++;
    s->key_q[e] = q;
    s->key_row[e] = row;
    s->logit[e] = NAN;
    s->secs[e] = 0;
    size_t i = pair_hash(q, row) & (s->slot_cap - 1);
    while (s->slots[i] >= 0) i = (i + 1) & (s->slot_cap - 1);
    s->slots[i] = e;
    return e;
}

/* Scratch for m pairs. */
static wn_status reserve_pairs(wn_searcher *s, size_t m) {
    if (m <= s->ce_cap) return WN_OK;
    size_t c = m < 64 ? 64 : m, L = (size_t)wn_model_num_labels(s->ce);
    const char **qs = wn_realloc(s->qs, c * sizeof *qs);
    if (qs) s->qs = qs;
    const char **ds = qs ? wn_realloc(s->ds, c * sizeof *ds) : NULL;
    if (ds) s->ds = ds;
    int64_t *todo = ds ? wn_realloc(s->todo, c * sizeof *todo) : NULL;
    if (todo) s->todo = todo;
    char **tb = todo ? wn_realloc(s->texts_buf, c * sizeof *tb) : NULL;
    if (tb) {
        s->texts_buf = tb;
        memset(tb + s->ce_cap, 0, (c - s->ce_cap) * sizeof *tb);
    }
    size_t *tc = tb ? wn_realloc(s->texts_cap, c * sizeof *tc) : NULL;
    if (tc) {
        s->texts_cap = tc;
        memset(tc + s->ce_cap, 0, (c - s->ce_cap) * sizeof *tc);
        s->ce_cap = c;
    }
    float *lg = tc ? wn_malloc(c * L * sizeof *lg) : NULL;
    if (!lg) return wn_seterr(WN_ERR_NOMEM, "rerank: out of memory for %zu pairs", m);
    wn_free(s->logits);
    s->logits = lg;
    return WN_OK;
}

/* The text the cross-encoder reads for row, into the i-th pair slot. */
static wn_status doc_text(wn_searcher *s, int64_t row, size_t i, const char **out) {
    if (!s->store) {
        if (row < 0 || row >= s->n_texts)
            return wn_seterr(WN_ERR_ARG, "rerank: row %lld is not one of the %lld texts", (long long)row, (long long)s->n_texts);
        *out = s->texts[row];
        return WN_OK;
    }
    wn_doc d;
    size_t len;
    wn_status st = wn_store_get(s->store, row, &d);
    if (st == WN_OK) st = pipeline_join(&s->texts_buf[i], &s->texts_cap[i], d.title, d.text, &len);
    *out = s->texts_buf[i];
    return st;
}

/* Makes sure the first m candidates' pairs with query are cached: the missing ones
 * scored in one call. *qid gets the query's id in the cache. */
static wn_status score_pairs(wn_searcher *s, const char *query, const wn_hit *cand, int m, int64_t *qid) {
    if (s->n_pairs + (size_t)m > MAX_PAIRS) wn_searcher_cache_clear(s);
    wn_status st = wn_strmap_intern(&s->cq, query, strlen(query), qid, NULL);
    if (st == WN_OK) st = cache_reserve(s, (size_t)m);
    if (st == WN_OK) st = reserve_pairs(s, (size_t)m);
    if (st != WN_OK) return st;
    int nnew = 0;
    for (int i = 0; i < m && st == WN_OK; i++) {
        if (cache_find(s, *qid, cand[i].row) >= 0) {
            s->reused++;
            continue;
        }
        s->qs[nnew] = query;
        st = doc_text(s, cand[i].row, (size_t)nnew, &s->ds[nnew]);
        s->todo[nnew++] = cache_add(s, *qid, cand[i].row);
    }
    if (st == WN_OK && nnew) {
        double t0 = wn_now();
        st = wn_model_score(s->ce, nnew, s->qs, s->ds, s->logits);
        double share = (wn_now() - t0) / nnew;
        int L = wn_model_num_labels(s->ce);
        for (int i = 0; i < nnew && st == WN_OK; i++) {
            s->logit[s->todo[i]] = s->logits[(size_t)i * L + (size_t)(L - 1)]; /* the last label */
            s->secs[s->todo[i]] = share;
        }
        s->scored += nnew;
    }
    if (st != WN_OK) wn_searcher_cache_clear(s); /* no entry left without its logit */
    return st;
}

static int cmp_score(const void *x, const void *y) {
    const wn_hit *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->first_rank - b->first_rank; /* ties keep the first stage's order */
}

/* The re-ranking of the first m of cand[n] from the cache into out[n]; *secs its time. */
static void order(const wn_searcher *s, int64_t qid, const wn_hit *cand, int n, int m, wn_hit *out, double *secs) {
    double t0 = wn_now(), pairs = 0;
    float lo = 0, hi = 0, flo = 0, fhi = 0;
    for (int i = 0; i < m; i++) {
        int64_t e = cache_find(s, qid, cand[i].row);
        float ce = s->logit[e];
        pairs += s->secs[e];
        out[i] = cand[i];
        out[i].score = ce;
        if (!i || ce < lo) lo = ce;
        if (!i || ce > hi) hi = ce;
        if (!i || cand[i].first_score < flo) flo = cand[i].first_score;
        if (!i || cand[i].first_score > fhi) fhi = cand[i].first_score;
    }
    float a = s->p.interpolate >= 0 ? s->p.interpolate : wn_model_rerank_interpolate(s->ce);
    if (a > 0)
        for (int i = 0; i < m; i++) {
            float c = hi > lo ? (out[i].score - lo) / (hi - lo) : 1, f = fhi > flo ? (out[i].first_score - flo) / (fhi - flo) : 1;
            out[i].score = (1 - a) * c + a * f;
        }
    qsort(out, (size_t)m, sizeof *out, cmp_score);
    float floor_score = m ? out[m - 1].score : 0;
    for (int i = m; i < n; i++) { /* the tail keeps its order, below the re-ranked head */
        out[i] = cand[i];
        out[i].score = floor_score - (float)(i - m + 1);
    }
    if (secs) *secs = pairs + (wn_now() - t0);
}

static wn_status check_args(const wn_searcher *s, const char *query, const wn_hit *cand, int n, const wn_hit *out) {
    if (!s || !s->ce) return wn_seterr(WN_ERR_ARG, "search: no re-ranker loaded (--rerank MODEL)");
    if (!query || n < 0 || (n && (!cand || !out))) return wn_seterr(WN_ERR_ARG, "rerank: bad argument (n = %d)", n);
    return WN_OK;
}

wn_status wn_searcher_rerank(wn_searcher *s, const char *query, const wn_hit *cand, int n, int m, wn_hit *out,
                             double *seconds) {
    WN_ENTRY();
    wn_status st = check_args(s, query, cand, n, out);
    if (st != WN_OK) return st;
    if (m < 0 || m > n) return wn_seterr(WN_ERR_ARG, "wn_searcher_rerank: m = %d, n = %d", m, n);
    int64_t qid;
    if ((st = score_pairs(s, query, cand, m, &qid)) != WN_OK) return st;
    order(s, qid, cand, n, m, out, seconds);
    return WN_OK;
}

wn_status wn_searcher_rerank_sweep(wn_searcher *s, const char *query, const wn_hit *cand, int n, int n_depths,
                                   const int *depths, wn_hit *out, double *seconds) {
    WN_ENTRY();
    wn_status st = check_args(s, query, cand, n, out);
    if (st != WN_OK) return st;
    if (n_depths < 0 || (n_depths && !depths)) return wn_seterr(WN_ERR_ARG, "rerank sweep: %d depths", n_depths);
    int deepest = 0;
    for (int j = 0; j < n_depths; j++) {
        if (depths[j] < 1) return wn_seterr(WN_ERR_ARG, "rerank sweep: depth %d (entry %d) is below 1", depths[j], j);
        deepest = WN_MAX(deepest, WN_MIN(depths[j], n));
    }
    int64_t qid;
    if ((st = score_pairs(s, query, cand, deepest, &qid)) != WN_OK) return st;
    for (int j = 0; j < n_depths; j++)
        order(s, qid, cand, n, WN_MIN(depths[j], n), out + (size_t)j * n, seconds ? &seconds[j] : NULL);
    return WN_OK;
}
