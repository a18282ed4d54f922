/*
 * json_check.c - a strict, allocation-free JSON validator. cJSON returns NULL both
 * for malformed text and for a failed allocation; after a failed parse this tells
 * the two apart, so an out-of-memory load reports WN_ERR_NOMEM and a broken file
 * WN_ERR_FORMAT. It accepts a subset of what cJSON accepts (RFC 8259 JSON, numbers
 * of at most 63 characters, valid surrogate pairs, depth <= 500): text it accepts
 * can only fail in cJSON for lack of memory. The fuzz harness checks that claim.
 */
#include <string.h>

#include "config.h"

typedef struct {
    const char *p, *end;
} jcur;

static void ws(jcur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int hex4(jcur *c, unsigned *v) {
    if (c->end - c->p < 4) return 0;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char h = c->p[i];
        unsigned d = h >= '0' && h <= '9' ? (unsigned)(h - '0') : h >= 'a' && h <= 'f' ? (unsigned)(h - 'a' + 10)
                   : h >= 'A' && h <= 'F' ? (unsigned)(h - 'A' + 10) : 16u;
        if (d > 15) return 0;
        *v = *v * 16 + d;
    }
    c->p += 4;
    return 1;
}

static int string(jcur *c) {
    if (c->p >= c->end || *c->p != '"') return 0;
    c->p++;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"') return 1;
        if (ch < 0x20) return 0;
        if (ch != '\\') continue;
        if (c->p >= c->end) return 0;
        char e = *c->p++;
        if (e == 'u') {
            unsigned u, lo;
            if (!hex4(c, &u)) return 0;
            if (u >= 0xDC00 && u <= 0xDFFF) return 0; /* a lone low surrogate */
            if (u >= 0xD800 && u <= 0xDBFF) {         /* must be followed by a low one */
                if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u') return 0;
                c->p += 2;
                if (!hex4(c, &lo) || lo < 0xDC00 || lo > 0xDFFF) return 0;
            }
            if (u == 0) return 0; /* cJSON ends the string at an escaped NUL: be stricter */
        } else if (!strchr("\"\\/bfnrt", e) || e == 0) return 0;
    }
    return 0;
}

static int number(jcur *c) {
    const char *s = c->p;
    if (c->p < c->end && *c->p == '-') c->p++;
    if (c->p >= c->end) return 0;
    if (*c->p == '0') c->p++;
    else if (*c->p >= '1' && *c->p <= '9')
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    else return 0;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    }
    return c->p - s <= 63;
}

static int word(jcur *c, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n)) return 0;
    c->p += n;
    return 1;
}

static int value(jcur *c, int depth) {
    if (depth > 500) return 0;
    ws(c);
    if (c->p >= c->end) return 0;
    switch (*c->p) {
    case '"': return string(c);
    case 't': return word(c, "true");
    case 'f': return word(c, "false");
    case 'n': return word(c, "null");
    case '[':
    case '{': {
        char close = *c->p == '[' ? ']' : '}';
        int obj = close == '}';
        c->p++;
        ws(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return 1;
        }
        for (;;) {
            if (obj) {
                ws(c);
                if (!string(c)) return 0;
                ws(c);
                if (c->p >= c->end || *c->p != ':') return 0;
                c->p++;
            }
            if (!value(c, depth + 1)) return 0;
            ws(c);
            if (c->p >= c->end) return 0;
            if (*c->p == close) {
                c->p++;
                return 1;
            }
            if (*c->p != ',') return 0;
            c->p++;
        }
    }
    default: return number(c);
    }
}

int json_valid(const char *text, size_t len) {
    jcur c = {text, text + len};
    if (!value(&c, 0)) return 0;
    ws(&c);
    while (c.p < c.end && *c.p == 0) c.p++; /* a NUL ends cJSON's view of the text */
    return c.p == c.end || *c.p == 0;
}
