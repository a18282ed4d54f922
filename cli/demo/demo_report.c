/*
 * demo_report.c - the end of `winnow demo`: DIR/report.html, one self-contained page
 * (inline CSS and SVG, no network asset) with what the demo measured, and
 * DIR/results.json with the same numbers for scripts and tests. Both are written to
 * a temporary file, flushed to disk and renamed into place.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

static void esc(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

/* ---- the k sweep plot: nDCG@10 and P@3 against re-rank ms per query */

#define PW 560
#define PH 300
#define ML 56
#define MR 20
#define MT 30
#define MB 44

static void sweep_plot(FILE *f, const demo_ctx *x) {
    double xmax = 0, ymin = 1, ymax = 0;
    for (int i = 0; i < x->n_sweep; i++) {
        const demo_sweep *w = &x->sweep[i];
        if (w->rerank_ms > xmax) xmax = w->rerank_ms;
        double lo = w->p3 < w->ndcg10 ? w->p3 : w->ndcg10, hi = w->p3 > w->ndcg10 ? w->p3 : w->ndcg10;
        if (lo < ymin) ymin = lo;
        if (hi > ymax) ymax = hi;
    }
    /* x ticks at a round step (1, 2 or 5 times a power of ten), 4 or 5 of them */
    double raw = (xmax > 0 ? xmax * 1.1 : 1) / 4, mag = pow(10, floor(log10(raw))), step = mag;
    if (raw > 5 * mag) step = 10 * mag;
    else if (raw > 2 * mag) step = 5 * mag;
    else if (raw > mag) step = 2 * mag;
    xmax = ceil((xmax > 0 ? xmax * 1.1 : 1) / step) * step;
    int nxt = (int)(xmax / step + 0.5);
    if (x->sweep_first_set) {
        double lo = x->sweep_first_ndcg < x->sweep_first_p3 ? x->sweep_first_ndcg : x->sweep_first_p3;
        double hi = x->sweep_first_ndcg > x->sweep_first_p3 ? x->sweep_first_ndcg : x->sweep_first_p3;
        if (lo < ymin) ymin = lo;
        if (hi > ymax) ymax = hi;
    }
    ymin = floor(ymin * 10 - 0.5) / 10;
    ymax = ceil(ymax * 10 + 0.5) / 10;
    if (ymin < 0) ymin = 0;
    if (ymax > 1) ymax = 1;
    if (ymax <= ymin) ymax = ymin + 0.1;
    double w = PW - ML - MR, h = PH - MT - MB;
#define X(v) (ML + (v) / xmax * w)
#define Y(v) (MT + h - ((v)-ymin) / (ymax - ymin) * h)
    fprintf(f, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"k sweep\">\n", PW, PH,
            PW, PH);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" stroke=\"#999\"/>\n", ML, MT, w,
            h);
    for (int i = 0; i <= 4; i++) {
        double yv = ymin + (ymax - ymin) * i / 4;
        fprintf(f, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", ML, ML + w, Y(yv), Y(yv));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%.2f</text>\n", ML - 6,
                Y(yv) + 4, yv);
    }
    for (int i = 0; i <= nxt; i++)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">%g</text>\n", X(step * i),
                MT + h + 16, step * i);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">re-rank time per query (ms)</text>\n",
            ML + w / 2, PH - 8);
    fprintf(f, "<text x=\"14\" y=\"%.1f\" font-size=\"12\" transform=\"rotate(-90 14 %.1f)\" "
               "text-anchor=\"middle\">quality</text>\n",
            MT + h / 2, MT + h / 2);
    const char *color[2] = {"#1f6fb4", "#d9641e"}, *label[2] = {"nDCG@10", "P@3"};
    if (x->sweep_first_set) /* the first stage alone, for reference */
        for (int s = 0; s < 2; s++) {
            double yv = Y(s ? x->sweep_first_p3 : x->sweep_first_ndcg);
            fprintf(f, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-dasharray=\"5 4\" "
                       "opacity=\"0.7\"/>",
                    ML, ML + w, yv, yv, color[s]);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\" fill=\"%s\">dense alone: %s "
                       "%.3f</text>\n",
                    ML + w - 4, yv - 4, color[s], label[s], s ? x->sweep_first_p3 : x->sweep_first_ndcg);
        }
    for (int s = 0; s < 2; s++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color[s]);
        for (int i = 0; i < x->n_sweep; i++)
            fprintf(f, "%.1f,%.1f ", X(x->sweep[i].rerank_ms), Y(s ? x->sweep[i].p3 : x->sweep[i].ndcg10));
        fprintf(f, "\"/>\n");
        for (int i = 0; i < x->n_sweep; i++) {
            double px = X(x->sweep[i].rerank_ms), py = Y(s ? x->sweep[i].p3 : x->sweep[i].ndcg10);
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>k=%d %s %.3f, %.1f ms</title></circle>",
                    px, py, color[s], x->sweep[i].k, label[s], s ? x->sweep[i].p3 : x->sweep[i].ndcg10,
                    x->sweep[i].rerank_ms);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"%s\">k=%d</text>\n", px + 5,
                    py + (s ? 13 : -6), color[s], x->sweep[i].k);
        }
        fprintf(f, "<rect x=\"%.0f\" y=\"%d\" width=\"12\" height=\"4\" fill=\"%s\"/>", ML + 10 + s * 90.0, MT - 14,
                color[s]);
        fprintf(f, "<text x=\"%.0f\" y=\"%d\" font-size=\"12\">%s</text>\n", ML + 26 + s * 90.0, MT - 9, label[s]);
    }
    fprintf(f, "</svg>\n");
#undef X
#undef Y
}

/* Horizontal bars of nDCG@10 per stage. */
static void stage_bars(FILE *f, const demo_ctx *x) {
    int bw = 360, lh = 22, left = 170, H = x->n_stages * lh + 24;
    fprintf(f, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"nDCG@10 per stage\">\n",
            left + bw + 60, H, left + bw + 60, H);
    for (int i = 0; i < x->n_stages; i++) {
        const demo_stage *s = &x->stages[i];
        double y = 8 + i * lh;
        fprintf(f, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\" font-size=\"12\">", left - 8, y + 14);
        esc(f, s->name);
        fprintf(f, "</text><rect x=\"%d\" y=\"%.0f\" width=\"%.1f\" height=\"16\" fill=\"%s\"/>", left, y + 2,
                s->ndcg10 * bw, s->k ? "#1f6fb4" : "#9cc3e6");
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\">%.3f</text>\n", left + s->ndcg10 * bw + 4, y + 14,
                s->ndcg10);
    }
    fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"4\" y2=\"%d\" stroke=\"#666\"/></svg>\n", left, left, H - 12);
}

static const char css[] =
    "body{font:14px/1.45 system-ui,sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#222}"
    "h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}"
    "table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;"
    "text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
    ".note{color:#666;font-size:12.5px}.wrap{overflow-x:auto}code{background:#f3f3f3;padding:0 3px}";

static void write_html(FILE *f, const demo_ctx *x) {
    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<title>winnow demo report</title><style>%s</style></head><body>\n",
            css);
    fprintf(f, "<h1>winnow demo: bi-encoder retrieval vs cross-encoder re-ranking</h1>\n<p class=\"note\">");
    fprintf(f, "bi-encoder <code>");
    esc(f, x->bi_name);
    fprintf(f, "</code> (%d dimensions), cross-encoder <code>", x->dim);
    esc(f, x->ce_name);
    fprintf(f, "</code>; %s kernels, %s, ", wn_isa_name(wn_cpu_isa()), x->precision ? x->precision : "fp32");
    if (x->threads) fprintf(f, "%d thread%s per model", x->threads, x->threads > 1 ? "s" : "");
    else fprintf(f, "all CPUs");
    fprintf(f, "; winnow %s, %s.</p>\n", wn_version(), date);

    if (x->seed_done) {
        fprintf(f, "<h2>The seed notebook: %d documents, %d queries</h2>\n", x->seed_docs, x->seed_queries);
        fprintf(f, "<table><tr><th>stage</th><th>P@3</th><th>MRR</th><th>ms / query</th></tr>\n"
                   "<tr><td>bi-encoder</td><td>%.3f</td><td>%.3f</td><td>%.2f</td></tr>\n"
                   "<tr><td>+ re-ranker (k=%d)</td><td>%.3f</td><td>%.3f</td><td>%.2f</td></tr></table>\n",
                x->seed_p_bi, x->seed_mrr_bi, x->seed_ms_bi, x->seed_k, x->seed_p_re, x->seed_mrr_re, x->seed_ms_re);
    }
    if (x->coll_state <= 0 || !x->n_stages) {
        fprintf(f, "<h2>Collection</h2><p>");
        esc(f, x->coll_note[0] ? x->coll_note : "The collection sections did not run.");
        fprintf(f, "</p>\n");
    }
    if (x->coll_state > 0) {
        fprintf(f, "<h2>Collection: ");
        esc(f, x->coll_path);
        fprintf(f, "</h2>\n<p>The first %d documents and the %d queries with a relevant document among them "
                   "(%d relevant judgments; qrels cut to those documents: <code>qrels.tsv</code>). Documents "
                   "embedded in %.2f s. Metrics are trec_eval's, means over queries; every stage's ranking is in "
                   "<code>runs/</code>.</p>\n",
                x->n_docs, x->n_queries, x->n_judged, x->embed_s);
    }
    if (x->n_stages) {
        fprintf(f, "<div class=\"wrap\"><table><tr><th>stage</th><th>P@3</th><th>MRR@10</th><th>nDCG@10</th>"
                   "<th>first stage ms</th><th>re-rank ms</th><th>total ms</th><th>run</th></tr>\n");
        for (int i = 0; i < x->n_stages; i++) {
            const demo_stage *s = &x->stages[i];
            fprintf(f, "<tr><td>");
            esc(f, s->name);
            fprintf(f, "</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td>"
                       "<td><code>",
                    s->p3, s->mrr10, s->ndcg10, s->first_ms, s->rerank_ms, s->first_ms + s->rerank_ms);
            esc(f, s->run);
            fprintf(f, "</code></td></tr>\n");
        }
        fprintf(f, "</table></div>\n<p class=\"note\">nDCG@10 per stage (dark: re-ranked):</p>\n");
        stage_bars(f, x);
    }
    if (x->n_sweep) {
        fprintf(f, "<h2>k sweep: quality against re-rank time (dense first stage)</h2>\n<p class=\"note\">Re-ranking "
                   "the dense top k for k_candidates in 5, 10, 20, 50; dashed: the dense ranking alone.</p>\n");
        sweep_plot(f, x);
        fprintf(f, "<table><tr><th>k_candidates</th><th>P@3</th><th>nDCG@10</th><th>re-rank ms</th>"
                   "<th>total ms</th></tr>\n");
        for (int i = 0; i < x->n_sweep; i++)
            fprintf(f, "<tr><td>%d</td><td>%.3f</td><td>%.3f</td><td>%.2f</td><td>%.2f</td></tr>\n", x->sweep[i].k,
                    x->sweep[i].p3, x->sweep[i].ndcg10, x->sweep[i].rerank_ms, x->sweep[i].total_ms);
        fprintf(f, "</table>\n<p>Latency distributions and rank shifts of this sweep: "
                   "<a href=\"eval-report.html\">eval-report.html</a> (the <code>winnow eval --report</code> page).</p>\n");
    }
    if (x->n_ann) {
        fprintf(f, "<h2>Approximate nearest neighbours against brute force</h2>\n<table><tr><th>index</th>"
                   "<th>parameters</th><th>build s</th><th>ms / query</th><th>recall@10</th></tr>\n");
        for (int i = 0; i < x->n_ann; i++) {
            const demo_ann *a = &x->ann[i];
            fprintf(f, "<tr><td>%s</td><td>%s</td><td>%.3f</td><td>%.4f</td><td>%.3f</td></tr>\n", a->name,
                    a->params, a->build_s, a->ms_per_query, a->recall10);
        }
        fprintf(f, "</table><p class=\"note\">%d vectors, %d queries, one thread; recall against the flat "
                   "index's top 10.</p>\n",
                x->n_docs, x->n_queries);
    }
    fprintf(f, "</body></html>\n");
}

static void json_str(FILE *f, const char *s) { cli_print_json_string(f, s); }

static void write_json(FILE *f, const demo_ctx *x) {
    fprintf(f, "{\"bi_encoder\": ");
    json_str(f, x->bi_name);
    fprintf(f, ", \"cross_encoder\": ");
    json_str(f, x->ce_name);
    if (x->seed_done)
        fprintf(f, ",\n \"seed\": {\"k\": %d, \"bi\": {\"p@3\": %.9g, \"mrr\": %.9g}, \"rerank\": {\"p@3\": %.9g, "
                   "\"mrr\": %.9g}}",
                x->seed_k, x->seed_p_bi, x->seed_mrr_bi, x->seed_p_re, x->seed_mrr_re);
    fprintf(f, ",\n \"collection\": ");
    if (x->coll_state > 0) {
        json_str(f, x->coll_path);
        fprintf(f, ", \"docs\": %d, \"queries\": %d, \"qrels\": \"qrels.tsv\"", x->n_docs, x->n_queries);
    } else {
        fprintf(f, "null, \"skipped\": ");
        json_str(f, x->coll_note);
    }
    fprintf(f, ",\n \"stages\": [");
    for (int i = 0; i < x->n_stages; i++) {
        const demo_stage *s = &x->stages[i];
        fprintf(f, "%s\n  {\"name\": ", i ? "," : "");
        json_str(f, s->name);
        fprintf(f, ", \"run\": ");
        json_str(f, s->run);
        fprintf(f, ", \"k\": %d, \"p@3\": %.9g, \"mrr@10\": %.9g, \"ndcg@10\": %.9g, \"first_ms\": %.6g, "
                   "\"rerank_ms\": %.6g}",
                s->k, s->p3, s->mrr10, s->ndcg10, s->first_ms, s->rerank_ms);
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
    if (write_atomic(json, write_json, x) || write_atomic(html, write_html, x)) return 1;
    demo_heading(x, "Report - %s", html);
    return 0;
}
