/* cli_eval.c - winnow eval --index DIR --queries FILE --qrels FILE
 * [--first-stage bm25|dense|hybrid] [--rerank MODEL --k-candidates N[,N...]]
 * [--run FILE] [--json FILE] [--report FILE.html]: runs every judged query through
 * the first stage (top 1000) and each re-ranking depth, evaluates P@k, Recall@k,
 * MRR@k, nDCG@k and MAP (trec_eval conventions, see winnow.h) and per-stage latency.
 * The stages, the sweep over depths, timings, run files, JSON and report are the
 * library's (wn_experiment_*); this file reads the queries, picks the judged ones and
 * prints the table. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_pipeline.h"

#define MAX_K 32
#define DEFAULT_MEASURES "ndcg@10,ndcg@100,map,mrr@10,recall@10,recall@100,recall@1000,p@1,p@3,p@10"

static void eval_usage(FILE *f) {
    fprintf(f,
            "usage: winnow eval --index DIR --queries FILE --qrels FILE [options]\n"
            "  --queries FILE       BEIR queries.jsonl ({\"_id\", \"text\"})\n"
            "  --qrels FILE         BEIR qrels tsv (query-id corpus-id score) or TREC qrels\n"
            "  --first-stage S      bm25|dense|hybrid (default: bm25 if the index has it)\n"
            "  --fusion, --rrf-k, --dense-weight, --dense, --depth: as winnow search\n"
            "  --query-prompt-name, --query-prompt, --dimensions: as winnow search\n"
            "  --rerank MODEL       re-rank with this cross-encoder\n"
            "  --k-candidates LIST  re-ranking depths, e.g. 5,10,20,50,100 (default 100)\n"
            "  --interpolate A      mix in the first-stage score (default: the cross-encoder's own, 0 for most)\n"
            "  --first-k N          first-stage list length evaluated (default 1000)\n"
            "  --measures LIST      default " DEFAULT_MEASURES "\n"
            "  --run FILE           TREC run of the first stage (top first-k per query);\n"
            "                       with --rerank also FILE.rerank@N per depth\n"
            "  --json FILE          {stage: {measure: value, ..., latency_ms: {...}}}\n"
            "  --report FILE.html   a self-contained HTML report\n"
            "  --max-queries N      evaluate only the first N judged queries\n"
            "  --threads N          model threads\n"
            "or: winnow eval --qrels FILE --from-run RUN[,RUN...] [--measures LIST] [--json FILE]\n"
            "  evaluates existing TREC run files (as trec_eval -c would), one row per run\n");
}

typedef struct {
    char **ids, **texts;
    long *lines; /* (n) line of each query */
    struct qref {
        const char *id;
        int i;
    } *by_id;    /* (n) sorted by id, for lookups */
    int n;
} query_set;

static int cmp_qid(const void *a, const void *b) {
    const struct qref *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : x->i - y->i;
}

/* the index of query id, or -1 */
static int find_query(const query_set *q, const char *id) {
    int lo = 0, hi = q->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(q->by_id[mid].id, id);
        if (!c) return q->by_id[mid].i;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

static void free_queries(query_set *q) {
    for (int i = 0; i < q->n; i++) {
        free(q->ids[i]);
        free(q->texts[i]);
    }
    free(q->ids);
    free(q->texts);
    free(q->lines);
    free(q->by_id);
}

/* BEIR queries.jsonl, read by the library's corpus reader (JSONL with "_id" and
 * "text"); malformed lines, empty texts and duplicate ids are errors. */
static int load_queries(const char *path, query_set *q) {
    memset(q, 0, sizeof *q);
    wn_corpus_params cp = wn_corpus_default_params();
    cp.format = WN_CORPUS_JSONL;
    cp.id_field = "_id", cp.text_field = "text", cp.title_field = "\x01no title"; /* queries have none */
    wn_corpus *c = NULL;
    if (wn_corpus_open(!path || !strcmp(path, "-") ? "/dev/stdin" : path, &cp, &c) != WN_OK)
        return !cli_error("eval: %s", wn_last_error());
    int ok = 1, qcap = 0, got = 0;
    wn_doc d;
    while (ok) {
        if (wn_corpus_next(c, &d, &got) != WN_OK) {
            ok = !cli_error("eval: %s", wn_last_error());
            break;
        }
        if (!got) break;
        const char *t = d.text;
        while (*t == ' ' || *t == '\t') t++;
        if (!*t) ok = !cli_error("eval: %s:%ld: query '%s' is empty", path, (long)d.line, d.id);
        if (ok) {
            if (q->n == qcap) {
                qcap = qcap ? qcap * 2 : 256;
                char **a = realloc(q->ids, (size_t)qcap * sizeof *a), **b = a ? realloc(q->texts, (size_t)qcap * sizeof *b) : NULL;
                long *e = b ? realloc(q->lines, (size_t)qcap * sizeof *e) : NULL;
                if (a) q->ids = a;
                if (b) q->texts = b;
                if (e) q->lines = e;
                if (!a || !b || !e) ok = !cli_error("eval: out of memory");
            }
            if (ok) {
                q->ids[q->n] = strdup(d.id);
                q->texts[q->n] = strdup(d.text);
                q->lines[q->n] = (long)d.line;
                q->n++;
                if (!q->ids[q->n - 1] || !q->texts[q->n - 1]) ok = !cli_error("eval: out of memory");
            }
        }
    }
    wn_corpus_free(c);
    if (ok && !q->n) ok = !cli_error("eval: %s: no queries", path);
    if (ok && !(q->by_id = malloc((size_t)q->n * sizeof *q->by_id))) ok = !cli_error("eval: out of memory");
    if (ok) { /* duplicates: adjacent once sorted by id (then by position) */
        for (int i = 0; i < q->n; i++) {
            q->by_id[i].id = q->ids[i];
            q->by_id[i].i = i;
        }
        qsort(q->by_id, (size_t)q->n, sizeof *q->by_id, cmp_qid);
        for (int i = 1; i < q->n && ok; i++) {
            int a = q->by_id[i - 1].i, b = q->by_id[i].i;
            if (!strcmp(q->ids[a], q->ids[b]))
                ok = !cli_error("eval: %s:%ld: duplicate query id '%s' (first at line %ld)", path, q->lines[b], q->ids[b],
                                q->lines[a]);
        }
    }
    if (!ok) free_queries(q);
    return ok;
}

/* Warns about judgments naming documents the index does not hold (file:line). */
static void check_qrels_docs(const char *path, wn_store *st) {
    FILE *f = fopen(path, "rb");
    if (!f) return;
    char *line = NULL;
    size_t cap = 0;
    long ln = 0, bad = 0, first = 0;
    char first_doc[128] = "";
    while (getline(&line, &cap, f) >= 0) {
        ln++;
        char *c[4];
        int n = 0;
        for (char *t = strtok(line, " \t\r\n"); t && n < 4; t = strtok(NULL, " \t\r\n")) c[n++] = t;
        if (n < 3 || (ln == 1 && n == 3 && !strcmp(c[1], "corpus-id"))) continue;
        const char *doc = n == 4 ? c[2] : c[1];
        int64_t row;
        if (wn_store_find(st, doc, &row) != WN_OK) {
            if (!bad++) {
                first = ln;
                snprintf(first_doc, sizeof first_doc, "%s", doc);
            }
        }
    }
    free(line);
    fclose(f);
    if (bad)
        fprintf(stderr, "winnow eval: warning: %s: %ld judgments name documents not in the index (first %s:%ld, '%s'); "
                        "they count as relevant documents never retrieved\n", path, bad, path, first, first_doc);
}

/* A comma-separated list of measures into ms[MAX_MEASURES]; 0 (after saying why)
 * on an unknown name or too many. */
#define MAX_MEASURES 64
static int parse_measures(const char *list, wn_measure *ms, int *nm) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", list);
    *nm = 0;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (*nm == MAX_MEASURES || wn_measure_parse(t, &ms[*nm]) != WN_OK)
            return cli_error("eval: unknown measure '%s' (p@k, recall@k, mrr@k, ndcg@k, map, map@k)", t), 0;
        (*nm)++;
    }
    return 1;
}

/* --from-run: existing run files against qrels, like trec_eval -c */
static int eval_runs(const char *list, const char *qrpath, const char *measures, const char *json_path) {
    wn_measure ms[MAX_MEASURES];
    int nm;
    if (!parse_measures(measures, ms, &nm)) return 2;
    char buf[4096];
    wn_qrels *q;
    wn_status st = wn_qrels_load(qrpath, &q);
    if (st != WN_OK) return cli_lib_error("eval", st);
    FILE *jf = NULL;
    char jtmp[4096];
    snprintf(jtmp, sizeof jtmp, "%s.tmp", json_path ? json_path : "");
    if (json_path && !(jf = fopen(jtmp, "wb"))) {
        wn_qrels_free(q);
        return cli_error("eval: cannot write %s", jtmp);
    }
    if (jf) fputs("{\n", jf);
    printf("%-24s", "run");
    for (int j = 0; j < nm; j++) {
        char name[32];
        wn_measure_name(ms[j], name, sizeof name);
        printf(" %11s", name);
    }
    printf("\n");
    snprintf(buf, sizeof buf, "%s", list);
    int rc = 0, first = 1;
    char *save = NULL;
    for (char *path = strtok_r(buf, ",", &save); path && !rc; path = strtok_r(NULL, ",", &save)) {
        wn_run *r;
        wn_eval *e;
        if ((st = wn_run_load(path, &r)) != WN_OK) {
            rc = cli_lib_error("eval", st);
            break;
        }
        if ((st = wn_eval_create(q, r, nm, ms, &e)) != WN_OK) {
            wn_run_free(r);
            rc = cli_lib_error("eval", st);
            break;
        }
        printf("%-24s", path);
        for (int j = 0; j < nm; j++) printf(" %11.4f", wn_eval_mean(e, j));
        printf("\n");
        if (jf) {
            fprintf(jf, "%s  ", first ? "" : ",\n");
            cli_print_json_string(jf, path);
            fputs(": {", jf);
            for (int j = 0; j < nm; j++) {
                char name[32];
                wn_measure_name(ms[j], name, sizeof name);
                fprintf(jf, "\"%s\": %.17g, ", name, wn_eval_mean(e, j));
            }
            fprintf(jf, "\"queries\": %lld}", (long long)wn_eval_count(e));
            first = 0;
        }
        wn_eval_free(e);
        wn_run_free(r);
    }
    if (jf) {
        fputs("\n}\n", jf);
        if (fclose(jf) != 0 && !rc) rc = cli_error("eval: cannot write %s", json_path);
        if (!rc && rename(jtmp, json_path) != 0) rc = cli_error("eval: cannot write %s", json_path);
        if (rc) remove(jtmp);
    }
    wn_qrels_free(q);
    return rc;
}

/* The command line of winnow eval. */
typedef struct {
    cli_pipeline_opts o;
    const char *qpath, *qrpath, *run_path, *json_path, *report, *measures, *kcs, *from_run;
    long first_k, max_q;
    wn_measure ms[MAX_MEASURES];
    int nm, kc[MAX_K], nk;
} eval_args;

/* 0 ok, 1 done (--help), 2 usage error (said). */
static int parse_args(int argc, char **argv, eval_args *e) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return eval_usage(stdout), 1;
        int used = cli_pipeline_opt("eval", argc, argv, i, &e->o);
        if (used < 0) return 2;
        if (used > 0) {
            i += used - 1;
            continue;
        }
        if (!val) return cli_error("eval: unknown option or missing value '%s'", a), eval_usage(stderr), 2;
        i++;
        if (!strcmp(a, "--queries")) e->qpath = val;
        else if (!strcmp(a, "--qrels")) e->qrpath = val;
        else if (!strcmp(a, "--run")) e->run_path = val;
        else if (!strcmp(a, "--json")) e->json_path = val;
        else if (!strcmp(a, "--report")) e->report = val;
        else if (!strcmp(a, "--measures")) e->measures = val;
        else if (!strcmp(a, "--from-run")) e->from_run = val;
        else if (!strcmp(a, "--k-candidates")) e->kcs = val;
        else if (!strcmp(a, "--first-k")) {
            if (!cli_parse_int(a, val, 1, 100000, &e->first_k)) return 2;
        } else if (!strcmp(a, "--max-queries")) {
            if (!cli_parse_int(a, val, 1, 100000000, &e->max_q)) return 2;
        } else return cli_error("eval: unknown option '%s'", a), eval_usage(stderr), 2;
    }
    return 0;
}

/* Measures and re-ranking depths; 0 ok, 2 usage error (said). */
static int check_args(eval_args *e) {
    if (!e->o.index || !e->qpath || !e->qrpath) {
        cli_error("eval: --index, --queries and --qrels are required (or --qrels and --from-run)");
        return eval_usage(stderr), 2;
    }
    if (e->kcs && !e->o.p.rerank_model) return cli_error("eval: --k-candidates needs --rerank MODEL"), 2;
    if (!parse_measures(e->measures, e->ms, &e->nm)) return 2;
    if (!e->o.p.rerank_model) return 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", e->kcs ? e->kcs : "100");
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        long v;
        if (e->nk == MAX_K || !cli_parse_int("--k-candidates", t, 1, e->first_k, &v)) return 2;
        e->kc[e->nk++] = (int)v;
    }
    return 0;
}

/* The judged queries that the queries file holds, in qrels order (at most max_q):
 * their ids and texts into qids/texts (room for every judged query); *nq of them. */
static int judged_queries(const eval_args *e, const query_set *qs, const wn_qrels *qrels, const char **qids,
                          const char **texts, int64_t *nq) {
    int64_t nj = wn_qrels_count(qrels), missing = 0;
    *nq = 0;
    for (int64_t i = 0; i < nj; i++) {
        const char *id = wn_qrels_query(qrels, i);
        int f = find_query(qs, id);
        if (f < 0) {
            if (!missing++)
                fprintf(stderr, "winnow eval: warning: %s judges query '%s' that %s does not hold", e->qrpath, id, e->qpath);
            continue;
        }
        if (e->max_q && *nq == e->max_q) continue;
        qids[*nq] = qs->ids[f];
        texts[(*nq)++] = qs->texts[f];
    }
    if (missing) fprintf(stderr, "%s\n", missing > 1 ? " (and others: they score 0)" : " (it scores 0)");
    if (!*nq) return cli_error("eval: no query of %s is judged in %s", e->qpath, e->qrpath);
    return 0;
}

static void print_table(const wn_experiment *x, const eval_args *e) {
    printf("%-14s", "stage");
    for (int j = 0; j < e->nm; j++) {
        char name[32];
        wn_measure_name(e->ms[j], name, sizeof name);
        printf(" %11s", name);
    }
    printf("  %9s %9s %9s\n", "ms mean", "ms p50", "ms p99");
    int64_t nq = wn_experiment_count(x);
    for (int s = 0; s < wn_experiment_num_stages(x); s++) {
        printf("%-14s", wn_experiment_stage_name(x, s));
        for (int j = 0; j < e->nm; j++) printf(" %11.4f", wn_eval_mean(wn_experiment_eval(x, s), j));
        wn_latency l = wn_latency_of(wn_experiment_seconds(x, s, 0), nq);
        printf("  %9.3f %9.3f %9.3f\n", l.mean, l.p50, l.p99);
    }
    printf("(%lld queries judged in %s; latency: this stage alone, per query)\n", (long long)nq, e->qrpath);
}

/* The outputs asked for: run files, JSON, report. */
static wn_status write_outputs(const wn_experiment *x, const eval_args *e) {
    wn_status st = WN_OK;
    if (e->run_path) st = wn_experiment_save_runs(x, e->run_path);
    if (st == WN_OK && e->json_path) st = wn_experiment_write_json(x, e->json_path);
    if (st == WN_OK && e->report) {
        char t[512];
        snprintf(t, sizeof t, "%s on %s (%lld queries)", wn_first_stage_name(e->o.p.first_stage), e->o.index,
                 (long long)wn_experiment_count(x));
        if ((st = wn_experiment_report(x, t, e->report)) == WN_OK)
            fprintf(stderr, "winnow eval: report written to %s\n", e->report);
    }
    return st;
}

/* Every judged query through the searcher's stages, evaluated and written out. */
static int run_eval(const eval_args *e, const query_set *qs, wn_qrels *qrels, wn_searcher *s) {
    check_qrels_docs(e->qrpath, wn_searcher_store(s));
    size_t nj = (size_t)wn_qrels_count(qrels) + 1;
    const char **qids = malloc(nj * sizeof *qids), **texts = malloc(nj * sizeof *texts);
    int64_t nq = 0;
    wn_experiment *x = NULL;
    int rc = !qids || !texts ? cli_error("eval: out of memory") : judged_queries(e, qs, qrels, qids, texts, &nq);
    if (!rc) {
        cli_progress pr;
        cli_progress_init(&pr);
        wn_experiment_params xp = wn_experiment_default_params();
        xp.first_k = (int)e->first_k;
        xp.n_depths = e->nk;
        xp.depths = e->kc;
        xp.progress = cli_progress_cb;
        xp.progress_ud = &pr;
        wn_status st = wn_experiment_run(s, nq, qids, texts, &xp, &x);
        cli_progress_end(&pr);
        if (st == WN_OK) st = wn_experiment_evaluate(x, qrels, e->nm, e->ms);
        if (st == WN_OK) print_table(x, e);
        if (st == WN_OK) st = write_outputs(x, e);
        if (st != WN_OK) rc = cli_lib_error("eval", st);
    }
    wn_experiment_free(x);
    free(qids);
    free(texts);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    eval_args e;
    memset(&e, 0, sizeof e);
    cli_pipeline_opts_init(&e.o);
    e.measures = DEFAULT_MEASURES;
    e.first_k = 1000;
    int rc = parse_args(argc, argv, &e);
    if (rc) return rc == 1 ? 0 : rc;
    if (e.from_run && e.qrpath) return eval_runs(e.from_run, e.qrpath, e.measures, e.json_path);
    if ((rc = check_args(&e)) != 0) return rc;
    query_set qs;
    if (!load_queries(e.qpath, &qs)) return 1;
    wn_qrels *qrels = NULL;
    wn_searcher *s = NULL;
    wn_status st = wn_qrels_load(e.qrpath, &qrels);
    if (st == WN_OK) st = cli_pipeline_open(&e.o, &s);
    rc = st != WN_OK ? cli_lib_error("eval", st) : run_eval(&e, &qs, qrels, s);
    wn_searcher_free(s);
    wn_qrels_free(qrels);
    free_queries(&qs);
    return rc;
}
