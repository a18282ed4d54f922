/*
 * corpus.c - streaming corpus readers: BEIR corpus.jsonl ({"_id", "title", "text",
 * "metadata"}), JSONL with configurable fields, TSV (id<TAB>text or
 * id<TAB>title<TAB>text) and a folder of .txt files (id = file name without .txt).
 * One line (or file) at a time: memory is bounded by the longest document. Text is
 * made valid UTF-8 (invalid bytes -> U+FFFD). Errors name file:line; after a
 * malformed line the reader continues with the next one (the caller's policy).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/json.h"
#include "util/util.h"

struct wn_corpus {
    wn_corpus_format fmt;
    char *path;
    char *id_field, *title_field, *text_field;
    FILE *f;
    wn_line_reader lr;
    uint64_t size, done;
    /* DIR */
    struct dirent **names;
    int n_names, next_name;
    /* the current document's strings */
    char *id, *title, *text, *meta;
    wn_json *json;
};

wn_corpus_params wn_corpus_default_params(void) {
    wn_corpus_params p = {WN_CORPUS_AUTO, NULL, NULL, NULL};
    return p;
}

static const char *fmt_names[] = {"auto", "beir", "jsonl", "tsv", "dir"};
const char *wn_corpus_format_name(wn_corpus_format f) { return (unsigned)f < 5 ? fmt_names[f] : "?"; }
wn_status wn_corpus_format_parse(const char *s, wn_corpus_format *out) {
    WN_ENTRY();
    int v;
    wn_status st = wn_parse_name("corpus format", s, fmt_names, 5, &v);
    if (st == WN_OK) *out = (wn_corpus_format)v;
    return st;
}
wn_corpus_format wn_corpus_format_of(const wn_corpus *c) { return c->fmt; }

static void clear_doc(wn_corpus *c) {
    wn_free(c->id);
    wn_free(c->title);
    wn_free(c->text);
    wn_free(c->meta);
    c->id = c->title = c->text = c->meta = NULL;
    wn_json_free(c->json);
    c->json = NULL;
}

void wn_corpus_free(wn_corpus *c) {
    if (!c) return;
    clear_doc(c);
    if (c->f) fclose(c->f);
    wn_lines_free(&c->lr);
    for (int i = 0; i < c->n_names; i++) free(c->names[i]); /* scandir's, from libc malloc */
    free(c->names);
    wn_free(c->path);
    wn_free(c->id_field);
    wn_free(c->title_field);
    wn_free(c->text_field);
    wn_free(c);
}

static int is_txt(const struct dirent *d) {
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 4 && !strcmp(d->d_name + n - 4, ".txt");
}

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

wn_status wn_corpus_open(const char *path, const wn_corpus_params *p, wn_corpus **out) {
    WN_ENTRY();
    *out = NULL;
    wn_corpus_params dp = wn_corpus_default_params();
    if (!p) p = &dp;
    if (!path) return wn_seterr(WN_ERR_ARG, "wn_corpus_open: NULL path");
    struct stat stt;
    if (stat(path, &stt) != 0)
        return wn_seterr(errno == ENOENT ? WN_ERR_NOTFOUND : WN_ERR_IO, "%s: %s", path, strerror(errno));
    wn_corpus *c = wn_calloc(1, sizeof *c);
    if (!c) return wn_seterr(WN_ERR_NOMEM, "corpus: out of memory");
    wn_status st = WN_OK;
    c->path = wn_strdup(path);
    c->id_field = wn_strdup(p->id_field ? p->id_field : "id");
    c->title_field = wn_strdup(p->title_field ? p->title_field : "title");
    c->text_field = wn_strdup(p->text_field ? p->text_field : "text");
    if (!c->path || !c->id_field || !c->title_field || !c->text_field) {
        st = wn_seterr(WN_ERR_NOMEM, "corpus: out of memory");
        goto fail;
    }
    c->fmt = p->format;
    int isdir = S_ISDIR(stt.st_mode);
    if (c->fmt == WN_CORPUS_AUTO) {
        if (isdir) c->fmt = WN_CORPUS_DIR;
        else if (ends_with(path, ".tsv") || ends_with(path, ".tsv.txt")) c->fmt = WN_CORPUS_TSV;
        else c->fmt = WN_CORPUS_JSONL; /* BEIR told apart below */
    }
    if ((c->fmt == WN_CORPUS_DIR) != isdir) {
        st = wn_seterr(WN_ERR_ARG, "%s: format %s needs %s", path, fmt_names[c->fmt],
                       isdir ? "a file, this is a folder" : "a folder of .txt files");
        goto fail;
    }
    if (c->fmt == WN_CORPUS_DIR) {
        c->n_names = scandir(path, &c->names, is_txt, alphasort);
        if (c->n_names < 0) {
            c->n_names = 0;
            st = wn_seterr(WN_ERR_IO, "%s: cannot list: %s", path, strerror(errno));
            goto fail;
        }
        c->size = (uint64_t)c->n_names;
        *out = c;
        return WN_OK;
    }
    c->f = fopen(path, "rb");
    if (!c->f) {
        st = wn_seterr(WN_ERR_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    c->size = (uint64_t)stt.st_size;
    wn_lines_init(&c->lr, c->f);
    if (p->format == WN_CORPUS_AUTO && c->fmt == WN_CORPUS_JSONL) {
        /* BEIR if the first object has "_id" */
        char head[4096];
        size_t n = fread(head, 1, sizeof head - 1, c->f);
        head[n] = 0;
        char *nl = strchr(head, '\n');
        if (nl) *nl = 0;
        wn_json *j = NULL;
        wn_json_parse(head, strlen(head), WN_JSON_RAW_BYTES, path, &j);
        wn_clearerr(); /* a guess: a first line that does not parse is not an error here */
        if (j && wn_json_get(j, "_id")) c->fmt = WN_CORPUS_BEIR;
        else if (!j && strstr(head, "\"_id\"")) c->fmt = WN_CORPUS_BEIR; /* a long first line */
        wn_json_free(j);
        rewind(c->f);
    }
    if (c->fmt == WN_CORPUS_BEIR) {
        wn_free(c->id_field);
        c->id_field = wn_strdup(p->id_field ? p->id_field : "_id");
        if (!c->id_field) {
            st = wn_seterr(WN_ERR_NOMEM, "corpus: out of memory");
            goto fail;
        }
    }
    *out = c;
    return WN_OK;
fail:
    wn_corpus_free(c);
    return st;
}

void wn_corpus_progress(const wn_corpus *c, uint64_t *done, uint64_t *total) {
    *done = c->done;
    *total = c->size;
}

static char *clean(const char *s, size_t len) {
    size_t ol;
    return wn_utf8_sanitize(s, len, &ol);
}

/* A JSON value as text: strings as they are, integers printed, else NULL. */
static char *json_text(const wn_json *v) {
    if (wn_json_is(v, WN_JSON_STRING)) return clean(v->str, strlen(v->str)); /* up to a \u0000, as before */
    if (wn_json_is(v, WN_JSON_NUMBER)) {
        char b[64];
        if (v->num == floor(v->num) && fabs(v->num) < 1e15)
            snprintf(b, sizeof b, "%.0f", v->num);
        else
            snprintf(b, sizeof b, "%.17g", v->num);
        return wn_strdup(b);
    }
    return NULL;
}

static wn_status next_json(wn_corpus *c, wn_doc *d) {
    uint64_t ln = c->lr.lineno;
    /* invalid UTF-8 inside strings is kept here and replaced by clean() */
    wn_status st = wn_json_parse(c->lr.buf, c->lr.len, WN_JSON_RAW_BYTES, c->path, &c->json);
    if (st == WN_ERR_NOMEM) return wn_seterr_prefix(st, "%s:%llu: ", c->path, (unsigned long long)ln);
    if (!c->json || !wn_json_is(c->json, WN_JSON_OBJECT))
        return wn_seterr(WN_ERR_FORMAT, "%s:%llu: not a JSON object%s", c->path, (unsigned long long)ln,
                         c->json ? "" : " (malformed JSON)");
    const wn_json *id = wn_json_get(c->json, c->id_field);
    const wn_json *ti = wn_json_get(c->json, c->title_field);
    const wn_json *tx = wn_json_get(c->json, c->text_field);
    if (!id) return wn_seterr(WN_ERR_FORMAT, "%s:%llu: no \"%s\" field (the document id)", c->path, (unsigned long long)ln, c->id_field);
    if (!(c->id = json_text(id)) || !*c->id)
        return wn_seterr(WN_ERR_FORMAT, "%s:%llu: \"%s\" is not a non-empty string or number", c->path,
                         (unsigned long long)ln, c->id_field);
    if (!tx) return wn_seterr(WN_ERR_FORMAT, "%s:%llu: document '%s' has no \"%s\" field", c->path, (unsigned long long)ln, c->id, c->text_field);
    if (!(c->text = json_text(tx)))
        return wn_seterr(WN_ERR_FORMAT, "%s:%llu: document '%s': \"%s\" is not a string", c->path, (unsigned long long)ln, c->id, c->text_field);
    if (ti && !wn_json_is(ti, WN_JSON_NULL) && !(c->title = json_text(ti)))
        return wn_seterr(WN_ERR_FORMAT, "%s:%llu: document '%s': \"%s\" is not a string", c->path, (unsigned long long)ln, c->id, c->title_field);
    const wn_json *meta = wn_json_get(c->json, "metadata");
    if (meta && !wn_json_is(meta, WN_JSON_NULL) && (st = wn_json_write(meta, &c->meta, NULL)) != WN_OK)
        return wn_seterr_prefix(st, "%s:%llu: ", c->path, (unsigned long long)ln);
    d->id = c->id;
    d->title = c->title ? c->title : "";
    d->text = c->text;
    d->meta = c->meta ? c->meta : "";
    return WN_OK;
}

static wn_status next_tsv(wn_corpus *c, wn_doc *d) {
    uint64_t ln = c->lr.lineno;
    char *s = c->lr.buf, *t1 = memchr(s, '\t', c->lr.len);
    if (!t1) return wn_seterr(WN_ERR_FORMAT, "%s:%llu: no tab: expected id<TAB>text or id<TAB>title<TAB>text", c->path, (unsigned long long)ln);
    char *end = s + c->lr.len, *t2 = memchr(t1 + 1, '\t', (size_t)(end - t1 - 1));
    if (t2 && memchr(t2 + 1, '\t', (size_t)(end - t2 - 1)))
        return wn_seterr(WN_ERR_FORMAT, "%s:%llu: more than 3 tab-separated columns", c->path, (unsigned long long)ln);
    if (t1 == s) return wn_seterr(WN_ERR_FORMAT, "%s:%llu: empty document id", c->path, (unsigned long long)ln);
    c->id = clean(s, (size_t)(t1 - s));
    if (t2) {
        c->title = clean(t1 + 1, (size_t)(t2 - t1 - 1));
        c->text = clean(t2 + 1, (size_t)(end - t2 - 1));
    } else {
        c->text = clean(t1 + 1, (size_t)(end - t1 - 1));
    }
    if (!c->id || !c->text || (t2 && !c->title)) return wn_seterr(WN_ERR_NOMEM, "corpus: out of memory");
    d->id = c->id;
    d->title = c->title ? c->title : "";
    d->text = c->text;
    d->meta = "";
    return WN_OK;
}

static wn_status next_file(wn_corpus *c, wn_doc *d, int *got) {
    if (c->next_name >= c->n_names) return WN_OK;
    const char *name = c->names[c->next_name++]->d_name;
    c->done = (uint64_t)c->next_name;
    char *p = wn_path_join(c->path, name), *data = NULL;
    size_t len;
    if (!p) return wn_seterr(WN_ERR_NOMEM, "corpus: out of memory");
    wn_status st = wn_read_file(p, &data, &len);
    wn_free(p);
    if (st != WN_OK) return st;
    c->text = clean(data, len);
    wn_free(data);
    c->id = wn_strndup(name, strlen(name) - 4);
    if (!c->text || !c->id) return wn_seterr(WN_ERR_NOMEM, "corpus: out of memory");
    d->id = c->id;
    d->title = "";
    d->text = c->text;
    d->meta = "";
    *got = 1;
    return WN_OK;
}

wn_status wn_corpus_next(wn_corpus *c, wn_doc *d, int *got) {
    WN_ENTRY();
    *got = 0;
    memset(d, 0, sizeof *d);
    d->row = -1;
    clear_doc(c);
    if (c->fmt == WN_CORPUS_DIR) return next_file(c, d, got);
    for (;;) {
        int r = wn_lines_next(&c->lr);
        if (r < 0) return wn_seterr(WN_ERR_IO, "%s:%llu: read error or out of memory", c->path, (unsigned long long)c->lr.lineno + 1);
        if (r == 0) {
            c->done = c->size;
            return WN_OK;
        }
        c->done += c->lr.len + 1;
        size_t i = 0;
        while (i < c->lr.len && (c->lr.buf[i] == ' ' || c->lr.buf[i] == '\t' || c->lr.buf[i] == '\r')) i++;
        if (i == c->lr.len) continue; /* blank line */
        d->line = c->lr.lineno;
        wn_status st = c->fmt == WN_CORPUS_TSV ? next_tsv(c, d) : next_json(c, d);
        if (st == WN_OK) *got = 1;
        return st;
    }
}
