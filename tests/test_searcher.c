/* test_searcher.c - the pipeline's library routines that the CLI and the demo call:
 * a searcher made from handles (store, or in-memory texts) gives what the same index
 * directory opened by path gives, bit for bit, on every first stage and re-ranking;
 * the k-candidates sweep equals separate re-rankings at each depth on fresh
 * searchers; the pair cache scores each (query, document) pair once (its counts, and
 * results equal to uncached ones); an experiment's stages equal the stages run by
 * hand; wn_latency_of on a hand-computed case; wn_report's extra tables; bad parts
 * are refused. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "winnow.h"

#define BI "tests/fixtures/model/tiny-bi"
#define CE "tests/fixtures/model/tiny-ce"
#define NDOC 12
#define NQ 4

static const char *docs[NDOC][3] = {
    {"a1", "Cats", "the cat sat on the warm mat near the window"},
    {"a2", "Dogs", "dogs are loyal companions and enjoy long walks in the park"},
    {"a3", "", "quantum entanglement links particles across large distances"},
    {"a4", "Cooking", "a good risotto needs patience stock and constant stirring"},
    {"a5", "Birds", "parrots can imitate human speech and live for decades"},
    {"a6", "Rivers", "the amazon river carries more water than any other river"},
    {"a7", "Kittens", "a kitten chases the cat toy across the mat"},
    {"a8", "Parks", "city parks give dogs and people room to walk"},
    {"a9", "Libraries", "the library catalog lists every book by subject and author"},
    {"a10", "Search", "information retrieval systems rank documents for a query"},
    {"a11", "", "the mat by the door is where the dog sleeps"},
    {"a12", "Speech", "human speech recognition uses acoustic models"},
};
static const char *queries[NQ] = {"cat on a mat", "walking dogs in the park", "talking birds", "library book search"};
static const char *qids[NQ] = {"q1", "q2", "q3", "q4"};

static int same_hits(const wn_hit *a, const wn_hit *b, int n) {
    for (int i = 0; i < n; i++)
        if (a[i].row != b[i].row || a[i].score != b[i].score || a[i].first_rank != b[i].first_rank ||
            a[i].first_score != b[i].first_score)
            return 0;
    return 1;
}

static void build(const char *dir, char *ix) {
    char corpus[512];
    snprintf(corpus, sizeof corpus, "%s/corpus.tsv", dir);
    FILE *f = fopen(corpus, "wb");
    for (int i = 0; i < NDOC; i++) fprintf(f, "%s\t%s\t%s\n", docs[i][0], docs[i][1], docs[i][2]);
    fclose(f);
    wn_pipeline_build_params bp = wn_pipeline_build_default_params();
    bp.bm25 = 1;
    bp.dense_model = BI;
    bp.model_params.n_threads = 1;
    CHECK(wn_pipeline_build(corpus, ix, &bp, NULL) == WN_OK, "build: %s", wn_last_error());
}

/* Every first stage and a re-ranking of the top 5 on a (path) and b (handles). */
static void compare(wn_searcher *a, wn_searcher *b, const char *what) {
    static const wn_first_stage fs[3] = {WN_FIRST_BM25, WN_FIRST_DENSE, WN_FIRST_HYBRID};
    for (int f = 0; f < 3; f++) {
        wn_pipeline_params p = wn_pipeline_default_params();
        p.first_stage = fs[f];
        CHECK(wn_searcher_set_params(a, &p) == WN_OK && wn_searcher_set_params(b, &p) == WN_OK, "set_params: %s",
              wn_last_error());
        for (int q = 0; q < NQ; q++) {
            wn_hit ha[NDOC], hb[NDOC], ra[NDOC], rb[NDOC];
            int na = -1, nb = -2;
            CHECK(wn_searcher_first(a, queries[q], 8, ha, &na, NULL) == WN_OK, "first: %s", wn_last_error());
            CHECK(wn_searcher_first(b, queries[q], 8, hb, &nb, NULL) == WN_OK, "first: %s", wn_last_error());
            CHECK(na == nb && na > 0 && same_hits(ha, hb, na), "%s %s '%s': %d vs %d hits, or they differ", what,
                  wn_first_stage_name(fs[f]), queries[q], na, nb);
            if (na != nb || na < 5) continue;
            CHECK(wn_searcher_rerank(a, queries[q], ha, na, 5, ra, NULL) == WN_OK, "rerank: %s", wn_last_error());
            CHECK(wn_searcher_rerank(b, queries[q], hb, nb, 5, rb, NULL) == WN_OK, "rerank: %s", wn_last_error());
            CHECK(same_hits(ra, rb, na), "%s %s '%s': re-rankings differ", what, wn_first_stage_name(fs[f]), queries[q]);
        }
    }
}

/* The sweep against separate re-rankings on fresh searchers, and the cache's counts. */
static void sweep(const wn_searcher_parts *parts) {
    static const int depths[4] = {2, 7, 4, 50}; /* 50 > n: the whole list */
    wn_searcher *s, *t;
    wn_pipeline_params pp = wn_pipeline_default_params();
    pp.first_stage = WN_FIRST_DENSE; /* every document is a hit */
    CHECK(wn_searcher_create(parts, &pp, &s) == WN_OK, "create: %s", wn_last_error());
    if (!s) return;
    int64_t scored = 0, reused = 0, want_scored = 0, want_reused = 0;
    for (int q = 0; q < NQ; q++) {
        wn_hit h[NDOC], out[4 * NDOC], one[NDOC];
        double secs[4];
        int n;
        CHECK(wn_searcher_first(s, queries[q], 9, h, &n, NULL) == WN_OK && n == 9, "first n=%d", n);
        CHECK(wn_searcher_rerank_sweep(s, queries[q], h, n, 4, depths, out, secs) == WN_OK, "sweep: %s", wn_last_error());
        want_scored += n; /* the deepest depth covers the list */
        wn_searcher_cache_stats(s, &scored, &reused);
        CHECK(scored == want_scored && reused == want_reused, "after the sweep of '%s': %lld scored (want %lld), %lld reused",
              queries[q], (long long)scored, (long long)want_scored, (long long)reused);
        for (int j = 0; j < 4; j++) {
            CHECK(secs[j] >= 0, "depth %d: %g seconds", depths[j], secs[j]);
            CHECK(wn_searcher_create(parts, &pp, &t) == WN_OK, "create: %s", wn_last_error());
            int m = depths[j] < n ? depths[j] : n;
            CHECK(t && wn_searcher_rerank(t, queries[q], h, n, m, one, NULL) == WN_OK, "rerank at %d", m);
            CHECK(same_hits(out + (size_t)j * n, one, n), "'%s': the sweep at depth %d differs from a re-ranking alone",
                  queries[q], depths[j]);
            int64_t ts;
            wn_searcher_cache_stats(t, &ts, NULL);
            CHECK(ts == m, "a fresh searcher scored %lld pairs for depth %d", (long long)ts, m);
            wn_searcher_free(t);
        }
        /* again, at another depth: nothing new is scored, the result is a fresh searcher's */
        wn_hit fresh[NDOC];
        CHECK(wn_searcher_rerank(s, queries[q], h, n, 3, one, NULL) == WN_OK, "rerank again");
        CHECK(wn_searcher_create(parts, &pp, &t) == WN_OK, "create: %s", wn_last_error());
        CHECK(t && wn_searcher_rerank(t, queries[q], h, n, 3, fresh, NULL) == WN_OK, "rerank fresh");
        CHECK(same_hits(one, fresh, n), "'%s': the cached re-ranking at 3 differs from a fresh one", queries[q]);
        wn_searcher_free(t);
        want_reused += 3;
        wn_searcher_cache_stats(s, &scored, &reused);
        CHECK(scored == want_scored && reused == want_reused, "cached: %lld scored, %lld reused (want %lld)",
              (long long)scored, (long long)reused, (long long)want_reused);
    }
    /* a cleared cache scores again */
    wn_hit h[NDOC], one[NDOC];
    int n;
    wn_searcher_cache_clear(s);
    CHECK(wn_searcher_first(s, queries[0], 9, h, &n, NULL) == WN_OK, "first");
    CHECK(wn_searcher_rerank(s, queries[0], h, n, 4, one, NULL) == WN_OK, "rerank after clear");
    wn_searcher_cache_stats(s, &scored, NULL);
    CHECK(scored == want_scored + 4, "after a clear: %lld scored, want %lld", (long long)scored, (long long)want_scored + 4);
    wn_searcher_free(s);
}

/* An experiment with depths {3, 6} (and rank scores) against the stages run by hand. */
static void experiment(const wn_searcher_parts *parts) {
    wn_pipeline_params pp = wn_pipeline_default_params();
    pp.first_stage = WN_FIRST_HYBRID;
    wn_searcher *s, *t;
    CHECK(wn_searcher_create(parts, &pp, &s) == WN_OK, "create: %s", wn_last_error());
    CHECK(wn_searcher_create(parts, &pp, &t) == WN_OK, "create: %s", wn_last_error());
    if (!s || !t) return;
    static const int depths[2] = {3, 6};
    wn_experiment_params xp = wn_experiment_default_params();
    xp.first_k = 8;
    xp.n_depths = 2;
    xp.depths = depths;
    xp.keep_hits = 1;
    xp.rank_scores = 1;
    wn_experiment *e;
    CHECK(wn_experiment_run(s, NQ, qids, queries, &xp, &e) == WN_OK, "experiment: %s", wn_last_error());
    if (!e) return;
    CHECK(wn_experiment_num_stages(e) == 3 && !strcmp(wn_experiment_stage_name(e, 0), "hybrid") &&
              !strcmp(wn_experiment_stage_name(e, 2), "rerank@6") && wn_experiment_stage_depth(e, 1) == 3,
          "stages: %d, %s, %s", wn_experiment_num_stages(e), wn_experiment_stage_name(e, 0), wn_experiment_stage_name(e, 2));
    for (int q = 0; q < NQ; q++) {
        wn_hit h[8], r[8];
        int n, ne;
        CHECK(wn_searcher_first(t, queries[q], 8, h, &n, NULL) == WN_OK, "first");
        const wn_hit *eh = wn_experiment_hits(e, 0, q, &ne);
        CHECK(eh && ne == n && same_hits(eh, h, n), "'%s': the experiment's first stage differs", queries[q]);
        for (int j = 0; j < 2; j++) {
            CHECK(wn_searcher_rerank(t, queries[q], h, n, depths[j] < n ? depths[j] : n, r, NULL) == WN_OK, "rerank");
            eh = wn_experiment_hits(e, j + 1, q, &ne);
            CHECK(eh && ne == n && same_hits(eh, r, n), "'%s': the experiment's rerank@%d differs", queries[q], depths[j]);
        }
        const double *a = wn_experiment_seconds(e, 2, 0), *b = wn_experiment_seconds(e, 2, 1), *f = wn_experiment_seconds(e, 0, 0);
        CHECK(a[q] >= 0 && b[q] == f[q] + a[q], "query %d: total %g != %g + %g", q, b[q], f[q], a[q]);
    }
    /* judged: each query's first document at grade 1; rank scores keep each stage's order */
    wn_qrels *qr;
    wn_measure m;
    wn_measure_parse("mrr@10", &m);
    CHECK(wn_qrels_create(&qr) == WN_OK, "qrels");
    for (int q = 0; q < NQ; q++) {
        int n;
        const wn_hit *eh = wn_experiment_hits(e, 2, q, &n);
        wn_qrels_add(qr, qids[q], docs[eh[0].row][0], 1);
    }
    CHECK(wn_experiment_evaluate(e, qr, 1, &m) == WN_OK, "evaluate: %s", wn_last_error());
    CHECK(wn_eval_mean(wn_experiment_eval(e, 2), 0) == 1.0, "rerank@6 MRR %g, want 1 (each query's top judged)",
          wn_eval_mean(wn_experiment_eval(e, 2), 0));
    wn_qrels_free(qr);
    wn_experiment_free(e);
    wn_searcher_free(s);
    wn_searcher_free(t);
}

static void latency(void) {
    const double v[4] = {0.004, 0.001, 0.003, 0.002};
    wn_latency l = wn_latency_of(v, 4);
    CHECK_NEAR(l.mean, 2.5, 1e-12);
    CHECK_NEAR(l.p50, 2.0, 1e-12); /* nearest rank: ceil(0.50 * 4) = 2nd */
    CHECK_NEAR(l.p95, 4.0, 1e-12); /* ceil(0.95 * 4) = 4th */
    CHECK_NEAR(l.max, 4.0, 1e-12);
    l = wn_latency_of(v, 0);
    CHECK(l.mean == 0 && l.p99 == 0, "no queries");
}

/* wn_report's extra tables: cells escaped, a bar per row of the bar column, a page
 * without stages; a malformed table refused. */
static void report_tables(void) {
    static const char *const cols[3] = {"stage", "nDCG@10", "note"};
    static const char *const cells[6] = {"dense", "0.500", "a<b", "rerank", "0.250", "x & y"};
    wn_report_table t = {"Stages", "bars: nDCG", 3, 2, cols, cells, 1};
    wn_report r = {"page", 0, NULL, 0, NULL, 0, NULL, "intro <1>", 1, &t};
    char path[] = "/tmp/wn_test_report_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    CHECK(wn_report_write(&r, path) == WN_OK, "report: %s", wn_last_error());
    FILE *f = fopen(path, "rb");
    char buf[16384];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
    CHECK(strstr(buf, "<h2>Stages</h2>") && strstr(buf, "intro &lt;1&gt;") && strstr(buf, "a&lt;b") && strstr(buf, "x &amp; y"),
          "report: headings or escaped cells missing");
    CHECK(strstr(buf, "<rect width=\"60.0\"") && strstr(buf, "<rect width=\"30.0\""), "report: bars of 0.5 and 0.25 missing");
    CHECK(!strstr(buf, "Metrics per stage"), "report: a stage table without stages");
    t.bar_col = 3;
    CHECK(wn_report_write(&r, path) == WN_ERR_ARG, "bar column 3 of 3 accepted");
    unlink(path);
}

/* A cross-encoder's own interpolation (config.json "winnow": {"rerank_interpolate"}):
 * used when the parameters say < 0 (the default), overridden by an explicit value; 1
 * keeps the first stage's order, 0 is the cross-encoder alone; a bad value is refused. */
static void own_interpolation(const wn_searcher_parts *mem, const char *dir) {
    char cmd[1700], ce_dir[700];
    snprintf(ce_dir, sizeof ce_dir, "%s/ce-own", dir);
    snprintf(cmd, sizeof cmd, "cp -r %s %s && sed -i 's/\"vocab_size\": 1174,/\"vocab_size\": 1174, \"winnow\": {\"rerank_interpolate\": 1},/' %s/config.json",
             CE, ce_dir, ce_dir);
    CHECK(system(cmd) == 0, "could not make %s", ce_dir);
    wn_model_params mp = wn_model_default_params();
    mp.n_threads = 1;
    wn_model *own = NULL;
    CHECK(wn_model_load(ce_dir, &mp, &own) == WN_OK, "load %s: %s", ce_dir, wn_last_error());
    if (!own) return;
    CHECK(wn_model_rerank_interpolate(own) == 1.0f, "rerank_interpolate %g, want 1", (double)wn_model_rerank_interpolate(own));
    CHECK(wn_model_rerank_interpolate(mem->ce) == 0.0f, "a model without the key: %g", (double)wn_model_rerank_interpolate(mem->ce));
    wn_pipeline_params pp = wn_pipeline_default_params();
    CHECK(pp.interpolate < 0, "default interpolate %g: the model's own is not the default", (double)pp.interpolate);
    pp.first_stage = WN_FIRST_BM25;
    wn_searcher_parts parts = *mem;
    parts.ce = own;
    wn_searcher *s = NULL, *plain = NULL;
    CHECK(wn_searcher_create(&parts, &pp, &s) == WN_OK, "create: %s", wn_last_error());
    CHECK(wn_searcher_create(mem, &pp, &plain) == WN_OK, "create plain: %s", wn_last_error());
    wn_hit h[NDOC], r[NDOC], r0[NDOC];
    int n = 0, moved = 0;
    for (int q = 0; s && plain && q < NQ; q++) {
        CHECK(wn_searcher_first(s, queries[q], NDOC, h, &n, NULL) == WN_OK && n >= 1, "first: %s", wn_last_error());
        CHECK(wn_searcher_rerank(s, queries[q], h, n, n, r, NULL) == WN_OK, "rerank: %s", wn_last_error());
        for (int i = 0; i < n; i++) CHECK(r[i].row == h[i].row || r[i].first_score == h[i].first_score,
                                          "q%d: own interpolation 1 moved rank %d", q, i + 1);
        CHECK(wn_searcher_rerank(plain, queries[q], h, n, n, r0, NULL) == WN_OK, "rerank plain: %s", wn_last_error());
        pp.interpolate = 0; /* explicit: the cross-encoder alone, as the plain model */
        CHECK(wn_searcher_set_params(s, &pp) == WN_OK, "set_params: %s", wn_last_error());
        CHECK(wn_searcher_rerank(s, queries[q], h, n, n, r, NULL) == WN_OK, "rerank 0: %s", wn_last_error());
        CHECK(same_hits(r, r0, n), "q%d: explicit interpolate 0 differs from the cross-encoder alone", q);
        for (int i = 0; i < n; i++) moved += r0[i].row != h[i].row;
        pp.interpolate = -1;
        CHECK(wn_searcher_set_params(s, &pp) == WN_OK, "set_params: %s", wn_last_error());
    }
    CHECK(moved > 0, "the cross-encoder never changed the order: the test shows nothing");
    wn_searcher_free(s);
    wn_searcher_free(plain);
    wn_model_free(own);
    snprintf(cmd, sizeof cmd, "sed -i 's/\"rerank_interpolate\": 1/\"rerank_interpolate\": 2/' %s/config.json", ce_dir);
    CHECK(system(cmd) == 0, "sed");
    own = NULL;
    CHECK(wn_model_load(ce_dir, &mp, &own) == WN_ERR_FORMAT && !own && strstr(wn_last_error(), "rerank_interpolate"),
          "rerank_interpolate 2 accepted or unclear: %s", wn_last_error());
}

int main(void) {
    latency();
    report_tables();
    if (access(BI "/model.safetensors", R_OK) != 0 || access(CE "/model.safetensors", R_OK) != 0) {
        printf("SKIPPED: tiny model fixtures absent (%s, %s)\n", BI, CE);
        return check_done() ? 1 : 77;
    }
    char dir[] = "/tmp/wn_test_searcher_XXXXXX", ix[600];
    if (!mkdtemp(dir)) return 1;
    snprintf(ix, sizeof ix, "%s/ix", dir);
    build(dir, ix);
    wn_pipeline_params pp = wn_pipeline_default_params();
    pp.first_stage = WN_FIRST_HYBRID;
    pp.rerank_model = CE;
    pp.model_params.n_threads = 1;
    wn_searcher *a = NULL, *b = NULL, *c = NULL;
    wn_store *store = NULL;
    wn_bm25 *bm25 = NULL;
    wn_index *index = NULL;
    wn_model *bi = NULL, *ce = NULL;
    char path[700], *texts[NDOC];
    const char *ids[NDOC];
    CHECK(wn_searcher_open(ix, &pp, &a) == WN_OK, "open: %s", wn_last_error());
    CHECK(wn_store_open(ix, 0, &store) == WN_OK, "store: %s", wn_last_error());
    snprintf(path, sizeof path, "%s/bm25.idx", ix);
    CHECK(wn_bm25_load(path, &bm25) == WN_OK, "bm25: %s", wn_last_error());
    snprintf(path, sizeof path, "%s/dense.idx", ix);
    CHECK(wn_index_load(path, &index) == WN_OK, "index: %s", wn_last_error());
    CHECK(wn_model_load(BI, &pp.model_params, &bi) == WN_OK && wn_model_load(CE, &pp.model_params, &ce) == WN_OK, "models");
    for (int i = 0; i < NDOC; i++) { /* title + " " + text, as the index and re-ranker read them */
        texts[i] = malloc(256);
        snprintf(texts[i], 256, "%s%s%s", docs[i][1], *docs[i][1] ? " " : "", docs[i][2]);
        ids[i] = docs[i][0];
    }
    wn_searcher_parts parts = {store, NULL, NULL, 0, bm25, index, NULL, 0, bi, ce};
    CHECK(wn_searcher_create(&parts, &pp, &b) == WN_OK, "create (store): %s", wn_last_error());
    wn_searcher_parts mem = {NULL, (const char *const *)texts, ids, NDOC, bm25, index, NULL, 0, bi, ce};
    CHECK(wn_searcher_create(&mem, &pp, &c) == WN_OK, "create (texts): %s", wn_last_error());
    if (a && b && c) {
        compare(a, b, "handles + store");
        compare(a, c, "handles + texts");
        sweep(&mem);
        experiment(&mem);
        own_interpolation(&mem, dir);
    }
    /* refusals: a first stage without its index, re-ranking without a cross-encoder */
    wn_searcher_parts none = {NULL, (const char *const *)texts, ids, NDOC, NULL, index, NULL, 0, bi, NULL};
    wn_searcher *d = NULL;
    pp.first_stage = WN_FIRST_BM25;
    CHECK(wn_searcher_create(&none, &pp, &d) == WN_ERR_ARG && !d, "bm25 without a BM25 index accepted");
    pp.first_stage = WN_FIRST_DENSE;
    CHECK(wn_searcher_create(&none, &pp, &d) == WN_OK && d, "dense from handles: %s", wn_last_error());
    wn_hit h[4], r[4];
    int n = 0;
    if (d) CHECK(wn_searcher_first(d, "cat", 4, h, &n, NULL) == WN_OK && n == 4, "dense n=%d", n);
    CHECK(wn_searcher_rerank(d, "cat", h, n, 2, r, NULL) == WN_ERR_ARG, "re-ranking without a cross-encoder accepted");
    pp.first_stage = WN_FIRST_BM25;
    CHECK(d && wn_searcher_set_params(d, &pp) == WN_ERR_ARG, "set_params to bm25 without a BM25 index accepted");
    wn_searcher_free(d);
    wn_searcher_free(a);
    wn_searcher_free(b);
    wn_searcher_free(c);
    wn_store_free(store); /* the handles outlive the searchers made from them */
    wn_bm25_free(bm25);
    wn_index_free(index);
    wn_model_free(bi);
    wn_model_free(ce);
    for (int i = 0; i < NDOC; i++) free(texts[i]);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    if (system(path) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done();
}
