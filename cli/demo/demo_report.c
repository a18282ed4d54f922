/*
 * demo_report.c - the end of `winnow demo`: DIR/report.html, one self-contained page
 * written by the library's report writer (wn_report_write, src/eval/report.c) from
 * the demo's numbers laid out as tables (seed notebook, stages with nDCG@10 bars, the
 * k sweep, ANN) above the k sweep's charts, and DIR/results.json with the same numbers
 * for scripts and tests. Both are written to a temporary file, flushed to disk and
 * renamed into place.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

#define MAX_CELLS 1024

/* Text cells of the report's tables, formatted into one pool. */
typedef struct {
    char text[MAX_CELLS][96];
    const char *cell[MAX_CELLS];
    int n;
} cells;

static const char *const *row(cells *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends the cells of fmt ('|' between them); the first cell of the pool's row. */
static const char *const *row(cells *c, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    int first = c->n;
    for (char *p = line, *bar; p && c->n < MAX_CELLS; p = bar ? bar + 1 : NULL) {
        bar = strchr(p, '|');
        if (bar) *bar = 0;
        size_t l = strlen(p) < sizeof c->text[0] ? strlen(p) : sizeof c->text[0] - 1;
        memcpy(c->text[c->n], p, l);
        c->text[c->n][l] = 0;
        c->cell[c->n] = c->text[c->n];
        c->n++;
    }
    return c->cell + first;
}

static const char *const seed_cols[] = {"stage", "P@3", "MRR", "ms / query"};
static const char *const stage_cols[] = {"stage", "P@3", "MRR@10", "nDCG@10", "Recall@100", "first stage ms", "re-rank ms",
                                         "total ms", "run"};
static const char *const sweep_cols[] = {"k_candidates", "P@3", "nDCG@10", "re-rank ms", "total ms"};
static const char *const ann_cols[] = {"index", "parameters", "build s", "ms / query", "recall@10"};
static const char *const cmp_cols[] = {"stage", "P@3 A", "P@3 B", "MRR A", "MRR B", "nDCG@10 A", "nDCG@10 B",
                                       "first ms A", "first ms B", "re-rank ms A", "re-rank ms B"};
static const demo_stage *stage_named(const demo_ctx *x, const char *name);

/* Exercise 3's table: x's and its comparison's numbers, stage by stage. */
static void cmp_table(const demo_ctx *x, cells *c, wn_report_table *t) {
    static char title[4200], note[4400];
    const demo_ctx *y = x->cmp;
    const char *const *r = NULL;
    const char *fmt = "%s|%.3f|%.3f|%.3f|%.3f|%.3f|%.3f|%.2f|%.2f|%.2f|%.2f";
    int n = 0;
    if (x->seed_done && y->seed_done) {
        r = row(c, fmt, "notebook bi-encoder", x->seed_p_bi, y->seed_p_bi, x->seed_mrr_bi, y->seed_mrr_bi, x->seed_ndcg_bi,
                y->seed_ndcg_bi, x->seed_ms_bi, y->seed_ms_bi, 0.0, 0.0);
        row(c, fmt, "notebook + re-ranker", x->seed_p_re, y->seed_p_re, x->seed_mrr_re, y->seed_mrr_re, x->seed_ndcg_re,
            y->seed_ndcg_re, x->seed_ms_bi, y->seed_ms_bi, x->seed_ms_re, y->seed_ms_re);
        n = 2;
    }
    for (int i = 0; i < x->n_stages; i++) {
        const demo_stage *a = &x->stages[i], *b = stage_named(y, a->name);
        if (!b) continue;
        const char *const *ri = row(c, fmt, a->name, a->p3, b->p3, a->mrr10, b->mrr10, a->ndcg10, b->ndcg10, a->first_ms,
                                    b->first_ms, a->rerank_ms, b->rerank_ms);
        if (!n++) r = ri;
    }
    snprintf(title, sizeof title, "Exercise 3: bi-encoder A %s against B %s", x->bi_name, y->bi_name);
    snprintf(note, sizeof note, "Both with the cross-encoder %s. The notebook's rows: MRR and nDCG@10 within its k = %d "
             "candidates; the collection's: MRR@10. Milliseconds per query. B's runs and results.json: %s.",
             x->ce_name, x->seed_k, x->cmp_dir);
    *t = (wn_report_table){title, note, 11, n, cmp_cols, r, 6};
}

static const char *const eval_cols[] = {"collection", "run", "nDCG@10", "MRR@10", "Recall@100", "ms / query"};

static void fmt3(char *buf, size_t cap, double v, const char *f) {
    if (isnan(v)) snprintf(buf, cap, "-");
    else snprintf(buf, cap, f, v);
}

/* The bundled models' own evaluation (DIR/eval.json of the models directory they came
 * from) as table t; when it cannot be read, a note saying so. */
static void eval_table(const demo_ctx *x, cells *c, wn_report_table *t) {
    static demo_evaljson e;
    static char note[8192];
    size_t cap = sizeof note;
    char path[4200];
    snprintf(path, sizeof path, "%s/eval.json", x->bundled_dir);
    int rc = demo_evaljson_load(path, &e);
    const char *title = "The bundled models' own evaluation (models/eval.json)";
    if (rc) {
        snprintf(note, cap, "%s %s (%s): the bundled models' figures are not in this report.", path,
                 rc < 0 ? "cannot be read" : "is malformed", e.err);
        *t = (wn_report_table){title, note, 1, 0, NULL, NULL, -1};
        return;
    }
    const char *const *r = NULL;
    for (int i = 0; i < e.n_rows; i++) {
        const demo_eval_row *w = &e.rows[i];
        char v[4][32];
        fmt3(v[0], sizeof v[0], w->ndcg10, "%.3f");
        fmt3(v[1], sizeof v[1], w->mrr10, "%.3f");
        fmt3(v[2], sizeof v[2], w->recall100, "%.3f");
        fmt3(v[3], sizeof v[3], w->ms, "%.2f");
        const char *const *ri = row(c, "%s|%s|%s|%s|%s|%s", w->collection, w->run, v[0], v[1], v[2], v[3]);
        if (!i) r = ri;
    }
    int n = snprintf(note, cap, "From %s", path);
    if (e.have_stsb) n += snprintf(note + n, cap - n, "; STS-B test Spearman of winnow-small-embed %.3f", e.stsb);
    if (e.n_more) n += snprintf(note + n, cap - n, "; %d more rows not shown", e.n_more);
    if (e.command[0]) snprintf(note + n, cap - n, ". Command: %s", e.command);
    *t = (wn_report_table){title, note, 6, e.n_rows, eval_cols, r, 2};
}

/* The seed notebook's table, the collection's (its stages, or why it did not run),
 * the sweep's and ANN's, and the bundled models' evaluation when they ran, into t
 * and exercise 3's (room for 6); the number of tables. */
static int tables(const demo_ctx *x, cells *c, wn_report_table *t, char *notes, size_t cap) {
    int n = 0;
    if (x->seed_done) {
        const char *const *r = row(c, "bi-encoder|%.3f|%.3f|%.2f", x->seed_p_bi, x->seed_mrr_bi, x->seed_ms_bi);
        row(c, "+ re-ranker (k=%d)|%.3f|%.3f|%.2f", x->seed_k, x->seed_p_re, x->seed_mrr_re, x->seed_ms_re);
        snprintf(notes, cap, "The seed notebook: %d documents, %d queries", x->seed_docs, x->seed_queries);
        t[n++] = (wn_report_table){notes, NULL, 4, 2, seed_cols, r, -1};
    }
    char *title = notes + cap / 4, *note = notes + cap / 2;
    if (x->coll_state <= 0 || !x->n_stages) {
        t[n++] = (wn_report_table){"Collection", x->coll_note[0] ? x->coll_note : "The collection sections did not run.", 1, 0,
                                   NULL, NULL, -1};
    } else {
        snprintf(title, cap / 4, "Collection: %s", x->coll_path);
        snprintf(note, cap / 4, "The first %d documents and the %d queries with a relevant document among them (%d relevant "
                 "judgments; qrels cut to those documents: qrels.tsv). Documents embedded in %.2f s. Metrics are "
                 "trec_eval's, means over queries; every stage's ranking is in runs/. Bars: nDCG@10.",
                 x->n_docs, x->n_queries, x->n_judged, x->embed_s);
        const char *const *r = NULL;
        for (int i = 0; i < x->n_stages; i++) {
            const demo_stage *s = &x->stages[i];
            const char *const *ri = row(c, "%s|%.3f|%.3f|%.3f|%.3f|%.2f|%.2f|%.2f|%s", s->name, s->p3, s->mrr10, s->ndcg10,
                                        s->recall100, s->first_ms, s->rerank_ms, s->first_ms + s->rerank_ms, s->run);
            if (!i) r = ri;
        }
        t[n++] = (wn_report_table){title, note, 9, x->n_stages, stage_cols, r, 3};
    }
    if (x->n_sweep) {
        const char *const *r = NULL;
        for (int i = 0; i < x->n_sweep; i++) {
            const demo_sweep *w = &x->sweep[i];
            const char *const *ri = row(c, "%d|%.3f|%.3f|%.2f|%.2f", w->k, w->p3, w->ndcg10, w->rerank_ms, w->total_ms);
            if (!i) r = ri;
        }
        t[n++] = (wn_report_table){"k sweep: quality against re-rank time (dense first stage)",
                                   "Re-ranking the dense top k for k_candidates in 5, 10, 20, 50; charted below with "
                                   "latency distributions and rank shifts (eval-report.html has them alone).",
                                   5, x->n_sweep, sweep_cols, r, -1};
    }
    if (x->n_ann) {
        const char *const *r = NULL;
        for (int i = 0; i < x->n_ann; i++) {
            const demo_ann *a = &x->ann[i];
            const char *const *ri = row(c, "%s|%s|%.3f|%.4f|%.3f", a->name, a->params, a->build_s, a->ms_per_query, a->recall10);
            if (!i) r = ri;
        }
        snprintf(note + cap / 4, cap / 4, "%d vectors, %d queries, one thread; recall against the flat index's top 10.",
                 x->n_docs, x->n_queries);
        t[n++] = (wn_report_table){"Approximate nearest neighbours against brute force", note + cap / 4, 5, x->n_ann,
                                   ann_cols, r, -1};
    }
    if (x->cmp) cmp_table(x, c, &t[n++]);
    if (x->bundled_dir[0]) eval_table(x, c, &t[n++]);
    return n;
}

/* DIR/report.html: the demo's tables above the k sweep's page. */
static int write_html(demo_ctx *x, const char *path) {
    static cells c;
    static char notes[4096];
    wn_report_table t[6];
    char intro[2048], date[64];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    int n = snprintf(intro, sizeof intro, "bi-encoder %s (%s, %d dimensions), cross-encoder %s (%s); %s kernels, %s, ",
                     x->bi_name, x->bi_bundled ? "bundled" : "the seed's or as given", x->dim, x->ce_name,
                     x->ce_bundled ? "bundled" : "the seed's or as given", wn_isa_name(wn_cpu_isa()),
                     x->precision ? x->precision : "fp32");
    if (x->threads) n += snprintf(intro + n, sizeof intro - n, "%d thread%s per model", x->threads, x->threads > 1 ? "s" : "");
    else n += snprintf(intro + n, sizeof intro - n, "all CPUs");
    n += snprintf(intro + n, sizeof intro - n, "; winnow %s, %s.", wn_version(), date);
    if (x->models_note[0]) n += snprintf(intro + n, sizeof intro - n, " Models: %s", x->models_note);
    if (demo_seen_note(x)) snprintf(intro + n, sizeof intro - n, " %s", demo_seen_note(x));
    c.n = 0;
    int nt = tables(x, &c, t, notes, sizeof notes);
    return demo_sweep_report(x, path, "winnow demo: bi-encoder retrieval vs cross-encoder re-ranking", intro, nt, t);
}

static void json_str(FILE *f, const char *s) { cli_print_json_string(f, s); }

static void write_json(FILE *f, const demo_ctx *x) {
    fprintf(f, "{\"bi_encoder\": ");
    json_str(f, x->bi_name);
    fprintf(f, ", \"cross_encoder\": ");
    json_str(f, x->ce_name);
    if (x->seed_done)
        fprintf(f, ",\n \"seed\": {\"k\": %d, \"bi\": {\"p@3\": %.9g, \"mrr\": %.9g, \"ndcg@10\": %.9g, \"ms\": %.6g}, "
                   "\"rerank\": {\"p@3\": %.9g, \"mrr\": %.9g, \"ndcg@10\": %.9g, \"ms\": %.6g}}",
                x->seed_k, x->seed_p_bi, x->seed_mrr_bi, x->seed_ndcg_bi, x->seed_ms_bi, x->seed_p_re, x->seed_mrr_re,
                x->seed_ndcg_re, x->seed_ms_re);
    fprintf(f, ",\n \"collection\": ");
    if (x->coll_state > 0) {
        json_str(f, x->coll_path);
        fprintf(f, ", \"docs\": %d, \"queries\": %d, \"qrels\": \"qrels.tsv\"", x->n_docs, x->n_queries);
    } else {
        fprintf(f, "null, \"skipped\": ");
        json_str(f, x->coll_note);
    }
    if (x->cmp) {
        fprintf(f, ",\n \"compare\": {\"bi_encoder\": ");
        json_str(f, x->cmp->bi_name);
        fprintf(f, ", \"results\": \"compare/results.json\"}");
    }
    wn_pipeline_params pp = wn_pipeline_default_params(); /* what the demo's searcher uses */
    fprintf(f, ",\n \"hybrid\": {\"fusion\": \"rrf\", \"rrf_k\": %d, \"dense_weight\": %.9g}", pp.rrf_k,
            (double)pp.dense_weight);
    fprintf(f, ",\n \"stages\": [");
    for (int i = 0; i < x->n_stages; i++) {
        const demo_stage *s = &x->stages[i];
        fprintf(f, "%s\n  {\"name\": ", i ? "," : "");
        json_str(f, s->name);
        fprintf(f, ", \"run\": ");
        json_str(f, s->run);
        fprintf(f, ", \"k\": %d, \"p@3\": %.9g, \"mrr@10\": %.9g, \"ndcg@10\": %.9g, \"recall@100\": %.9g, "
                   "\"first_ms\": %.6g, \"rerank_ms\": %.6g}",
                s->k, s->p3, s->mrr10, s->ndcg10, s->recall100, s->first_ms, s->rerank_ms);
    }
    fprintf(f, "],\n \"sweep\": [");
    for (int i = 0; i < x->n_sweep; i++)
        fprintf(f, "%s\n  {\"k\": %d, \"run\": \"sweep_k%d.run\", \"p@3\": %.9g, \"ndcg@10\": %.9g, \"rerank_ms\": %.6g}",
                i ? "," : "", x->sweep[i].k, x->sweep[i].k, x->sweep[i].p3, x->sweep[i].ndcg10, x->sweep[i].rerank_ms);
    fprintf(f, "],\n \"ann\": [");
    for (int i = 0; i < x->n_ann; i++)
        fprintf(f, "%s\n  {\"index\": \"%s\", \"params\": \"%s\", \"ms_per_query\": %.6g, \"recall@10\": %.9g}",
                i ? "," : "", x->ann[i].name, x->ann[i].params, x->ann[i].ms_per_query, x->ann[i].recall10);
    fprintf(f, "]}\n");
}

/* Writes path through path.tmp: write, flush, fsync, rename. */
static int write_atomic(const char *path, void (*fill)(FILE *, const demo_ctx *), const demo_ctx *x) {
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return cli_error("demo: cannot write %s: %s", tmp, strerror(errno));
    fill(f, x);
    int bad = fflush(f) || ferror(f) || fsync(fileno(f));
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        remove(tmp);
        return cli_error("demo: cannot write %s: %s", path, strerror(errno));
    }
    return 0;
}

int demo_results_json(const demo_ctx *x, const char *path) { return write_atomic(path, write_json, x); }

static const demo_stage *stage_named(const demo_ctx *x, const char *name) {
    for (int i = 0; i < x->n_stages; i++)
        if (!strcmp(x->stages[i].name, name)) return &x->stages[i];
    return NULL;
}

void demo_compare_print(const demo_ctx *x, const demo_ctx *y) {
    printf("  A  %s (%d dimensions)\n  B  %s (%d dimensions)\n  cross-encoder of both: %s\n\n", x->bi_name, x->dim,
           y->bi_name, y->dim, x->ce_name);
    printf("  %-20s %9s %5s %7s %8s %7s  |  %9s %5s %7s %8s %7s\n", "stage", "A: P@3", "MRR", "nDCG@10", "first ms",
           "rr ms", "B: P@3", "MRR", "nDCG@10", "first ms", "rr ms");
    const char *fmt = "  %-20.20s %9.3f %5.3f %7.3f %8.2f %7.2f  |  %9.3f %5.3f %7.3f %8.2f %7.2f\n";
    if (x->seed_done && y->seed_done) {
        printf(fmt, "notebook bi-encoder", x->seed_p_bi, x->seed_mrr_bi, x->seed_ndcg_bi, x->seed_ms_bi, 0.0, y->seed_p_bi,
               y->seed_mrr_bi, y->seed_ndcg_bi, y->seed_ms_bi, 0.0);
        printf(fmt, "notebook + re-ranker", x->seed_p_re, x->seed_mrr_re, x->seed_ndcg_re, x->seed_ms_bi, x->seed_ms_re,
               y->seed_p_re, y->seed_mrr_re, y->seed_ndcg_re, y->seed_ms_bi, y->seed_ms_re);
    }
    for (int i = 0; i < x->n_stages; i++) {
        const demo_stage *a = &x->stages[i], *b = stage_named(y, a->name);
        if (b)
            printf(fmt, a->name, a->p3, a->mrr10, a->ndcg10, a->first_ms, a->rerank_ms, b->p3, b->mrr10, b->ndcg10,
                   b->first_ms, b->rerank_ms);
    }
    printf("  (notebook: %d queries, MRR and nDCG@10 within the k = %d candidates; collection: %d queries, MRR@10;\n"
           "   ms per query; B's runs and results.json are in %s)\n",
           x->seed_queries, x->seed_k, x->n_queries, x->cmp_dir);
}

int demo_report(demo_ctx *x) {
    char p[4096];
    snprintf(p, sizeof p, "%s", x->out_dir);
    for (char *s = p + 1;; s++) { /* mkdir -p */
        if (*s == '/' || !*s) {
            char ch = *s;
            *s = 0;
            if (mkdir(p, 0755) && errno != EEXIST) return cli_error("demo: cannot create %s: %s", p, strerror(errno));
            *s = ch;
            if (!ch) break;
        }
    }
    char html[4200], json[4200];
    snprintf(html, sizeof html, "%s/report.html", x->out_dir);
    snprintf(json, sizeof json, "%s/results.json", x->out_dir);
    snprintf(x->eval_report, sizeof x->eval_report, "%s/eval-report.html", x->out_dir);
    if (demo_eval_report(x, x->eval_report)) return 1;
    if (write_atomic(json, write_json, x) || write_html(x, html)) return 1;
    demo_heading(x, "Report - %s", html);
    return 0;
}
