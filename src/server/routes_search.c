/*
 * routes_search.c - POST /search over an index directory made by `winnow index`:
 *   {"query", "k" (10), "first_stage": "bm25"|"dense"|"hybrid" (the index's best),
 *    "rerank": bool (default: true when a cross-encoder is loaded), "k_candidates" (50),
 *    "filter": {"ids": [document ids]}}
 *   -> {"query", "first_stage", "reranked", "results": [{"rank", "id", "title", "text",
 *       "score", "first_rank", "first_score"}], "timings": {"first_stage_ms",
 *       "rerank_ms", "total_ms"}}
 * The searcher (wn_searcher_*) is used by one request at a time (search_mu): its
 * scratch, models and pair cache are not shared. At most --max-search-queue requests
 * wait for it; more are refused with 429. A filter keeps the documents it names
 * among the first stage's best max(1000, k_candidates), then re-ranks those. The
 * searcher's pair cache is cleared every SEARCH_CACHE_PAIRS scored pairs, so a long
 * run does not grow it toward its 2^22-pair ceiling.
 */
#include <string.h>

#include "server.h"

#define FILTER_DEPTH 1000
#define SEARCH_CACHE_PAIRS 65536 /* cleared past this many pairs (about 2.5 MB) */

static int in_filter(const int64_t *rows, int n, int64_t row) {
    for (int i = 0; i < n; i++)
        if (rows[i] == row) return 1;
    return 0;
}

/* filter {"ids": [...]} -> rows (unknown ids are skipped); 0 ok, 1 error set */
static int read_filter(wn_server *s, const wn_json *f, int64_t **rows, int *n, srv_reply *r) {
    *rows = NULL;
    *n = -1; /* no filter */
    if (!f || wn_json_is_null(f)) return 0;
    const wn_json *ids = wn_json_get(f, "ids");
    if (!wn_json_is_object(f) || !wn_json_is_array(ids))
        return reply_error(r, 422, "validation", "`filter` must be {\"ids\": [document ids]}"), 1;
    size_t k = wn_json_size(ids);
    if (k > FILTER_DEPTH * 100) return reply_error(r, 413, "validation", "`filter.ids` has %zu ids, at most %d", k, FILTER_DEPTH * 100), 1;
    *rows = wn_malloc((k ? k : 1) * sizeof **rows);
    if (!*rows) return reply_error(r, 503, "backend", "out of memory"), 1;
    *n = 0;
    wn_store *st = wn_searcher_store(s->searcher);
    for (const wn_json *e = ids->child; e; e = e->next) {
        if (!wn_json_is_string(e)) return reply_error(r, 422, "validation", "`filter.ids` must hold strings"), 1;
        int64_t row;
        if (st && wn_store_find(st, e->str, &row) == WN_OK) (*rows)[(*n)++] = row;
    }
    return 0;
}

static void write_hits(wn_server *s, sbuf *b, const wn_hit *h, int n) {
    wn_store *st = wn_searcher_store(s->searcher);
    sb_puts(b, "[");
    for (int i = 0; i < n; i++) {
        wn_doc d;
        memset(&d, 0, sizeof d);
        if (!st || wn_store_get(st, h[i].row, &d) != WN_OK) d.id = d.title = d.text = "";
        sb_printf(b, "%s{\"rank\":%d,\"id\":", i ? "," : "", i + 1);
        sb_json_str(b, d.id, strlen(d.id));
        sb_puts(b, ",\"title\":");
        sb_json_str(b, d.title, strlen(d.title));
        sb_puts(b, ",\"text\":");
        sb_json_str(b, d.text, strlen(d.text));
        sb_puts(b, ",\"score\":");
        sb_float(b, h[i].score);
        sb_printf(b, ",\"first_rank\":%d,\"first_score\":", h[i].first_rank);
        sb_float(b, h[i].first_score);
        sb_puts(b, "}");
    }
    sb_puts(b, "]");
}

void route_search(wn_server *s, const wn_json *req, srv_reply *r) {
    if (!s->searcher) return reply_error(r, 400, "validation", "no index: start winnow serve with --index DIR");
    if (!wn_json_is_object(req)) return reply_error(r, 422, "validation", "the request body must be a JSON object");
    const char *query = wn_json_str(wn_json_get(req, "query"));
    if (!query) return reply_error(r, 422, "validation", "`query` must be a string");
    if (!query[0]) return reply_error(r, 400, "empty", "`query` cannot be empty");
    long k = 10, kc = 50;
    int rerank = s->ce != NULL;
    wn_first_stage fs = s->default_stage;
    const wn_json *fv = wn_json_get(req, "first_stage");
    if (fv && !wn_json_is_null(fv)) {
        if (!wn_json_is_string(fv) || wn_first_stage_parse(fv->str, &fs) != WN_OK)
            return reply_error(r, 422, "validation", "`first_stage` must be \"bm25\", \"dense\" or \"hybrid\"");
        if ((fs != WN_FIRST_DENSE && !s->has_bm25) || (fs != WN_FIRST_BM25 && !s->has_dense))
            return reply_error(r, 422, "validation", "this index has no %s first stage (it has%s%s)",
                               wn_first_stage_name(fs), s->has_bm25 ? " bm25" : "", s->has_dense ? " dense" : "");
    }
    if (opt_int(req, "k", 1, 1000, &k, r) || opt_int(req, "k_candidates", 1, 1000, &kc, r) ||
        opt_bool(req, "rerank", &rerank, r))
        return;
    if (rerank && !s->ce)
        return reply_error(r, 422, "validation", "no cross-encoder loaded: start winnow serve with --rerank MODEL");
    int64_t *frows = NULL;
    int nf = -1, n = 0, depth = (int)(kc > k ? kc : k), held = 0;
    wn_hit *cand = NULL, *out = NULL;
    const wn_json *fj = wn_json_get(req, "filter");
    if (fj && !wn_json_is_null(fj) && depth < FILTER_DEPTH) depth = FILTER_DEPTH;
    cand = wn_malloc((size_t)depth * sizeof *cand);
    out = wn_malloc((size_t)depth * sizeof *out);
    if (!cand || !out) {
        reply_error(r, 503, "backend", "out of memory");
        goto done;
    }
    if (admit(s, 1, r)) goto done;
    held = 1;
    pthread_mutex_lock(&s->adm_mu); /* a bounded wait: one search runs at a time */
    int can_wait = s->search_waiting < s->p.max_search_queue;
    s->search_waiting += can_wait;
    pthread_mutex_unlock(&s->adm_mu);
    if (!can_wait) {
        reply_error(r, 429, "overloaded", "more than %d searches waiting (--max-search-queue)", s->p.max_search_queue);
        goto done;
    }
    double t0 = wn_now(), first_s = 0, rr_s = 0;
    pthread_mutex_lock(&s->search_mu);
    pthread_mutex_lock(&s->adm_mu);
    s->search_waiting--;
    pthread_mutex_unlock(&s->adm_mu);
    r->queue_s = wn_now() - t0;
    metrics_stage(&s->metrics, STAGE_QUEUE, r->queue_s);
    if (s->abandon) {
        pthread_mutex_unlock(&s->search_mu);
        reply_error(r, 503, "unhealthy", "search: shutting down");
        goto done;
    }
    if (read_filter(s, fj, &frows, &nf, r)) { /* the store is the searcher's: under its lock */
        pthread_mutex_unlock(&s->search_mu);
        goto done;
    }
    wn_status st = WN_OK;
    wn_pipeline_params pp = s->search_params;
    if (pp.first_stage != fs) {
        pp.first_stage = fs;
        st = wn_searcher_set_params(s->searcher, &pp);
        if (st == WN_OK) s->search_params = pp;
    }
    if (st == WN_OK) st = wn_searcher_first(s->searcher, query, depth, cand, &n, &first_s);
    if (st == WN_OK && nf >= 0) { /* keep the filter's documents, in their order */
        int m = 0;
        for (int i = 0; i < n; i++)
            if (in_filter(frows, nf, cand[i].row)) cand[m++] = cand[i];
        n = m;
    }
    int m = n < kc ? n : (int)kc;
    if (st == WN_OK && rerank && n > 0) st = wn_searcher_rerank(s->searcher, query, cand, n, m, out, &rr_s);
    int64_t scored = 0; /* a server's queries seldom repeat: keep the pair cache small */
    wn_searcher_cache_stats(s->searcher, &scored, NULL);
    if (scored - s->cache_mark > SEARCH_CACHE_PAIRS) {
        wn_searcher_cache_clear(s->searcher);
        s->cache_mark = scored;
    }
    if (st != WN_OK) {
        reply_status(r, st, "search");
        pthread_mutex_unlock(&s->search_mu);
        goto done;
    }
    const wn_hit *h = rerank && n > 0 ? out : cand;
    int shown = n < k ? n : (int)k;
    sbuf *b = &r->body;
    sb_puts(b, "{\"query\":");
    sb_json_str(b, query, strlen(query));
    sb_printf(b, ",\"first_stage\":\"%s\",\"reranked\":%s,\"k_candidates\":%d,\"results\":", wn_first_stage_name(fs),
              rerank ? "true" : "false", rerank ? m : 0);
    write_hits(s, b, h, shown);
    pthread_mutex_unlock(&s->search_mu);
    r->infer_s = first_s + rr_s;
    metrics_stage(&s->metrics, STAGE_FIRST, first_s);
    if (rerank) metrics_stage(&s->metrics, STAGE_RERANK, rr_s);
    sb_printf(b, ",\"timings\":{\"first_stage_ms\":%.3f,\"rerank_ms\":%.3f,\"total_ms\":%.3f}}", first_s * 1e3,
              rr_s * 1e3, (wn_now() - t0) * 1e3);
done:
    if (held) admit_release(s, 1);
    wn_free(frows);
    wn_free(cand);
    wn_free(out);
}
