/*
 * demo_evaljson.c - the bundled models' own evaluation, models/eval.json, read for
 * the demo's report when it runs them:
 *
 *   {"stsb_spearman": {"winnow-small-embed": 0.61},
 *    "rows": [{"collection": "cisi", "run": "bm25" | "dense" | "hybrid" | "bm25+rerank",
 *              "ndcg@10": .., "mrr@10": .., "recall@100": .., "ms_per_query": ..}, ...],
 *    "command": "how the figures were made"}
 *
 * The CLI speaks to the library through include/winnow.h only, and the library's JSON
 * reader is not part of it; this is a small reader of exactly this shape (RFC 8259
 * values; unknown keys skipped; a number may be null, shown as "-"). Nothing here
 * fails the demo: an absent or malformed file becomes a sentence in the report.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

#define MAX_DEPTH 32

typedef struct {
    const char *start, *p, *end;
    char err[160];
} jr;

static int bad(jr *j, const char *what) {
    if (!j->err[0]) snprintf(j->err, sizeof j->err, "%s at byte %ld", what, (long)(j->p - j->start));
    return 1;
}

static void ws(jr *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int lit(jr *j, char c) {
    ws(j);
    if (j->p < j->end && *j->p == c) return j->p++, 1;
    return 0;
}

/* A string into out (cap bytes, cut to fit; NULL: skipped). \uXXXX outside ASCII
 * becomes '?': names and commands here are ASCII. */
static int str(jr *j, char *out, size_t cap) {
    size_t n = 0;
    if (!lit(j, '"')) return bad(j, "a string expected");
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if ((unsigned char)c < 0x20) return bad(j, "a control character in a string");
        if (c == '\\') {
            if (j->p >= j->end) break;
            char e = *j->p++;
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t", *hit = strchr(from, e);
            if (e == 'u') {
                if (j->end - j->p < 4) return bad(j, "a short \\u escape");
                char hex[5] = {j->p[0], j->p[1], j->p[2], j->p[3], 0}, *stop;
                long v = strtol(hex, &stop, 16);
                if (*stop) return bad(j, "a bad \\u escape");
                j->p += 4;
                c = v < 0x80 ? (char)v : '?';
            } else if (hit && e) c = to[hit - from];
            else return bad(j, "a bad escape");
        }
        if (out && n + 1 < cap) out[n++] = c;
    }
    if (out && cap) out[n] = 0;
    if (j->p >= j->end) return bad(j, "an unterminated string");
    j->p++;
    return 0;
}

/* A number, or null (NAN). */
static int num(jr *j, double *v) {
    ws(j);
    if (j->end - j->p >= 4 && !strncmp(j->p, "null", 4)) return j->p += 4, *v = NAN, 0;
    char buf[64];
    size_t n = 0;
    while (j->p + n < j->end && n + 1 < sizeof buf && strchr("+-0123456789.eE", j->p[n])) n++;
    memcpy(buf, j->p, n);
    buf[n] = 0;
    char *stop;
    errno = 0;
    *v = strtod(buf, &stop);
    if (!n || *stop || errno) return bad(j, "a number expected");
    j->p += n;
    return 0;
}

static int skip(jr *j, int depth);

/* An object: for each key, fn(j, key, ud) reads its value (or skips it). */
static int object(jr *j, int (*fn)(jr *, const char *, void *), void *ud) {
    if (!lit(j, '{')) return bad(j, "an object expected");
    if (lit(j, '}')) return 0;
    do {
        char key[64];
        if (str(j, key, sizeof key) || !lit(j, ':')) return bad(j, "a key expected");
        if (fn(j, key, ud)) return 1;
    } while (lit(j, ','));
    return lit(j, '}') ? 0 : bad(j, "'}' expected");
}

static int skip_key(jr *j, const char *key, void *ud) {
    (void)key;
    return skip(j, *(int *)ud);
}

static int skip(jr *j, int depth) {
    ws(j);
    if (depth > MAX_DEPTH) return bad(j, "nested too deep");
    if (j->p >= j->end) return bad(j, "a value expected");
    char c = *j->p;
    int d = depth + 1;
    if (c == '"') return str(j, NULL, 0);
    if (c == '{') return object(j, skip_key, &d);
    if (c == '[') {
        j->p++;
        if (lit(j, ']')) return 0;
        do
            if (skip(j, d)) return 1;
        while (lit(j, ','));
        return lit(j, ']') ? 0 : bad(j, "']' expected");
    }
    for (const char *w = "true\0false\0"; *w; w += strlen(w) + 1)
        if (j->end - j->p >= (long)strlen(w) && !strncmp(j->p, w, strlen(w))) return j->p += strlen(w), 0;
    double v;
    return num(j, &v);
}

static int row_key(jr *j, const char *key, void *ud) {
    demo_eval_row *r = ud;
    if (!strcmp(key, "collection")) return str(j, r->collection, sizeof r->collection);
    if (!strcmp(key, "run")) return str(j, r->run, sizeof r->run);
    double *v = !strcmp(key, "ndcg@10") ? &r->ndcg10 : !strcmp(key, "mrr@10") ? &r->mrr10
              : !strcmp(key, "recall@100") ? &r->recall100 : !strcmp(key, "ms_per_query") ? &r->ms : NULL;
    int d = 1;
    return v ? num(j, v) : skip(j, d);
}

static int stsb_key(jr *j, const char *key, void *ud) {
    demo_evaljson *e = ud;
    int d = 2;
    if (strcmp(key, "winnow-small-embed")) return skip(j, d);
    e->have_stsb = 1;
    return num(j, &e->stsb);
}

static int top_key(jr *j, const char *key, void *ud) {
    demo_evaljson *e = ud;
    int d = 1;
    if (!strcmp(key, "stsb_spearman")) return object(j, stsb_key, e);
    if (!strcmp(key, "command")) return str(j, e->command, sizeof e->command);
    if (strcmp(key, "rows")) return skip(j, d);
    if (!lit(j, '[')) return bad(j, "rows: an array expected");
    if (lit(j, ']')) return 0;
    do {
        demo_eval_row r = {"", "", NAN, NAN, NAN, NAN};
        if (object(j, row_key, &r)) return 1;
        if (e->n_rows < DEMO_EVAL_ROWS) e->rows[e->n_rows++] = r;
        else e->n_more++;
    } while (lit(j, ','));
    return lit(j, ']') ? 0 : bad(j, "rows: ']' expected");
}

int demo_evaljson_load(const char *path, demo_evaljson *e) {
    memset(e, 0, sizeof *e);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(e->err, sizeof e->err, "%s", strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 1;
    for (;;) {
        if (n == cap) {
            char *p = cap < (1u << 24) ? realloc(buf, cap = cap ? cap * 2 : 8192) : NULL;
            if (!p) {
                snprintf(e->err, sizeof e->err, "%s", cap >= (1u << 24) ? "larger than 16 MB" : "out of memory");
                goto done;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    jr j = {buf, buf, buf + n, ""};
    if (ferror(f)) snprintf(e->err, sizeof e->err, "read error");
    else if (object(&j, top_key, e) || (ws(&j), j.p != j.end)) snprintf(e->err, sizeof e->err, "%s", j.err[0] ? j.err : "trailing text");
    else rc = 0;
done:
    free(buf);
    fclose(f);
    return rc;
}
