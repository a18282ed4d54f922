/* test_pipeline.c - the pipeline: hybrid fusion (hand-computed RRF, min-max and
 * z-score cases), atomic index building (a failed rebuild leaves the old index,
 * --skip-bad skips and warns), BM25 through the searcher, and with the tiny model
 * fixtures: dense search and chunk max-pooling against brute force over
 * wn_model_embed, re-ranking against wn_model_score. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "scratch.h"
#include "winnow.h"

#define BI "tests/fixtures/model/tiny-bi"
#define CE "tests/fixtures/model/tiny-ce"

static wn_hit H(int64_t row, float score) {
    wn_hit h = {row, score, 0, score};
    return h;
}

static void check_order(const wn_hit *h, int n, const int64_t *want, const char *what) {
    for (int i = 0; i < n; i++) CHECK(h[i].row == want[i], "%s: position %d has row %lld, want %lld", what, i, (long long)h[i].row, (long long)want[i]);
}

/* a = r1 3.0, r2 2.0, r3 1.0; b = r3 0.9, r4 0.5
 * RRF (k=60, w=.5): r1 1/61, r2 1/62, r3 1/63 + 1/61, r4 1/62 -> r3 r1 r2 r4 (tie by row)
 * min-max (w=.5): a -> 1 .5 0, b -> 1 0, absent 0: r1 .5, r2 .25, r3 .5, r4 0 -> r1 r3 r2 r4
 * min-max (w=.8): r1 .2, r2 .1, r3 .8, r4 0 -> r3 r1 r2 r4
 * z-score (w=.5): a: mean 2, sd sqrt(2/3) -> 1.2247 0 -1.2247; b: mean .7, sd .2 -> 1 -1;
 *   absent: the list's lowest z. r1 (1.2247 - 1)/2 = .1124, r2 (0 - 1)/2 = -.5,
 *   r3 (-1.2247 + 1)/2 = -.1124, r4 (-1.2247 - 1)/2 = -1.1124 -> r1 r3 r2 r4 */
static void fusion(void) {
    wn_hit a[3] = {H(1, 3), H(2, 2), H(3, 1)}, b[2] = {H(3, .9f), H(4, .5f)}, out[5];
    int n;
    CHECK(wn_pipeline_fuse(WN_FUSE_RRF, 60, .5f, a, 3, b, 2, out, &n) == WN_OK && n == 4, "rrf n=%d", n);
    int64_t w1[] = {3, 1, 2, 4};
    check_order(out, 4, w1, "rrf");
    CHECK_NEAR(out[0].score, 1.0 / 63 + 1.0 / 61, 1e-7);
    CHECK_NEAR(out[1].score, 1.0 / 61, 1e-7);
    CHECK(wn_pipeline_fuse(WN_FUSE_MINMAX, 60, .5f, a, 3, b, 2, out, &n) == WN_OK, "minmax");
    int64_t w2[] = {1, 3, 2, 4};
    check_order(out, 4, w2, "minmax .5");
    CHECK_NEAR(out[2].score, .25, 1e-6);
    CHECK(wn_pipeline_fuse(WN_FUSE_MINMAX, 60, .8f, a, 3, b, 2, out, &n) == WN_OK, "minmax .8");
    int64_t w3[] = {3, 1, 2, 4};
    check_order(out, 4, w3, "minmax .8");
    CHECK_NEAR(out[0].score, .8, 1e-6);
    CHECK(wn_pipeline_fuse(WN_FUSE_ZSCORE, 60, .5f, a, 3, b, 2, out, &n) == WN_OK, "zscore");
    int64_t w4[] = {1, 3, 2, 4};
    check_order(out, 4, w4, "zscore");
    CHECK_NEAR(out[0].score, (sqrt(1.5) - 1) / 2, 1e-5);
    CHECK_NEAR(out[3].score, (-sqrt(1.5) - 1) / 2, 1e-5);
    CHECK(wn_pipeline_fuse(WN_FUSE_RRF, 60, 1.5f, a, 3, b, 2, out, &n) == WN_ERR_ARG, "weight 1.5 accepted");
    CHECK(wn_pipeline_fuse(WN_FUSE_RRF, 60, .5f, a, 0, b, 0, out, &n) == WN_OK && n == 0, "empty lists");
}

static const char *docs[][3] = {
    {"d0", "Cats", "the cat sat on the warm mat near the window"},
    {"d1", "Dogs", "dogs are loyal companions and enjoy long walks in the park every day"},
    {"d2", "", "quantum entanglement links particles across large distances in physics experiments"},
    {"d3", "Cooking", "a good risotto needs patience stock and constant stirring over a medium flame"},
    {"d4", "Birds", "parrots can imitate human speech and live for many decades in captivity"},
    {"d5", "Rivers", "the amazon river carries more water than any other river on earth by far"},
};
#define NDOC 6

static void warn_cb(void *ud, const char *msg) {
    int *n = ud;
    (*n)++;
    CHECK(strstr(msg, "corpus_bad.tsv:2:") || strstr(msg, "corpus_bad.tsv:4: duplicate document id 'x1'"), "warning names the line: %s", msg);
}

static void build_and_bm25(const char *dir) {
    char corpus[512], bad[512], ix[512];
    snprintf(corpus, sizeof corpus, "%s/corpus.tsv", dir);
    snprintf(bad, sizeof bad, "%s/corpus_bad.tsv", dir);
    snprintf(ix, sizeof ix, "%s/ix", dir);
    FILE *f = fopen(corpus, "wb");
    for (int i = 0; i < NDOC; i++) fprintf(f, "%s\t%s\t%s\n", docs[i][0], docs[i][1], docs[i][2]);
    fclose(f);
    write_file(bad, "x1\tfirst\nno tab here\nx2\tsecond\nx1\tduplicate\n");

    wn_pipeline_build_params bp = wn_pipeline_build_default_params();
    bp.bm25 = 1;
    wn_pipeline_build_stats bs;
    CHECK(wn_pipeline_build(corpus, ix, &bp, &bs) == WN_OK, "build: %s", wn_last_error());
    CHECK(bs.docs == NDOC && bs.skipped == 0, "docs %lld skipped %lld", (long long)bs.docs, (long long)bs.skipped);
    CHECK(wn_pipeline_build(corpus, ix, &bp, &bs) == WN_ERR_ARG, "overwrote without asking");
    /* a failing rebuild leaves the old index */
    bp.overwrite = 1;
    CHECK(wn_pipeline_build(bad, ix, &bp, &bs) == WN_ERR_FORMAT && strstr(wn_last_error(), "corpus_bad.tsv:2:"),
          "bad corpus: %s", wn_last_error());
    wn_store *st;
    CHECK(wn_store_open(ix, 0, &st) == WN_OK && wn_store_count(st) == NDOC, "old index lost");
    wn_store_free(st);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", ix, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "temporary directory left behind");

    wn_pipeline_params pp = wn_pipeline_default_params();
    wn_searcher *s;
    CHECK(wn_searcher_open(ix, &pp, &s) == WN_OK, "open: %s", wn_last_error());
    if (s) {
        wn_hit h[10];
        int n;
        double secs;
        CHECK(wn_searcher_first(s, "amazon river water", 10, h, &n, &secs) == WN_OK && n >= 1, "bm25 search");
        wn_doc d;
        CHECK(n >= 1 && wn_store_get(wn_searcher_store(s), h[0].row, &d) == WN_OK && !strcmp(d.id, "d5"), "top hit %s",
              n >= 1 ? d.id : "-");
        CHECK(wn_searcher_first(s, "zzzz", 10, h, &n, &secs) == WN_OK && n == 0, "no match gives %d hits", n);
        CHECK(wn_searcher_rerank(s, "x", h, 0, 0, h, &secs) == WN_ERR_ARG, "rerank without a model");
        wn_searcher_free(s);
    }
    pp.first_stage = WN_FIRST_DENSE;
    CHECK(wn_searcher_open(ix, &pp, &s) == WN_ERR_NOTFOUND && strstr(wn_last_error(), "--dense"), "dense on bm25-only: %s", wn_last_error());

    /* skipping: the malformed line and the duplicate id are warned about and skipped */
    int n_warn = 0;
    bp.skip_bad = 1;
    bp.warn = warn_cb;
    bp.warn_ud = &n_warn;
    snprintf(ix, sizeof ix, "%s/ix_skip", dir);
    CHECK(wn_pipeline_build(bad, ix, &bp, &bs) == WN_OK, "skip-bad build: %s", wn_last_error());
    CHECK(bs.docs == 2 && bs.skipped == 2 && n_warn == 2, "docs %lld skipped %lld warnings %d", (long long)bs.docs, (long long)bs.skipped, n_warn);
}

static double cosine(const float *a, const float *b, int d) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < d; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

static int cmp_desc(const void *x, const void *y) {
    const double *a = x, *b = y;
    return (a[0] < b[0]) - (a[0] > b[0]);
}

/* brute force: the doc order by max over the texts' cosine with the query */
static void brute(wn_model *m, const char *q, char **texts, const int *text_doc, int nt, double *best /* [NDOC][2] */) {
    int d = wn_model_dim(m);
    float *v = malloc((size_t)(nt + 1) * d * sizeof *v);
    wn_model_embed(m, nt, (const char *const *)texts, v);
    wn_model_embed(m, 1, &q, v + (size_t)nt * d);
    for (int i = 0; i < NDOC; i++) {
        best[2 * i] = -2;
        best[2 * i + 1] = i;
    }
    for (int t = 0; t < nt; t++) {
        double c = cosine(v + (size_t)t * d, v + (size_t)nt * d, d);
        if (c > best[2 * text_doc[t]]) best[2 * text_doc[t]] = c;
    }
    qsort(best, NDOC, 2 * sizeof *best, cmp_desc);
    free(v);
}

static void dense(const char *dir) {
    if (access(BI "/model.safetensors", R_OK) != 0 || access(CE "/model.safetensors", R_OK) != 0) {
        CHECK(0, "the tiny model fixtures %s and %s are absent (they are committed)", BI, CE);
        return;
    }
    char corpus[512], ix[512];
    snprintf(corpus, sizeof corpus, "%s/corpus.tsv", dir);
    wn_model_params mp = wn_model_default_params();
    mp.n_threads = 1;
    wn_model *bi, *ce;
    CHECK(wn_model_load(BI, &mp, &bi) == WN_OK, "load bi: %s", wn_last_error());
    CHECK(wn_model_load(CE, &mp, &ce) == WN_OK, "load ce: %s", wn_last_error());
    if (!bi || !ce) return;
    const char *q = "which animal can talk like people";
    for (int chunked = 0; chunked < 2; chunked++) {
        snprintf(ix, sizeof ix, "%s/ixd%d", dir, chunked);
        wn_pipeline_build_params bp = wn_pipeline_build_default_params();
        bp.bm25 = 1;
        bp.dense_model = BI;
        bp.model_params = mp;
        bp.batch = 4; /* several batches and a short last one */
        if (chunked) {
            bp.chunk_tokens = 4;
            bp.chunk_overlap = 1;
        }
        wn_pipeline_build_stats bs;
        CHECK(wn_pipeline_build(corpus, ix, &bp, &bs) == WN_OK, "dense build: %s", wn_last_error());
        /* the same texts, made here: "title text", or title + each window of 4 words, stride 3 */
        char *texts[256];
        int tdoc[256], nt = 0;
        for (int i = 0; i < NDOC; i++) {
            char words[32][32];
            int nw = 0;
            char tmp[256];
            snprintf(tmp, sizeof tmp, "%s", docs[i][2]);
            for (char *w = strtok(tmp, " "); w; w = strtok(NULL, " ")) snprintf(words[nw++], 32, "%s", w);
            if (!chunked) {
                texts[nt] = malloc(512);
                snprintf(texts[nt], 512, "%s%s%s", docs[i][1], *docs[i][1] ? " " : "", docs[i][2]);
                tdoc[nt++] = i;
                continue;
            }
            for (int w0 = 0;; w0 += 3) {
                texts[nt] = malloc(512);
                snprintf(texts[nt], 512, "%s", docs[i][1]);
                for (int w = w0; w < w0 + 4 && w < nw; w++) {
                    if (*texts[nt]) strcat(texts[nt], " ");
                    strcat(texts[nt], words[w]);
                }
                tdoc[nt++] = i;
                if (w0 + 4 >= nw) break;
            }
        }
        CHECK(bs.vectors == nt, "vectors %lld, want %d", (long long)bs.vectors, nt);
        double best[2 * NDOC];
        brute(bi, q, texts, tdoc, nt, best);
        for (int i = 0; i < nt; i++) free(texts[i]);
        wn_pipeline_params pp = wn_pipeline_default_params();
        pp.first_stage = WN_FIRST_DENSE;
        pp.model_params = mp;
        pp.rerank_model = CE;
        wn_searcher *s;
        CHECK(wn_searcher_open(ix, &pp, &s) == WN_OK, "open dense: %s", wn_last_error());
        if (!s) continue;
        wn_hit h[NDOC], r[NDOC];
        int n;
        double secs;
        CHECK(wn_searcher_first(s, q, NDOC, h, &n, &secs) == WN_OK && n == NDOC, "dense search n=%d: %s", n, wn_last_error());
        for (int i = 0; i < n; i++) {
            CHECK(h[i].row == (int64_t)best[2 * i + 1], "chunked %d rank %d: row %lld, brute force %d", chunked, i,
                  (long long)h[i].row, (int)best[2 * i + 1]);
            CHECK_NEAR(h[i].score, best[2 * i], 1e-4);
        }
        /* re-rank the top 4 of 6: order by the cross-encoder's logits, tail unchanged */
        CHECK(wn_searcher_rerank(s, q, h, n, 4, r, &secs) == WN_OK, "rerank: %s", wn_last_error());
        const char *qs[4], *ds[4];
        float logit[4];
        for (int i = 0; i < 4; i++) {
            int d = (int)h[i].row;
            static char buf[4][512];
            snprintf(buf[i], sizeof buf[i], "%s%s%s", docs[d][1], *docs[d][1] ? " " : "", docs[d][2]);
            qs[i] = q;
            ds[i] = buf[i];
        }
        wn_model_score(ce, 4, qs, ds, logit);
        for (int i = 0; i < 4; i++) {
            int j = r[i].first_rank - 1;
            CHECK(j >= 0 && j < 4 && r[i].row == h[j].row, "re-ranked %d comes from rank %d", i, j);
            if (j >= 0 && j < 4) CHECK_NEAR(r[i].score, logit[j], 1e-4);
            if (i) CHECK(r[i].score <= r[i - 1].score, "re-ranked order at %d", i);
        }
        CHECK(r[4].row == h[4].row && r[5].row == h[5].row && r[4].score < r[3].score, "tail kept in order below the head");
        wn_searcher_free(s);
        /* interpolation 1: only the first stage's (min-max) score counts, so its order stays;
         * 0.5: (minmax(logit) + minmax(first)) / 2, computed here */
        for (int ip = 0; ip < 2; ip++) {
            pp.interpolate = ip ? 0.5f : 1.0f;
            CHECK(wn_searcher_open(ix, &pp, &s) == WN_OK, "open: %s", wn_last_error());
            if (!s) continue;
            CHECK(wn_searcher_rerank(s, q, h, n, 4, r, &secs) == WN_OK, "rerank interpolated");
            float lo = logit[0], hi = logit[0], flo = h[0].score, fhi = h[0].score;
            for (int i = 1; i < 4; i++) {
                lo = fminf(lo, logit[i]);
                hi = fmaxf(hi, logit[i]);
                flo = fminf(flo, h[i].score);
                fhi = fmaxf(fhi, h[i].score);
            }
            for (int i = 0; i < 4; i++) {
                int j = r[i].first_rank - 1;
                if (!ip) CHECK(j == i, "interpolate 1: position %d comes from rank %d", i, j);
                else if (j >= 0 && j < 4)
                    CHECK_NEAR(r[i].score, 0.5 * (logit[j] - lo) / (hi - lo) + 0.5 * (h[j].score - flo) / (fhi - flo), 1e-5);
            }
            wn_searcher_free(s);
        }
        pp.interpolate = 0;
        /* hybrid: RRF of BM25 and dense */
        pp.first_stage = WN_FIRST_HYBRID;
        pp.rerank_model = NULL;
        CHECK(wn_searcher_open(ix, &pp, &s) == WN_OK, "open hybrid: %s", wn_last_error());
        if (s) {
            CHECK(wn_searcher_first(s, "parrots speech", 3, h, &n, &secs) == WN_OK && n == 3, "hybrid n=%d", n);
            CHECK(h[0].row == 4, "hybrid top row %lld", (long long)h[0].row);
            wn_searcher_free(s);
        }
    }
    wn_model_free(bi);
    wn_model_free(ce);
}

int main(void) {
    char dir[] = "/tmp/wn_test_pipeline_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    fusion();
    build_and_bm25(dir);
    dense(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done();
}
