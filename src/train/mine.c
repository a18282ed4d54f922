/*
 * mine.c - hard negatives for bi-encoder training rows (wn_train_mine): for each
 * row {"query", "positive", "negatives"?} of a JSONL file, the first stage of a
 * searcher (BM25, dense or hybrid) ranks the documents; the best-ranked ones that
 * are neither the row's positive nor a near-duplicate of it nor of a negative it
 * already has (nor of one mined before for it) are added to its negatives.
 *
 * Near-duplicate: word-set Jaccard >= max_overlap, words being runs of non-space
 * bytes lower-cased with everything but ASCII letters, digits and bytes >= 0x80
 * dropped; a document is compared as title + " " + text (as the index saw it) and
 * as its text alone (a positive may be either). The text written for a mined
 * document is title + " " + text (text alone when there is no title).
 *
 * Output: {"query", "positive", "negatives": [kept..., mined...]} a row, in input
 * order, written atomically. Blank lines are skipped; a malformed line or a missing
 * or empty text stops with FILE:LINE.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"
#include "util/json.h"

wn_train_mine_params wn_train_mine_default_params(void) {
    wn_train_mine_params p;
    memset(&p, 0, sizeof p);
    p.depth = 50;
    p.per_query = 5;
    p.skip_top = 0;
    p.max_overlap = 0.9;
    return p;
}

/* ---- word sets: lower-cased words, sorted, unique */
typedef struct {
    char **w;
    int n;
} words;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void words_free(words *s) {
    for (int i = 0; i < s->n; i++) wn_free(s->w[i]);
    wn_free(s->w);
    s->w = NULL, s->n = 0;
}

/* The word set of t into s (emptied first; words_free it even on failure). */
static wn_status words_of(const char *t, words *s) {
    s->w = NULL, s->n = 0;
    size_t cap = 0;
    while (*t) {
        while (*t && isspace((unsigned char)*t)) t++;
        const char *b = t;
        while (*t && !isspace((unsigned char)*t)) t++;
        if (t == b) break;
        char *w = wn_malloc((size_t)(t - b) + 1);
        if (!w) return wn_seterr(WN_ERR_NOMEM, "mine: out of memory");
        size_t k = 0;
        for (const char *c = b; c < t; c++)
            if (isalnum((unsigned char)*c) || (unsigned char)*c >= 0x80) w[k++] = (char)tolower((unsigned char)*c);
        w[k] = 0;
        if (!k) {
            wn_free(w);
            continue;
        }
        if (wn_grow((void **)&s->w, &cap, (size_t)s->n + 1, sizeof *s->w)) {
            wn_free(w);
            return wn_seterr(WN_ERR_NOMEM, "mine: out of memory");
        }
        s->w[s->n++] = w;
    }
    if (s->n) qsort(s->w, (size_t)s->n, sizeof *s->w, cmp_str);
    int u = 0;
    for (int i = 0; i < s->n; i++) {
        if (u && !strcmp(s->w[u - 1], s->w[i])) wn_free(s->w[i]);
        else s->w[u++] = s->w[i];
    }
    s->n = u;
    return WN_OK;
}

/* |a ∩ b| / |a ∪ b| of two word sets (1 for two empty ones) */
static double jaccard(const words *a, const words *b) {
    int i = 0, j = 0, inter = 0;
    while (i < a->n && j < b->n) {
        int c = strcmp(a->w[i], b->w[j]);
        if (!c) inter++, i++, j++;
        else if (c < 0) i++;
        else j++;
    }
    int uni = a->n + b->n - inter;
    return uni ? (double)inter / uni : 1.0;
}

/* ---- output */

/* Writes the JSON string s[0..n) (escaped as wn_json_write does). */
static wn_status put_str(wn_atomic_file *af, const char *s, size_t n) {
    wn_json v;
    memset(&v, 0, sizeof v);
    v.type = WN_JSON_STRING;
    v.str = s;
    v.len = n;
    char *out;
    size_t len;
    wn_status st = wn_json_write(&v, &out, &len);
    if (st) return st;
    st = wn_atomic_write(af, out, len);
    wn_free(out);
    return st;
}

static wn_status put(wn_atomic_file *af, const char *s) { return wn_atomic_write(af, s, strlen(s)); }

/* ---- one row */

typedef struct {
    wn_searcher *s;
    wn_store *store;
    const wn_train_mine_params *p;
    wn_hit *hits;   /* depth + skip_top */
    words *avoid;   /* the word sets a mined document must not be near */
    size_t n_avoid, cap_avoid;
    wn_atomic_file *af;
} miner;

static void avoid_clear(miner *m) {
    for (size_t a = 0; a < m->n_avoid; a++) words_free(&m->avoid[a]);
    m->n_avoid = 0;
}

/* Adds the word set of t to the texts to avoid. */
static wn_status avoid_add(miner *m, const char *t) {
    if (wn_grow((void **)&m->avoid, &m->cap_avoid, m->n_avoid + 1, sizeof *m->avoid))
        return wn_seterr(WN_ERR_NOMEM, "mine: out of memory");
    wn_status st = words_of(t, &m->avoid[m->n_avoid]);
    if (st) words_free(&m->avoid[m->n_avoid]);
    else m->n_avoid++;
    return st;
}

/* Whether the document with word sets w (title + text) and wt (text) is empty or
 * near a text to avoid. */
static int near_avoided(const miner *m, const words *w, const words *wt) {
    if (w->n == 0) return 1;
    for (size_t a = 0; a < m->n_avoid; a++)
        if (jaccard(w, &m->avoid[a]) >= m->p->max_overlap || jaccard(wt, &m->avoid[a]) >= m->p->max_overlap) return 1;
    return 0;
}

/* The first stage for query q; writes each kept hit (", " before all but the first
 * negative, *first tracks it) and counts them in *got. */
static wn_status mine_hits(miner *m, const char *q, int *first, int *got) {
    int n = 0;
    double secs;
    wn_status st = wn_searcher_first(m->s, q, m->p->depth + m->p->skip_top, m->hits, &n, &secs);
    for (int h = m->p->skip_top; h < n && *got < m->p->per_query && !st; h++) {
        wn_doc d;
        if ((st = wn_store_get(m->store, m->hits[h].row, &d))) break;
        size_t tl = strlen(d.title), xl = strlen(d.text);
        char *txt = wn_malloc(tl + xl + 2);
        if (!txt) return wn_seterr(WN_ERR_NOMEM, "mine: out of memory");
        if (tl) snprintf(txt, tl + xl + 2, "%s %s", d.title, d.text);
        else memcpy(txt, d.text, xl + 1);
        words w = {NULL, 0}, wt = {NULL, 0};
        if ((st = words_of(txt, &w)) == WN_OK) st = words_of(d.text, &wt);
        if (st == WN_OK && !near_avoided(m, &w, &wt)) {
            if ((st = put(m->af, *first ? "" : ", ")) == WN_OK) st = put_str(m->af, txt, strlen(txt));
            *first = 0;
            ++*got;
            /* no near-duplicates among the mined ones either */
            if (!st && (st = wn_grow((void **)&m->avoid, &m->cap_avoid, m->n_avoid + 1, sizeof *m->avoid)))
                st = wn_seterr(WN_ERR_NOMEM, "mine: out of memory");
            if (!st) m->avoid[m->n_avoid++] = w, w.w = NULL, w.n = 0;
        }
        words_free(&w);
        words_free(&wt);
        wn_free(txt);
    }
    return st;
}

/* One JSONL line (what = "file:line"): checks it, writes the output row. */
static wn_status mine_row(miner *m, const char *line, size_t len, const char *what, int *got) {
    wn_json *j = NULL;
    wn_status st = wn_json_parse(line, len, WN_JSON_RAW_BYTES, what, &j);
    if (st) return st;
    const wn_json *q = wn_json_get(j, "query"), *pos = wn_json_get(j, "positive"), *negs = wn_json_get(j, "negatives");
    if (!wn_json_is_object(j)) st = wn_seterr(WN_ERR_FORMAT, "%s: not a JSON object", what);
    else if (!wn_json_is_string(q) || !q->len) st = wn_seterr(WN_ERR_FORMAT, "%s: missing or empty \"query\"", what);
    else if (!wn_json_is_string(pos) || !pos->len)
        st = wn_seterr(WN_ERR_FORMAT, "%s: missing or empty \"positive\"", what);
    else if (negs && !wn_json_is_array(negs)) st = wn_seterr(WN_ERR_FORMAT, "%s: \"negatives\" must be an array", what);
    for (const wn_json *e = negs ? negs->child : NULL; e && !st; e = e->next)
        if (!wn_json_is_string(e) || !e->len)
            st = wn_seterr(WN_ERR_FORMAT, "%s: \"negatives\" must hold non-empty strings", what);
    if (st) goto done;
    avoid_clear(m);
    if ((st = avoid_add(m, pos->str))) goto done;
    if ((st = put(m->af, "{\"query\": ")) || (st = put_str(m->af, q->str, q->len)) ||
        (st = put(m->af, ", \"positive\": ")) || (st = put_str(m->af, pos->str, pos->len)) ||
        (st = put(m->af, ", \"negatives\": [")))
        goto done;
    int first = 1;
    for (const wn_json *e = negs ? negs->child : NULL; e && !st; e = e->next) {
        if ((st = avoid_add(m, e->str)) || (st = put(m->af, first ? "" : ", "))) break;
        st = put_str(m->af, e->str, e->len);
        first = 0;
    }
    if (!st) st = mine_hits(m, q->str, &first, got);
    if (!st) st = put(m->af, "]}\n");
done:
    avoid_clear(m);
    wn_json_free(j);
    return st;
}

wn_status wn_train_mine(wn_searcher *s, const char *data_path, const char *out_path, const wn_train_mine_params *p,
                        int64_t *rows, int64_t *added) {
    WN_ENTRY();
    wn_train_mine_params dp = wn_train_mine_default_params();
    if (!p) p = &dp;
    if (rows) *rows = 0;
    if (added) *added = 0;
    if (!s || !data_path || !out_path) return wn_seterr(WN_ERR_ARG, "mine: needs a searcher, the data and the output path");
    if (p->depth < 1 || p->depth > 1000000 || p->per_query < 1 || p->skip_top < 0 || p->skip_top > 1000000 ||
        !(p->max_overlap > 0 && p->max_overlap <= 1))
        return wn_seterr(WN_ERR_ARG, "mine: depth %d (1..1000000), per_query %d (>= 1), skip_top %d (0..1000000), "
                                     "max_overlap %g ((0, 1])", p->depth, p->per_query, p->skip_top, p->max_overlap);
    miner m;
    memset(&m, 0, sizeof m);
    m.s = s, m.p = p;
    if (!(m.store = wn_searcher_store(s)))
        return wn_seterr(WN_ERR_ARG, "mine: the searcher has no document store (mining writes document texts)");
    FILE *in = fopen(data_path, "rb");
    if (!in) return wn_seterr(WN_ERR_IO, "mine: cannot open %s", data_path);
    wn_atomic_file af;
    wn_line_reader lr;
    wn_lines_init(&lr, in);
    wn_status st = wn_atomic_open(&af, out_path);
    if (st) {
        wn_lines_free(&lr);
        fclose(in);
        return st;
    }
    m.af = &af;
    m.hits = wn_malloc((size_t)(p->depth + p->skip_top) * sizeof *m.hits);
    if (!m.hits) st = wn_seterr(WN_ERR_NOMEM, "mine: out of memory");
    int64_t n_rows = 0, n_added = 0;
    int rc = 1;
    char what[1100];
    while (!st && (rc = wn_lines_next(&lr)) == 1) {
        size_t b = 0;
        while (b < lr.len && isspace((unsigned char)lr.buf[b])) b++;
        if (b == lr.len) continue;
        snprintf(what, sizeof what, "%.1000s:%llu", data_path, (unsigned long long)lr.lineno);
        int got = 0;
        if ((st = mine_row(&m, lr.buf, lr.len, what, &got))) break;
        n_rows++, n_added += got;
        if (p->progress) p->progress(p->progress_ud, "mine", (uint64_t)n_rows, 0);
    }
    if (!st && rc < 0) st = wn_seterr(WN_ERR_IO, "mine: error reading %s", data_path);
    if (!st) st = wn_atomic_commit(&af);
    else wn_atomic_abort(&af);
    wn_lines_free(&lr);
    fclose(in);
    wn_free(m.hits);
    avoid_clear(&m);
    wn_free(m.avoid);
    if (st) return st;
    if (rows) *rows = n_rows;
    if (added) *added = n_added;
    return WN_OK;
}
