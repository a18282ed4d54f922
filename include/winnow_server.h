/*
 * winnow_server.h - winnow's HTTP server (`winnow serve`, docs/SERVER.md): embedding,
 * re-ranking, tokenizing and search over HTTP with the request and response shapes of
 * text-embeddings-inference (TEI), OpenAI's /v1/embeddings and Jina/Cohere's
 * /v1/rerank, dynamic batching of concurrent requests, back-pressure and metrics.
 *
 * Not part of libwinnow: src/server/ is built into its own archive
 * (build/libwinnow_server.a) that needs libmicrohttpd, so the library proper stays
 * usable without it. Same conventions as winnow.h: opaque handle, params by value,
 * wn_status + wn_last_error(). The server installs no signal handler: the program
 * that runs it (cli/cli_serve.c) catches SIGTERM and calls wn_server_shutdown.
 */
#ifndef WINNOW_SERVER_H
#define WINNOW_SERVER_H

#include <stddef.h>

#include "winnow.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wn_server wn_server;
typedef struct {
    const char *index_dir;    /* an index directory (winnow index) for /search, or NULL */
    const char *embed_model;  /* bi-encoder for /embed, /v1/embeddings; NULL: the index's own */
    const char *rerank_model; /* cross-encoder for /rerank, /v1/rerank, /predict and /search's
                                 re-ranking; NULL: none */
    const char *host;         /* address to bind (default "127.0.0.1") */
    int port;                 /* default 8080; 0: any free port (wn_server_port tells) */
    wn_model_params model;    /* n_threads: threads per model call; hub: where models come from */
    const char *api_key;      /* NULL: none; else "Authorization: Bearer KEY" is required on
                                 everything but /health and /metrics */
    int max_concurrent;       /* inputs (texts, pairs, queries) in flight at once; beyond: 429
                                 (default 512) */
    int max_batch_tokens;     /* padded tokens (sequences x longest) per model call (default 16384) */
    int max_client_batch;     /* inputs of one request in flight at once: a larger request is
                                 split into chunks of this size, not refused (default 32) */
    size_t payload_limit;     /* request body bytes, beyond: 413 (default 2 MB) */
    int max_connections;      /* open connections (default 1024) */
    int max_search_queue;     /* /search requests waiting for the searcher (one runs at a
                                 time); beyond: 429 (default 16) */
    int timeout_s;            /* idle connection timeout, seconds (default 30) */
} wn_server_params;
WN_API wn_server_params wn_server_default_params(void);
/* Loads the models and opens the index; binds nothing yet. */
WN_API wn_status wn_server_create(const wn_server_params *p, wn_server **out);
/* Binds host:port and starts serving on threads of its own; returns at once. */
WN_API wn_status wn_server_start(wn_server *s);
/* The port bound (after wn_server_start), e.g. the one chosen for port 0. */
WN_API int wn_server_port(const wn_server *s);
/* Stops accepting connections, lets the requests in flight finish (for at most
 * grace_s seconds), then stops every thread. Idempotent. */
WN_API void wn_server_shutdown(wn_server *s, double grace_s);
WN_API void wn_server_free(wn_server *s); /* NULL-safe; shuts down first if needed */

#ifdef __cplusplus
}
#endif
#endif /* WINNOW_SERVER_H */
