/*
 * metrics.c - what /metrics reports, in Prometheus' text exposition format (0.0.4):
 * requests per endpoint and status class, latency histograms per endpoint and per
 * stage (queue, tokenize, inference, first stage, re-ranking), batch sizes and
 * padded tokens per model call, queue depth and inputs in flight. One mutex: the
 * updates are a few additions per request, far below a model call.
 */
#include <string.h>

#include "server.h"

static const char *const ep_path[EP_COUNT] = {"/embed", "/rerank", "/predict", "/tokenize", "/health", "/info",
                                              "/v1/embeddings", "/v1/rerank", "/search", "/metrics", "other"};
static const char *const stage_name[STAGE_COUNT] = {"queue", "tokenize", "inference", "first_stage", "rerank"};
/* seconds: 0.5 ms .. 10 s */
static const double sec_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_SEC ((int)(sizeof sec_le / sizeof sec_le[0]))
static const double size_le[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
#define N_SIZE ((int)(sizeof size_le / sizeof size_le[0]))
static const double tok_le[] = {16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
#define N_TOK ((int)(sizeof tok_le / sizeof tok_le[0]))

const char *metrics_endpoint_path(srv_endpoint ep) { return (unsigned)ep < EP_COUNT ? ep_path[ep] : "other"; }

wn_status metrics_init(srv_metrics *m) {
    memset(m, 0, sizeof *m);
    if (pthread_mutex_init(&m->mu, NULL)) return wn_seterr(WN_ERR_INTERNAL, "server: pthread_mutex_init failed");
    return WN_OK;
}

void metrics_destroy(srv_metrics *m) { pthread_mutex_destroy(&m->mu); }

static void observe(srv_hist *h, const double *le, int nb, double v) {
    int i = 0;
    while (i < nb && v > le[i]) i++;
    h->bucket[i]++;
    h->sum += v;
    h->count++;
}

void metrics_request(srv_metrics *m, srv_endpoint ep, int status, double seconds) {
    int cls = status / 100;
    if (cls < 1 || cls > 5) cls = 5;
    pthread_mutex_lock(&m->mu);
    m->requests[ep][cls]++;
    observe(&m->latency[ep], sec_le, N_SEC, seconds);
    if (status == 429) m->rejected++;
    pthread_mutex_unlock(&m->mu);
}

void metrics_stage(srv_metrics *m, srv_stage st, double seconds) {
    pthread_mutex_lock(&m->mu);
    observe(&m->stage[st], sec_le, N_SEC, seconds);
    pthread_mutex_unlock(&m->mu);
}

void metrics_batch(srv_metrics *m, int n, int64_t padded_tokens) {
    pthread_mutex_lock(&m->mu);
    observe(&m->batch_size, size_le, N_SIZE, n);
    observe(&m->batch_tokens, tok_le, N_TOK, (double)padded_tokens);
    pthread_mutex_unlock(&m->mu);
}

void metrics_queue(srv_metrics *m, int64_t delta) {
    pthread_mutex_lock(&m->mu);
    m->queue_depth += delta;
    pthread_mutex_unlock(&m->mu);
}

/* name{labels,le="..."} lines, cumulative, then _sum and _count */
static void hist_out(sbuf *o, const char *name, const char *labels, const srv_hist *h, const double *le, int nb) {
    uint64_t cum = 0;
    const char *sep = labels[0] ? "," : "";
    for (int i = 0; i < nb; i++) {
        cum += h->bucket[i];
        sb_printf(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, le[i], (unsigned long long)cum);
    }
    cum += h->bucket[nb];
    sb_printf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum);
    if (labels[0]) {
        sb_printf(o, "%s_sum{%s} %.9g\n%s_count{%s} %llu\n", name, labels, h->sum, name, labels,
                  (unsigned long long)h->count);
    } else {
        sb_printf(o, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
    }
}

void metrics_render(srv_metrics *m, sbuf *o) {
    pthread_mutex_lock(&m->mu);
    srv_metrics c = *m; /* a consistent copy; the mutex field of the copy is not used */
    pthread_mutex_unlock(&m->mu);
    char lab[96];
    sb_puts(o, "# HELP winnow_requests_total HTTP requests by endpoint and status class.\n"
               "# TYPE winnow_requests_total counter\n");
    for (int e = 0; e < EP_COUNT; e++)
        for (int k = 1; k <= 5; k++)
            if (c.requests[e][k] || k == 2)
                sb_printf(o, "winnow_requests_total{endpoint=\"%s\",code=\"%dxx\"} %llu\n", ep_path[e], k,
                          (unsigned long long)c.requests[e][k]);
    sb_puts(o, "# HELP winnow_request_failures_total HTTP requests answered with a 4xx or 5xx status.\n"
               "# TYPE winnow_request_failures_total counter\n");
    for (int e = 0; e < EP_COUNT; e++)
        sb_printf(o, "winnow_request_failures_total{endpoint=\"%s\"} %llu\n", ep_path[e],
                  (unsigned long long)(c.requests[e][4] + c.requests[e][5]));
    sb_printf(o, "# HELP winnow_rejected_total Requests refused with 429 (inputs beyond --max-concurrent).\n"
                 "# TYPE winnow_rejected_total counter\nwinnow_rejected_total %llu\n",
              (unsigned long long)c.rejected);
    sb_puts(o, "# HELP winnow_request_duration_seconds Time from a request's first byte to its response.\n"
               "# TYPE winnow_request_duration_seconds histogram\n");
    for (int e = 0; e < EP_COUNT; e++) {
        if (!c.latency[e].count) continue;
        snprintf(lab, sizeof lab, "endpoint=\"%s\"", ep_path[e]);
        hist_out(o, "winnow_request_duration_seconds", lab, &c.latency[e], sec_le, N_SEC);
    }
    sb_puts(o, "# HELP winnow_stage_duration_seconds Time per stage: queue wait, tokenization, model "
               "inference, search first stage, search re-ranking.\n"
               "# TYPE winnow_stage_duration_seconds histogram\n");
    for (int s = 0; s < STAGE_COUNT; s++) {
        snprintf(lab, sizeof lab, "stage=\"%s\"", stage_name[s]);
        hist_out(o, "winnow_stage_duration_seconds", lab, &c.stage[s], sec_le, N_SEC);
    }
    sb_puts(o, "# HELP winnow_batch_size Inputs per model call.\n# TYPE winnow_batch_size histogram\n");
    hist_out(o, "winnow_batch_size", "", &c.batch_size, size_le, N_SIZE);
    sb_puts(o, "# HELP winnow_batch_tokens Padded tokens (inputs x longest) per model call.\n"
               "# TYPE winnow_batch_tokens histogram\n");
    hist_out(o, "winnow_batch_tokens", "", &c.batch_tokens, tok_le, N_TOK);
    sb_printf(o, "# HELP winnow_queue_size Inputs waiting for a model.\n# TYPE winnow_queue_size gauge\n"
                 "winnow_queue_size %lld\n", (long long)c.queue_depth);
    sb_printf(o, "# HELP winnow_inflight_inputs Inputs admitted and not yet answered.\n"
                 "# TYPE winnow_inflight_inputs gauge\nwinnow_inflight_inputs %lld\n", (long long)c.inflight);
}
