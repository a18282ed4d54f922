/* cli_eval.c - winnow eval --index DIR --queries FILE --qrels FILE
 * [--first-stage bm25|dense|hybrid] [--rerank MODEL --k-candidates N[,N...]]
 * [--run FILE] [--json FILE] [--report FILE.html]: runs every judged query through
 * the first stage (top 1000) and each re-ranking depth, evaluates P@k, Recall@k,
 * MRR@k, nDCG@k and MAP (trec_eval conventions, see winnow.h) and per-stage latency. */
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
            "  --rerank MODEL       re-rank with this cross-encoder\n"
            "  --k-candidates LIST  re-ranking depths, e.g. 5,10,20,50,100 (default 100)\n"
            "  --interpolate A      mix in the first-stage score (default 0)\n"
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
    wn_corpus_close(c);
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

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double mean, p50, p95, p99, max;
} lat_stats;

/* nearest-rank percentiles of v[n] seconds, in milliseconds */
static lat_stats latency(const double *v, int n) {
    lat_stats s = {0, 0, 0, 0, 0};
    if (n <= 0) return s;
    double *c = malloc((size_t)n * sizeof *c);
    if (!c) return s;
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += c[i];
    s.mean = sum / n * 1e3;
#define PCT(p) c[(int)ceil((p) / 100.0 * n) - 1 < 0 ? 0 : (int)ceil((p) / 100.0 * n) - 1] * 1e3
    s.p50 = PCT(50);
    s.p95 = PCT(95);
    s.p99 = PCT(99);
#undef PCT
    s.max = c[n - 1] * 1e3;
    free(c);
    return s;
}

typedef struct {
    char name[32];
    int kc;          /* 0: the first stage */
    wn_run *run;
    wn_eval *ev;
    double *secs;    /* (nq) this stage's time per query */
    double *total;   /* (nq) first stage + this stage */
} stage;

static int write_json(const char *path, stage *sg, int ns, const wn_measure *ms, int nm, int64_t nq) {
    char *tmp = malloc(strlen(path) + 8);
    if (!tmp) return cli_error("eval: out of memory");
    sprintf(tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(tmp);
        return cli_error("eval: cannot write %s", path);
    }
    fputs("{\n", f);
    for (int s = 0; s < ns; s++) {
        fprintf(f, "  \"%s\": {", sg[s].name);
        for (int j = 0; j < nm; j++) {
            char name[32];
            wn_measure_name(ms[j], name, sizeof name);
            fprintf(f, "\"%s\": %.17g, ", name, wn_eval_mean(sg[s].ev, j));
        }
        lat_stats l = latency(sg[s].secs, (int)nq);
        fprintf(f, "\"queries\": %lld, \"latency_ms\": {\"mean\": %.6g, \"p50\": %.6g, \"p95\": %.6g, \"p99\": %.6g}",
                (long long)nq, l.mean, l.p50, l.p95, l.p99);
        if (sg[s].kc) {
            l = latency(sg[s].total, (int)nq);
            fprintf(f, ", \"k_candidates\": %d, \"total_latency_ms\": {\"mean\": %.6g, \"p50\": %.6g, \"p95\": %.6g, \"p99\": %.6g}",
                    sg[s].kc, l.mean, l.p50, l.p95, l.p99);
        }
        fprintf(f, "}%s\n", s + 1 < ns ? "," : "");
    }
    fputs("}\n", f);
    int bad = ferror(f) | fclose(f);
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        free(tmp);
        return cli_error("eval: cannot write %s", path);
    }
    free(tmp);
    return 0;
}

/* --- shift examples for the report: top 10 before and after the deepest re-ranking,
 * kept for the first MAX_SHIFT queries; the report shows the 2 that re-ranking helped
 * most and the 2 it hurt most on the first measure (else the first ones). */
#define N_SHIFT 4
#define SHIFT_K 10
#define MAX_SHIFT 2000

int cli_eval_report(const char *path, const char *title, stage *sg, int ns, const wn_measure *ms, int nm, int64_t nq,
                    const wn_report_shift *shifts, int n_shifts);

/* A comma-separated list of measures into ms[MAX_MEASURES]; 0 (after saying why)
 * on an unknown name or too many. */
#define MAX_MEASURES 64
static int parse_measures(const char *list, wn_measure *ms, int *nm) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", list);
    *nm = 0;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (*nm == MAX_MEASURES || wn_measure_parse(t, &ms[*nm]) != 0)
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
        if ((st = wn_evaluate(q, r, nm, ms, &e)) != WN_OK) {
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
            fprintf(jf, "\"queries\": %lld}", (long long)wn_eval_num_queries(e));
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

int cmd_eval(int argc, char **argv) {
    cli_pipeline_opts o;
    cli_pipeline_opts_init(&o);
    const char *qpath = NULL, *qrpath = NULL, *run_path = NULL, *json_path = NULL, *report = NULL;
    const char *measures = DEFAULT_MEASURES, *kcs = NULL, *from_run = NULL;
    long first_k = 1000, max_q = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            eval_usage(stdout);
            return 0;
        }
        int used = cli_pipeline_opt("eval", argc, argv, i, &o);
        if (used < 0) return 2;
        if (used > 0) {
            i += used - 1;
            continue;
        }
        if (!val) {
            cli_error("eval: unknown option or missing value '%s'", a);
            eval_usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--queries")) qpath = val;
        else if (!strcmp(a, "--qrels")) qrpath = val;
        else if (!strcmp(a, "--run")) run_path = val;
        else if (!strcmp(a, "--json")) json_path = val;
        else if (!strcmp(a, "--report")) report = val;
        else if (!strcmp(a, "--measures")) measures = val;
        else if (!strcmp(a, "--from-run")) from_run = val;
        else if (!strcmp(a, "--k-candidates")) kcs = val;
        else if (!strcmp(a, "--first-k")) {
            if (!cli_parse_int(a, val, 1, 100000, &first_k)) return 2;
        } else if (!strcmp(a, "--max-queries")) {
            if (!cli_parse_int(a, val, 1, 100000000, &max_q)) return 2;
        } else {
            cli_error("eval: unknown option '%s'", a);
            eval_usage(stderr);
            return 2;
        }
    }
    if (from_run && qrpath) return eval_runs(from_run, qrpath, measures, json_path);
    if (!o.index || !qpath || !qrpath) {
        cli_error("eval: --index, --queries and --qrels are required (or --qrels and --from-run)");
        eval_usage(stderr);
        return 2;
    }
    if (kcs && !o.p.rerank_model) return cli_error("eval: --k-candidates needs --rerank MODEL"), 2;
    /* measures and depths */
    wn_measure ms[MAX_MEASURES];
    int nm;
    if (!parse_measures(measures, ms, &nm)) return 2;
    char buf[512];
    int kc[MAX_K], nk = 0;
    if (o.p.rerank_model) {
        snprintf(buf, sizeof buf, "%s", kcs ? kcs : "100");
        for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
            long v;
            if (nk == MAX_K || !cli_parse_int("--k-candidates", t, 1, first_k, &v)) return 2;
            kc[nk++] = (int)v;
        }
    }
    query_set qs;
    if (!load_queries(qpath, &qs)) return 1;
    wn_qrels *qrels = NULL;
    wn_searcher *s = NULL;
    stage sg[MAX_K + 1];
    memset(sg, 0, sizeof sg);
    int ns = 1 + nk, rc = 0;
    wn_hit *first = NULL, *rr = NULL;
    int *qmap = NULL;
    wn_report_shift *shifts = NULL, chosen[N_SHIFT];
    char *shift_buf = NULL;
    int n_shifts = 0, n_chosen = 0;
    int64_t *qrels_idx = NULL;
    wn_status st = wn_qrels_load(qrpath, &qrels);
    if (st != WN_OK) {
        rc = cli_lib_error("eval", st);
        goto done;
    }
    if ((st = cli_pipeline_open(&o, &s)) != WN_OK) {
        rc = cli_lib_error("eval", st);
        goto done;
    }
    wn_store *store = wn_searcher_store(s);
    check_qrels_docs(qrpath, store);
    /* the judged queries, in qrels order */
    int64_t nj = wn_qrels_num_queries(qrels), nq = 0, missing = 0;
    qmap = malloc((size_t)nj * sizeof *qmap);
    qrels_idx = malloc((size_t)nj * sizeof *qrels_idx);
    if (!qmap || !qrels_idx) {
        rc = cli_error("eval: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < nj; i++) {
        const char *id = wn_qrels_query(qrels, i);
        int f = find_query(&qs, id);
        if (f < 0) {
            if (!missing++)
                fprintf(stderr, "winnow eval: warning: %s judges query '%s' that %s does not hold", qrpath, id, qpath);
            continue;
        }
        if (max_q && nq == max_q) continue;
        qrels_idx[nq] = i;
        qmap[nq++] = f;
    }
    if (missing) fprintf(stderr, "%s\n", missing > 1 ? " (and others: they score 0)" : " (it scores 0)");
    if (!nq) {
        rc = cli_error("eval: no query of %s is judged in %s", qpath, qrpath);
        goto done;
    }
    const char *fname = wn_first_stage_name(o.p.first_stage);
    for (int j = 0; j < ns; j++) {
        if (j == 0) snprintf(sg[j].name, sizeof sg[j].name, "%s", fname);
        else {
            snprintf(sg[j].name, sizeof sg[j].name, "rerank@%d", kc[j - 1]);
            sg[j].kc = kc[j - 1];
        }
        sg[j].secs = calloc((size_t)nq, sizeof(double));
        sg[j].total = calloc((size_t)nq, sizeof(double));
        if (!sg[j].secs || !sg[j].total || wn_run_create(&sg[j].run) != WN_OK) {
            rc = cli_error("eval: out of memory");
            goto done;
        }
    }
    first = malloc((size_t)first_k * sizeof *first);
    rr = malloc((size_t)first_k * sizeof *rr);
    int max_shift = nq < MAX_SHIFT ? (int)nq : MAX_SHIFT;
    shift_buf = calloc((size_t)max_shift * 2 * SHIFT_K, 64);
    shifts = calloc((size_t)max_shift, sizeof *shifts);
    if (!first || !rr || !shift_buf || !shifts) {
        rc = cli_error("eval: out of memory");
        goto done;
    }
    cli_progress pr;
    cli_progress_init(&pr);
    for (int64_t qi = 0; qi < nq; qi++) {
        const char *qid = qs.ids[qmap[qi]], *qtext = qs.texts[qmap[qi]];
        int n;
        double t1;
        if ((st = wn_searcher_first(s, qtext, (int)first_k, first, &n, &t1)) != WN_OK) break;
        sg[0].secs[qi] = sg[0].total[qi] = t1;
        for (int i = 0; i < n && st == WN_OK; i++) {
            wn_doc d;
            if ((st = wn_store_get(store, first[i].row, &d)) == WN_OK) st = wn_run_add(sg[0].run, qid, d.id, first[i].score);
        }
        for (int j = 1; j < ns && st == WN_OK; j++) {
            double t2;
            int m = n < sg[j].kc ? n : sg[j].kc;
            if ((st = wn_searcher_rerank(s, qtext, first, n, m, rr, &t2)) != WN_OK) break;
            sg[j].secs[qi] = t2;
            sg[j].total[qi] = t1 + t2;
            for (int i = 0; i < n && st == WN_OK; i++) {
                wn_doc d;
                if ((st = wn_store_get(store, rr[i].row, &d)) == WN_OK) st = wn_run_add(sg[j].run, qid, d.id, rr[i].score);
            }
            if (j == ns - 1 && n_shifts < max_shift && qi == n_shifts) { /* the deepest re-ranking */
                wn_report_shift *sh = &shifts[n_shifts];
                sh->qid = qid;
                sh->query = qtext;
                sh->n = n < SHIFT_K ? n : SHIFT_K;
                char *base = shift_buf + (size_t)n_shifts * 2 * SHIFT_K * 64;
                for (int i = 0; i < sh->n; i++) {
                    wn_doc d;
                    if (wn_store_get(store, first[i].row, &d) == WN_OK) snprintf(base + i * 64, 64, "%s", d.id);
                    sh->before[i] = base + i * 64;
                    if (wn_store_get(store, rr[i].row, &d) == WN_OK) snprintf(base + (SHIFT_K + i) * 64, 64, "%s", d.id);
                    sh->after[i] = base + (SHIFT_K + i) * 64;
                    sh->after_from[i] = rr[i].first_rank;
                    sh->before_grade[i] = wn_qrels_grade(qrels, qid, sh->before[i]);
                    sh->after_grade[i] = wn_qrels_grade(qrels, qid, sh->after[i]);
                }
                n_shifts++;
            }
        }
        if (st != WN_OK) break;
        cli_progress_cb(&pr, "queries", (uint64_t)qi + 1, (uint64_t)nq);
    }
    cli_progress_end(&pr);
    if (st != WN_OK) {
        rc = cli_lib_error("eval", st);
        goto done;
    }
    for (int j = 0; j < ns; j++)
        if ((st = wn_evaluate(qrels, sg[j].run, nm, ms, &sg[j].ev)) != WN_OK) {
            rc = cli_lib_error("eval", st);
            goto done;
        }
    /* the table */
    printf("%-14s", "stage");
    for (int j = 0; j < nm; j++) {
        char name[32];
        wn_measure_name(ms[j], name, sizeof name);
        printf(" %11s", name);
    }
    printf("  %9s %9s %9s\n", "ms mean", "ms p50", "ms p99");
    for (int s2 = 0; s2 < ns; s2++) {
        printf("%-14s", sg[s2].name);
        for (int j = 0; j < nm; j++) printf(" %11.4f", wn_eval_mean(sg[s2].ev, j));
        lat_stats l = latency(sg[s2].secs, (int)nq);
        printf("  %9.3f %9.3f %9.3f\n", l.mean, l.p50, l.p99);
    }
    printf("(%lld queries judged in %s; latency: this stage alone, per query)\n", (long long)nq, qrpath);
    if (run_path) {
        for (int j = 0; j < ns && !rc; j++) {
            char *p = malloc(strlen(run_path) + 32);
            if (!p) {
                rc = cli_error("eval: out of memory");
                break;
            }
            if (j == 0) strcpy(p, run_path);
            else sprintf(p, "%s.%s", run_path, sg[j].name);
            char tag[48] = "winnow-";
            size_t tl = strlen(tag);
            for (const char *c = sg[j].name; *c && tl + 1 < sizeof tag; c++) tag[tl++] = *c == '@' ? '_' : *c;
            tag[tl] = 0;
            if ((st = wn_run_save(sg[j].run, p, tag, (int)first_k)) != WN_OK) rc = cli_lib_error("eval", st);
            free(p);
        }
    }
    if (!rc && json_path) rc = write_json(json_path, sg, ns, ms, nm, nq);
    if (!rc && report) {
        char t[512];
        snprintf(t, sizeof t, "%s on %s (%lld queries)", fname, o.index, (long long)nq);
        /* the queries re-ranking helped most (2) and hurt most (2) on the first measure */
        int used[N_SHIFT];
        for (int pass = 0; pass < 2 && ns > 1; pass++)
            for (int c = 0; c < N_SHIFT / 2; c++) {
                int best = -1;
                double bd = 0;
                for (int i = 0; i < n_shifts; i++) {
                    int taken = 0;
                    for (int u = 0; u < n_chosen; u++) taken |= used[u] == i;
                    double d = wn_eval_value(sg[ns - 1].ev, qrels_idx[i], 0) - wn_eval_value(sg[0].ev, qrels_idx[i], 0);
                    if (pass) d = -d;
                    if (!taken && shifts[i].n > 0 && d > bd) {
                        bd = d;
                        best = i;
                    }
                }
                if (best >= 0) {
                    used[n_chosen] = best;
                    chosen[n_chosen++] = shifts[best];
                }
            }
        for (int i = 0; i < n_shifts && n_chosen < N_SHIFT; i++) {
            int taken = 0;
            for (int u = 0; u < n_chosen; u++) taken |= used[u] == i;
            if (!taken && shifts[i].n > 0) {
                used[n_chosen] = i;
                chosen[n_chosen++] = shifts[i];
            }
        }
        for (int c = 0; c < n_chosen && ns > 1; c++) {
            chosen[c].has_values = 1;
            chosen[c].value_before = wn_eval_value(sg[0].ev, qrels_idx[used[c]], 0);
            chosen[c].value_after = wn_eval_value(sg[ns - 1].ev, qrels_idx[used[c]], 0);
        }
        rc = cli_eval_report(report, t, sg, ns, ms, nm, nq, chosen, n_chosen);
    }
done:
    for (int j = 0; j < ns; j++) {
        wn_run_free(sg[j].run);
        wn_eval_free(sg[j].ev);
        free(sg[j].secs);
        free(sg[j].total);
    }
    free(first);
    free(rr);
    free(qmap);
    free(shift_buf);
    free(shifts);
    free(qrels_idx);
    wn_searcher_close(s);
    wn_qrels_free(qrels);
    free_queries(&qs);
    return rc;
}

int cli_eval_report(const char *path, const char *title, stage *sg, int ns, const wn_measure *ms, int nm, int64_t nq,
                    const wn_report_shift *shifts, int n_shifts) {
    char names[64][32];
    const char *np[64];
    double *vals = calloc((size_t)ns * (size_t)nm + 1, sizeof *vals);
    wn_report_stage *rs = calloc((size_t)ns, sizeof *rs);
    if (!vals || !rs) {
        free(vals);
        free(rs);
        return cli_error("eval: out of memory");
    }
    for (int j = 0; j < nm; j++) {
        wn_measure_name(ms[j], names[j], sizeof names[j]);
        np[j] = names[j];
    }
    for (int s = 0; s < ns; s++) {
        for (int j = 0; j < nm; j++) vals[s * nm + j] = wn_eval_mean(sg[s].ev, j);
        rs[s].name = sg[s].name;
        rs[s].k_candidates = sg[s].kc;
        rs[s].values = vals + s * nm;
        rs[s].latency_s = sg[s].secs;
        rs[s].total_s = sg[s].total;
        rs[s].n_queries = nq;
    }
    wn_report r = {title, nm, np, ns, rs, n_shifts, shifts};
    wn_status st = wn_report_write(&r, path);
    free(vals);
    free(rs);
    if (st != WN_OK) return cli_lib_error("eval", st);
    fprintf(stderr, "winnow eval: report written to %s\n", path);
    return 0;
}
