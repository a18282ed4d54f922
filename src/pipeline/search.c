/*
 * search.c - the two stages over an index directory: a first stage (BM25, dense
 * or hybrid, see fuse.c) and re-ranking of the top candidates by a cross-encoder,
 * each timed. With chunked dense vectors the search asks for 4x the hits and keeps
 * each document's best chunk (max-pooling). Not thread-safe: one searcher per thread.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

struct wn_searcher {
    wn_pipeline_params p;
    wn_store *store;
    wn_bm25 *bm25;
    wn_index *index;
    wn_model *bi, *ce;
    int64_t *chunk_row; /* (n_chunks) or NULL */
    int64_t n_chunks;
    /* scratch */
    float *qvec, *dist, *bscore;
    int64_t *ids;
    wn_hit *ha, *hb;
    size_t cap; /* entries of dist/ids/bscore/ha/hb */
    const char **qs, **ds;
    float *logits;
    size_t ce_cap;
};

wn_pipeline_params wn_pipeline_default_params(void) {
    wn_pipeline_params p;
    memset(&p, 0, sizeof p);
    p.first_stage = WN_FIRST_BM25;
    p.fusion = WN_FUSE_RRF;
    p.rrf_k = 60;
    p.dense_weight = 0.5f;
    p.model_params = wn_model_default_params();
    p.ann = wn_search_default_params();
    return p;
}

static const char *stage_names[] = {"bm25", "dense", "hybrid"};
const char *wn_first_stage_name(wn_first_stage f) { return (unsigned)f < 3 ? stage_names[f] : "?"; }
int wn_first_stage_parse(const char *s) {
    for (int i = 0; i < 3; i++)
        if (s && !strcmp(s, stage_names[i])) return i;
    return -1;
}

wn_store *wn_searcher_store(wn_searcher *s) { return s->store; }

void wn_searcher_close(wn_searcher *s) {
    if (!s) return;
    wn_store_close(s->store);
    wn_bm25_free(s->bm25);
    wn_index_free(s->index);
    wn_model_free(s->bi);
    wn_model_free(s->ce);
    wn_free(s->chunk_row);
    wn_free(s->qvec);
    wn_free(s->dist);
    wn_free(s->bscore);
    wn_free(s->ids);
    wn_free(s->ha);
    wn_free(s->hb);
    wn_free(s->qs);
    wn_free(s->ds);
    wn_free(s->logits);
    wn_free(s);
}

static wn_status load_chunk_map(wn_searcher *s, const char *path) {
    char *data;
    size_t len;
    wn_status st = wn_read_file(path, &data, &len);
    if (st != WN_OK) return st;
    uint32_t hdr[4];
    int64_t n = -1;
    if (len >= 32) {
        memcpy(hdr, data, 16);
        memcpy(&n, data + 16, 8);
    }
    if (len < 32 || hdr[0] != 0x4D434E57u || hdr[1] != 1 || hdr[2] != 32 || n < 0 || (size_t)n > (len - 32) / 8 ||
        len != 32 + (size_t)n * 8) {
        wn_free(data);
        return wn_seterr(WN_ERR_FORMAT, "%s: not a winnow chunk map of version 1, or truncated (%zu bytes)", path, len);
    }
    s->chunk_row = wn_malloc((size_t)(n ? n : 1) * sizeof *s->chunk_row);
    if (!s->chunk_row) {
        wn_free(data);
        return wn_seterr(WN_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(s->chunk_row, data + 32, (size_t)n * 8);
    s->n_chunks = n;
    wn_free(data);
    return WN_OK;
}

wn_status wn_searcher_open(const char *dir, const wn_pipeline_params *p_in, wn_searcher **out) {
    WN_ENTRY();
    *out = NULL;
    wn_pipeline_params dp = wn_pipeline_default_params();
    const wn_pipeline_params *p = p_in ? p_in : &dp;
    if ((unsigned)p->first_stage > WN_FIRST_HYBRID) return wn_seterr(WN_ERR_ARG, "search: unknown first stage %d", (int)p->first_stage);
    wn_searcher *s = wn_calloc(1, sizeof *s);
    if (!s) return wn_seterr(WN_ERR_NOMEM, "search: out of memory");
    s->p = *p;
    wn_status st;
    char *path = NULL, *model = NULL;
    if ((st = wn_store_open(dir, 0, &s->store)) != WN_OK) goto fail;
    int need_bm25 = p->first_stage != WN_FIRST_DENSE, need_dense = p->first_stage != WN_FIRST_BM25;
    if (need_bm25) {
        if (!(path = wn_path_join(dir, "bm25.idx"))) goto nomem;
        if (!wn_file_exists(path)) {
            st = wn_seterr(WN_ERR_NOTFOUND, "%s has no BM25 index (build it with winnow index --bm25)", dir);
            goto fail;
        }
        if ((st = wn_bm25_load(path, &s->bm25)) != WN_OK) goto fail;
        wn_free(path);
        path = NULL;
    }
    if (need_dense) {
        if (!(path = wn_path_join(dir, "dense.idx"))) goto nomem;
        if (!wn_file_exists(path)) {
            st = wn_seterr(WN_ERR_NOTFOUND, "%s has no dense index (build it with winnow index --dense MODEL)", dir);
            goto fail;
        }
        if ((st = wn_index_load(path, &s->index)) != WN_OK) goto fail;
        wn_free(path);
        if (!(path = wn_path_join(dir, "dense.map"))) goto nomem;
        if (wn_file_exists(path) && (st = load_chunk_map(s, path)) != WN_OK) goto fail;
        wn_free(path);
        path = NULL;
        const char *name = p->dense_model;
        if (!name) {
            if ((st = wn_store_get_meta(s->store, "dense.model", &model)) != WN_OK) goto fail;
            name = model;
        }
        if ((st = wn_model_load(name, &p->model_params, &s->bi)) != WN_OK) goto fail;
        if (wn_model_kind_of(s->bi) != WN_MODEL_BIENCODER || wn_model_dim(s->bi) != wn_index_dim(s->index)) {
            st = wn_seterr(WN_ERR_ARG, "search: %s is not a bi-encoder of dimension %d (the index's)", name,
                           wn_index_dim(s->index));
            goto fail;
        }
        s->qvec = wn_malloc((size_t)wn_model_dim(s->bi) * sizeof *s->qvec);
        if (!s->qvec) goto nomem;
    }
    if (p->rerank_model) {
        if ((st = wn_model_load(p->rerank_model, &p->model_params, &s->ce)) != WN_OK) goto fail;
        if (wn_model_kind_of(s->ce) != WN_MODEL_CROSSENCODER) {
            st = wn_seterr(WN_ERR_ARG, "search: %s is not a cross-encoder; --rerank needs one", p->rerank_model);
            goto fail;
        }
    }
    wn_free(model);
    *out = s;
    return WN_OK;
nomem:
    st = wn_seterr(WN_ERR_NOMEM, "search: out of memory");
fail:
    wn_free(path);
    wn_free(model);
    wn_searcher_close(s);
    return st;
}

static wn_status reserve(wn_searcher *s, size_t n) {
    if (n <= s->cap) return WN_OK;
    size_t c = n < 256 ? 256 : n;
    wn_free(s->dist);
    wn_free(s->ids);
    wn_free(s->bscore);
    wn_free(s->ha);
    wn_free(s->hb);
    s->dist = wn_malloc(c * sizeof *s->dist);
    s->bscore = wn_malloc(c * sizeof *s->bscore);
    s->ids = wn_malloc(c * sizeof *s->ids);
    s->ha = wn_malloc(c * sizeof *s->ha);
    s->hb = wn_malloc(c * 2 * sizeof *s->hb);
    s->cap = (s->dist && s->ids && s->ha && s->hb && s->bscore) ? c : 0;
    return s->cap ? WN_OK : wn_seterr(WN_ERR_NOMEM, "search: out of memory for %zu hits", n);
}

static wn_status bm25_hits(wn_searcher *s, const char *q, int k, wn_hit *h, int *n) {
    int got = 0;
    wn_status st = wn_bm25_search(s->bm25, q, k, s->bscore, s->ids, &got);
    if (st != WN_OK) return st;
    *n = 0;
    for (int i = 0; i < got; i++) {
        if (s->ids[i] < 0) continue;
        h[*n].row = s->ids[i];
        h[*n].score = s->bscore[i];
        h[*n].first_rank = *n + 1;
        h[*n].first_score = s->bscore[i];
        (*n)++;
    }
    return WN_OK;
}

/* dense top k documents (max-pooled over chunks when chunked) */
static wn_status dense_hits(wn_searcher *s, const char *q, int k, wn_hit *h, int *n) {
    *n = 0;
    wn_status st = wn_model_embed(s->bi, 1, &q, s->qvec);
    if (st != WN_OK) return st;
    int64_t total = wn_index_count(s->index);
    int kk = s->chunk_row ? (int)WN_MIN((int64_t)k * 4, total) : (int)WN_MIN((int64_t)k, total);
    if (kk < 1) return WN_OK;
    if ((st = reserve(s, (size_t)kk)) != WN_OK) return st;
    if ((st = wn_index_search(s->index, 1, s->qvec, kk, &s->p.ann, s->dist, s->ids)) != WN_OK) return st;
    for (int i = 0; i < kk && *n < k; i++) {
        if (s->ids[i] < 0) break;
        int64_t row = s->ids[i];
        if (s->chunk_row) {
            if (row >= s->n_chunks) return wn_seterr(WN_ERR_FORMAT, "search: chunk %lld beyond the chunk map", (long long)row);
            row = s->chunk_row[row];
            int seen = 0; /* the list is best first: the first chunk of a document is its max */
            for (int j = 0; j < *n && !seen; j++) seen = h[j].row == row;
            if (seen) continue;
        }
        h[*n].row = row;
        h[*n].score = s->dist[i];
        h[*n].first_rank = *n + 1;
        h[*n].first_score = s->dist[i];
        (*n)++;
    }
    return WN_OK;
}

wn_status wn_searcher_first(wn_searcher *s, const char *query, int k, wn_hit *hits, int *n, double *seconds) {
    WN_ENTRY();
    *n = 0;
    if (!s || !query || k < 1 || !hits) return wn_seterr(WN_ERR_ARG, "wn_searcher_first: bad argument (k = %d)", k);
    double t0 = wn_now();
    wn_status st = reserve(s, (size_t)k);
    if (st != WN_OK) return st;
    if (s->p.first_stage == WN_FIRST_BM25) {
        st = bm25_hits(s, query, k, hits, n);
    } else if (s->p.first_stage == WN_FIRST_DENSE) {
        st = dense_hits(s, query, k, hits, n);
    } else {
        int depth = s->p.depth > 0 ? WN_MAX(s->p.depth, k) : WN_MAX(k, 100), na = 0, nb = 0, nf = 0;
        if ((st = reserve(s, (size_t)depth * 4)) != WN_OK) return st;
        wn_hit *a = wn_malloc((size_t)depth * 3 * sizeof *a);
        if (!a) return wn_seterr(WN_ERR_NOMEM, "search: out of memory");
        wn_hit *b = a + depth, *f = s->hb;
        st = bm25_hits(s, query, depth, a, &na);
        if (st == WN_OK) st = dense_hits(s, query, depth, b, &nb);
        if (st == WN_OK) st = wn_fuse(s->p.fusion, s->p.rrf_k, s->p.dense_weight, a, na, b, nb, f, &nf);
        if (st == WN_OK) {
            *n = WN_MIN(nf, k);
            for (int i = 0; i < *n; i++) {
                hits[i] = f[i];
                hits[i].first_rank = i + 1;
                hits[i].first_score = f[i].score;
            }
        }
        wn_free(a);
    }
    if (seconds) *seconds = wn_now() - t0;
    return st;
}

static int cmp_score(const void *x, const void *y) {
    const wn_hit *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->first_rank - b->first_rank; /* ties keep the first stage's order */
}

wn_status wn_searcher_rerank(wn_searcher *s, const char *query, const wn_hit *cand, int n, int m, wn_hit *out,
                             double *seconds) {
    WN_ENTRY();
    if (!s || !s->ce) return wn_seterr(WN_ERR_ARG, "search: no re-ranker loaded (--rerank MODEL)");
    if (n < 0 || m < 0 || m > n) return wn_seterr(WN_ERR_ARG, "wn_searcher_rerank: m = %d, n = %d", m, n);
    double t0 = wn_now();
    wn_status st = WN_OK;
    int L = wn_model_num_labels(s->ce);
    if (wn_grow((void **)&s->qs, &s->ce_cap, (size_t)m + 1, sizeof *s->qs) != WN_OK) goto nomem;
    wn_free(s->ds);
    wn_free(s->logits);
    s->ds = wn_malloc(s->ce_cap * sizeof *s->ds);
    s->logits = wn_malloc(s->ce_cap * (size_t)L * sizeof *s->logits);
    char **texts = wn_calloc((size_t)m + 1, sizeof *texts);
    if (!s->ds || !s->logits || !texts) {
        wn_free(texts);
        goto nomem;
    }
    for (int i = 0; i < m && st == WN_OK; i++) {
        wn_doc d;
        if ((st = wn_store_get(s->store, cand[i].row, &d)) != WN_OK) break;
        size_t cap = 0, len;
        if ((st = pipeline_join(&texts[i], &cap, d.title, d.text, &len)) != WN_OK) break;
        s->qs[i] = query;
        s->ds[i] = texts[i];
    }
    if (st == WN_OK && m > 0) st = wn_model_score(s->ce, m, s->qs, s->ds, s->logits);
    for (int i = 0; i < m; i++) wn_free(texts[i]);
    wn_free(texts);
    if (st != WN_OK) return st;
    float lo = 0, hi = 0, flo = 0, fhi = 0;
    for (int i = 0; i < m; i++) {
        float ce = s->logits[(size_t)i * L + (L > 1 ? L - 1 : 0)]; /* several labels: the last is "relevant" */
        out[i] = cand[i];
        out[i].score = ce;
        if (!i || ce < lo) lo = ce;
        if (!i || ce > hi) hi = ce;
        if (!i || cand[i].first_score < flo) flo = cand[i].first_score;
        if (!i || cand[i].first_score > fhi) fhi = cand[i].first_score;
    }
    float a = s->p.interpolate;
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
    if (seconds) *seconds = wn_now() - t0;
    return WN_OK;
nomem:
    return wn_seterr(WN_ERR_NOMEM, "search: out of memory");
}
