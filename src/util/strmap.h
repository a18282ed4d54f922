/*
 * strmap.h - floor 0: a string interning table (open addressing, FNV-1a). Each
 * distinct string gets a dense id 0, 1, 2, ... in first-seen order; the strings
 * live in one growing buffer. Used by evaluation (query and document ids of runs
 * and qrels) and the pipeline; not thread-safe for writers.
 */
#ifndef WN_STRMAP_H
#define WN_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct {
    int64_t *slots;   /* (cap) id or -1 */
    size_t cap;       /* power of two */
    int64_t n;        /* strings interned */
    size_t *offs;     /* (n) offset of each string in chars */
    size_t offs_cap;
    char *chars;      /* NUL-separated strings */
    size_t chars_len, chars_cap;
} wn_strmap;

void wn_strmap_init(wn_strmap *m);
void wn_strmap_free(wn_strmap *m);
/* The id of s[0..len) (len may hold no NUL), adding it if absent (*added = 1 then;
 * added may be NULL). WN_ERR_NOMEM on failure. */
wn_status wn_strmap_intern(wn_strmap *m, const char *s, size_t len, int64_t *id, int *added);
/* The id of s, or -1. */
int64_t wn_strmap_find(const wn_strmap *m, const char *s, size_t len);
/* The string of id (0 <= id < n), NUL-terminated, valid until the next intern. */
static inline const char *wn_strmap_str(const wn_strmap *m, int64_t id) { return m->chars + m->offs[id]; }

#endif
