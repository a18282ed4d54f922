/*
 * data.c - training data: JSONL files of one object per line,
 *   bi:          {"query": str, "positive": str, "negatives": [str, ...]}   (negatives optional)
 *   ce:          {"query": str, "document": str, "label": number}
 *   ce listwise: {"query": str, "positive": str, "negatives": [str, ...]}
 *   mlm:         {"text": str}
 * Blank lines are skipped; anything else malformed (bad JSON, a missing or empty
 * text, a label outside [0, 1]) is an error naming the file and the line. Other
 * keys are ignored. A small strict reader for these flat objects (no nesting but
 * an array of strings) keeps this module off any JSON library.
 */
#include <stdlib.h>
#include <string.h>

#include "data.h"

typedef struct {
    const char *p, *end;
} cur;

static void ws(cur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')) c->p++;
}

static int hex4(const char *s, unsigned *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = s[i];
        unsigned d = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0')
                     : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
                     : ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10)
                                              : 16u;
        if (d > 15) return 0;
        *v = *v * 16 + d;
    }
    return 1;
}

static char *put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) *o++ = (char)cp;
    else if (cp < 0x800) *o++ = (char)(0xC0 | cp >> 6), *o++ = (char)(0x80 | (cp & 63));
    else if (cp < 0x10000)
        *o++ = (char)(0xE0 | cp >> 12), *o++ = (char)(0x80 | ((cp >> 6) & 63)), *o++ = (char)(0x80 | (cp & 63));
    else
        *o++ = (char)(0xF0 | cp >> 18), *o++ = (char)(0x80 | ((cp >> 12) & 63)), *o++ = (char)(0x80 | ((cp >> 6) & 63)),
        *o++ = (char)(0x80 | (cp & 63));
    return o;
}

/* A JSON string at c->p (the opening quote); *out is wn_malloc'd. 0 on a syntax error, -1 out of memory. */
static int str(cur *c, char **out) {
    *out = NULL;
    if (c->p >= c->end || *c->p != '"') return 0;
    const char *s = ++c->p;
    while (c->p < c->end && *c->p != '"') c->p += *c->p == '\\' ? 2 : 1;
    if (c->p >= c->end) return 0;
    char *o = wn_malloc((size_t)(c->p - s) + 1), *w = o;
    if (!o) return -1;
    for (const char *r = s; r < c->p; r++) {
        if ((unsigned char)*r < 0x20) goto bad;
        if (*r != '\\') {
            *w++ = *r;
            continue;
        }
        r++;
        switch (*r) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (c->p - r < 5 || !hex4(r + 1, &cp)) goto bad;
            r += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && c->p - r >= 7 && r[1] == '\\' && r[2] == 'u' && hex4(r + 3, &lo) &&
                lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                r += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD; /* a lone surrogate */
            }
            w = put_utf8(w, cp);
            break;
        }
        default: goto bad;
        }
    }
    *w = 0;
    c->p++;
    *out = o;
    return 1;
bad:
    wn_free(o);
    return 0;
}

/* Skips any JSON value (numbers, literals, strings, flat arrays/objects of them). */
static int skip_value(cur *c, int depth) {
    ws(c);
    if (c->p >= c->end || depth > 64) return 0;
    char ch = *c->p;
    if (ch == '"') {
        char *s;
        int r = str(c, &s);
        wn_free(s);
        return r;
    }
    if (ch == '[' || ch == '{') {
        char close = ch == '[' ? ']' : '}';
        c->p++;
        ws(c);
        if (c->p < c->end && *c->p == close) return c->p++, 1;
        for (;;) {
            if (ch == '{') {
                char *k;
                ws(c);
                int r = str(c, &k);
                wn_free(k);
                if (r != 1) return r;
                ws(c);
                if (c->p >= c->end || *c->p++ != ':') return 0;
            }
            int r = skip_value(c, depth + 1);
            if (r != 1) return r;
            ws(c);
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                continue;
            }
            if (c->p < c->end && *c->p == close) return c->p++, 1;
            return 0;
        }
    }
    const char *s = c->p;
    while (c->p < c->end && (strchr("+-.eE", *c->p) || (*c->p >= '0' && *c->p <= '9') || (*c->p >= 'a' && *c->p <= 'z'))) c->p++;
    return c->p > s;
}

static wn_status fail_at(const char *path, uint64_t line, const char *what) {
    return wn_seterr(WN_ERR_FORMAT, "%s:%llu: %s", path, (unsigned long long)line, what);
}

/* Parses one line into *r. */
static wn_status parse_line(const char *path, uint64_t ln, const char *s, size_t len, train_row *r) {
    memset(r, 0, sizeof *r);
    r->label = -1;
    cur c = {s, s + len};
    wn_status st = WN_OK;
    ws(&c);
    if (c.p >= c.end || *c.p++ != '{') return fail_at(path, ln, "not a JSON object");
    ws(&c);
    if (c.p < c.end && *c.p == '}') c.p++;
    else
        for (;;) {
            char *key;
            ws(&c);
            int k = str(&c, &key);
            if (k < 0) return wn_seterr(WN_ERR_NOMEM, "%s:%llu: out of memory", path, (unsigned long long)ln);
            if (!k) return fail_at(path, ln, "invalid JSON (expected a key)");
            ws(&c);
            if (c.p >= c.end || *c.p++ != ':') {
                wn_free(key);
                return fail_at(path, ln, "invalid JSON (expected ':')");
            }
            ws(&c);
            char **slot = !strcmp(key, "query") ? &r->query
                          : !strcmp(key, "positive") ? &r->positive
                          : !strcmp(key, "document") ? &r->document
                          : !strcmp(key, "text")     ? &r->text
                                                     : NULL;
            int ok = 1;
            if (slot) {
                wn_free(*slot);
                ok = str(&c, slot);
                if (!ok) st = wn_seterr(WN_ERR_FORMAT, "%s:%llu: \"%s\" must be a string", path, (unsigned long long)ln, key);
            } else if (!strcmp(key, "label")) {
                char *end;
                r->label = strtod(c.p, &end);
                if (end == c.p || end > c.end) ok = 0, st = fail_at(path, ln, "\"label\" must be a number");
                else c.p = end;
            } else if (!strcmp(key, "negatives")) {
                if (c.p >= c.end || *c.p != '[') ok = 0, st = fail_at(path, ln, "\"negatives\" must be an array of strings");
                else {
                    c.p++;
                    ws(&c);
                    if (c.p < c.end && *c.p == ']') c.p++;
                    else
                        for (;;) {
                            char *t;
                            ws(&c);
                            int q = str(&c, &t);
                            if (q != 1) {
                                ok = 0;
                                st = fail_at(path, ln, "\"negatives\" must be an array of strings");
                                break;
                            }
                            char **nn = wn_realloc(r->negatives, (size_t)(r->n_neg + 1) * sizeof *nn);
                            if (!nn) {
                                wn_free(t);
                                ok = -1;
                                break;
                            }
                            r->negatives = nn;
                            r->negatives[r->n_neg++] = t;
                            ws(&c);
                            if (c.p < c.end && *c.p == ',') {
                                c.p++;
                                continue;
                            }
                            if (c.p < c.end && *c.p == ']') {
                                c.p++;
                                break;
                            }
                            ok = 0;
                            st = fail_at(path, ln, "invalid JSON in \"negatives\"");
                            break;
                        }
                }
            } else {
                ok = skip_value(&c, 0);
                if (!ok) st = fail_at(path, ln, "invalid JSON");
            }
            wn_free(key);
            if (ok < 0) return wn_seterr(WN_ERR_NOMEM, "%s:%llu: out of memory", path, (unsigned long long)ln);
            if (!ok) return st ? st : fail_at(path, ln, "invalid JSON");
            ws(&c);
            if (c.p < c.end && *c.p == ',') {
                c.p++;
                continue;
            }
            if (c.p < c.end && *c.p == '}') {
                c.p++;
                break;
            }
            return fail_at(path, ln, "invalid JSON (expected ',' or '}')");
        }
    ws(&c);
    if (c.p != c.end) return fail_at(path, ln, "text after the JSON object");
    return WN_OK;
}

void train_row_free(train_row *r) {
    wn_free(r->query);
    wn_free(r->positive);
    wn_free(r->document);
    wn_free(r->text);
    for (int i = 0; i < r->n_neg; i++) wn_free(r->negatives[i]);
    wn_free(r->negatives);
    memset(r, 0, sizeof *r);
}

void train_data_free(train_data *d) {
    if (!d) return;
    for (int64_t i = 0; i < d->n; i++) train_row_free(&d->rows[i]);
    wn_free(d->rows);
    memset(d, 0, sizeof *d);
}

static wn_status check_row(const char *path, uint64_t ln, train_data_kind kind, const train_row *r) {
    char msg[160];
    if (kind == TRAIN_DATA_TEXT) {
        if (!r->text) return fail_at(path, ln, "missing \"text\"");
        if (!*r->text) return fail_at(path, ln, "empty \"text\"");
        return WN_OK;
    }
    const char *need2 = kind == TRAIN_DATA_PAIRS ? "document" : "positive";
    const char *t2 = kind == TRAIN_DATA_PAIRS ? r->document : r->positive;
    if (!r->query) return fail_at(path, ln, "missing \"query\"");
    if (!t2) {
        snprintf(msg, sizeof msg, "missing \"%s\"", need2);
        return fail_at(path, ln, msg);
    }
    if (!*r->query) return fail_at(path, ln, "empty \"query\"");
    if (!*t2) {
        snprintf(msg, sizeof msg, "empty \"%s\"", need2);
        return fail_at(path, ln, msg);
    }
    for (int i = 0; i < r->n_neg; i++)
        if (!*r->negatives[i]) {
            snprintf(msg, sizeof msg, "empty text in \"negatives\" (item %d)", i + 1);
            return fail_at(path, ln, msg);
        }
    if (kind == TRAIN_DATA_PAIRS) {
        if (r->label == -1) return fail_at(path, ln, "missing \"label\"");
        if (!(r->label >= 0 && r->label <= 1)) {
            snprintf(msg, sizeof msg, "\"label\" %g is outside [0, 1]", r->label);
            return fail_at(path, ln, msg);
        }
    }
    return WN_OK;
}

wn_status train_data_load(const char *path, train_data_kind kind, train_data *d) {
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "rb");
    if (!f) return wn_seterr(WN_ERR_NOTFOUND, "%s: cannot open the training data", path);
    wn_line_reader lr;
    wn_lines_init(&lr, f);
    wn_status st = WN_OK;
    size_t cap = 0;
    int rc;
    while ((rc = wn_lines_next(&lr)) == 1) {
        const char *s = lr.buf;
        size_t n = lr.len, k = 0;
        while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r')) k++;
        if (k == n) continue;
        if ((st = wn_grow((void **)&d->rows, &cap, (size_t)d->n + 1, sizeof *d->rows))) {
            st = wn_seterr(WN_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        train_row *r = &d->rows[d->n];
        st = parse_line(path, lr.lineno, s, n, r);
        if (!st) st = check_row(path, lr.lineno, kind, r);
        if (st) {
            train_row_free(r);
            break;
        }
        r->line = lr.lineno;
        d->n++;
    }
    if (rc < 0 && !st) st = wn_seterr(WN_ERR_IO, "%s: read error", path);
    wn_lines_free(&lr);
    fclose(f);
    if (!st && d->n == 0) st = wn_seterr(WN_ERR_FORMAT, "%s: no training rows", path);
    if (st) train_data_free(d);
    return st;
}
