/* error.c - thread-local last error, status names, assertion failure. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static _Thread_local char last_error[WN_ERRMSG_CAP];

/* Formatted into a local buffer first: an argument that points into last_error
 * (wn_last_error() passed back in) is read before the buffer is written. */
wn_status wn_seterr(wn_status s, const char *fmt, ...) {
    char msg[WN_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return s;
}

wn_status wn_seterr_prefix(wn_status s, const char *fmt, ...) {
    char prev[WN_ERRMSG_CAP], pre[WN_ERRMSG_CAP];
    memcpy(prev, last_error, sizeof prev);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    snprintf(last_error, sizeof last_error, "%s%s", pre, prev);
    return s;
}

void wn_clearerr(void) { last_error[0] = 0; }

const char *wn_last_error(void) { return last_error; }

void wn_task_err_init(wn_task_err *e) {
    atomic_init(&e->failed, 0);
    e->st = WN_OK;
    e->msg[0] = 0;
}

wn_status wn_task_fail(wn_task_err *e, wn_status st) {
    if (st == WN_OK) return st;
    if (atomic_exchange(&e->failed, 1) == 0) { /* the first failure; wn_task_raise reads after the join */
        e->st = st;
        memcpy(e->msg, last_error, sizeof e->msg);
        if (!e->msg[0]) snprintf(e->msg, sizeof e->msg, "%s on a worker thread", wn_status_name(st));
    }
    return st;
}

int wn_task_failed(wn_task_err *e) { return atomic_load(&e->failed); }

wn_status wn_task_raise(wn_task_err *e) {
    if (!atomic_load(&e->failed)) return WN_OK;
    return wn_seterr(e->st, "%s", e->msg);
}

const char *wn_status_name(wn_status s) {
    switch (s) {
    case WN_OK: return "ok";
    case WN_ERR_ARG: return "invalid argument";
    case WN_ERR_IO: return "i/o error";
    case WN_ERR_FORMAT: return "format error";
    case WN_ERR_NOMEM: return "out of memory";
    case WN_ERR_NOTFOUND: return "not found";
    case WN_ERR_NETWORK: return "network error";
    case WN_ERR_UNSUPPORTED: return "unsupported";
    case WN_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *wn_version(void) { return WN_VERSION; }

wn_status wn_parse_name(const char *what, const char *s, const char *const *names, int n, int *out) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) return *out = i, WN_OK;
    char list[256] = "";
    for (int i = 0; i < n; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", names[i]);
    }
    return wn_seterr(WN_ERR_ARG, "unknown %s '%.60s' (use %s)", what, s ? s : "(null)", list);
}

void wn_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "winnow: assertion failed at %s:%d: %s\n", file, line, expr);
    abort();
}
