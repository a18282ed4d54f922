/*
 * experiment.c - queries through a searcher's stages, as `winnow eval` and the demo
 * run them: the first stage (top first_k), then every re-ranking depth through the
 * sweep (each pair scored once), each stage kept as a run with per-query timings and
 * a few documents per query for rank shifts; then its evaluation, JSON, run files and
 * HTML report (report.c draws it). Uses src/eval through winnow.h only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

#define ID_CAP 64 /* bytes kept per document id of a rank shift */

typedef struct {
    char name[32];
    int depth;
    wn_run *run;
    wn_eval *ev;
    double *secs, *total; /* (nq) */
    wn_hit *hits;         /* (nq * first_k) with keep_hits */
    int *n_hits;          /* (nq) */
} exp_stage;

struct wn_experiment {
    wn_experiment_params p;
    int ns;
    exp_stage *st;
    int64_t nq;
    const char *const *qids, *const *queries;
    /* rank shifts: first stage and the last depth's top shift_k, first n_shift queries */
    int64_t n_shift;
    int *shift_n;         /* (n_shift) documents kept */
    char *shift_ids;      /* (n_shift, 2, shift_k, ID_CAP) before, after */
    int *shift_from;      /* (n_shift, shift_k) first-stage rank of after[i] */
    int *shift_grade;     /* (n_shift, 2, shift_k) from _evaluate */
    int64_t *eval_row;    /* (nq) the query's row in the evals, or -1 */
    int n_measures;
    char (*measure_names)[32];
};

wn_experiment_params wn_experiment_default_params(void) {
    wn_experiment_params p;
    memset(&p, 0, sizeof p);
    p.first_k = 1000;
    p.shift_k = WN_REPORT_SHIFT_K;
    p.shift_queries = 2000;
    return p;
}

void wn_experiment_free(wn_experiment *e) {
    if (!e) return;
    for (int j = 0; e->st && j < e->ns; j++) {
        wn_run_free(e->st[j].run);
        wn_eval_free(e->st[j].ev);
        wn_free(e->st[j].secs);
        wn_free(e->st[j].total);
        wn_free(e->st[j].hits);
        wn_free(e->st[j].n_hits);
    }
    wn_free(e->st);
    wn_free(e->shift_n);
    wn_free(e->shift_ids);
    wn_free(e->shift_from);
    wn_free(e->shift_grade);
    wn_free(e->eval_row);
    wn_free(e->measure_names);
    wn_free(e);
}

static wn_status alloc_stages(wn_experiment *e, const wn_searcher *s) {
    const wn_experiment_params *p = &e->p;
    size_t nq = (size_t)(e->nq ? e->nq : 1);
    if (!(e->st = wn_calloc((size_t)e->ns, sizeof *e->st))) return WN_ERR_NOMEM;
    for (int j = 0; j < e->ns; j++) {
        exp_stage *g = &e->st[j];
        g->depth = j ? p->depths[j - 1] : 0;
        if (j) snprintf(g->name, sizeof g->name, "rerank@%d", g->depth);
        else snprintf(g->name, sizeof g->name, "%s", wn_first_stage_name(s->p.first_stage));
        g->secs = wn_calloc(nq, sizeof *g->secs);
        g->total = wn_calloc(nq, sizeof *g->total);
        if (!g->secs || !g->total || wn_run_create(&g->run) != WN_OK) return WN_ERR_NOMEM;
        if (p->keep_hits && (!(g->hits = wn_malloc(nq * (size_t)p->first_k * sizeof *g->hits)) ||
                             !(g->n_hits = wn_calloc(nq, sizeof *g->n_hits))))
            return WN_ERR_NOMEM;
    }
    e->n_shift = e->ns > 1 && p->shift_k > 0 ? WN_MIN(e->nq, p->shift_queries) : 0;
    size_t ns = (size_t)(e->n_shift ? e->n_shift : 1), k = (size_t)WN_MAX(p->shift_k, 1);
    e->shift_n = wn_calloc(ns, sizeof *e->shift_n);
    e->shift_ids = wn_calloc(ns * 2 * k, ID_CAP);
    e->shift_from = wn_calloc(ns * k, sizeof *e->shift_from);
    e->shift_grade = wn_calloc(ns * 2 * k, sizeof *e->shift_grade);
    e->eval_row = wn_malloc(nq * sizeof *e->eval_row);
    if (!e->shift_n || !e->shift_ids || !e->shift_from || !e->shift_grade || !e->eval_row) return WN_ERR_NOMEM;
    return WN_OK;
}

/* Appends query q's hits h[n] to stage j: run, kept hits. */
static wn_status record(wn_experiment *e, wn_searcher *s, int j, int64_t q, const wn_hit *h, int n) {
    exp_stage *g = &e->st[j];
    char buf[32];
    wn_status st = WN_OK;
    for (int i = 0; i < n && st == WN_OK; i++) {
        const char *id;
        double score = e->p.rank_scores ? (double)(e->p.first_k - i) : (double)h[i].score;
        if ((st = pipeline_doc_id(s, h[i].row, buf, sizeof buf, &id)) == WN_OK) st = wn_run_add(g->run, e->qids[q], id, score);
    }
    if (g->hits) {
        memcpy(g->hits + (size_t)q * e->p.first_k, h, (size_t)n * sizeof *h);
        g->n_hits[q] = n;
    }
    return st;
}

/* The rank shift of query q: the first stage's top and the re-ranked top (ids kept). */
static wn_status keep_shift(wn_experiment *e, wn_searcher *s, int64_t q, const wn_hit *first, const wn_hit *rr, int n) {
    int k = e->p.shift_k, m = WN_MIN(n, k);
    char buf[32], *base = e->shift_ids + (size_t)q * 2 * k * ID_CAP;
    e->shift_n[q] = m;
    for (int i = 0; i < m; i++) {
        const char *id;
        wn_status st = pipeline_doc_id(s, first[i].row, buf, sizeof buf, &id);
        if (st == WN_OK) snprintf(base + (size_t)i * ID_CAP, ID_CAP, "%s", id);
        if (st == WN_OK) st = pipeline_doc_id(s, rr[i].row, buf, sizeof buf, &id);
        if (st != WN_OK) return st;
        snprintf(base + (size_t)(k + i) * ID_CAP, ID_CAP, "%s", id);
        e->shift_from[(size_t)q * k + i] = rr[i].first_rank;
    }
    return WN_OK;
}

/* One query through every stage; first and rr are scratch of first_k (rr: per depth). */
static wn_status run_query(wn_experiment *e, wn_searcher *s, int64_t q, wn_hit *first, wn_hit *rr, double *t) {
    int n, nd = e->ns - 1, K = e->p.first_k;
    double t1;
    wn_status st = wn_searcher_first(s, e->queries[q], K, first, &n, &t1);
    if (st != WN_OK) return st;
    e->st[0].secs[q] = e->st[0].total[q] = t1;
    if ((st = record(e, s, 0, q, first, n)) != WN_OK || !nd) return st;
    if ((st = wn_searcher_rerank_sweep(s, e->queries[q], first, n, nd, e->p.depths, rr, t)) != WN_OK) return st;
    for (int j = 1; j <= nd && st == WN_OK; j++) {
        e->st[j].secs[q] = t[j - 1];
        e->st[j].total[q] = t1 + t[j - 1];
        st = record(e, s, j, q, rr + (size_t)(j - 1) * n, n);
    }
    if (st == WN_OK && q < e->n_shift) st = keep_shift(e, s, q, first, rr + (size_t)(nd - 1) * n, n);
    return st;
}

static wn_status check_params(const wn_searcher *s, int64_t nq, const char *const *qids, const char *const *queries,
                              const wn_experiment_params *p) {
    if (!s || nq < 0 || (nq && (!qids || !queries)) || p->first_k < 1 || p->n_depths < 0 || p->shift_k < 0 ||
        p->shift_k > WN_REPORT_SHIFT_K || (p->n_depths && !p->depths))
        return wn_seterr(WN_ERR_ARG, "wn_experiment_run: bad argument (nq %lld, first_k %d, %d depths, shift_k %d)",
                         (long long)nq, p->first_k, p->n_depths, p->shift_k);
    if (p->n_depths && !s->ce) return wn_seterr(WN_ERR_ARG, "experiment: re-ranking depths need a cross-encoder");
    for (int j = 0; j < p->n_depths; j++)
        if (p->depths[j] < 1) return wn_seterr(WN_ERR_ARG, "experiment: depth %d is below 1", p->depths[j]);
    return WN_OK;
}

wn_status wn_experiment_run(wn_searcher *s, int64_t nq, const char *const *qids, const char *const *queries,
                            const wn_experiment_params *p_in, wn_experiment **out) {
    WN_ENTRY();
    wn_experiment_params dp = wn_experiment_default_params();
    const wn_experiment_params *p = p_in ? p_in : &dp;
    if (!out) return wn_seterr(WN_ERR_ARG, "wn_experiment_run: out is NULL");
    *out = NULL;
    wn_status st = check_params(s, nq, qids, queries, p);
    if (st != WN_OK) return st;
    wn_experiment *e = wn_calloc(1, sizeof *e);
    wn_hit *first = NULL, *rr = NULL;
    double *t = NULL;
    if (!e) return wn_seterr(WN_ERR_NOMEM, "experiment: out of memory");
    e->p = *p;
    e->ns = 1 + p->n_depths;
    e->nq = nq;
    e->qids = qids;
    e->queries = queries;
    first = wn_malloc((size_t)p->first_k * sizeof *first);
    rr = wn_malloc((size_t)p->first_k * (size_t)WN_MAX(p->n_depths, 1) * sizeof *rr);
    t = wn_calloc((size_t)WN_MAX(p->n_depths, 1), sizeof *t);
    if (!first || !rr || !t || alloc_stages(e, s) != WN_OK) {
        st = wn_seterr(WN_ERR_NOMEM, "experiment: out of memory for %lld queries", (long long)nq);
        goto done;
    }
    for (int64_t q = 0; q < nq && st == WN_OK; q++) {
        st = run_query(e, s, q, first, rr, t);
        if (st == WN_OK && p->progress) p->progress(p->progress_ud, "queries", (uint64_t)q + 1, (uint64_t)nq);
    }
done:
    wn_free(first);
    wn_free(rr);
    wn_free(t);
    if (st != WN_OK) wn_experiment_free(e);
    else *out = e;
    return st;
}

int wn_experiment_num_stages(const wn_experiment *e) { return e ? e->ns : 0; }
int64_t wn_experiment_count(const wn_experiment *e) { return e ? e->nq : 0; }
static int bad_stage(const wn_experiment *e, int j) { return !e || j < 0 || j >= e->ns; }
const char *wn_experiment_stage_name(const wn_experiment *e, int j) { return bad_stage(e, j) ? "" : e->st[j].name; }
int wn_experiment_stage_depth(const wn_experiment *e, int j) { return bad_stage(e, j) ? 0 : e->st[j].depth; }
const wn_run *wn_experiment_stage_run(const wn_experiment *e, int j) { return bad_stage(e, j) ? NULL : e->st[j].run; }
const wn_eval *wn_experiment_eval(const wn_experiment *e, int j) { return bad_stage(e, j) ? NULL : e->st[j].ev; }
const double *wn_experiment_seconds(const wn_experiment *e, int j, int total) {
    return bad_stage(e, j) ? NULL : total ? e->st[j].total : e->st[j].secs;
}
const wn_hit *wn_experiment_hits(const wn_experiment *e, int j, int64_t q, int *n) {
    *n = 0;
    if (bad_stage(e, j) || !e->st[j].hits || q < 0 || q >= e->nq) return NULL;
    *n = e->st[j].n_hits[q];
    return e->st[j].hits + (size_t)q * e->p.first_k;
}

/* Each query's row in the evals (wn_eval lists the qrels' queries) and the grades
 * of the kept shift documents. */
static wn_status map_queries(wn_experiment *e, const wn_qrels *q) {
    wn_strmap m;
    wn_strmap_init(&m);
    const wn_eval *ev = e->st[0].ev;
    wn_status st = WN_OK;
    for (int64_t i = 0; i < wn_eval_count(ev) && st == WN_OK; i++) {
        const char *id = wn_eval_query(ev, i);
        st = wn_strmap_intern(&m, id, strlen(id), &(int64_t){0}, NULL);
    }
    for (int64_t i = 0; i < e->nq && st == WN_OK; i++) e->eval_row[i] = wn_strmap_find(&m, e->qids[i], strlen(e->qids[i]));
    wn_strmap_free(&m);
    int k = e->p.shift_k;
    for (int64_t s = 0; s < e->n_shift; s++)
        for (int i = 0; i < 2 * k; i++)
            e->shift_grade[(size_t)s * 2 * k + i] =
                i % k < e->shift_n[s] ? wn_qrels_grade(q, e->qids[s], e->shift_ids + ((size_t)s * 2 * k + i) * ID_CAP) : -1;
    return st == WN_OK ? WN_OK : wn_seterr(WN_ERR_NOMEM, "experiment: out of memory");
}

wn_status wn_experiment_evaluate(wn_experiment *e, const wn_qrels *q, int n, const wn_measure *ms) {
    WN_ENTRY();
    if (!e || !q || n < 1 || !ms) return wn_seterr(WN_ERR_ARG, "wn_experiment_evaluate: bad argument (%d measures)", n);
    for (int j = 0; j < e->ns; j++) {
        wn_eval_free(e->st[j].ev);
        e->st[j].ev = NULL;
    }
    wn_free(e->measure_names);
    if (!(e->measure_names = wn_malloc((size_t)n * sizeof *e->measure_names)))
        return wn_seterr(WN_ERR_NOMEM, "experiment: out of memory");
    e->n_measures = n;
    for (int j = 0; j < n; j++) wn_measure_name(ms[j], e->measure_names[j], sizeof e->measure_names[j]);
    for (int j = 0; j < e->ns; j++) {
        wn_status st = wn_eval_create(q, e->st[j].run, n, ms, &e->st[j].ev);
        if (st != WN_OK) return st;
    }
    return map_queries(e, q);
}

wn_status wn_experiment_save_runs(const wn_experiment *e, const char *path) {
    WN_ENTRY();
    if (!e || !path) return wn_seterr(WN_ERR_ARG, "wn_experiment_save_runs: bad argument");
    size_t len = strlen(path) + 40;
    char *p = wn_malloc(len);
    if (!p) return wn_seterr(WN_ERR_NOMEM, "experiment: out of memory");
    wn_status st = WN_OK;
    for (int j = 0; j < e->ns && st == WN_OK; j++) {
        if (j) snprintf(p, len, "%s.%s", path, e->st[j].name);
        else snprintf(p, len, "%s", path);
        char tag[48] = "winnow-";
        size_t tl = strlen(tag);
        for (const char *c = e->st[j].name; *c && tl + 1 < sizeof tag; c++) tag[tl++] = *c == '@' ? '_' : *c;
        tag[tl] = 0;
        st = wn_run_save(e->st[j].run, p, tag, e->p.first_k);
    }
    wn_free(p);
    return st;
}

static void put_latency(FILE *f, const char *key, const double *secs, int64_t n) {
    wn_latency l = wn_latency_of(secs, n);
    fprintf(f, "\"%s\": {\"mean\": %.6g, \"p50\": %.6g, \"p95\": %.6g, \"p99\": %.6g}", key, l.mean, l.p50, l.p95, l.p99);
}

wn_status wn_experiment_write_json(const wn_experiment *e, const char *path) {
    WN_ENTRY();
    if (!e || !path || !e->n_measures) return wn_seterr(WN_ERR_ARG, "wn_experiment_write_json: not evaluated yet");
    wn_atomic_file af;
    wn_status st = wn_atomic_open(&af, path);
    if (st != WN_OK) return st;
    FILE *f = af.f;
    fputs("{\n", f);
    for (int s = 0; s < e->ns; s++) {
        fprintf(f, "  \"%s\": {", e->st[s].name);
        for (int j = 0; j < e->n_measures; j++) fprintf(f, "\"%s\": %.17g, ", e->measure_names[j], wn_eval_mean(e->st[s].ev, j));
        fprintf(f, "\"queries\": %lld, ", (long long)e->nq);
        put_latency(f, "latency_ms", e->st[s].secs, e->nq);
        if (e->st[s].depth) {
            fprintf(f, ", \"k_candidates\": %d, ", e->st[s].depth);
            put_latency(f, "total_latency_ms", e->st[s].total, e->nq);
        }
        fprintf(f, "}%s\n", s + 1 < e->ns ? "," : "");
    }
    fputs("}\n", f);
    if (ferror(f)) {
        wn_atomic_abort(&af);
        return wn_seterr(WN_ERR_IO, "%s: write failed", path);
    }
    return wn_atomic_commit(&af);
}

/* Query i's change on the first measure from the first stage to the last depth. */
static double gain(const wn_experiment *e, int64_t i) {
    int64_t r = e->eval_row[i];
    if (r < 0) return 0;
    return wn_eval_value(e->st[e->ns - 1].ev, r, 0) - wn_eval_value(e->st[0].ev, r, 0);
}

static void fill_shift(const wn_experiment *e, int64_t i, wn_report_shift *sh) {
    int k = e->p.shift_k;
    const char *base = e->shift_ids + (size_t)i * 2 * k * ID_CAP;
    memset(sh, 0, sizeof *sh);
    sh->qid = e->qids[i];
    sh->query = e->queries[i];
    sh->n = e->shift_n[i];
    for (int j = 0; j < sh->n; j++) {
        sh->before[j] = base + (size_t)j * ID_CAP;
        sh->after[j] = base + (size_t)(k + j) * ID_CAP;
        sh->after_from[j] = e->shift_from[(size_t)i * k + j];
        sh->before_grade[j] = e->shift_grade[(size_t)i * 2 * k + j];
        sh->after_grade[j] = e->shift_grade[(size_t)i * 2 * k + k + j];
    }
    int64_t r = e->eval_row[i];
    sh->has_values = 1;
    sh->value_before = r < 0 ? 0 : wn_eval_value(e->st[0].ev, r, 0);
    sh->value_after = r < 0 ? 0 : wn_eval_value(e->st[e->ns - 1].ev, r, 0);
}

/* The queries re-ranking helped most (2) and hurt most (2), then the first ones. */
static int choose_shifts(const wn_experiment *e, wn_report_shift *chosen) {
    int64_t used[4];
    int n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int c = 0; c < 2; c++) {
            int64_t best = -1;
            double bd = 0;
            for (int64_t i = 0; i < e->n_shift; i++) {
                int taken = 0;
                for (int u = 0; u < n; u++) taken |= used[u] == i;
                double d = pass ? -gain(e, i) : gain(e, i);
                if (!taken && e->shift_n[i] > 0 && d > bd) {
                    bd = d;
                    best = i;
                }
            }
            if (best >= 0) used[n++] = best;
        }
    for (int64_t i = 0; i < e->n_shift && n < 4; i++) {
        int taken = 0;
        for (int u = 0; u < n; u++) taken |= used[u] == i;
        if (!taken && e->shift_n[i] > 0) used[n++] = i;
    }
    for (int c = 0; c < n; c++) fill_shift(e, used[c], &chosen[c]);
    return n;
}

wn_status wn_experiment_report(const wn_experiment *e, const char *title, const char *path) {
    WN_ENTRY();
    if (!e || !path || !e->n_measures) return wn_seterr(WN_ERR_ARG, "wn_experiment_report: not evaluated yet");
    int nm = e->n_measures, ns = e->ns;
    const char **names = wn_malloc((size_t)nm * sizeof *names);
    double *vals = wn_calloc((size_t)ns * (size_t)nm + 1, sizeof *vals);
    wn_report_stage *rs = wn_calloc((size_t)ns, sizeof *rs);
    wn_status st = WN_OK;
    if (!names || !vals || !rs) {
        st = wn_seterr(WN_ERR_NOMEM, "experiment: out of memory");
        goto done;
    }
    for (int j = 0; j < nm; j++) names[j] = e->measure_names[j];
    for (int s = 0; s < ns; s++) {
        for (int j = 0; j < nm; j++) vals[s * nm + j] = wn_eval_mean(e->st[s].ev, j);
        rs[s] = (wn_report_stage){e->st[s].name, e->st[s].depth, vals + s * nm, e->st[s].secs, e->st[s].total, e->nq};
    }
    wn_report_shift chosen[4];
    int n_chosen = ns > 1 ? choose_shifts(e, chosen) : 0;
    wn_report r = {title, nm, names, ns, rs, n_chosen, chosen, NULL, 0, NULL};
    st = wn_report_write(&r, path);
done:
    wn_free(names);
    wn_free(vals);
    wn_free(rs);
    return st;
}
