/*
 * report.c - the evaluation report: one self-contained HTML file (inline CSS and
 * SVG, no script, no network asset) with
 *   1. the metrics table per stage (best value per column in bold),
 *   2. quality (the first measure) against mean latency per query for the first
 *      stage and each re-ranking depth k_candidates (the notebook's exercise 2),
 *   3. latency distributions: the CDF of per-query latency of each stage,
 *   4. rank shifts: for chosen queries the first stage's top 10 and the re-ranked
 *      top 10 side by side, lines joining each document's two ranks, relevant
 *      documents in green.
 * and, before those, an introduction and extra tables of text (the demo's page).
 * It draws what it is given; evaluating is metrics.c's job. The one HTML writer of
 * winnow: `winnow eval --report` and `winnow demo` both come here.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

typedef struct {
    wn_atomic_file af;
    int err;
} out_t;

static void put(out_t *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void put(out_t *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(o->af.f, fmt, ap) < 0) o->err = 1;
    va_end(ap);
}

static void esc(out_t *o, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': put(o, "&lt;"); break;
        case '>': put(o, "&gt;"); break;
        case '&': put(o, "&amp;"); break;
        case '"': put(o, "&quot;"); break;
        default: fputc(*s, o->af.f);
        }
    }
}

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
#define COLOR(i) palette[(i) % 10]

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double mean_ms(const double *v, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += v[i];
    return n ? s / (double)n * 1e3 : 0;
}

/* nice tick step for a range */
static double tick_step(double range, int want) {
    double raw = range / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void table(out_t *o, const wn_report *r) {
    put(o, "<h2>Metrics per stage</h2>\n<div style=\"overflow-x:auto\"><table><tr><th>stage</th>");
    for (int j = 0; j < r->n_measures; j++) {
        put(o, "<th>");
        esc(o, r->measure_names[j]);
        put(o, "</th>");
    }
    put(o, "<th>ms mean</th><th>ms p50</th><th>ms p95</th><th>ms p99</th></tr>\n");
    for (int s = 0; s < r->n_stages; s++) {
        const wn_report_stage *st = &r->stages[s];
        put(o, "<tr><td class=\"l\">");
        esc(o, st->name);
        put(o, "</td>");
        for (int j = 0; j < r->n_measures; j++) {
            int best = 1;
            for (int t = 0; t < r->n_stages; t++) best &= r->stages[t].values[j] <= st->values[j];
            put(o, best && r->n_stages > 1 ? "<td><b>%.4f</b></td>" : "<td>%.4f</td>", st->values[j]);
        }
        double *c = wn_malloc((size_t)(st->n_queries ? st->n_queries : 1) * sizeof *c);
        if (c && st->n_queries) {
            memcpy(c, st->latency_s, (size_t)st->n_queries * sizeof *c);
            qsort(c, (size_t)st->n_queries, sizeof *c, cmp_d);
            int64_t n = st->n_queries;
#define PCT(p) (c[WN_MAX((int64_t)ceil((p) / 100.0 * (double)n) - 1, 0)] * 1e3)
            put(o, "<td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td>", mean_ms(st->latency_s, n), PCT(50), PCT(95), PCT(99));
#undef PCT
        } else {
            put(o, "<td></td><td></td><td></td><td></td>");
        }
        wn_free(c);
        put(o, "</tr>\n");
    }
    put(o, "</table></div>\n<p class=\"note\">Means over %lld judged queries (trec_eval conventions). Latency: this stage alone, "
           "per query, in milliseconds; a re-ranking stage excludes its first stage.</p>\n",
        r->n_stages ? (long long)r->stages[0].n_queries : 0LL);
}

static void extra_table(out_t *o, const wn_report_table *t) {
    put(o, "<h2>");
    esc(o, t->title);
    put(o, "</h2>\n");
    if (t->note) {
        put(o, "<p class=\"note\">");
        esc(o, t->note);
        put(o, "</p>\n");
    }
    if (!t->n_rows) return;
    put(o, "<div style=\"overflow-x:auto\"><table><tr>");
    for (int j = 0; j < t->n_cols; j++) {
        put(o, "<th>");
        esc(o, t->cols[j]);
        put(o, "</th>");
    }
    put(o, "</tr>\n");
    for (int i = 0; i < t->n_rows; i++) {
        put(o, "<tr>");
        for (int j = 0; j < t->n_cols; j++) {
            const char *c = t->cells[(size_t)i * t->n_cols + j];
            put(o, j ? "<td>" : "<td class=\"l\">");
            esc(o, c);
            if (j == t->bar_col) {
                double v = fmin(1, fmax(0, atof(c ? c : "0")));
                put(o, " <svg width=\"124\" height=\"10\"><rect width=\"%.1f\" height=\"10\" fill=\"%s\"/></svg>",
                    v * 120, COLOR(0));
            }
            put(o, "</td>");
        }
        put(o, "</tr>\n");
    }
    put(o, "</table></div>\n");
}

/* chart frame: plot area x0..x1, y0..y1 in pixels */
#define W 760
#define H 360
#define X0 70
#define X1 (W - 30)
#define Y0 30
#define Y1 (H - 50)

/* An x axis over [*xmin, *xmax] (xmin > 0): logarithmic, widened to whole decades,
 * when the data spans more than 20x (returns 1); else linear, padded by pad of the
 * span on each side (returns 0). */
static int x_range(double *xmin, double *xmax, double pad) {
    if (*xmax / *xmin > 20) {
        *xmin = pow(10, floor(log10(*xmin)));
        *xmax = pow(10, ceil(log10(*xmax)));
        return 1;
    }
    double d = (*xmax - *xmin) * pad + 1e-3;
    *xmin = fmax(0, *xmin - d);
    *xmax += d;
    return 0;
}

static void axes(out_t *o, double xmin, double xmax, double ymin, double ymax, int xlog, const char *xl, const char *yl) {
    put(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n", X0, Y0, X1 - X0, Y1 - Y0);
    if (xlog) {
        for (double d = pow(10, floor(log10(xmin))); d <= xmax * 1.0001; d *= 10)
            for (int m = 1; m < 10; m++) {
                double v = d * m;
                if (v < xmin || v > xmax) continue;
                double x = X0 + (log10(v) - log10(xmin)) / (log10(xmax) - log10(xmin)) * (X1 - X0);
                put(o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>\n", x, Y0, x, Y1, m == 1 ? "#ccc" : "#eee");
                if (m == 1 || (m == 2 || m == 5))
                    put(o, "<text x=\"%.1f\" y=\"%d\" class=\"t\" text-anchor=\"middle\">%g</text>\n", x, Y1 + 16, v);
            }
    } else {
        double st = tick_step(xmax - xmin, 6);
        for (double v = ceil(xmin / st) * st; v <= xmax + 1e-12; v += st) {
            double x = X0 + (v - xmin) / (xmax - xmin) * (X1 - X0);
            put(o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>\n", x, Y0, x, Y1);
            put(o, "<text x=\"%.1f\" y=\"%d\" class=\"t\" text-anchor=\"middle\">%g</text>\n", x, Y1 + 16, v);
        }
    }
    double st = tick_step(ymax - ymin, 5);
    for (double v = ceil(ymin / st) * st; v <= ymax + 1e-12; v += st) {
        double y = Y1 - (v - ymin) / (ymax - ymin) * (Y1 - Y0);
        put(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>\n", X0, y, X1, y);
        put(o, "<text x=\"%d\" y=\"%.1f\" class=\"t\" text-anchor=\"end\">%g</text>\n", X0 - 6, y + 4, v);
    }
    put(o, "<text x=\"%d\" y=\"%d\" class=\"a\" text-anchor=\"middle\">", (X0 + X1) / 2, H - 10);
    esc(o, xl);
    put(o, "</text>\n<text x=\"16\" y=\"%d\" class=\"a\" text-anchor=\"middle\" transform='rotate(-90 16 %d)'>", (Y0 + Y1) / 2, (Y0 + Y1) / 2);
    esc(o, yl);
    put(o, "</text>\n");
}

static double xmap(double v, double xmin, double xmax, int xlog) {
    if (xlog) return X0 + (log10(v) - log10(xmin)) / (log10(xmax) - log10(xmin)) * (X1 - X0);
    return X0 + (v - xmin) / (xmax - xmin) * (X1 - X0);
}
static double ymap(double v, double ymin, double ymax) { return Y1 - (v - ymin) / (ymax - ymin) * (Y1 - Y0); }

static void quality_chart(out_t *o, const wn_report *r) {
    if (r->n_stages < 2 || r->n_measures < 1) return;
    put(o, "<h2>Quality against re-ranking time</h2>\n<svg width=\"%d\" height=\"%d\" viewBox='0 0 %d %d'>\n", W, H, W, H);
    double xs[64], ys[64];
    int n = WN_MIN(r->n_stages, 64);
    double xmin = 1e300, xmax = 0, ymin = 1e300, ymax = -1e300;
    for (int s = 0; s < n; s++) {
        const wn_report_stage *st = &r->stages[s];
        xs[s] = mean_ms(st->total_s && st->k_candidates ? st->total_s : st->latency_s, st->n_queries);
        if (xs[s] <= 0) xs[s] = 1e-3;
        ys[s] = st->values[0];
        xmin = fmin(xmin, xs[s]);
        xmax = fmax(xmax, xs[s]);
        ymin = fmin(ymin, ys[s]);
        ymax = fmax(ymax, ys[s]);
    }
    int xlog = x_range(&xmin, &xmax, 0.1);
    double pad = (ymax - ymin) * 0.15 + 0.01;
    ymin = fmax(0, ymin - pad);
    ymax = fmin(1, ymax + pad);
    if (ymax <= ymin) ymax = ymin + 0.05;
    char yl[64];
    snprintf(yl, sizeof yl, "%s", r->measure_names[0]);
    axes(o, xmin, xmax, ymin, ymax, xlog, "mean latency per query, ms (first stage + re-ranking)", yl);
    put(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points='", COLOR(1));
    for (int s = 1; s < n; s++) put(o, "%.1f,%.1f ", xmap(xs[s], xmin, xmax, xlog), ymap(ys[s], ymin, ymax));
    put(o, "'/>\n");
    for (int s = 0; s < n; s++) {
        double x = xmap(xs[s], xmin, xmax, xlog), y = ymap(ys[s], ymin, ymax);
        put(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>\n", x, y, s ? COLOR(1) : COLOR(0));
        put(o, "<text x=\"%.1f\" y=\"%.1f\" class=\"t\">", x + 8, y - 8);
        if (s) put(o, "k=%d", r->stages[s].k_candidates);
        else esc(o, r->stages[s].name);
        put(o, " (%.3f)</text>\n", ys[s]);
    }
    put(o, "</svg>\n<p class=\"note\">Each red point re-ranks the first stage's top k_candidates with the cross-encoder; the "
           "blue point is the first stage alone.</p>\n");
}

static void latency_chart(out_t *o, const wn_report *r) {
    if (!r->n_stages || !r->stages[0].n_queries) return;
    put(o, "<h2>Latency distributions</h2>\n<svg width=\"%d\" height=\"%d\" viewBox='0 0 %d %d'>\n", W, H, W, H);
    double xmin = 1e300, xmax = 0;
    for (int s = 0; s < r->n_stages; s++)
        for (int64_t i = 0; i < r->stages[s].n_queries; i++) {
            double v = fmax(r->stages[s].latency_s[i] * 1e3, 1e-3);
            xmin = fmin(xmin, v);
            xmax = fmax(xmax, v);
        }
    int xlog = x_range(&xmin, &xmax, 0.05);
    axes(o, xmin, xmax, 0, 1, xlog, "latency per query, ms (this stage alone)", "fraction of queries");
    for (int s = 0; s < r->n_stages; s++) {
        const wn_report_stage *st = &r->stages[s];
        int64_t n = st->n_queries;
        double *c = wn_malloc((size_t)(n ? n : 1) * sizeof *c);
        if (!c) continue;
        for (int64_t i = 0; i < n; i++) c[i] = fmax(st->latency_s[i] * 1e3, 1e-3);
        qsort(c, (size_t)n, sizeof *c, cmp_d);
        put(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points='", COLOR(s));
        int64_t step = n > 400 ? n / 400 : 1; /* at most ~400 points a curve */
        for (int64_t i = 0; i < n; i += step)
            put(o, "%.1f,%.1f ", xmap(c[i], xmin, xmax, xlog), ymap((double)(i + 1) / (double)n, 0, 1));
        put(o, "%.1f,%.1f'/>\n", xmap(c[n - 1], xmin, xmax, xlog), ymap(1, 0, 1));
        /* the legend above the plot, one entry per stage, 8 a row */
        int lx = X0 + (s % 8) * 84, ly = 8 + (s / 8) * 14;
        put(o, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"%d\" class=\"t\">", lx, ly, COLOR(s),
            lx + 18, ly + 5);
        esc(o, st->name);
        put(o, "</text>\n");
        wn_free(c);
    }
    put(o, "</svg>\n");
}

static const char *grade_color(int g) { return g >= 2 ? "#1a7f37" : g == 1 ? "#4caf50" : g == 0 ? "#777" : "#b8b8b8"; }

static void shifts(out_t *o, const wn_report *r) {
    if (r->n_shifts <= 0) return;
    put(o, "<h2>Rank shifts</h2>\n<p class=\"note\">Left: the first stage's top %d; right: after re-ranking. Green: judged "
           "relevant (dark: grade &ge; 2); grey: judged not relevant; light: unjudged.</p>\n",
        WN_REPORT_SHIFT_K);
    for (int q = 0; q < r->n_shifts; q++) {
        const wn_report_shift *sh = &r->shifts[q];
        int n = WN_MIN(sh->n, WN_REPORT_SHIFT_K), rowh = 24, h = 40 + n * rowh;
        put(o, "<h3>Query ");
        esc(o, sh->qid);
        put(o, ": ");
        esc(o, sh->query);
        if (sh->has_values && r->n_measures > 0) {
            put(o, " <span class=\"note\">(");
            esc(o, r->measure_names[0]);
            put(o, " %.3f &rarr; %.3f)</span>", sh->value_before, sh->value_after);
        }
        put(o, "</h3>\n<svg width=\"680\" height=\"%d\" viewBox='0 0 680 %d'>\n", h, h);
        put(o, "<text x=\"110\" y=\"18\" class=\"a\" text-anchor=\"middle\">first stage</text><text x=\"560\" y=\"18\" class=\"a\" "
               "text-anchor=middle>re-ranked</text>\n");
        for (int i = 0; i < n; i++) {
            int from = sh->after_from[i];
            double ya = 40 + i * rowh;
            if (from >= 1 && from <= n) {
                double yb = 40 + (from - 1) * rowh;
                const char *c = from - 1 > i ? "#2ca02c" : from - 1 < i ? "#d62728" : "#999";
                put(o, "<line x1=\"210\" y1=\"%.0f\" x2=\"460\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"1.5\"/>\n", yb, ya, c);
            } else {
                put(o, "<line x1=\"335\" y1=\"%.0f\" x2=\"460\" y2=\"%.0f\" stroke=\"#2ca02c\" stroke-dasharray='4 3'/>"
                       "<text x=\"330\" y=\"%.0f\" class=\"t\" text-anchor=\"end\">from rank %d</text>\n", ya, ya, ya + 4, from);
            }
        }
        for (int i = 0; i < n; i++) {
            double y = 40 + i * rowh;
            put(o, "<rect x=\"10\" y=\"%.0f\" width=\"200\" height=\"%d\" rx=\"3\" fill=\"%s\"/><text x=\"16\" y=\"%.0f\" class=\"d\">%d. ", y - 10, rowh - 4,
                grade_color(sh->before_grade[i]), y + 5, i + 1);
            esc(o, sh->before[i]);
            put(o, "</text>\n<rect x=\"460\" y=\"%.0f\" width=\"200\" height=\"%d\" rx=\"3\" fill=\"%s\"/><text x=\"466\" y=\"%.0f\" class=\"d\">%d. ", y - 10,
                rowh - 4, grade_color(sh->after_grade[i]), y + 5, i + 1);
            esc(o, sh->after[i]);
            int mv = sh->after_from[i] - (i + 1);
            if (mv) put(o, " (%s%d)", mv > 0 ? "&#9650;" : "&#9660;", abs(mv));
            put(o, "</text>\n");
        }
        put(o, "</svg>\n");
    }
}

wn_status wn_report_write(const wn_report *r, const char *path) {
    WN_ENTRY();
    if (!r || !path || r->n_stages < 0 || r->n_measures < 0 || (r->n_measures && !r->measure_names) || r->n_tables < 0 ||
        (r->n_tables && !r->tables))
        return wn_seterr(WN_ERR_ARG, "wn_report_write: bad argument");
    for (int t = 0; t < r->n_tables; t++)
        if (!r->tables[t].title || r->tables[t].n_cols < 1 || r->tables[t].n_rows < 0 ||
            (r->tables[t].n_rows && (!r->tables[t].cols || !r->tables[t].cells)) || r->tables[t].bar_col >= r->tables[t].n_cols)
            return wn_seterr(WN_ERR_ARG, "wn_report_write: table %d is malformed", t);
    for (int s = 0; s < r->n_stages; s++)
        if (!r->stages[s].name || (r->n_measures && !r->stages[s].values) || (r->stages[s].n_queries && !r->stages[s].latency_s))
            return wn_seterr(WN_ERR_ARG, "wn_report_write: stage %d lacks a name, values or latencies", s);
    out_t o = {{0}, 0};
    wn_status st = wn_atomic_open(&o.af, path);
    if (st != WN_OK) return st;
    put(&o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    esc(&o, r->title ? r->title : "winnow report");
    put(&o, "</title>\n<style>\nbody{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;max-width:1400px}\n"
            "h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:14px;font-weight:600}\n"
            "table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}\n"
            "th{background:#f4f4f4}td.l{text-align:left;font-weight:600}.note{color:#666;font-size:12px}\n"
            "svg text.t{font-size:11px;fill:#444}svg text.a{font-size:12px;fill:#222}svg text.d{font-size:12px;fill:#fff;font-family:monospace}\n"
            "</style></head><body>\n<h1>");
    esc(&o, r->title ? r->title : "winnow report");
    put(&o, "</h1>\n<p class=\"note\">winnow %s evaluation report</p>\n", wn_version());
    if (r->intro) {
        put(&o, "<p>");
        esc(&o, r->intro);
        put(&o, "</p>\n");
    }
    for (int t = 0; t < r->n_tables; t++) extra_table(&o, &r->tables[t]);
    if (r->n_stages) table(&o, r);
    quality_chart(&o, r);
    latency_chart(&o, r);
    shifts(&o, r);
    put(&o, "</body></html>\n");
    if (o.err) {
        wn_atomic_abort(&o.af);
        return wn_seterr(WN_ERR_IO, "%s: write failed", path);
    }
    return wn_atomic_commit(&o.af);
}
