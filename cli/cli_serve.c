/* cli_serve.c - winnow serve: the HTTP server (include/winnow_server.h, docs/SERVER.md)
 * in the foreground. Signals are the program's business, never the library's: SIGTERM
 * and SIGINT are blocked in every thread and taken by sigwait here; then the server
 * stops listening, lets the requests in flight finish, and the program exits 0. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "winnow_server.h"

static void serve_usage(FILE *f) {
    fprintf(f,
            "usage: winnow serve [--index DIR] [--embed MODEL] [--rerank MODEL] [options]\n"
            "  --index DIR            serve /search over an index made by winnow index\n"
            "  --embed MODEL          bi-encoder for /embed, /v1/embeddings (default: the index's)\n"
            "  --rerank MODEL         cross-encoder for /rerank, /v1/rerank, /predict, /search\n"
            "  --host ADDR            address to bind (default 127.0.0.1)\n"
            "  --port N               port (default 8080; 0: any free one, printed)\n"
            "  --threads N            threads per model call (default: all CPUs)\n"
            "  --api-key KEY          require 'Authorization: Bearer KEY' (default: $WINNOW_API_KEY)\n"
            "  --max-concurrent N     inputs in flight before 429 (default 512)\n"
            "  --max-batch-tokens N   padded tokens per model call (default 16384)\n"
            "  --max-client-batch N   a request's inputs in flight at once; larger requests are\n"
            "                         split, not refused (default 32)\n"
            "  --payload-limit BYTES  request body limit, beyond: 413 (default 2000000)\n"
            "  --max-connections N    open connections (default 1024)\n"
            "  --timeout S            idle connection timeout in seconds (default 30)\n"
            "  --max-search-queue N   /search requests waiting their turn, beyond: 429 (default 16)\n"
            "  --batch N              sequences per forward pass inside a model call (default 32)\n");
}

/* options taking a number: name, bounds, where it goes */
static int num_opt(const char *o, const char *val, wn_server_params *p) {
    static const struct {
        const char *name;
        long lo, hi;
    } t[] = {{"--port", 0, 65535},           {"--threads", 1, 1024},         {"--max-concurrent", 1, 1 << 20},
             {"--max-batch-tokens", 1, 1 << 24}, {"--max-client-batch", 1, 1 << 20}, {"--payload-limit", 1, 1L << 31},
             {"--max-connections", 1, 65536}, {"--timeout", 1, 86400},      {"--batch", 1, 4096},
             {"--max-search-queue", 1, 1 << 20}};
    for (int i = 0; i < (int)(sizeof t / sizeof t[0]); i++) {
        if (strcmp(o, t[i].name)) continue;
        long v;
        if (!val) return cli_error("serve: %s needs a value", o), -1;
        if (!cli_parse_int(o, val, t[i].lo, t[i].hi, &v)) return -1;
        int *dst[] = {&p->port, &p->model.n_threads, &p->max_concurrent, &p->max_batch_tokens, &p->max_client_batch,
                      NULL, &p->max_connections, &p->timeout_s, &p->model.max_batch, &p->max_search_queue};
        if (dst[i]) *dst[i] = (int)v;
        else p->payload_limit = (size_t)v;
        return 1;
    }
    return 0;
}

/* 0 ok, 1 done (--help), 2 usage error (said) */
static int parse_args(int argc, char **argv, wn_server_params *p) {
    for (int i = 1; i < argc; i += 2) { /* every option but --help takes a value */
        const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) return serve_usage(stdout), 1;
        int used = num_opt(o, val, p);
        if (used < 0) return 2;
        const char **str = !strcmp(o, "--index") ? &p->index_dir : !strcmp(o, "--embed") ? &p->embed_model
                         : !strcmp(o, "--rerank") ? &p->rerank_model : !strcmp(o, "--host") ? &p->host
                         : !strcmp(o, "--api-key") ? &p->api_key : NULL;
        if (!used && str && val) *str = val;
        else if (!used) {
            cli_error("serve: unknown option or missing value '%s'", o);
            serve_usage(stderr);
            return 2;
        }
    }
    if (!p->index_dir && !p->embed_model && !p->rerank_model)
        return cli_error("serve: give --index DIR, --embed MODEL and/or --rerank MODEL"), 2;
    return 0;
}

int cmd_serve(int argc, char **argv) {
    wn_server_params p = wn_server_default_params();
    p.model.hub.models_dir = cli_models_dir();
    p.api_key = getenv("WINNOW_API_KEY");
    if (p.api_key && !p.api_key[0]) p.api_key = NULL;
    int rc = parse_args(argc, argv, &p);
    if (rc) return rc == 1 ? 0 : rc;
    /* blocked before any thread starts, so every thread inherits the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    wn_server *s = NULL;
    wn_status st = wn_server_create(&p, &s);
    if (st == WN_OK) st = wn_server_start(s);
    if (st != WN_OK) {
        cli_lib_error("serve", st);
        wn_server_free(s);
        return 1;
    }
    fprintf(stderr, "winnow serve: listening on http://%s:%d%s\n", p.host, wn_server_port(s),
            p.api_key ? " (API key required)" : "");
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "winnow serve: %s: finishing the requests in flight\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    wn_server_shutdown(s, 30);
    wn_server_free(s);
    fprintf(stderr, "winnow serve: stopped\n");
    return 0;
}
