/*
 * json.c - a strict RFC 8259 reader into a tree carved from one arena, and a
 * compact writer. Written from the grammar of RFC 8259:
 *
 *   JSON-text = ws value ws
 *   value     = false / null / true / object / array / number / string
 *   object    = '{' ws [ member *( ws ',' ws member ) ] ws '}'     member = string ws ':' ws value
 *   array     = '[' ws [ value *( ws ',' ws value ) ] ws ']'
 *   number    = [ '-' ] int [ frac ] [ exp ]    int = '0' / ( digit1-9 *DIGIT )
 *   frac      = '.' 1*DIGIT                     exp = ( 'e' / 'E' ) [ '-' / '+' ] 1*DIGIT
 *   string    = '"' *char '"'                   ws  = *( ' ' / '\t' / '\n' / '\r' )
 *   char      = unescaped (>= 0x20 but '"' and '\\') / '\\' ( '"' '\\' '/' 'b' 'f' 'n' 'r' 't' / 'u' 4HEXDIG )
 *
 * Recursion is bounded by WN_JSON_MAX_DEPTH, so a hostile file cannot exhaust the
 * stack. Not here: streaming, comments, any extension of the grammar.
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSTR_(x) #x
#define JSTR(x) JSTR_(x)

/* ---- arena: nodes and strings of one document in a chain of blocks. The root is
 * the first node of the first block, so wn_json_free finds the chain from it. */

typedef struct jblock {
    struct jblock *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} jblock;

#define JBLOCK_MIN 4096
#define JBLOCK_MAX ((size_t)1 << 20)

typedef struct {
    const unsigned char *p, *start, *end;
    unsigned flags;
    const char *what;
    jblock *first, *cur;
    size_t next_cap;
    wn_status st;
} jparser;

static void *jalloc(jparser *ps, size_t n) {
    n = (n + 15) & ~(size_t)15;
    jblock *b = ps->cur;
    if (!b || b->cap - b->used < n) {
        size_t cap = ps->next_cap;
        if (cap < n) cap = n;
        jblock *nb = wn_malloc(sizeof *nb + cap);
        if (!nb) return NULL;
        nb->next = NULL, nb->used = 0, nb->cap = cap;
        if (b) b->next = nb;
        else ps->first = nb;
        ps->cur = b = nb;
        if (ps->next_cap < JBLOCK_MAX) ps->next_cap *= 2;
    }
    void *r = b->data + b->used;
    b->used += n;
    return r;
}

static void free_blocks(jblock *b) {
    while (b) {
        jblock *n = b->next;
        wn_free(b);
        b = n;
    }
}

void wn_json_free(wn_json *root) {
    if (!root) return;
    free_blocks((jblock *)((unsigned char *)root - offsetof(jblock, data)));
}

/* ---- errors: the first one sticks; the position is given as line and column. */

static int fail(jparser *ps, const char *why) {
    if (ps->st != WN_OK) return -1;
    size_t line = 1, col = 1;
    for (const unsigned char *q = ps->start; q < ps->p && q < ps->end; q++) {
        if (*q == '\n') line++, col = 1;
        else col++;
    }
    ps->st = wn_seterr(WN_ERR_FORMAT, "%s: invalid JSON near line %zu, column %zu (byte %zu): %s", ps->what, line, col,
                       (size_t)(ps->p - ps->start), why);
    return -1;
}

static int nomem(jparser *ps) {
    if (ps->st == WN_OK) ps->st = wn_seterr(WN_ERR_NOMEM, "%s: out of memory reading JSON", ps->what);
    return -1;
}

static void skip_ws(jparser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

/* ---- strings */

static int hex4(const unsigned char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* Length of the well-formed UTF-8 sequence at p (Unicode 15, table 3-7), 0 if none. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else return 0;
    if ((size_t)(end - p) < n) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

static size_t put_utf8(unsigned char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12), o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18), o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)), o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ps->p at the opening quote. Two passes: the first checks the string and finds its
 * end (the decoded text is never longer than the source), the second decodes. */
static int parse_string(jparser *ps, const char **out, size_t *out_len) {
    const unsigned char *s = ++ps->p, *q = s;
    while (q < ps->end && *q != '"') {
        if (*q == '\\') {
            if (q + 1 >= ps->end) {
                q = ps->end; /* a backslash as the last byte: unterminated */
                break;
            }
            q += 2;
        } else q++;
    }
    if (q >= ps->end) return fail(ps, "unterminated string");
    unsigned char *o = jalloc(ps, (size_t)(q - s) + 1);
    if (!o) return nomem(ps);
    size_t n = 0;
    while (ps->p < q) {
        unsigned c = *ps->p;
        if (c < 0x20) return fail(ps, "control character in a string (write it as \\u00XX)");
        if (c != '\\') {
            size_t k = 1;
            if (c >= 0x80 && !(k = utf8_len(ps->p, q))) {
                if (!(ps->flags & WN_JSON_RAW_BYTES)) return fail(ps, "invalid UTF-8 in a string");
                k = 1;
            }
            memcpy(o + n, ps->p, k);
            n += k, ps->p += k;
            continue;
        }
        unsigned e = ps->p[1];
        unsigned char simple = 0;
        switch (e) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': break;
        default: ps->p++; return fail(ps, "unknown escape in a string");
        }
        if (simple) {
            o[n++] = simple;
            ps->p += 2;
            continue;
        }
        unsigned cp, lo;
        if (q - ps->p < 6 || hex4(ps->p + 2, &cp)) return fail(ps, "\\u needs four hex digits");
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(ps, "a low surrogate without a high one before it");
        if (cp >= 0xD800 && cp <= 0xDBFF) { /* a pair: \uD8xx\uDCxx */
            if (q - ps->p < 12 || ps->p[6] != '\\' || ps->p[7] != 'u' || hex4(ps->p + 8, &lo) || lo < 0xDC00 ||
                lo > 0xDFFF)
                return fail(ps, "a high surrogate without a low one after it");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            ps->p += 6;
        }
        ps->p += 6;
        n += put_utf8(o + n, cp);
    }
    o[n] = 0;
    ps->p = q + 1;
    *out = (const char *)o;
    *out_len = n;
    return 0;
}

/* ---- numbers: the grammar is checked here, the value is strtod's in the C locale */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void make_c_locale(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static double c_strtod(const char *s) {
    pthread_once(&c_locale_once, make_c_locale);
    if (c_locale) return strtod_l(s, NULL, c_locale);
    return strtod(s, NULL); /* no locale object: right unless the host changed LC_NUMERIC */
}

static int parse_number(jparser *ps, double *out) {
    const unsigned char *s = ps->p, *e = ps->end, *p = s;
    if (p < e && *p == '-') p++;
    if (p >= e || *p < '0' || *p > '9') return fail(ps, "expected a value");
    if (*p == '0') p++;
    else
        while (p < e && *p >= '0' && *p <= '9') p++;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9') return ps->p = p, fail(ps, "expected a digit after '.'");
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') return ps->p = p, fail(ps, "expected a digit in the exponent");
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    size_t n = (size_t)(p - s);
    char small[64], *buf = small;
    if (n >= sizeof small && !(buf = wn_malloc(n + 1))) return nomem(ps);
    memcpy(buf, s, n);
    buf[n] = 0;
    *out = c_strtod(buf);
    if (buf != small) wn_free(buf);
    ps->p = p;
    return 0;
}

/* ---- values */

static int parse_value(jparser *ps, wn_json *v, int depth);

static int literal(jparser *ps, const char *word, wn_json *v, wn_json_type t) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n)) return fail(ps, "expected a value");
    ps->p += n;
    v->type = t;
    return 0;
}

static int parse_container(jparser *ps, wn_json *v, int depth, int is_obj) {
    if (depth >= WN_JSON_MAX_DEPTH) return fail(ps, "nested deeper than " JSTR(WN_JSON_MAX_DEPTH) " levels");
    char close = is_obj ? '}' : ']';
    v->type = is_obj ? WN_JSON_OBJECT : WN_JSON_ARRAY;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    wn_json **tail = &v->child;
    for (;;) {
        wn_json *c = jalloc(ps, sizeof *c);
        if (!c) return nomem(ps);
        memset(c, 0, sizeof *c);
        if (is_obj) {
            if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a member name (a string)");
            if (parse_string(ps, &c->key, &c->key_len)) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') return fail(ps, "expected ':' after a member name");
            ps->p++;
            skip_ws(ps);
        }
        if (parse_value(ps, c, depth + 1)) return -1;
        *tail = c, tail = &c->next;
        v->len++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return 0;
        }
        return fail(ps, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_value(jparser *ps, wn_json *v, int depth) {
    if (ps->p >= ps->end) return fail(ps, "unexpected end of input");
    switch (*ps->p) {
    case '{': return parse_container(ps, v, depth, 1);
    case '[': return parse_container(ps, v, depth, 0);
    case '"': v->type = WN_JSON_STRING; return parse_string(ps, &v->str, &v->len);
    case 't': return literal(ps, "true", v, WN_JSON_TRUE);
    case 'f': return literal(ps, "false", v, WN_JSON_FALSE);
    case 'n': return literal(ps, "null", v, WN_JSON_NULL);
    default: v->type = WN_JSON_NUMBER; return parse_number(ps, &v->num);
    }
}

wn_status wn_json_parse(const char *text, size_t len, unsigned flags, const char *what, wn_json **out) {
    *out = NULL;
    if (!what) what = "JSON";
    if (!text && len) return wn_seterr(WN_ERR_ARG, "%s: no text", what);
    if (len > WN_JSON_MAX_BYTES)
        return wn_seterr(WN_ERR_FORMAT, "%s: %zu bytes of JSON, at most %zu are read", what, len, WN_JSON_MAX_BYTES);
    jparser ps = {0};
    ps.start = ps.p = (const unsigned char *)(text ? text : "");
    ps.end = ps.start + len;
    ps.flags = flags, ps.what = what, ps.next_cap = JBLOCK_MIN;
    ps.st = WN_OK;
    /* a first block sized to the text (about one node per 8 bytes of it), so that
     * small documents take one allocation */
    size_t guess = len * 4 + 256;
    ps.next_cap = guess < JBLOCK_MIN ? JBLOCK_MIN : guess > JBLOCK_MAX ? JBLOCK_MAX : guess;
    wn_json *root = jalloc(&ps, sizeof *root);
    if (!root) return wn_seterr(WN_ERR_NOMEM, "%s: out of memory reading JSON", what);
    memset(root, 0, sizeof *root);
    skip_ws(&ps);
    if (ps.p < ps.end && ps.p[0] == 0xEF) fail(&ps, "a byte-order mark or stray byte before the value");
    if (ps.st == WN_OK && parse_value(&ps, root, 0) == 0) {
        skip_ws(&ps);
        if (ps.p < ps.end) fail(&ps, "text after the value");
    }
    if (ps.st != WN_OK) {
        free_blocks(ps.first);
        return ps.st;
    }
    *out = root;
    return WN_OK;
}

const wn_json *wn_json_get(const wn_json *o, const char *key) {
    if (!o || o->type != WN_JSON_OBJECT || !key) return NULL;
    size_t n = strlen(key);
    for (const wn_json *c = o->child; c; c = c->next)
        if (c->key_len == n && !memcmp(c->key, key, n)) return c;
    return NULL;
}

/* ---- writer */

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} jout;

static void put(jout *w, const char *s, size_t n) {
    if (w->failed) return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n + 1) cap *= 2;
        char *nb = wn_realloc(w->buf, cap);
        if (!nb) {
            w->failed = 1;
            return;
        }
        w->buf = nb, w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

static void put_string(jout *w, const char *s, size_t n) {
    put(w, "\"", 1);
    size_t run = 0; /* bytes copied as they are, flushed before each escape */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
        }
        if (!esc) {
            run++;
            continue;
        }
        put(w, s + i - run, run);
        run = 0;
        put(w, esc, strlen(esc));
    }
    put(w, s + n - run, run);
    put(w, "\"", 1);
}

static void put_number(jout *w, double d) {
    char b[40];
    if (!isfinite(d)) snprintf(b, sizeof b, "null");
    else if (d == 0 && signbit(d)) snprintf(b, sizeof b, "-0"); /* reads back as -0.0 */
    else if (d == floor(d) && d >= -2147483648.0 && d <= 2147483647.0) snprintf(b, sizeof b, "%d", (int)d);
    else {
        snprintf(b, sizeof b, "%.15g", d);
        if (c_strtod(b) != d) snprintf(b, sizeof b, "%.17g", d);
    }
    put(w, b, strlen(b));
}

static void put_value(jout *w, const wn_json *v) {
    switch (v->type) {
    case WN_JSON_NULL: put(w, "null", 4); break;
    case WN_JSON_FALSE: put(w, "false", 5); break;
    case WN_JSON_TRUE: put(w, "true", 4); break;
    case WN_JSON_NUMBER: put_number(w, v->num); break;
    case WN_JSON_STRING: put_string(w, v->str, v->len); break;
    case WN_JSON_ARRAY:
    case WN_JSON_OBJECT: {
        int obj = v->type == WN_JSON_OBJECT;
        put(w, obj ? "{" : "[", 1);
        for (const wn_json *c = v->child; c; c = c->next) {
            if (obj) {
                put_string(w, c->key, c->key_len);
                put(w, ":", 1);
            }
            put_value(w, c);
            if (c->next) put(w, ",", 1);
        }
        put(w, obj ? "}" : "]", 1);
        break;
    }
    }
}

wn_status wn_json_write(const wn_json *v, char **out, size_t *len) {
    *out = NULL;
    if (!v) return wn_seterr(WN_ERR_ARG, "json: nothing to write");
    jout w = {0};
    put_value(&w, v);
    if (w.failed) {
        wn_free(w.buf);
        return wn_seterr(WN_ERR_NOMEM, "json: out of memory writing JSON");
    }
    *out = w.buf;
    if (len) *len = w.len;
    return WN_OK;
}
