/*
 * fuse.c - hybrid first stage: combining a BM25 list (a) and a dense list (b).
 *   RRF (Cormack et al. 2009): s(d) = 2(1-w) / (k + rank_a(d)) + 2w / (k + rank_b(d)),
 *        a term dropped when d is absent from that list (w = 0.5: the usual sum);
 *   min-max: s(d) = (1-w) * (a(d) - min a) / (max a - min a) + w * (same for b);
 *   z-score: s(d) = (1-w) * (a(d) - mean a) / std a + w * (same for b);
 * for the convex combinations a document absent from a list gets that list's lowest
 * normalised value (it scored at most as well as the last one retrieved).
 * Output best first, ties by row ascending; first_rank/first_score keep a's rank
 * when present, else b's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

static int cmp_hit(const void *x, const void *y) {
    const wn_hit *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

static int cmp_row(const void *x, const void *y) {
    const wn_hit *a = x, *b = y;
    return (a->row > b->row) - (a->row < b->row);
}

/* normalised scores of a list into z[n]; returns the value for absent documents */
static double normalise(wn_fusion f, const wn_hit *h, int n, double *z) {
    if (n == 0) return 0;
    double lo = h[0].score, hi = h[0].score, sum = 0;
    for (int i = 0; i < n; i++) {
        lo = fmin(lo, h[i].score);
        hi = fmax(hi, h[i].score);
        sum += h[i].score;
    }
    if (f == WN_FUSE_MINMAX) {
        for (int i = 0; i < n; i++) z[i] = hi > lo ? (h[i].score - lo) / (hi - lo) : 1.0;
        return 0;
    }
    double mean = sum / n, var = 0;
    for (int i = 0; i < n; i++) var += (h[i].score - mean) * (h[i].score - mean);
    double sd = sqrt(var / n), zmin = 0;
    for (int i = 0; i < n; i++) {
        z[i] = sd > 0 ? (h[i].score - mean) / sd : 0;
        zmin = i ? fmin(zmin, z[i]) : z[i];
    }
    return zmin;
}

wn_status wn_pipeline_fuse(wn_fusion f, int rrf_k, float weight_b, const wn_hit *a, int na, const wn_hit *b, int nb,
                  wn_hit *out, int *n) {
    WN_ENTRY();
    *n = 0;
    if ((unsigned)f > WN_FUSE_ZSCORE || rrf_k < 0 || !(weight_b >= 0 && weight_b <= 1) || na < 0 || nb < 0)
        return wn_seterr(WN_ERR_ARG, "wn_pipeline_fuse: fusion %d, rrf_k %d, weight %g, lengths %d and %d", (int)f, rrf_k,
                         (double)weight_b, na, nb);
    double *za = wn_malloc(((size_t)na + (size_t)nb + 1) * sizeof *za), *zb = za + na;
    /* scratch: b sorted by row, with its rank and normalised value */
    typedef struct {
        int64_t row;
        int rank;
        double z;
        int used;
    } bent;
    bent *bs = wn_malloc(((size_t)nb + 1) * sizeof *bs);
    if (!za || !bs) {
        wn_free(za);
        wn_free(bs);
        return wn_seterr(WN_ERR_NOMEM, "fuse: out of memory");
    }
    double wa = 1.0 - weight_b, wb = weight_b, absent_a = 0, absent_b = 0;
    if (f != WN_FUSE_RRF) {
        absent_a = normalise(f, a, na, za);
        absent_b = normalise(f, b, nb, zb);
    }
    for (int i = 0; i < nb; i++) {
        bs[i].row = b[i].row;
        bs[i].rank = i + 1;
        bs[i].z = f == WN_FUSE_RRF ? 2 * wb / (rrf_k + i + 1) : wb * zb[i];
        bs[i].used = 0;
    }
    qsort(bs, (size_t)nb, sizeof *bs, cmp_row); /* rows are unique within a list */
    int m = 0;
    for (int i = 0; i < na; i++) {
        double s = f == WN_FUSE_RRF ? 2 * wa / (rrf_k + i + 1) : wa * za[i];
        int lo = 0, hi = nb - 1, found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) / 2;
            if (bs[mid].row == a[i].row) {
                found = mid;
                break;
            }
            if (bs[mid].row < a[i].row) lo = mid + 1;
            else hi = mid - 1;
        }
        if (found >= 0) {
            s += bs[found].z;
            bs[found].used = 1;
        } else if (f != WN_FUSE_RRF) {
            s += wb * absent_b;
        }
        out[m].row = a[i].row;
        out[m].score = (float)s;
        out[m].first_rank = i + 1;
        out[m].first_score = a[i].score;
        m++;
    }
    for (int i = 0; i < nb; i++) {
        if (bs[i].used) continue;
        double s = bs[i].z + (f != WN_FUSE_RRF ? wa * absent_a : 0);
        out[m].row = bs[i].row;
        out[m].score = (float)s;
        out[m].first_rank = bs[i].rank;
        out[m].first_score = b[bs[i].rank - 1].score;
        m++;
    }
    qsort(out, (size_t)m, sizeof *out, cmp_hit);
    wn_free(za);
    wn_free(bs);
    *n = m;
    return WN_OK;
}
