/*
 * metrics.c - P@k, Recall@k, MRR@k, nDCG@k and MAP of a run against graded qrels,
 * per query and averaged, with trec_eval 9.x's conventions (see winnow.h):
 *   order:   score descending, ties by document id descending (comp_sim_docno);
 *   rel:     grade >= 1 is relevant; unjudged documents count as grade 0;
 *   P@k    = |relevant in top k| / k
 *   R@k    = |relevant in top k| / R          (R = relevant judged for the query)
 *   MRR@k  = 1 / rank of the first relevant document within the top k, else 0
 *   nDCG@k = DCG@k / IDCG@k, DCG@k = sum_{i=1..k} max(grade_i, 0) / log2(i + 1),
 *            IDCG@k the same over the judged grades sorted descending (0 when 0)
 *   AP(@k) = sum over relevant ranks i (<= k) of P@i, divided by R
 * A query of the qrels without any relevant document scores 0 on every measure and
 * still counts in the mean (trec_eval does the same); a query of the qrels missing
 * from the run scores 0 (trec_eval -c).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

struct wn_eval {
    int n_measures;
    wn_measure *ms;
    wn_strmap qids;
    double *values; /* (n_queries, n_measures) */
    double *means;  /* (n_measures) */
};

static const char *kind_names[] = {"p", "recall", "mrr", "ndcg", "map"};

static wn_status bad_measure(const char *s, const char *why) {
    return wn_seterr(WN_ERR_ARG, "measure '%.60s': %s", s, why);
}

wn_status wn_measure_parse(const char *s, wn_measure *out) {
    WN_ENTRY();
    if (!s || !out) return wn_seterr(WN_ERR_ARG, "wn_measure_parse: NULL argument");
    char name[16];
    size_t i = 0;
    while (s[i] && s[i] != '@' && i < sizeof name - 1) {
        name[i] = (char)tolower((unsigned char)s[i]);
        i++;
    }
    name[i] = 0;
    int kind = -1;
    for (int k = 0; k < 5; k++)
        if (!strcmp(name, kind_names[k])) kind = k;
    if (!strcmp(name, "precision")) kind = WN_MEASURE_P;
    if (!strcmp(name, "r")) kind = WN_MEASURE_RECALL;
    if (kind < 0) return bad_measure(s, "unknown measure (use p, recall, mrr, ndcg, map)");
    long k = 0;
    if (s[i] == '@') {
        char *end;
        k = strtol(s + i + 1, &end, 10);
        if (end == s + i + 1 || *end || k < 1 || k > 100000000) return bad_measure(s, "the cut-off after @ must be a whole number from 1 to 100000000");
    } else if (s[i]) {
        return bad_measure(s, "unknown measure (use p, recall, mrr, ndcg, map)");
    } else if (kind != WN_MEASURE_MAP) {
        return bad_measure(s, "needs a cut-off, e.g. @10 (only map has none)");
    }
    out->kind = (wn_measure_kind)kind;
    out->k = (int)k;
    return WN_OK;
}

void wn_measure_name(wn_measure m, char *buf, size_t cap) {
    const char *n = (unsigned)m.kind < 5 ? kind_names[m.kind] : "?";
    if (m.k > 0) snprintf(buf, cap, "%s@%d", n, m.k);
    else snprintf(buf, cap, "%s", n);
}

static int cmp_grade_desc(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (y > x) - (y < x);
}

/* The measures of one query. grades[i]: the grade of the i-th retrieved (sorted)
 * document (-1 unjudged); ideal: the judged grades sorted descending; R relevant. */
static double measure_one(wn_measure m, const int *grades, size_t n_ret, const int *ideal, size_t n_judged,
                          size_t R) {
    size_t k = m.k > 0 ? (size_t)m.k : n_ret;
    size_t top = WN_MIN(k, n_ret);
    switch (m.kind) {
    case WN_MEASURE_P: {
        size_t hit = 0;
        for (size_t i = 0; i < top; i++) hit += grades[i] >= 1;
        return (double)hit / (double)k;
    }
    case WN_MEASURE_RECALL: {
        if (!R) return 0;
        size_t hit = 0;
        for (size_t i = 0; i < top; i++) hit += grades[i] >= 1;
        return (double)hit / (double)R;
    }
    case WN_MEASURE_MRR:
        for (size_t i = 0; i < top; i++)
            if (grades[i] >= 1) return 1.0 / (double)(i + 1);
        return 0;
    case WN_MEASURE_NDCG: {
        double dcg = 0, idcg = 0;
        for (size_t i = 0; i < top; i++)
            if (grades[i] > 0) dcg += grades[i] / log2((double)i + 2);
        for (size_t i = 0; i < WN_MIN(k, n_judged); i++)
            if (ideal[i] > 0) idcg += ideal[i] / log2((double)i + 2);
        return idcg > 0 ? dcg / idcg : 0;
    }
    case WN_MEASURE_MAP: {
        if (!R) return 0;
        double sum = 0;
        size_t hit = 0;
        for (size_t i = 0; i < top; i++)
            if (grades[i] >= 1) sum += (double)++hit / (double)(i + 1);
        return sum / (double)R;
    }
    }
    return 0;
}

wn_status wn_eval_create(const wn_qrels *q, const wn_run *r, int n, const wn_measure *ms, wn_eval **out) {
    WN_ENTRY();
    *out = NULL;
    if (!q || !r || n < 1 || !ms) return wn_seterr(WN_ERR_ARG, "wn_eval_create: NULL argument or no measure");
    for (int j = 0; j < n; j++)
        if ((unsigned)ms[j].kind > WN_MEASURE_MAP || ms[j].k < 0 || (ms[j].k == 0 && ms[j].kind != WN_MEASURE_MAP))
            return wn_seterr(WN_ERR_ARG, "wn_eval_create: measure %d has kind %d and cut-off %d", j, (int)ms[j].kind,
                             ms[j].k);
    wn_status st = WN_OK;
    int64_t nq = q->qids.n;
    wn_eval *e = wn_calloc(1, sizeof *e);
    int *grades = NULL, *ideal = NULL;
    size_t gcap = 0, icap = 0;
    char *kb = NULL;
    size_t kcap = 0;
    if (!e) return wn_seterr(WN_ERR_NOMEM, "evaluate: out of memory");
    wn_strmap_init(&e->qids);
    e->n_measures = n;
    e->ms = wn_malloc((size_t)n * sizeof *e->ms);
    e->values = wn_calloc((size_t)(nq ? nq : 1) * (size_t)n, sizeof *e->values);
    e->means = wn_calloc((size_t)n, sizeof *e->means);
    if (!e->ms || !e->values || !e->means) goto nomem;
    memcpy(e->ms, ms, (size_t)n * sizeof *ms);
    for (int64_t qi = 0; qi < nq; qi++) {
        const char *qid = wn_strmap_str(&q->qids, qi);
        int64_t id;
        if ((st = wn_strmap_intern(&e->qids, qid, strlen(qid), &id, NULL)) != WN_OK) goto fail;
        const qrels_list *ql = &q->lists[qi];
        if (wn_grow((void **)&ideal, &icap, ql->n + 1, sizeof *ideal) != WN_OK) goto nomem;
        size_t R = 0;
        for (size_t j = 0; j < ql->n; j++) {
            ideal[j] = q->grades[ql->pair[j]];
            R += ideal[j] >= 1;
        }
        qsort(ideal, ql->n, sizeof *ideal, cmp_grade_desc);
        int64_t rq = wn_strmap_find(&r->qids, qid, strlen(qid));
        size_t n_ret = 0;
        if (rq >= 0) {
            run_list *rl = &r->lists[rq];
            run_sort_list(r, rl);
            if ((st = run_check_dups(r, rq)) != WN_OK) goto fail;
            n_ret = rl->n;
            if (wn_grow((void **)&grades, &gcap, n_ret + 1, sizeof *grades) != WN_OK) goto nomem;
            for (size_t i = 0; i < n_ret; i++) {
                size_t klen;
                if (qrels_pair_key(&kb, &kcap, qid, wn_strmap_str(&r->docs, rl->e[i].doc), &klen) != WN_OK) goto nomem;
                int64_t p = wn_strmap_find(&q->pairs, kb, klen);
                grades[i] = p >= 0 ? q->grades[p] : -1;
            }
        }
        for (int j = 0; j < n; j++) {
            double v = measure_one(ms[j], grades, n_ret, ideal, ql->n, R);
            e->values[qi * n + j] = v;
        }
    }
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int64_t qi = 0; qi < nq; qi++) s += e->values[qi * n + j];
        e->means[j] = nq ? s / (double)nq : 0;
    }
    wn_free(grades);
    wn_free(ideal);
    wn_free(kb);
    *out = e;
    return WN_OK;
nomem:
    st = wn_seterr(WN_ERR_NOMEM, "evaluate: out of memory");
fail:
    wn_free(grades);
    wn_free(ideal);
    wn_free(kb);
    wn_eval_free(e);
    return st;
}

int64_t wn_eval_count(const wn_eval *e) { return e ? e->qids.n : 0; }
const char *wn_eval_query(const wn_eval *e, int64_t i) { return wn_strmap_str(&e->qids, i); }
double wn_eval_value(const wn_eval *e, int64_t query, int measure) { return e->values[query * e->n_measures + measure]; }
double wn_eval_mean(const wn_eval *e, int measure) { return e->means[measure]; }

void wn_eval_free(wn_eval *e) {
    if (!e) return;
    wn_free(e->ms);
    wn_free(e->values);
    wn_free(e->means);
    wn_strmap_free(&e->qids);
    wn_free(e);
}
