/*
 * common.c - what the routes share: error replies, reading inputs from a request,
 * counting their tokens (truncation or 422), admission (429 beyond --max-concurrent
 * inputs in flight) and running inputs through a batcher in chunks of
 * --max-client-batch (a larger request is split, not refused).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "tokenizer/tokenizer.h" /* floor 1: the post-processor's special tokens (tpl) */

/* inputs of one request: bounds its result memory (16384 x 1024 floats = 64 MB) */
#define MAX_INPUTS 16384

void reply_error(srv_reply *r, int status, const char *type, const char *fmt, ...) {
    r->status = status;
    r->err_type = type;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err_msg, sizeof r->err_msg, fmt, ap);
    va_end(ap);
}

void reply_status(srv_reply *r, wn_status st, const char *what) {
    wn_task_err e; /* this thread's message, copied (never passed into a new message) */
    wn_task_err_init(&e);
    wn_task_fail(&e, st);
    if (st == WN_ERR_UNSUPPORTED) reply_error(r, 503, "unhealthy", "%s: %s", what, e.msg); /* shutting down */
    else if (st == WN_ERR_ARG || st == WN_ERR_FORMAT) reply_error(r, 400, "validation", "%s: %s", what, e.msg);
    else reply_error(r, 500, "backend", "%s: %s", what, e.msg);
}

int input_strings(const wn_json *v, const char *field, srv_reply *r, const char ***texts, int *n) {
    *texts = NULL;
    *n = 0;
    if (!v) return reply_error(r, 422, "validation", "missing field `%s`", field), 1;
    size_t k = wn_json_is_string(v) ? 1 : wn_json_is_array(v) ? wn_json_size(v) : 0;
    if (!wn_json_is_string(v) && !wn_json_is_array(v))
        return reply_error(r, 422, "validation", "`%s` must be a string or an array of strings", field), 1;
    if (k == 0) return reply_error(r, 400, "empty", "`%s` cannot be empty", field), 1;
    if (k > MAX_INPUTS) return reply_error(r, 413, "validation", "`%s` has %zu entries, at most %d", field, k, MAX_INPUTS), 1;
    const char **t = wn_malloc(k * sizeof *t);
    if (!t) return reply_error(r, 503, "backend", "out of memory"), 1;
    const wn_json *e = wn_json_is_string(v) ? v : v->child;
    for (size_t i = 0; i < k; i++, e = e->next) {
        if (!wn_json_is_string(e)) {
            wn_free(t);
            return reply_error(r, 422, "validation", "`%s`[%zu] is not a string", field, i), 1;
        }
        if (e->len == 0) {
            wn_free(t);
            return reply_error(r, 400, "empty", "`%s`[%zu] is empty", field, i), 1;
        }
        t[i] = e->str;
    }
    *texts = t;
    *n = (int)k;
    return 0;
}

/* the special tokens the post-processor adds to one text (pair 0) or a pair (1) */
static int n_special(const wn_tokenizer *t, int pair) {
    int k = 0;
    for (int i = 0; i < t->n_tpl[pair]; i++) k += t->tpl[pair][i].id >= 0;
    return k;
}

int input_tokens(wn_server *s, const wn_model *m, int n, const char *const *a, const char *const *b, int truncate,
                 srv_reply *r, int *ntok, int64_t *total) {
    const wn_tokenizer *t = wn_model_tokenizer(m);
    int max = wn_model_max_length(m), sp1 = n_special(t, 0), sp2 = n_special(t, 1);
    double t0 = wn_now();
    *total = 0;
    for (int i = 0; i < n; i++) {
        int pair = b && b[i];
        int64_t len = pair ? sp2 : sp1;
        for (int side = 0; side < 1 + pair; side++) {
            int32_t *ids = NULL;
            int k = 0;
            wn_status st = wn_tokenizer_tokenize(t, side ? b[i] : a[i], &ids, &k);
            wn_free_buffer(ids);
            if (st != WN_OK) return reply_status(r, st, "tokenizer"), 1;
            len += k;
        }
        if (len > max && !truncate)
            return reply_error(r, 422, "validation",
                               "input %d has %lld tokens, the model's limit is %d (send \"truncate\": true to cut it)", i,
                               (long long)len, max),
                   1;
        ntok[i] = len > max ? max : (int)len;
        *total += ntok[i];
    }
    r->tok_s += wn_now() - t0;
    metrics_stage(&s->metrics, STAGE_TOKENIZE, wn_now() - t0);
    return 0;
}

int admit(wn_server *s, int k, srv_reply *r) {
    pthread_mutex_lock(&s->adm_mu);
    int ok = s->admitted + k <= s->p.max_concurrent;
    if (ok) s->admitted += k;
    int64_t now = s->admitted;
    pthread_mutex_unlock(&s->adm_mu);
    if (!ok) {
        reply_error(r, 429, "overloaded", "Model is overloaded: more than %d inputs in flight (--max-concurrent)",
                    s->p.max_concurrent);
        return 1;
    }
    pthread_mutex_lock(&s->metrics.mu);
    s->metrics.inflight = now;
    pthread_mutex_unlock(&s->metrics.mu);
    return 0;
}

void admit_release(wn_server *s, int k) {
    pthread_mutex_lock(&s->adm_mu);
    s->admitted -= k;
    int64_t now = s->admitted;
    pthread_mutex_unlock(&s->adm_mu);
    pthread_mutex_lock(&s->metrics.mu);
    s->metrics.inflight = now;
    pthread_mutex_unlock(&s->metrics.mu);
}

int run_batched(wn_server *s, srv_batcher *q, int n, const char *const *a, const char *const *b, const int *ntok,
                int width, float *out, srv_reply *r) {
    int chunk = s->p.max_client_batch;
    for (int i = 0; i < n; i += chunk) {
        srv_job j;
        memset(&j, 0, sizeof j);
        j.n = n - i < chunk ? n - i : chunk;
        j.a = a + i;
        j.b = b ? b + i : NULL;
        j.ntok = ntok + i;
        j.out = out + (size_t)i * width;
        wn_status st = batcher_run(q, &j);
        r->queue_s += j.t_first > 0 ? j.t_first - j.t_submit : 0;
        r->infer_s += j.infer_s;
        if (st != WN_OK) return reply_status(r, st, "model"), 1;
    }
    return 0;
}

int opt_bool(const wn_json *o, const char *key, int *out, srv_reply *r) {
    const wn_json *v = wn_json_get(o, key);
    if (!v || wn_json_is_null(v)) return 0;
    if (!wn_json_is_bool(v)) return reply_error(r, 422, "validation", "`%s` must be true or false", key), 1;
    *out = wn_json_is_true(v);
    return 0;
}

int opt_int(const wn_json *o, const char *key, long lo, long hi, long *out, srv_reply *r) {
    const wn_json *v = wn_json_get(o, key);
    if (!v || wn_json_is_null(v)) return 0;
    if (!wn_json_is_number(v) || v->num != floor(v->num) || v->num < lo || v->num > hi)
        return reply_error(r, 422, "validation", "`%s` must be an integer in [%ld, %ld]", key, lo, hi), 1;
    *out = (long)v->num;
    return 0;
}

float srv_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
