/*
 * server.h - inside src/server (floor 4, docs/SERVER.md): winnow's HTTP server.
 *   http.c           libmicrohttpd glue: connections, body limits, API key, timing
 *                    headers, dispatch to the routes, drain on shutdown
 *   server.c         wn_server_create / _free: the models, the searcher, the batchers
 *   batcher.c        dynamic batching: a bounded queue per model, one thread that
 *                    merges concurrent requests' inputs into token-budgeted batches
 *   routes_tei.c     TEI's /embed /rerank /predict /tokenize /info /health
 *   routes_openai.c  OpenAI's /v1/embeddings, Jina/Cohere's /v1/rerank
 *   routes_search.c  winnow's /search over an index directory
 *   common.c         request helpers shared by the routes: inputs, admission, replies
 *   metrics.c        counters and histograms, /metrics in Prometheus text format
 *   sbuf.c           the growing output buffer and its JSON writers
 * The server speaks to the models and the index through winnow.h (wn_model_*,
 * wn_searcher_*) and uses util's JSON reader; it never prints.
 */
#ifndef WN_SERVER_INTERNAL_H
#define WN_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "util/json.h"
#include "util/util.h"
#include "winnow_server.h"

/* ---- sbuf.c: a growing NUL-terminated string; an allocation failure sets oom and
 * later writes do nothing (checked once, when the reply is sent) */
typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;
void sb_put(sbuf *b, const char *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void sb_json_str(sbuf *b, const char *s, size_t n); /* quoted and escaped */
void sb_float(sbuf *b, double v);                  /* %.9g (round-trips float32); null if not finite */
void sb_base64(sbuf *b, const void *data, size_t n);
void sb_free(sbuf *b);

/* ---- metrics.c */
typedef enum {
    EP_EMBED = 0, EP_RERANK, EP_PREDICT, EP_TOKENIZE, EP_HEALTH, EP_INFO,
    EP_V1_EMBEDDINGS, EP_V1_RERANK, EP_SEARCH, EP_METRICS, EP_OTHER, EP_COUNT
} srv_endpoint;
typedef enum { STAGE_QUEUE = 0, STAGE_TOKENIZE, STAGE_INFERENCE, STAGE_FIRST, STAGE_RERANK, STAGE_COUNT } srv_stage;
#define HIST_MAX_BUCKETS 16
typedef struct {
    uint64_t bucket[HIST_MAX_BUCKETS + 1]; /* the last: +Inf */
    double sum;
    uint64_t count;
} srv_hist;
typedef struct {
    pthread_mutex_t mu;
    uint64_t requests[EP_COUNT][6]; /* by status class: 1xx..5xx, index status / 100 */
    srv_hist latency[EP_COUNT];     /* seconds */
    srv_hist stage[STAGE_COUNT];    /* seconds */
    srv_hist batch_size, batch_tokens;
    int64_t queue_depth;            /* inputs waiting for a batcher */
    int64_t inflight;               /* inputs admitted (queued or running) */
    uint64_t rejected;              /* 429s */
} srv_metrics;
const char *metrics_endpoint_path(srv_endpoint ep);
wn_status metrics_init(srv_metrics *m);
void metrics_destroy(srv_metrics *m);
void metrics_request(srv_metrics *m, srv_endpoint ep, int status, double seconds);
void metrics_stage(srv_metrics *m, srv_stage st, double seconds);
void metrics_batch(srv_metrics *m, int n, int64_t padded_tokens);
void metrics_queue(srv_metrics *m, int64_t delta);
void metrics_render(srv_metrics *m, sbuf *out);

/* ---- batcher.c: one per model. A job is a request's inputs (or a chunk of them); its
 * inputs are queued one by one, so one model call may hold inputs of many jobs and one
 * job may span several calls. */
typedef struct {
    int n;                        /* inputs */
    const char *const *a;         /* (n) texts, or queries of pairs */
    const char *const *b;         /* (n) documents of pairs, or NULL (embedding) */
    const int *ntok;              /* (n) tokens of each input once truncated (the budget) */
    float *out;                   /* (n * width) results, in input order */
    /* filled by the batcher */
    int remaining;
    wn_task_err err;              /* a failed model call: status and message */
    double t_submit, t_first;     /* when queued, when its first input ran */
    double infer_s;               /* seconds of the model calls that held its inputs */
    uint64_t seen_call;           /* the last model call that held one of its inputs */
    pthread_cond_t done;
} srv_job;
typedef struct srv_batcher srv_batcher;
/* cap: inputs that may wait at once (the admission limit guarantees it); budget: padded
 * tokens per model call; width: floats per result (dim or labels); *abandon set: inputs
 * still queued fail at once (WN_ERR_UNSUPPORTED, "shutting down") instead of running. */
wn_status batcher_create(wn_model *m, int cap, int budget, int width, srv_metrics *mx, const _Atomic int *abandon,
                         srv_batcher **out);
/* Queues job's inputs and waits until every one ran (job->err tells how). */
wn_status batcher_run(srv_batcher *b, srv_job *job);
void batcher_free(srv_batcher *b); /* finishes what is queued, then stops */

/* ---- the server (server.c) */
struct wn_server {
    wn_server_params p;
    char *host, *api_key;         /* copies */
    char *embed_name, *rerank_name;
    wn_model *bi, *ce;            /* owned; either may be NULL */
    int bi_labels, ce_labels, bi_dim;
    srv_batcher *bi_q, *ce_q;
    wn_searcher *searcher;        /* or NULL; one request at a time (search_mu) */
    pthread_mutex_t search_mu;
    const char **vocab;           /* (n_vocab) token string of each id (or NULL), for /tokenize */
    int n_vocab;
    int has_bm25, has_dense;
    wn_first_stage default_stage;
    wn_pipeline_params search_params; /* the searcher's current parameters */
    int64_t cache_mark;           /* pairs scored when the searcher's pair cache was last cleared */
    srv_metrics metrics;
    pthread_mutex_t adm_mu;       /* admission: inputs in flight */
    int64_t admitted;
    int search_waiting;           /* /search requests waiting for search_mu (under adm_mu) */
    void *daemon;                 /* struct MHD_Daemon * */
    _Atomic int64_t active;       /* requests between their first byte and their completion */
    _Atomic int draining;
    _Atomic int abandon;          /* the drain's grace ran out: queued work fails with 503 */
    int port;
};

/* ---- a request as the routes see it, and their reply (common.c) */
typedef struct {
    int status;                   /* HTTP status */
    sbuf body;                    /* the JSON body (an error's is written by http.c) */
    const char *err_type;         /* non-NULL: an error of this TEI error_type */
    char err_msg[512];
    double queue_s, infer_s, tok_s; /* the timing headers */
    const char *ctype;            /* NULL: application/json */
} srv_reply;
/* Sets an error reply (the body is written by http.c in the endpoint's style). */
void reply_error(srv_reply *r, int status, const char *type, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* An error reply from a failed library call on this thread: 400 for bad input,
 * 500 otherwise, with the library's message. */
void reply_status(srv_reply *r, wn_status st, const char *what);

/* Inputs of a request: one string or an array of strings (max 2^20). Returns 0 and
 * fills texts (wn_malloc'd array of pointers into the JSON), or 1 with the error set. */
int input_strings(const wn_json *v, const char *field, srv_reply *r, const char ***texts, int *n);
/* Token counts of n inputs (pairs when b), truncated to the model's limit into ntok;
 * *total the sum. truncate 0: an input past the limit is a 422. Returns 0 or 1 (error set). */
int input_tokens(wn_server *s, const wn_model *m, int n, const char *const *a, const char *const *b, int truncate,
                 srv_reply *r, int *ntok, int64_t *total);
/* Admission: reserves k inputs of max_concurrent (0), or sets a 429 (1). */
int admit(wn_server *s, int k, srv_reply *r);
void admit_release(wn_server *s, int k);
/* Runs n inputs through a batcher in chunks of max_client_batch, out: n * width.
 * Admission must be held for min(n, max_client_batch). Returns 0 or 1 (error set). */
int run_batched(wn_server *s, srv_batcher *q, int n, const char *const *a, const char *const *b, const int *ntok,
                int width, float *out, srv_reply *r);
/* Optional fields: set *out and return 0 when absent or of the right type, else 1 (422). */
int opt_bool(const wn_json *o, const char *key, int *out, srv_reply *r);
int opt_int(const wn_json *o, const char *key, long lo, long hi, long *out, srv_reply *r);
float srv_sigmoid(float x);

/* (index, score) for the rerank endpoints, sorted by srv_by_score: best score first,
 * ties in input order. */
typedef struct {
    int index;
    float score;
} srv_ranked;
int srv_by_score(const void *x, const void *y);

/* routes_tei.c, shared with routes_openai.c: n texts embedded into *out (wn_malloc'd,
 * n * *dim floats): truncated to dims (> 0, renormalised) or L2-normalised (normalize).
 * *tokens: tokens used. Returns 0 or 1 (error set). */
/* The prompt before each of texts[0..n) (routes_tei.c): the request's "prompt_name"
 * (TEI's field; 422 when the model has no such prompt), else the model's default prompt
 * (config_sentence_transformers.json's default_prompt_name, as sentence-transformers'
 * encode() and `winnow embed` apply it); texts[i] then point into *buf (wn_free it, NULL
 * when no prompt applies). Returns 0 or 1 (reply set). */
int with_prompt(wn_server *s, const wn_json *req, const char **texts, int n, char **buf, srv_reply *r);
int embed_texts(wn_server *s, const char *const *texts, int n, int truncate, int normalize, int dims, float **out,
                int *dim, int64_t *tokens, srv_reply *r);
/* n (query, document) pairs (docs[i] NULL: the query alone) scored into *out
 * (wn_malloc'd, n floats): the cross-encoder's last label's logit. */
int score_pairs(wn_server *s, int n, const char *const *qs, const char *const *ds, int truncate, float **out,
                int64_t *tokens, srv_reply *r);

/* ---- routes (routes_*.c): each fills r from a parsed request body (NULL for GET) */
void route_embed(wn_server *s, const wn_json *req, srv_reply *r);
void route_rerank(wn_server *s, const wn_json *req, srv_reply *r);
void route_predict(wn_server *s, const wn_json *req, srv_reply *r);
void route_tokenize(wn_server *s, const wn_json *req, srv_reply *r);
void route_info(wn_server *s, srv_reply *r);
void route_health(wn_server *s, srv_reply *r);
void route_v1_embeddings(wn_server *s, const wn_json *req, srv_reply *r);
void route_v1_rerank(wn_server *s, const wn_json *req, srv_reply *r);
void route_search(wn_server *s, const wn_json *req, srv_reply *r);

/* http.c */
wn_status http_start(wn_server *s);
void http_stop(wn_server *s, double grace_s);

#endif
