/*
 * server.c - wn_server_*: what a server holds (models, their batchers, the searcher
 * over an index directory, the metrics) and its life: create (load), start (listen),
 * shutdown (drain), free. The HTTP side is http.c; the endpoints routes_*.c.
 */
#include <string.h>

#include "server.h"
#include "tokenizer/tokenizer.h" /* floor 1: the vocabulary's strings, for /tokenize */

/* Padded tokens per forward pass of a server's model (a batcher's call of up to
 * --max-batch-tokens runs as several). Each model's activations are sized for one pass
 * at load (wn_model_params.reserve_tokens): about 5 x hidden floats a token, 31 MB at
 * 4,096 tokens of MiniLM's 384, where 16,384 would hold 126 MB per model for passes no
 * faster (the products already have thousands of rows; the feed-forward runs in chunks
 * of 512 rows). */
#define SRV_PASS_TOKENS 4096

wn_server_params wn_server_default_params(void) {
    wn_server_params p;
    memset(&p, 0, sizeof p);
    p.host = "127.0.0.1";
    p.port = 8080;
    p.model = wn_model_default_params();
    p.max_concurrent = 512;
    p.max_batch_tokens = 16384;
    p.max_client_batch = 32;
    p.payload_limit = (size_t)2 << 20;
    p.max_connections = 1024;
    p.max_search_queue = 16;
    p.timeout_s = 30;
    return p;
}

static wn_status check_params(const wn_server_params *p) {
    if (p->port < 0 || p->port > 65535) return wn_seterr(WN_ERR_ARG, "server: port %d is not in 0..65535", p->port);
    if (p->max_concurrent < 1 || p->max_batch_tokens < 1 || p->max_client_batch < 1 || p->payload_limit < 1 ||
        p->max_connections < 1 || p->timeout_s < 1 || p->max_search_queue < 1)
        return wn_seterr(WN_ERR_ARG, "server: max_concurrent %d, max_batch_tokens %d, max_client_batch %d, "
                                     "payload_limit %zu, max_connections %d, timeout_s %d, max_search_queue %d: "
                                     "each must be >= 1",
                         p->max_concurrent, p->max_batch_tokens, p->max_client_batch, p->payload_limit,
                         p->max_connections, p->timeout_s, p->max_search_queue);
    if (!p->index_dir && !p->embed_model && !p->rerank_model)
        return wn_seterr(WN_ERR_ARG, "server: nothing to serve: give an index, an embedding model or a re-ranker");
    return WN_OK;
}

static int has_file(const char *dir, const char *name) {
    char *path = wn_path_join(dir, name);
    int ok = path && wn_file_exists(path);
    wn_free(path);
    return ok;
}

/* the index: which first stages it has, its bi-encoder's name, and the searcher */
static wn_status open_index(wn_server *s) {
    const char *dir = s->p.index_dir;
    s->has_bm25 = has_file(dir, "bm25.idx");
    s->has_dense = has_file(dir, "dense.idx");
    if (!s->has_bm25 && !s->has_dense)
        return wn_seterr(WN_ERR_NOTFOUND, "server: %s has neither bm25.idx nor dense.idx (make it with winnow index)", dir);
    wn_status st;
    if (s->has_dense && !s->embed_name) {
        wn_store *store = NULL;
        char *model = NULL;
        if ((st = wn_store_open(dir, 0, &store)) != WN_OK) return st;
        st = wn_store_get_meta(store, "dense.model", &model);
        if (st == WN_OK) s->embed_name = wn_strdup(model);
        wn_free_buffer(model);
        wn_store_free(store);
        if (st != WN_OK) return wn_seterr_prefix(st, "server: %s: ", dir);
        if (!s->embed_name) return wn_seterr(WN_ERR_NOMEM, "server: out of memory");
    }
    s->default_stage = s->has_bm25 && s->has_dense ? WN_FIRST_HYBRID : s->has_bm25 ? WN_FIRST_BM25 : WN_FIRST_DENSE;
    wn_pipeline_params pp = wn_pipeline_default_params();
    pp.first_stage = s->default_stage;
    pp.dense_model = s->has_dense ? s->embed_name : NULL;
    pp.rerank_model = s->rerank_name;
    pp.model_params = s->p.model;
    if ((st = wn_searcher_open(dir, &pp, &s->searcher)) != WN_OK) return st;
    s->search_params = pp;
    return WN_OK;
}

/* id -> token string of the tokenizer /tokenize uses (the interned strings, once) */
static wn_status build_vocab(wn_server *s) {
    wn_model *m = s->bi ? s->bi : s->ce;
    if (!m) return WN_OK;
    const wn_tokenizer *t = wn_model_tokenizer(m);
    s->n_vocab = t->n_vocab;
    s->vocab = wn_calloc((size_t)(t->n_vocab > 0 ? t->n_vocab : 1), sizeof *s->vocab);
    if (!s->vocab) return wn_seterr(WN_ERR_NOMEM, "server: out of memory for a vocabulary of %d", t->n_vocab);
    for (int64_t k = 0; k < t->strs.n; k++)
        if (t->map[k] >= 0 && t->map[k] < t->n_vocab && !s->vocab[t->map[k]]) s->vocab[t->map[k]] = wn_strmap_str(&t->strs, k);
    return WN_OK;
}

wn_status wn_server_create(const wn_server_params *p_in, wn_server **out) {
    WN_ENTRY();
    if (!p_in || !out) return wn_seterr(WN_ERR_ARG, "wn_server_create: NULL argument");
    *out = NULL;
    wn_status st = check_params(p_in);
    if (st != WN_OK) return st;
    wn_server *s = wn_calloc(1, sizeof *s);
    if (!s) return wn_seterr(WN_ERR_NOMEM, "server: out of memory");
    s->p = *p_in;
    if (s->p.max_client_batch > s->p.max_concurrent) s->p.max_client_batch = s->p.max_concurrent;
    pthread_mutex_init(&s->adm_mu, NULL);
    pthread_mutex_init(&s->search_mu, NULL);
    if ((st = metrics_init(&s->metrics)) != WN_OK) goto fail;
    s->host = wn_strdup(p_in->host ? p_in->host : "127.0.0.1");
    s->api_key = p_in->api_key ? wn_strdup(p_in->api_key) : NULL;
    s->embed_name = p_in->embed_model ? wn_strdup(p_in->embed_model) : NULL;
    s->rerank_name = p_in->rerank_model ? wn_strdup(p_in->rerank_model) : NULL;
    if (!s->host || (p_in->api_key && !s->api_key) || (p_in->embed_model && !s->embed_name) ||
        (p_in->rerank_model && !s->rerank_name)) {
        st = wn_seterr(WN_ERR_NOMEM, "server: out of memory");
        goto fail;
    }
    s->p.host = s->host;
    s->p.api_key = s->api_key;
    /* every model (the batchers' and the searcher's) sized once for the largest forward
     * pass the limits allow, touched at load: the server's memory is flat from the start */
    if (s->p.model.reserve_tokens <= 0) s->p.model.reserve_tokens = WN_MIN(s->p.max_batch_tokens, SRV_PASS_TOKENS);
    if (s->p.index_dir && (st = open_index(s)) != WN_OK) goto fail;
    if (s->embed_name) {
        if ((st = wn_model_load(s->embed_name, &s->p.model, &s->bi)) != WN_OK) goto fail;
        if (wn_model_kind_of(s->bi) != WN_MODEL_BIENCODER) {
            st = wn_seterr(WN_ERR_ARG, "server: %s is a cross-encoder, not an embedding model", s->embed_name);
            goto fail;
        }
        s->bi_dim = wn_model_dim(s->bi);
        if ((st = batcher_create(s->bi, s->p.max_concurrent, s->p.max_batch_tokens, s->bi_dim, &s->metrics, &s->abandon,
                                 &s->bi_q)) != WN_OK)
            goto fail;
    }
    if (s->rerank_name) {
        if ((st = wn_model_load(s->rerank_name, &s->p.model, &s->ce)) != WN_OK) goto fail;
        if (wn_model_kind_of(s->ce) != WN_MODEL_CROSSENCODER) {
            st = wn_seterr(WN_ERR_ARG, "server: %s is a bi-encoder, not a cross-encoder", s->rerank_name);
            goto fail;
        }
        s->ce_labels = wn_model_num_labels(s->ce);
        if ((st = batcher_create(s->ce, s->p.max_concurrent, s->p.max_batch_tokens, s->ce_labels, &s->metrics, &s->abandon,
                                 &s->ce_q)) != WN_OK)
            goto fail;
    }
    if ((st = build_vocab(s)) != WN_OK) goto fail;
    *out = s;
    return WN_OK;
fail:
    wn_server_free(s);
    return st;
}

wn_status wn_server_start(wn_server *s) {
    WN_ENTRY();
    if (!s || s->daemon) return wn_seterr(WN_ERR_ARG, "wn_server_start: %s", s ? "already started" : "NULL server");
    return http_start(s);
}

int wn_server_port(const wn_server *s) { return s ? s->port : 0; }

void wn_server_shutdown(wn_server *s, double grace_s) {
    if (s) http_stop(s, grace_s);
}

void wn_server_free(wn_server *s) {
    if (!s) return;
    http_stop(s, 30);
    batcher_free(s->bi_q); /* after the HTTP threads: no request waits on them any more */
    batcher_free(s->ce_q);
    wn_model_free(s->bi);
    wn_model_free(s->ce);
    wn_searcher_free(s->searcher);
    metrics_destroy(&s->metrics);
    pthread_mutex_destroy(&s->adm_mu);
    pthread_mutex_destroy(&s->search_mu);
    wn_free(s->host);
    wn_free(s->api_key);
    wn_free(s->embed_name);
    wn_free(s->rerank_name);
    wn_free(s->vocab);
    wn_free(s);
}
