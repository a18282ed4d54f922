/*
 * alloc.c - every allocation of the library goes through one hook (SQLite's
 * SQLITE_CONFIG_MALLOC model): set once with wn_set_allocator before other calls.
 * This is the one piece of process-wide state, and it is configuration, not data;
 * it is winnow's own (the JSON reader allocates through it too), no other library's.
 */
#include <stdlib.h>
#include <string.h>

#include "util.h"

static wn_allocator hook; /* all NULL: libc */

void wn_set_allocator(const wn_allocator *a) {
    if (a) {
        hook = *a;
    } else {
        memset(&hook, 0, sizeof hook);
    }
}

/* A size header in front of every block lets realloc work with hooks that have no
 * realloc of their own. 16 bytes keeps malloc's alignment. */
#define HDR 16

void *wn_malloc(size_t n) {
    if (n > SIZE_MAX - HDR) return NULL;
    unsigned char *p = hook.malloc_fn ? hook.malloc_fn(n + HDR, hook.ud) : malloc(n + HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    return p + HDR;
}

void *wn_calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = wn_malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void wn_free(void *p) {
    if (!p) return;
    unsigned char *b = (unsigned char *)p - HDR;
    if (hook.free_fn) hook.free_fn(b, hook.ud);
    else free(b);
}

void *wn_realloc(void *p, size_t n) {
    if (!p) return wn_malloc(n);
    if (n > SIZE_MAX - HDR) return NULL;
    unsigned char *b = (unsigned char *)p - HDR;
    if (!hook.malloc_fn) {
        unsigned char *nb = realloc(b, n + HDR);
        if (!nb) return NULL;
        memcpy(nb, &n, sizeof n);
        return nb + HDR;
    }
    if (hook.realloc_fn) {
        unsigned char *nb = hook.realloc_fn(b, n + HDR, hook.ud);
        if (!nb) return NULL;
        memcpy(nb, &n, sizeof n);
        return nb + HDR;
    }
    size_t old;
    memcpy(&old, b, sizeof old);
    void *q = wn_malloc(n);
    if (!q) return NULL;
    memcpy(q, p, old < n ? old : n);
    wn_free(p);
    return q;
}

char *wn_strndup(const char *s, size_t n) {
    char *d = wn_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *wn_strdup(const char *s) { return wn_strndup(s, strlen(s)); }

void *wn_malloc_aligned(size_t n) {
    /* over-allocate, store the original pointer just below the aligned block */
    if (n > SIZE_MAX - 64 - sizeof(void *)) return NULL;
    unsigned char *raw = wn_malloc(n + 64 + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t a = ((uintptr_t)(raw + sizeof(void *)) + 63) & ~(uintptr_t)63;
    memcpy((unsigned char *)a - sizeof(void *), &raw, sizeof raw);
    return (void *)a;
}

void wn_free_aligned(void *p) {
    if (!p) return;
    void *raw;
    memcpy(&raw, (unsigned char *)p - sizeof(void *), sizeof raw);
    wn_free(raw);
}

wn_status wn_grow(void **buf, size_t *cap, size_t need, size_t elt) {
    if (need <= *cap) return WN_OK;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) return wn_seterr(WN_ERR_NOMEM, "out of memory growing a buffer to %zu items", need);
        nc *= 2;
    }
    if (elt && nc > SIZE_MAX / elt) return wn_seterr(WN_ERR_NOMEM, "out of memory growing a buffer to %zu items", need);
    void *nb = wn_realloc(*buf, nc * elt);
    if (!nb) return wn_seterr(WN_ERR_NOMEM, "out of memory growing a buffer to %zu items", need);
    *buf = nb;
    *cap = nc;
    return WN_OK;
}

void wn_free_buffer(void *p) { wn_free(p); }
