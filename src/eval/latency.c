/*
 * latency.c - a stage's latency over queries: mean and nearest-rank percentiles of
 * per-query seconds, in milliseconds (as eval's table, JSON and report show them).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *sorted, int64_t n, double p) {
    int64_t i = (int64_t)ceil(p / 100.0 * (double)n) - 1;
    return sorted[i < 0 ? 0 : i] * 1e3;
}

wn_latency wn_latency_of(const double *seconds, int64_t n) {
    wn_latency s = {0, 0, 0, 0, 0};
    if (n <= 0 || !seconds) return s;
    double *c = wn_malloc((size_t)n * sizeof *c);
    if (!c) return s; /* zeros: a summary is not worth failing a run for */
    memcpy(c, seconds, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, cmp_double);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += c[i];
    s.mean = sum / (double)n * 1e3;
    s.p50 = pct(c, n, 50);
    s.p95 = pct(c, n, 95);
    s.p99 = pct(c, n, 99);
    s.max = c[n - 1] * 1e3;
    wn_free(c);
    return s;
}
