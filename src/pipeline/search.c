/*
 * search.c - the searcher and its first stage (BM25, dense or hybrid, see fuse.c),
 * timed; re-ranking is rerank.c. A searcher is opened from an index directory (its
 * handles are its own) or made from handles the caller holds (borrowed), so the CLI,
 * the demo and a host program run the same stages. With chunked dense vectors the
 * search asks for 4x the hits and keeps each document's best chunk (max-pooling).
 * Not thread-safe: one searcher per thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

wn_pipeline_params wn_pipeline_default_params(void) {
    wn_pipeline_params p;
    memset(&p, 0, sizeof p);
    p.first_stage = WN_FIRST_BM25;
    p.fusion = WN_FUSE_RRF;
    p.rrf_k = 60;
    p.dense_weight = 0.25f; /* BM25-dominant: models/README.md, issue 11 */
    p.interpolate = -1;     /* the cross-encoder's own */
    p.model_params = wn_model_default_params();
    p.ann = wn_index_search_default_params();
    return p;
}

static const char *stage_names[] = {"bm25", "dense", "hybrid"};
const char *wn_first_stage_name(wn_first_stage f) { return (unsigned)f < 3 ? stage_names[f] : "?"; }
wn_status wn_first_stage_parse(const char *s, wn_first_stage *out) {
    WN_ENTRY();
    int v;
    wn_status st = wn_parse_name("first stage", s, stage_names, 3, &v);
    if (st == WN_OK) *out = (wn_first_stage)v;
    return st;
}

wn_store *wn_searcher_store(wn_searcher *s) { return s->store; }

void wn_searcher_free(wn_searcher *s) {
    if (!s) return;
    if (s->owns) {
        wn_store_free(s->store);
        wn_bm25_free(s->bm25);
        wn_index_free(s->index);
        wn_model_free(s->bi);
        wn_model_free(s->ce);
        wn_free(s->chunk_row);
    }
    wn_free(s->qvec);
    wn_free(s->qprompt);
    wn_free(s->qbuf);
    wn_free(s->dist);
    wn_free(s->bscore);
    wn_free(s->ids);
    wn_free(s->ha);
    wn_free(s->hb);
    pipeline_rerank_free(s);
    wn_free(s);
}

static wn_status load_chunk_map(const char *path, int64_t **rows, int64_t *n_rows) {
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
    *rows = wn_malloc((size_t)(n ? n : 1) * sizeof **rows);
    if (!*rows) {
        wn_free(data);
        return wn_seterr(WN_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(*rows, data + 32, (size_t)n * 8);
    *n_rows = n;
    wn_free(data);
    return WN_OK;
}

/* What the first stage and re-ranking of p need, against what s holds. */
static wn_status check_params(const wn_searcher *s, const wn_pipeline_params *p) {
    if ((unsigned)p->first_stage > WN_FIRST_HYBRID)
        return wn_seterr(WN_ERR_ARG, "search: unknown first stage %d", (int)p->first_stage);
    if (p->first_stage != WN_FIRST_DENSE && !s->bm25)
        return wn_seterr(WN_ERR_ARG, "search: the %s first stage needs a BM25 index", wn_first_stage_name(p->first_stage));
    if (p->first_stage != WN_FIRST_BM25 && (!s->index || !s->bi))
        return wn_seterr(WN_ERR_ARG, "search: the %s first stage needs a vector index and a bi-encoder",
                         wn_first_stage_name(p->first_stage));
    return WN_OK;
}

/* Checks the handles' kinds and sizes and allocates the query vector. */
static wn_status init_parts(wn_searcher *s) {
    if (!s->store && s->n_texts > 0 && !s->texts) return wn_seterr(WN_ERR_ARG, "search: n_texts %lld without texts", (long long)s->n_texts);
    if (s->bi) {
        const int full = wn_model_dim(s->bi);
        s->qdim = s->p.dimensions > 0 ? s->p.dimensions : full;
        if (wn_model_kind_of(s->bi) != WN_MODEL_BIENCODER || s->qdim > full || (s->index && s->qdim != wn_index_dim(s->index)))
            return wn_seterr(WN_ERR_ARG,
                             "search: the query encoder is not a bi-encoder whose vectors (%d numbers, cut to %d) fit the "
                             "index's dimension %d",
                             full, s->qdim, s->index ? wn_index_dim(s->index) : 0);
        const char *prompt;
        wn_status st = pipeline_prompt(s->bi, 1, s->p.query_prompt, s->p.query_prompt_name, &prompt, NULL);
        if (st != WN_OK) return st;
        s->qvec = wn_malloc((size_t)full * sizeof *s->qvec);
        s->qprompt = wn_strdup(prompt);
        if (!s->qvec || !s->qprompt) return wn_seterr(WN_ERR_NOMEM, "search: out of memory");
    }
    if (s->ce && wn_model_kind_of(s->ce) != WN_MODEL_CROSSENCODER)
        return wn_seterr(WN_ERR_ARG, "search: the re-ranker is not a cross-encoder");
    wn_strmap_init(&s->cq);
    return check_params(s, &s->p);
}

wn_status wn_searcher_create(const wn_searcher_parts *parts, const wn_pipeline_params *p_in, wn_searcher **out) {
    WN_ENTRY();
    if (!out) return wn_seterr(WN_ERR_ARG, "wn_searcher_create: out is NULL");
    *out = NULL;
    if (!parts) return wn_seterr(WN_ERR_ARG, "wn_searcher_create: parts is NULL");
    wn_pipeline_params dp = wn_pipeline_default_params();
    wn_searcher *s = wn_calloc(1, sizeof *s);
    if (!s) return wn_seterr(WN_ERR_NOMEM, "search: out of memory");
    s->p = p_in ? *p_in : dp;
    s->store = parts->store;
    s->texts = parts->texts;
    s->doc_ids = parts->ids;
    s->n_texts = parts->n_texts;
    s->bm25 = (wn_bm25 *)parts->bm25;    /* borrowed; only read (never freed: owns = 0) */
    s->index = (wn_index *)parts->index;
    s->chunk_row = (int64_t *)parts->chunk_row;
    s->n_chunks = parts->n_chunks;
    s->bi = parts->bi;
    s->ce = parts->ce;
    wn_status st = init_parts(s);
    if (st != WN_OK) {
        wn_searcher_free(s);
        return st;
    }
    *out = s;
    return WN_OK;
}

wn_status pipeline_doc_id(wn_searcher *s, int64_t row, char *buf, size_t cap, const char **id) {
    if (s->store) {
        wn_doc d;
        wn_status st = wn_store_get(s->store, row, &d);
        *id = st == WN_OK ? d.id : "";
        return st;
    }
    if (s->doc_ids && row >= 0 && row < s->n_texts) {
        *id = s->doc_ids[row];
        return WN_OK;
    }
    snprintf(buf, cap, "%lld", (long long)row);
    *id = buf;
    return WN_OK;
}

wn_status wn_searcher_set_params(wn_searcher *s, const wn_pipeline_params *p) {
    WN_ENTRY();
    if (!s || !p) return wn_seterr(WN_ERR_ARG, "wn_searcher_set_params: NULL argument");
    wn_status st = check_params(s, p);
    if (st != WN_OK) return st;
    const char *dense = s->p.dense_model, *rerank = s->p.rerank_model;
    wn_model_params mp = s->p.model_params;
    s->p = *p;
    s->p.dense_model = dense;
    s->p.rerank_model = rerank;
    s->p.model_params = mp;
    return WN_OK;
}

/* The directory's files into s (owned): store, bm25.idx, dense.idx (+ dense.map) and
 * the models of p. */
static wn_status open_files(wn_searcher *s, const char *dir, const wn_pipeline_params *p) {
    char *path = NULL, *model = NULL;
    wn_status st;
    if ((st = wn_store_open(dir, 0, &s->store)) != WN_OK) return st;
    if (p->first_stage != WN_FIRST_DENSE) {
        if (!(path = wn_path_join(dir, "bm25.idx"))) goto nomem;
        if (!wn_file_exists(path)) {
            st = wn_seterr(WN_ERR_NOTFOUND, "%s has no BM25 index (build it with winnow index --bm25)", dir);
            goto fail;
        }
        if ((st = wn_bm25_load(path, &s->bm25)) != WN_OK) goto fail;
        wn_free(path);
        path = NULL;
    }
    if (p->first_stage != WN_FIRST_BM25) {
        if (!(path = wn_path_join(dir, "dense.idx"))) goto nomem;
        if (!wn_file_exists(path)) {
            st = wn_seterr(WN_ERR_NOTFOUND, "%s has no dense index (build it with winnow index --dense MODEL)", dir);
            goto fail;
        }
        if ((st = wn_index_load(path, &s->index)) != WN_OK) goto fail;
        wn_free(path);
        if (!(path = wn_path_join(dir, "dense.map"))) goto nomem;
        if (wn_file_exists(path) && (st = load_chunk_map(path, &s->chunk_row, &s->n_chunks)) != WN_OK) goto fail;
        const char *name = p->dense_model;
        if (!name && wn_store_get_meta(s->store, "dense.model_dir", &model) == WN_OK) {
            /* a model adapted to this corpus at index time, inside the index */
            char *in = wn_path_join(dir, model);
            wn_free_buffer(model);
            if (!(model = in)) goto nomem;
            name = model;
        } else if (!name) {
            wn_clearerr();
            if ((st = wn_store_get_meta(s->store, "dense.model", &model)) != WN_OK) goto fail;
            name = model;
        }
        if ((st = wn_model_load(name, &p->model_params, &s->bi)) != WN_OK) goto fail;
        char *dims = NULL;
        if (!p->dimensions && wn_store_get_meta(s->store, "dense.dimensions", &dims) == WN_OK) /* Matryoshka */
            s->p.dimensions = atoi(dims);
        wn_free(dims);
        wn_clearerr(); /* an index built before the key existed has none */
        if (wn_model_kind_of(s->bi) != WN_MODEL_BIENCODER || wn_model_dim(s->bi) < wn_index_dim(s->index)) {
            st = wn_seterr(WN_ERR_ARG, "search: %s is not a bi-encoder of dimension %d (the index's) or more", name,
                           wn_index_dim(s->index));
            goto fail;
        }
    }
    if (p->rerank_model) {
        if ((st = wn_model_load(p->rerank_model, &p->model_params, &s->ce)) != WN_OK) goto fail;
        if (wn_model_kind_of(s->ce) != WN_MODEL_CROSSENCODER) {
            st = wn_seterr(WN_ERR_ARG, "search: %s is not a cross-encoder; --rerank needs one", p->rerank_model);
            goto fail;
        }
    }
    st = WN_OK;
    goto fail;
nomem:
    st = wn_seterr(WN_ERR_NOMEM, "search: out of memory");
fail:
    wn_free(path);
    wn_free(model);
    return st;
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
    s->owns = 1;
    wn_status st = open_files(s, dir, p);
    if (st == WN_OK) st = init_parts(s);
    if (st != WN_OK) {
        wn_searcher_free(s);
        return st;
    }
    *out = s;
    return WN_OK;
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
    wn_status st = WN_OK;
    if (s->qprompt[0]) { /* the model's query prompt (E5's "query: ", BGE's instruction) */
        if ((st = pipeline_prefix(&s->qbuf, &s->qbuf_cap, s->qprompt, q)) != WN_OK) return st;
        q = s->qbuf;
    }
    if ((st = wn_model_embed(s->bi, 1, &q, s->qvec)) != WN_OK) return st;
    const int full = wn_model_dim(s->bi);
    if (s->qdim < full && (st = wn_embed_truncate(s->qvec, 1, full, s->qdim)) != WN_OK) return st;
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
        if (st == WN_OK) st = wn_pipeline_fuse(s->p.fusion, s->p.rrf_k, s->p.dense_weight, a, na, b, nb, f, &nf);
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
