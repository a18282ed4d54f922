/*
 * demo_debian.c - the collection `winnow demo` runs its exercises on by default, made
 * from text every Debian machine carries: the installed packages' descriptions in
 * dpkg's status file (/var/lib/dpkg/status, or --dpkg-status FILE), with the
 * hand-written known-item queries of cli/demo/debian_queries.tsv (compiled in).
 *
 *   document  _id = Package, title = the Description's first line (the synopsis),
 *             text = its long description; only packages whose Status is
 *             "install ok installed" and whose long description is not empty; one
 *             document per package name (a Multi-Arch package installed for two
 *             architectures is one), sorted by name.
 *   query     one line of the tsv: the need, then the packages that meet it; each
 *             of those that is a document here is a relevant document (grade 1). A
 *             query with none of them here is dropped (the demo says how many it kept).
 *
 * The status file is deb822: stanzas separated by blank lines, "Field: value" lines,
 * continuation lines starting with a space or a tab. In a Description's long part a
 * continuation line " ." is an empty line (a paragraph break), a line starting with
 * two spaces is shown verbatim, the others are words wrapped as the reader likes
 * (Debian Policy 5.6.13); here paragraphs become "\n", verbatim lines keep their own
 * line, wrapped lines are joined with a space.
 *
 * Written in BEIR layout under DIR (corpus.jsonl, queries.jsonl, qrels/test.tsv), each
 * file through a temporary file and a rename, so the user can look at it and other
 * tools (winnow eval, trec_eval) can read it. Uses include/winnow.h only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "demo.h"

/* The tsv, one C string: build/gen/debian_queries.inc, made by the Makefile from
 * cli/demo/debian_queries.tsv. */
static const char queries_tsv[] =
#include "debian_queries.inc"
    ;

/* A growing string. */
typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static int sb_add(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) return 1;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return 0;
}

/* One installed package with a long description. */
typedef struct {
    char *name, *title, *text;
} deb_doc;

/* The stanza being read. */
typedef struct {
    sbuf name, status, title, text;
    int in_desc;  /* the last field seen is Description (continuations are its long part) */
    int para;     /* the long description's last line was " ." */
} stanza;

static void stanza_reset(stanza *st) {
    st->name.n = st->status.n = st->title.n = st->text.n = 0;
    if (st->name.s) st->name.s[0] = 0;
    if (st->status.s) st->status.s[0] = 0;
    if (st->title.s) st->title.s[0] = 0;
    if (st->text.s) st->text.s[0] = 0;
    st->in_desc = st->para = 0;
}

static void stanza_free(stanza *st) {
    free(st->name.s);
    free(st->status.s);
    free(st->title.s);
    free(st->text.s);
}

/* s without leading and trailing blanks: *n its length. */
static const char *trim(const char *s, size_t *n) {
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\n' || s[l - 1] == '\r')) l--;
    while (l && (*s == ' ' || *s == '\t')) s++, l--;
    *n = l;
    return s;
}

/* One continuation line of the long description (its first blank removed). */
static int desc_line(stanza *st, const char *rest) {
    size_t n;
    const char *t = trim(rest, &n);
    if (n == 1 && t[0] == '.') { /* paragraph break */
        if (st->text.n) st->para = 1;
        return 0;
    }
    if (!n) return 0;
    int verbatim = rest[0] == ' ' || rest[0] == '\t';
    const char *sep = !st->text.n ? "" : st->para ? "\n" : verbatim ? "\n" : " ";
    st->para = 0;
    return sb_add(&st->text, sep, strlen(sep)) || sb_add(&st->text, t, n);
}

/* One line of the status file into st. */
static int status_line(stanza *st, const char *line) {
    if (line[0] == ' ' || line[0] == '\t') return st->in_desc ? desc_line(st, line + 1) : 0;
    const char *colon = strchr(line, ':');
    st->in_desc = 0;
    if (!colon) return 0; /* not a field: ignored */
    size_t fn = (size_t)(colon - line), n;
    const char *v = trim(colon + 1, &n);
    sbuf *dst = fn == 7 && !strncmp(line, "Package", 7) ? &st->name
              : fn == 6 && !strncmp(line, "Status", 6)  ? &st->status
              : fn == 11 && !strncmp(line, "Description", 11) ? &st->title
              : NULL;
    if (!dst) return 0;
    st->in_desc = dst == &st->title;
    dst->n = 0;
    return sb_add(dst, v, n);
}

static int cmp_doc(const void *a, const void *b) { return strcmp(((const deb_doc *)a)->name, ((const deb_doc *)b)->name); }

static char *dup_n(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* The stanza, when it is an installed package with a long description, appended
 * to docs (n, cap). 0 ok, 1 out of memory. */
static int keep_stanza(const stanza *st, deb_doc **docs, int *n, int *cap, int *no_long) {
    if (!st->name.n || !st->title.n || !st->status.s || strcmp(st->status.s, "install ok installed")) return 0;
    if (!st->text.n) return (*no_long)++, 0;
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 512;
        deb_doc *p = realloc(*docs, (size_t)c * sizeof *p);
        if (!p) return 1;
        *docs = p;
        *cap = c;
    }
    deb_doc *d = &(*docs)[*n];
    d->name = dup_n(st->name.s, st->name.n);
    d->title = dup_n(st->title.s, st->title.n);
    d->text = dup_n(st->text.s, st->text.n);
    (*n)++;
    return !d->name || !d->title || !d->text;
}

static void free_docs(deb_doc *docs, int n) {
    for (int i = 0; docs && i < n; i++) {
        free(docs[i].name);
        free(docs[i].title);
        free(docs[i].text);
    }
    free(docs);
}

/* Reads path into *docs (sorted by name, one per name); 0 ok, 1 failed (said). */
static int read_status(const char *path, deb_doc **docs, int *n, int *no_long) {
    FILE *f = fopen(path, "r");
    if (!f) return cli_error("demo: cannot read the dpkg status file %s: %s", path, strerror(errno));
    stanza st;
    memset(&st, 0, sizeof st);
    char *line = NULL;
    size_t lcap = 0;
    int cap = 0, rc = 0;
    *n = *no_long = 0;
    for (;;) {
        ssize_t got = getline(&line, &lcap, f);
        size_t l;
        if (got < 0 || (trim(line, &l), l == 0 && line[0] != ' ' && line[0] != '\t')) {
            if ((rc = keep_stanza(&st, docs, n, &cap, no_long))) break;
            stanza_reset(&st);
            if (got < 0) break;
            continue;
        }
        if ((rc = status_line(&st, line))) break;
    }
    if (ferror(f)) rc = cli_error("demo: cannot read %s: %s", path, strerror(errno));
    else if (rc) cli_error("demo: out of memory");
    free(line);
    stanza_free(&st);
    fclose(f);
    if (rc) return 1;
    if (*n) qsort(*docs, (size_t)*n, sizeof **docs, cmp_doc);
    int w = 0;
    for (int i = 0; i < *n; i++) { /* one document per package name */
        if (w && !strcmp((*docs)[w - 1].name, (*docs)[i].name)) {
            free((*docs)[i].name);
            free((*docs)[i].title);
            free((*docs)[i].text);
            continue;
        }
        (*docs)[w++] = (*docs)[i];
    }
    *n = w;
    return 0;
}

/* ---- writing */

/* path.tmp opened for writing; NULL failed (said). */
static FILE *open_tmp(const char *path, char *tmp, size_t cap) {
    snprintf(tmp, cap, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) cli_error("demo: cannot write %s: %s", tmp, strerror(errno));
    return f;
}

static int close_tmp(FILE *f, const char *tmp, const char *path) {
    int bad = ferror(f) | fclose(f);
    if (bad || rename(tmp, path)) {
        remove(tmp);
        return cli_error("demo: cannot write %s", path);
    }
    return 0;
}

static int write_corpus(const char *dir, const deb_doc *docs, int n) {
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/corpus.jsonl", dir);
    FILE *f = open_tmp(path, tmp, sizeof tmp);
    if (!f) return 1;
    for (int i = 0; i < n; i++) {
        fputs("{\"_id\": ", f);
        cli_print_json_string(f, docs[i].name);
        fputs(", \"title\": ", f);
        cli_print_json_string(f, docs[i].title);
        fputs(", \"text\": ", f);
        cli_print_json_string(f, docs[i].text);
        fputs("}\n", f);
    }
    return close_tmp(f, tmp, path);
}

static int has_doc(const deb_doc *docs, int n, const char *name) {
    deb_doc key = {(char *)name, NULL, NULL};
    return n && bsearch(&key, docs, (size_t)n, sizeof *docs, cmp_doc) != NULL;
}

/* One query line (text TAB pkg,pkg,...; modified in place): written to fq and its
 * judgments to fr when one of its packages is a document. 1 kept, 0 dropped, -1 bad. */
static int write_query(FILE *fq, FILE *fr, char *line, int no, const deb_doc *docs, int n) {
    char *tab = strchr(line, '\t');
    if (!tab) return -1;
    *tab = 0;
    char id[32];
    snprintf(id, sizeof id, "debian-%02d", no);
    int rel = 0;
    for (char *p = tab + 1, *comma; p && *p; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (!has_doc(docs, n, p)) continue;
        fprintf(fr, "%s\t%s\t1\n", id, p);
        rel++;
    }
    if (!rel) return 0;
    fprintf(fq, "{\"_id\": \"%s\", \"text\": ", id);
    cli_print_json_string(fq, line);
    fputs("}\n", fq);
    return 1;
}

/* queries.jsonl and qrels/test.tsv from the compiled-in tsv. */
static int write_queries(demo_ctx *x, const char *dir, const deb_doc *docs, int n) {
    char qpath[4200], rpath[4200], qtmp[4300], rtmp[4300];
    snprintf(qpath, sizeof qpath, "%s/queries.jsonl", dir);
    snprintf(rpath, sizeof rpath, "%s/qrels/test.tsv", dir);
    FILE *fq = open_tmp(qpath, qtmp, sizeof qtmp), *fr = fq ? open_tmp(rpath, rtmp, sizeof rtmp) : NULL;
    if (!fr) {
        if (fq) fclose(fq), remove(qtmp);
        return 1;
    }
    fprintf(fr, "query-id\tcorpus-id\tscore\n");
    x->deb_queries = x->deb_kept = 0;
    int bad = 0;
    for (const char *p = queries_tsv; *p && !bad;) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char line[1024];
        if (l && p[0] != '#' && l < sizeof line) {
            memcpy(line, p, l);
            line[l] = 0;
            int r = write_query(fq, fr, line, ++x->deb_queries, docs, n);
            if (r < 0) bad = cli_error("demo: debian_queries.tsv line '%s' has no tab", line);
            else x->deb_kept += r;
        }
        p = e ? e + 1 : p + l;
    }
    bad |= close_tmp(fr, rtmp, rpath);
    bad |= close_tmp(fq, qtmp, qpath);
    return bad;
}

int demo_debian_build(demo_ctx *x) {
    deb_doc *docs = NULL;
    int n = 0, no_long = 0, rc = 1;
    char qdir[4200];
    snprintf(x->deb_dir, sizeof x->deb_dir, "%s/debian-collection", x->out_dir);
    snprintf(qdir, sizeof qdir, "%s/qrels", x->deb_dir);
    if (read_status(x->dpkg_status, &docs, &n, &no_long) || demo_mkdir_p(qdir)) goto done;
    if (n < 1) {
        cli_error("demo: %s has no installed package with a long description", x->dpkg_status);
        goto done;
    }
    x->deb_docs = n;
    x->deb_no_long = no_long;
    if (write_corpus(x->deb_dir, docs, n) || write_queries(x, x->deb_dir, docs, n)) goto done;
    if (!x->deb_kept) {
        cli_error("demo: none of the %d queries of debian_queries.tsv has its packages installed (%s); "
                  "pass --collection DIR", x->deb_queries, x->dpkg_status);
        goto done;
    }
    x->coll_path = x->deb_dir;
    rc = 0;
done:
    free_docs(docs, n);
    return rc;
}
