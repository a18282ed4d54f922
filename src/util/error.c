/* error.c - thread-local last error, status names, assertion failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static _Thread_local char last_error[1024];

wn_status wn_seterr(wn_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

void wn_clearerr(void) { last_error[0] = 0; }

const char *wn_last_error(void) { return last_error; }

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

void wn_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "winnow: assertion failed at %s:%d: %s\n", file, line, expr);
    abort();
}
