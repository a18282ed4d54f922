/*
 * io.c - runs and qrels in memory and on disk: TREC run files ("qid Q0 docid rank
 * score tag"), BEIR qrels tsv ("query-id corpus-id score" with a header) and TREC
 * qrels ("qid 0 docid rel"). Measures are in metrics.c.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

/* ---- qrels */

wn_status wn_qrels_create(wn_qrels **out) {
    WN_ENTRY();
    wn_qrels *q = wn_calloc(1, sizeof *q);
    if (!q) return wn_seterr(WN_ERR_NOMEM, "qrels: out of memory");
    wn_strmap_init(&q->qids);
    wn_strmap_init(&q->pairs);
    *out = q;
    return WN_OK;
}

void wn_qrels_free(wn_qrels *q) {
    if (!q) return;
    for (int64_t i = 0; i < q->qids.n; i++) wn_free(q->lists[i].pair);
    wn_free(q->lists);
    wn_free(q->grades);
    wn_free(q->pair_q);
    wn_strmap_free(&q->qids);
    wn_strmap_free(&q->pairs);
    wn_free(q);
}

wn_status qrels_pair_key(char **buf, size_t *cap, const char *qid, const char *docid, size_t *len) {
    size_t lq = strlen(qid), ld = strlen(docid);
    if (wn_grow((void **)buf, cap, lq + ld + 2, 1) != WN_OK) return WN_ERR_NOMEM;
    memcpy(*buf, qid, lq);
    (*buf)[lq] = '\t';
    memcpy(*buf + lq + 1, docid, ld + 1);
    *len = lq + 1 + ld;
    return WN_OK;
}

static wn_status qrels_add(wn_qrels *q, const char *qid, const char *docid, int grade, char **kb, size_t *kcap) {
    if (!*qid || !*docid) return wn_seterr(WN_ERR_ARG, "qrels: empty query or document id");
    size_t klen;
    if (qrels_pair_key(kb, kcap, qid, docid, &klen) != WN_OK) return wn_seterr(WN_ERR_NOMEM, "qrels: out of memory");
    int64_t qi, pi;
    int added;
    /* room first, so that a failure leaves the qrels consistent */
    size_t nq = (size_t)q->qids.n + 1, np = (size_t)q->pairs.n + 1;
    if (wn_grow((void **)&q->lists, &q->lists_cap, nq, sizeof *q->lists) != WN_OK ||
        wn_grow((void **)&q->grades, &q->grades_cap, np, sizeof *q->grades) != WN_OK ||
        wn_grow((void **)&q->pair_q, &q->pair_q_cap, np, sizeof *q->pair_q) != WN_OK)
        return wn_seterr(WN_ERR_NOMEM, "qrels: out of memory");
    int64_t old_q = wn_strmap_find(&q->qids, qid, strlen(qid));
    if (old_q >= 0) {
        qrels_list *l = &q->lists[old_q];
        if (wn_grow((void **)&l->pair, &l->cap, l->n + 1, sizeof *l->pair) != WN_OK)
            return wn_seterr(WN_ERR_NOMEM, "qrels: out of memory");
    }
    wn_status st = wn_strmap_intern(&q->pairs, *kb, klen, &pi, &added);
    if (st != WN_OK) return st;
    if (!added)
        return wn_seterr(WN_ERR_FORMAT, "qrels: query '%s' judges document '%s' twice (grades %d and %d)", qid,
                         docid, q->grades[pi], grade);
    q->grades[pi] = grade;
    q->pair_q[pi] = -1;
    if ((st = wn_strmap_intern(&q->qids, qid, strlen(qid), &qi, &added)) != WN_OK) return st; /* pair stays unlisted */
    q->pair_q[pi] = qi;
    if (added) memset(&q->lists[qi], 0, sizeof q->lists[qi]);
    qrels_list *l = &q->lists[qi];
    if (wn_grow((void **)&l->pair, &l->cap, l->n + 1, sizeof *l->pair) != WN_OK)
        return wn_seterr(WN_ERR_NOMEM, "qrels: out of memory");
    l->pair[l->n++] = pi;
    return WN_OK;
}

wn_status wn_qrels_add(wn_qrels *q, const char *qid, const char *docid, int grade) {
    WN_ENTRY();
    if (!q || !qid || !docid) return wn_seterr(WN_ERR_ARG, "wn_qrels_add: NULL argument");
    char *kb = NULL;
    size_t kcap = 0;
    wn_status st = qrels_add(q, qid, docid, grade, &kb, &kcap);
    wn_free(kb);
    return st;
}

int64_t wn_qrels_count(const wn_qrels *q) { return q ? q->qids.n : 0; }
const char *wn_qrels_query(const wn_qrels *q, int64_t i) { return wn_strmap_str(&q->qids, i); }
int64_t wn_qrels_num_judged(const wn_qrels *q, int64_t i) { return (int64_t)q->lists[i].n; }

const char *wn_qrels_judged(const wn_qrels *q, int64_t i, int64_t j, int *grade) {
    int64_t p = q->lists[i].pair[j];
    if (grade) *grade = q->grades[p];
    const char *k = wn_strmap_str(&q->pairs, p);
    return strchr(k, '\t') + 1;
}

/* ---- reading the text files */

static wn_status open_input(const char *path, FILE **f) {
    *f = fopen(path, "rb");
    if (!*f) return wn_seterr(errno == ENOENT ? WN_ERR_NOTFOUND : WN_ERR_IO, "%s: %s", path, strerror(errno));
    return WN_OK;
}

/* The line reader stopped early (wn_lines_next < 0): a read error or out of memory. */
static wn_status read_failed(FILE *f, const char *path) {
    return ferror(f) ? wn_seterr(WN_ERR_IO, "%s: read error", path) : wn_seterr(WN_ERR_NOMEM, "%s: out of memory", path);
}

/* Prefixes the last error with "path:line: " ("path: " for line 0); returns st. */
static wn_status located(wn_status st, const char *path, unsigned long long line) {
    if (line) return wn_seterr_prefix(st, "%s:%llu: ", path, line);
    return wn_seterr_prefix(st, "%s: ", path);
}

/* Splits s in place on spaces and tabs into at most max fields; returns the count
 * (max + 1 when there are more). */
static int split(char *s, char **f, int max) {
    int n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t') s++;
        if (!*s) return n;
        if (n == max) return max + 1;
        f[n++] = s;
        while (*s && *s != ' ' && *s != '\t') s++;
        if (*s) *s++ = 0;
    }
}

static int parse_int(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < -1000000 || v > 1000000) {
        /* BEIR writes some grades as "1.0" */
        double d = strtod(s, &end);
        if (end == s || *end || d != floor(d) || fabs(d) > 1e6) return -1;
        v = (long)d;
    }
    *out = (int)v;
    return 0;
}

wn_status wn_qrels_load(const char *path, wn_qrels **out) {
    WN_ENTRY();
    *out = NULL;
    FILE *f;
    wn_status st = open_input(path, &f);
    if (st != WN_OK) return st;
    wn_qrels *q = NULL;
    st = wn_qrels_create(&q);
    wn_line_reader lr;
    wn_lines_init(&lr, f);
    char *kb = NULL;
    size_t kcap = 0;
    int r, ncols = 0, first = 1;
    while (st == WN_OK && (r = wn_lines_next(&lr)) == 1) {
        char *fl[5];
        int n = split(lr.buf, fl, 4);
        if (n == 0) continue;
        int was_first = first;
        first = 0;
        if (n != 3 && n != 4) {
            st = wn_seterr(WN_ERR_FORMAT, "%s:%llu: expected 3 columns (query-id corpus-id score) or 4 (qid 0 docid rel), found %d",
                           path, (unsigned long long)lr.lineno, n);
            break;
        }
        int grade;
        const char *g = fl[n - 1];
        if (parse_int(g, &grade) != 0) {
            if (was_first && n == 3) continue; /* the BEIR header */
            st = wn_seterr(WN_ERR_FORMAT, "%s:%llu: relevance grade '%s' is not a whole number", path,
                           (unsigned long long)lr.lineno, g);
            break;
        }
        if (ncols && n != ncols) {
            st = wn_seterr(WN_ERR_FORMAT, "%s:%llu: %d columns after lines of %d", path, (unsigned long long)lr.lineno, n,
                           ncols);
            break;
        }
        ncols = n;
        st = qrels_add(q, fl[0], fl[n == 3 ? 1 : 2], grade, &kb, &kcap);
        if (st != WN_OK) st = located(st, path, lr.lineno);
    }
    if (st == WN_OK && r < 0) st = read_failed(f, path);
    wn_free(kb);
    wn_lines_free(&lr);
    fclose(f);
    if (st == WN_OK && q->qids.n == 0) st = wn_seterr(WN_ERR_FORMAT, "%s: no judgments", path);
    if (st != WN_OK) {
        wn_qrels_free(q);
        return st;
    }
    *out = q;
    return WN_OK;
}

/* ---- runs */

wn_status wn_run_create(wn_run **out) {
    WN_ENTRY();
    wn_run *r = wn_calloc(1, sizeof *r);
    if (!r) return wn_seterr(WN_ERR_NOMEM, "run: out of memory");
    wn_strmap_init(&r->qids);
    wn_strmap_init(&r->docs);
    *out = r;
    return WN_OK;
}

void wn_run_free(wn_run *r) {
    if (!r) return;
    for (int64_t i = 0; i < r->qids.n; i++) wn_free(r->lists[i].e);
    wn_free(r->lists);
    wn_strmap_free(&r->qids);
    wn_strmap_free(&r->docs);
    wn_free(r);
}

int64_t wn_run_count(const wn_run *r) { return r ? r->qids.n : 0; }

wn_status wn_run_add(wn_run *r, const char *qid, const char *docid, double score) {
    WN_ENTRY();
    if (!r || !qid || !docid) return wn_seterr(WN_ERR_ARG, "wn_run_add: NULL argument");
    if (!*qid || !*docid) return wn_seterr(WN_ERR_ARG, "wn_run_add: empty query or document id");
    if (!isfinite(score))
        return wn_seterr(WN_ERR_ARG, "wn_run_add: score of document '%s' for query '%s' is not finite", docid, qid);
    int64_t qi, di;
    int added;
    if (wn_grow((void **)&r->lists, &r->lists_cap, (size_t)r->qids.n + 1, sizeof *r->lists) != WN_OK)
        return wn_seterr(WN_ERR_NOMEM, "run: out of memory");
    wn_status st = wn_strmap_intern(&r->docs, docid, strlen(docid), &di, NULL);
    if (st != WN_OK) return st;
    if ((st = wn_strmap_intern(&r->qids, qid, strlen(qid), &qi, &added)) != WN_OK) return st;
    if (added) memset(&r->lists[qi], 0, sizeof r->lists[qi]);
    run_list *l = &r->lists[qi];
    if (wn_grow((void **)&l->e, &l->cap, l->n + 1, sizeof *l->e) != WN_OK)
        return wn_seterr(WN_ERR_NOMEM, "run: out of memory");
    l->e[l->n].doc = di;
    l->e[l->n].score = score;
    l->n++;
    return WN_OK;
}

wn_status wn_run_load(const char *path, wn_run **out) {
    WN_ENTRY();
    *out = NULL;
    FILE *f;
    wn_status st = open_input(path, &f);
    if (st != WN_OK) return st;
    wn_run *run = NULL;
    st = wn_run_create(&run);
    wn_line_reader lr;
    wn_lines_init(&lr, f);
    int r = 0;
    while (st == WN_OK && (r = wn_lines_next(&lr)) == 1) {
        char *fl[7];
        int n = split(lr.buf, fl, 6);
        if (n == 0) continue;
        if (n != 6) {
            st = wn_seterr(WN_ERR_FORMAT, "%s:%llu: expected 6 columns (qid Q0 docid rank score tag), found %s%d", path,
                           (unsigned long long)lr.lineno, n > 6 ? "more than " : "", n > 6 ? 6 : n);
            break;
        }
        char *end;
        double score = strtod(fl[4], &end);
        if (end == fl[4] || *end || !isfinite(score)) {
            st = wn_seterr(WN_ERR_FORMAT, "%s:%llu: score '%s' is not a finite number", path,
                           (unsigned long long)lr.lineno, fl[4]);
            break;
        }
        st = wn_run_add(run, fl[0], fl[2], score);
        if (st != WN_OK) st = located(st, path, lr.lineno);
    }
    if (st == WN_OK && r < 0) st = read_failed(f, path);
    wn_lines_free(&lr);
    fclose(f);
    for (int64_t q = 0; st == WN_OK && q < run->qids.n; q++) {
        run_sort_list(run, &run->lists[q]);
        st = run_check_dups(run, q);
        if (st != WN_OK) st = located(st, path, 0);
    }
    if (st != WN_OK) {
        wn_run_free(run);
        return st;
    }
    *out = run;
    return WN_OK;
}

/* qsort has no context argument in C11: sort (entry, strings) pairs instead. */
typedef struct {
    run_entry e;
    const char *doc;
} sort_item;

static int cmp_trec(const void *a, const void *b) {
    const sort_item *x = a, *y = b;
    if (x->e.score > y->e.score) return -1;
    if (x->e.score < y->e.score) return 1;
    return strcmp(y->doc, x->doc); /* trec_eval's comp_sim_docno: docno descending */
}

void run_sort_list(const wn_run *r, run_list *l) {
    if (l->n < 2) return;
    sort_item *it = wn_malloc(l->n * sizeof *it);
    if (!it) { /* fall back to an allocation-free insertion sort */
        for (size_t i = 1; i < l->n; i++) {
            run_entry v = l->e[i];
            size_t j = i;
            while (j > 0) {
                sort_item a = {v, wn_strmap_str(&r->docs, v.doc)}, b = {l->e[j - 1], wn_strmap_str(&r->docs, l->e[j - 1].doc)};
                if (cmp_trec(&a, &b) >= 0) break;
                l->e[j] = l->e[j - 1];
                j--;
            }
            l->e[j] = v;
        }
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        it[i].e = l->e[i];
        it[i].doc = wn_strmap_str(&r->docs, l->e[i].doc);
    }
    qsort(it, l->n, sizeof *it, cmp_trec);
    for (size_t i = 0; i < l->n; i++) l->e[i] = it[i].e;
    wn_free(it);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

wn_status run_check_dups(const wn_run *r, int64_t q) {
    const run_list *l = &r->lists[q];
    if (l->n < 2) return WN_OK;
    int64_t *d = wn_malloc(l->n * sizeof *d);
    if (!d) return wn_seterr(WN_ERR_NOMEM, "run: out of memory");
    for (size_t i = 0; i < l->n; i++) d[i] = l->e[i].doc;
    qsort(d, l->n, sizeof *d, cmp_i64);
    for (size_t i = 1; i < l->n; i++)
        if (d[i] == d[i - 1]) {
            int64_t dup = d[i];
            wn_free(d);
            return wn_seterr(WN_ERR_FORMAT, "run: query '%s' retrieves document '%s' twice",
                             wn_strmap_str(&r->qids, q), wn_strmap_str(&r->docs, dup));
        }
    wn_free(d);
    return WN_OK;
}

wn_status wn_run_save(const wn_run *r, const char *path, const char *tag, int max_per_query) {
    WN_ENTRY();
    if (!r || !path) return wn_seterr(WN_ERR_ARG, "wn_run_save: NULL argument");
    if (!tag || !*tag) tag = "winnow";
    if (strpbrk(tag, " \t\n")) return wn_seterr(WN_ERR_ARG, "wn_run_save: tag '%s' holds white space", tag);
    wn_atomic_file af;
    wn_status st = wn_atomic_open(&af, path);
    if (st != WN_OK) return st;
    for (int64_t q = 0; q < r->qids.n; q++) {
        run_list *l = &r->lists[q]; /* sorting in place keeps the run's contents */
        run_sort_list(r, l);
        if ((st = run_check_dups(r, q)) != WN_OK) break;
        size_t n = max_per_query > 0 ? WN_MIN(l->n, (size_t)max_per_query) : l->n;
        for (size_t i = 0; i < n; i++) {
            double s = l->e[i].score;
            /* %.9g round-trips float scores; doubles that are not floats need 17 digits */
            const char *fmt = (double)(float)s == s ? "%s Q0 %s %zu %.9g %s\n" : "%s Q0 %s %zu %.17g %s\n";
            if (fprintf(af.f, fmt, wn_strmap_str(&r->qids, q), wn_strmap_str(&r->docs, l->e[i].doc), i + 1, s, tag) < 0) {
                st = wn_seterr(WN_ERR_IO, "%s: write failed", path);
                break;
            }
        }
        if (st != WN_OK) break;
    }
    if (st != WN_OK) {
        wn_atomic_abort(&af);
        return st;
    }
    return wn_atomic_commit(&af);
}

int wn_qrels_grade(const wn_qrels *q, const char *qid, const char *docid) {
    if (!q || !qid || !docid) return -1;
    char *kb = NULL;
    size_t kcap = 0, klen;
    int64_t p = qrels_pair_key(&kb, &kcap, qid, docid, &klen) == WN_OK ? wn_strmap_find(&q->pairs, kb, klen) : -1;
    wn_free(kb);
    return p >= 0 ? q->grades[p] : -1;
}
