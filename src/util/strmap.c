/* strmap.c - string interning: open addressing with linear probing, load <= 1/2. */
#include <string.h>

#include "strmap.h"

static uint64_t hash(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

void wn_strmap_init(wn_strmap *m) { memset(m, 0, sizeof *m); }

void wn_strmap_free(wn_strmap *m) {
    if (!m) return;
    wn_free(m->slots);
    wn_free(m->offs);
    wn_free(m->chars);
    memset(m, 0, sizeof *m);
}

/* Compares lengths first: the stored string may be shorter than len, and the last
 * one ends at the end of the buffer. */
static int same(const wn_strmap *m, int64_t id, const char *s, size_t len) {
    size_t end = id + 1 < m->n ? m->offs[id + 1] : m->chars_len; /* one past t's NUL */
    return end - m->offs[id] == len + 1 && !memcmp(m->chars + m->offs[id], s, len);
}

int64_t wn_strmap_find(const wn_strmap *m, const char *s, size_t len) {
    if (!m->cap) return -1;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)hash(s, len) & mask;; i = (i + 1) & mask) {
        int64_t id = m->slots[i];
        if (id < 0) return -1;
        if (same(m, id, s, len)) return id;
    }
}

static wn_status rehash(wn_strmap *m, size_t cap) {
    int64_t *slots = wn_malloc(cap * sizeof *slots);
    if (!slots) return wn_seterr(WN_ERR_NOMEM, "strmap: out of memory for %zu slots", cap);
    for (size_t i = 0; i < cap; i++) slots[i] = -1;
    for (int64_t id = 0; id < m->n; id++) {
        const char *t = m->chars + m->offs[id];
        size_t i = (size_t)hash(t, strlen(t)) & (cap - 1);
        while (slots[i] >= 0) i = (i + 1) & (cap - 1);
        slots[i] = id;
    }
    wn_free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return WN_OK;
}

wn_status wn_strmap_intern(wn_strmap *m, const char *s, size_t len, int64_t *id, int *added) {
    if (added) *added = 0;
    int64_t f = wn_strmap_find(m, s, len);
    if (f >= 0) {
        *id = f;
        return WN_OK;
    }
    if ((size_t)(m->n + 1) * 2 > m->cap) {
        wn_status st = rehash(m, m->cap ? m->cap * 2 : 64);
        if (st != WN_OK) return st;
    }
    if (wn_grow((void **)&m->offs, &m->offs_cap, (size_t)m->n + 1, sizeof *m->offs) != WN_OK ||
        wn_grow((void **)&m->chars, &m->chars_cap, m->chars_len + len + 1, 1) != WN_OK)
        return wn_seterr(WN_ERR_NOMEM, "strmap: out of memory adding a string of %zu bytes", len);
    memcpy(m->chars + m->chars_len, s, len);
    m->chars[m->chars_len + len] = 0;
    m->offs[m->n] = m->chars_len;
    m->chars_len += len + 1;
    size_t i = (size_t)hash(s, len) & (m->cap - 1);
    while (m->slots[i] >= 0) i = (i + 1) & (m->cap - 1);
    m->slots[i] = m->n;
    *id = m->n++;
    if (added) *added = 1;
    return WN_OK;
}
