/*
 * test_bm25.c - BM25 against hand-computed cases, the analyzer against Lucene 8's
 * EnglishAnalyzer output (bench/LuceneBM25.java analyze), top k against brute
 * force, batch against single queries, save -> load, corrupt files, duplicates.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "scratch.h"
#include "faults.h"
#include "winnow.h"
#include "lexical/lexical.h"

static char *analyze(int stem, int stop, const char *text) {
    wn_bm25_params p = wn_bm25_default_params();
    p.stem = stem;
    p.stopwords = stop;
    char *out = NULL;
    wn_status st = wn_bm25_analyze(&p, text, &out);
    CHECK(st == WN_OK, "analyze: %s", wn_last_error());
    return out;
}

static void check_analyze(const char *text, const char *want) {
    char *got = analyze(1, 1, text);
    CHECK(got && strcmp(got, want) == 0, "analyze(\"%s\"):\n   got  \"%s\"\n   want \"%s\"", text, got ? got : "(null)",
          want);
    wn_free_buffer(got);
}

/* Expected outputs printed by Lucene 8.7's EnglishAnalyzer (LuceneBM25 analyze). */
static void test_analyzer(void) {
    check_analyze("The quick brown foxes jumped over the lazy dogs", "quick brown fox jump over lazi dog");
    check_analyze("John's car JOHN'S john\xe2\x80\x99s", "john car john john");
    check_analyze("version 3.14 costs 1,000 dollars e-mail: foo@bar.com U.S.A. can't a:b x_y ___ _foo",
                  "version 3.14 cost 1,000 dollar e mail foo bar.com u.s.a can't a:b x_y _foo");
    check_analyze("Caf\xc3\xa9 \xc3\x9c" "BER na\xc3\xafve \xe6\x9d\xb1\xe4\xba\xac\xe3\x82\xbf\xe3\x83\xaf\xe3\x83\xbc "
                  "\xe3\x81\xb8\xe3\x81\x84\xe3\x82\x8f",
                  "caf\xc3\xa9 \xc3\xbc" "ber na\xc3\xafv \xe6\x9d\xb1 \xe4\xba\xac \xe3\x82\xbf\xe3\x83\xaf\xe3\x83\xbc "
                  "\xe3\x81\xb8 \xe3\x81\x84 \xe3\x82\x8f");
    check_analyze("is us as gas relational generalization biology conditional possibly hopefully electricity",
                  "us ga relat gener biologi condit possibl hopefulli electr");
    /* Porter's own departures, kept by Lucene (libstemmer's "porter" differs here) */
    check_analyze("archaeology analogy sensibility", "archaeolog analog sensibl");
    /* emoji sequences are tokens (StandardTokenizer's <EMOJI>), '#' and '*' are not */
    check_analyze("I \xe2\x9d\xa4\xef\xb8\x8f NY \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd \xf0\x9f\x87\xab\xf0\x9f\x87\xb7 "
                  "a\xf0\x9f\x98\x80" "b \xc2\xa9 2020 #1 *x",
                  "i \xe2\x9d\xa4\xef\xb8\x8f ny \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd \xf0\x9f\x87\xab\xf0\x9f\x87\xb7 "
                  "\xf0\x9f\x98\x80 b \xc2\xa9 2020 1 x");
    /* U+202F (narrow no-break space) joins words, as ExtendNumLet (Debian's kwidgetsaddons text) */
    check_analyze("documentation\xe2\x80\xaf" "for it", "documentation\xe2\x80\xaf" "for");
    check_analyze("", "");
    check_analyze("the of and, to!", "");
    /* options: no stemming keeps the word, no stopwords keeps "the" */
    char *s = analyze(0, 1, "The running dogs");
    CHECK(s && strcmp(s, "running dogs") == 0, "no-stem: \"%s\"", s);
    wn_free_buffer(s);
    s = analyze(0, 0, "The running dogs");
    CHECK(s && strcmp(s, "the running dogs") == 0, "no-stem no-stop: \"%s\"", s);
    wn_free_buffer(s);
    /* invalid UTF-8 separates words and is never fatal */
    s = analyze(1, 1, "abc\xff\xfe" "def");
    CHECK(s && strcmp(s, "abc def") == 0, "invalid utf-8: \"%s\"", s);
    wn_free_buffer(s);
    /* words over 255 characters are split at 255, as StandardTokenizer does */
    char longw[301];
    memset(longw, 'x', 300);
    longw[300] = 0;
    s = analyze(0, 1, longw);
    CHECK(s && strlen(s) == 301 && s[255] == ' ', "long word: %zu bytes", s ? strlen(s) : 0);
    wn_free_buffer(s);
}

/* Lucene's SmallFloat.byte4ToInt for a few bytes, printed by LuceneBM25 norms:
 * 0..23 exact, then 4 significant bits. */
static void test_norms(void) {
    static const struct { int byte, len; } ref[] = {{0, 0}, {23, 23}, {24, 24}, {40, 40}, {41, 42}, {56, 88},
                                                     {57, 96}, {100, 3096}, {254, 1879048216}};
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
        CHECK(bm25_norm_to_len((uint8_t)ref[i].byte) == (uint32_t)ref[i].len, "norm %d -> %u, Lucene %d", ref[i].byte,
              bm25_norm_to_len((uint8_t)ref[i].byte), ref[i].len);
    /* encoding rounds down to the largest representable length */
    CHECK(bm25_len_to_norm(100) == 57, "len 100 -> norm %d", bm25_len_to_norm(100));
    for (uint32_t len = 0; len < 100000; len += 7) {
        uint8_t n = bm25_len_to_norm(len);
        CHECK(bm25_norm_to_len(n) <= len && (n == 255 || bm25_norm_to_len((uint8_t)(n + 1)) > len), "len %u", len);
    }
}

/* Three documents, stem off, k1 = 0.9, b = 0.4:
 *   10: "cat dog cat"               length 3
 *   20: "dog fish"                  length 2
 *   30: "cat bird bird fish mouse"  length 5
 * N = 3, avgdl = 10/3, K(l) = 0.9 * (0.6 + 0.4 * l / avgdl)
 * idf(cat) = ln(1 + (3 - 2 + 0.5) / (2 + 0.5)) = ln 1.6 = 0.470003629
 * idf(bird) = ln(1 + 2.5 / 1.5) = 0.980829253
 * "cat bird": s(10) = 0.470003629 * 1.9 * 2 / (2 + K(3))                       = 0.623608167
 *             s(30) = 0.470003629 * 1.9 / (1 + K(5)) + 0.980829253 * 1.9 * 2 / (2 + K(5)) = 1.639444252
 * "cat cat" counts cat twice (Anserini: one clause per query token): 2 * s_cat. */
static void test_hand(void) {
    wn_bm25_params p = wn_bm25_default_params();
    p.stem = 0;
    wn_bm25 *ix;
    CHECK(wn_bm25_create(&p, &ix) == WN_OK, "%s", wn_last_error());
    CHECK(wn_bm25_add(ix, 10, "cat dog cat") == WN_OK, "%s", wn_last_error());
    CHECK(wn_bm25_add(ix, 20, "Dog, fish.") == WN_OK, "%s", wn_last_error());
    CHECK(wn_bm25_add(ix, 30, "cat bird bird fish mouse") == WN_OK, "%s", wn_last_error());
    CHECK(wn_bm25_count(ix) == 3, "size %lld", (long long)wn_bm25_count(ix));
    float sc[5];
    int64_t id[5];
    int n = -1;
    CHECK(wn_bm25_search(ix, "cat bird", 5, sc, id, &n) == WN_OK, "%s", wn_last_error());
    CHECK(n == 2, "n = %d", n);
    if (n == 2) {
        CHECK(id[0] == 30 && id[1] == 10, "ids %lld %lld", (long long)id[0], (long long)id[1]);
        CHECK_NEAR(sc[0], 1.639444252, 1e-6);
        CHECK_NEAR(sc[1], 0.623608167, 1e-6);
    }
    CHECK(wn_bm25_search(ix, "cat cat zebra", 5, sc, id, &n) == WN_OK, "%s", wn_last_error());
    CHECK(n == 2 && id[0] == 10 && id[1] == 30, "cat cat: n %d", n);
    if (n == 2) {
        double avgdl = 10.0 / 3, K3 = 0.9 * (0.6 + 0.4 * 3 / avgdl), K5 = 0.9 * (0.6 + 0.4 * 5 / avgdl);
        CHECK_NEAR(sc[0], 2 * 0.470003629 * 1.9 * 2 / (2 + K3), 1e-6);
        CHECK_NEAR(sc[1], 2 * 0.470003629 * 1.9 / (1 + K5), 1e-6);
    }
    /* k = 1, then ties: "fish" is in 20 (length 2) and 30 (length 5): 20 first */
    CHECK(wn_bm25_search(ix, "fish", 1, sc, id, &n) == WN_OK && n == 1 && id[0] == 20, "fish k=1");
    /* empty, stopword-only and unknown queries find nothing, without error */
    CHECK(wn_bm25_search(ix, "", 5, sc, id, &n) == WN_OK && n == 0, "empty query n %d", n);
    CHECK(wn_bm25_search(ix, "the and of", 5, sc, id, &n) == WN_OK && n == 0, "stopwords n %d", n);
    CHECK(wn_bm25_search(ix, "zebra", 5, sc, id, &n) == WN_OK && n == 0, "unknown n %d", n);
    CHECK(wn_bm25_search(ix, "cat", 0, sc, id, &n) == WN_OK && n == 0, "k=0 n %d", n);
    CHECK(wn_bm25_search(ix, "cat", -1, sc, id, &n) == WN_ERR_ARG, "k=-1 accepted");
    {   /* k far above N allocates nothing of size k */
        float *big_s = malloc(sizeof(float) * 1000000);
        int64_t *big_i = malloc(sizeof(int64_t) * 1000000);
        CHECK(wn_bm25_search(ix, "cat", 1000000, big_s, big_i, &n) == WN_OK && n == 2, "k=1e6: n %d %s", n,
              wn_last_error());
        free(big_s);
        free(big_i);
    }
    /* duplicate ids: rejected, with the id in the message, and the index unchanged */
    CHECK(wn_bm25_add(ix, 20, "zebra") == WN_ERR_ARG, "duplicate id accepted");
    CHECK(strstr(wn_last_error(), "20") != NULL, "message: %s", wn_last_error());
    CHECK(wn_bm25_count(ix) == 3, "size after duplicate %lld", (long long)wn_bm25_count(ix));
    CHECK(wn_bm25_search(ix, "zebra", 5, sc, id, &n) == WN_OK && n == 0, "zebra indexed by a rejected add");
    char *ex = NULL;
    CHECK(wn_bm25_explain(ix, "cat bird zebra", 30, &ex) == WN_OK, "%s", wn_last_error());
    if (ex) {
        const char *tot = strstr(ex, "total ");
        CHECK(tot && fabs(atof(tot + 6) - 1.639444252) < 1e-6, "explain:\n%s", ex);
        CHECK(strstr(ex, "bird: count 1, df 1") && strstr(ex, "tf 2"), "explain:\n%s", ex);
        wn_free_buffer(ex);
    }
    CHECK(wn_bm25_explain(ix, "cat", 99, &ex) == WN_ERR_NOTFOUND, "explain of a missing id");
    int len = -1;
    CHECK(wn_bm25_doc_length(ix, 30, &len) == WN_OK && len == 5, "doc length %d", len);
    CHECK(wn_bm25_doc_length(ix, 31, &len) == WN_ERR_NOTFOUND, "doc length of a missing id");
    /* an empty document is indexed but not counted in N (Lucene's docCount) */
    CHECK(wn_bm25_add(ix, 40, "the of !!") == WN_OK, "%s", wn_last_error());
    CHECK(wn_bm25_search(ix, "cat bird", 5, sc, id, &n) == WN_OK && n == 2, "n %d", n);
    if (n == 2) CHECK_NEAR(sc[0], 1.639444252, 1e-6);
    wn_bm25_free(ix);
    wn_bm25_free(NULL);
    /* the same collection saved by the first version of the format (WNBM v1) still
     * loads and scores the same */
    CHECK(wn_bm25_load("tests/fixtures/bm25_v1.wnbm", &ix) == WN_OK, "%s", wn_last_error());
    if (ix) {
        wn_bm25_params q = wn_bm25_params_of(ix);
        CHECK(q.stem == 0 && q.stopwords == 1 && q.k1 == 0.9f && q.b == 0.4f, "v1 params");
        CHECK(wn_bm25_search(ix, "cat bird", 5, sc, id, &n) == WN_OK && n == 2 && id[0] == 30 && id[1] == 10,
              "v1 search");
        if (n == 2) {
            CHECK_NEAR(sc[0], 1.639444252, 1e-6);
            CHECK_NEAR(sc[1], 0.623608167, 1e-6);
        }
        wn_bm25_free(ix);
    }
    /* an empty index searches, saves and loads */
    CHECK(wn_bm25_create(NULL, &ix) == WN_OK, "%s", wn_last_error());
    char ebuf[512];
    const char *epath = scratch_path(ebuf, sizeof ebuf, "test_bm25_empty.wnbm");
    CHECK(wn_bm25_search(ix, "cat", 5, sc, id, &n) == WN_OK && n == 0, "empty index n %d", n);
    CHECK(wn_bm25_save(ix, epath) == WN_OK, "%s", wn_last_error());
    wn_bm25_free(ix);
    ix = NULL;
    CHECK(wn_bm25_load(epath, &ix) == WN_OK && wn_bm25_count(ix) == 0, "%s", wn_last_error());
    CHECK(ix && wn_bm25_search(ix, "cat", 5, sc, id, &n) == WN_OK && n == 0, "loaded empty index n %d", n);
    CHECK(ix && wn_bm25_add(ix, 1, "cat") == WN_OK && wn_bm25_search(ix, "cat", 5, sc, id, &n) == WN_OK && n == 1,
          "add to a loaded empty index: %s", wn_last_error());
    wn_bm25_free(ix);
    unlink(epath);
    /* bad parameters */
    p.b = 1.5f;
    CHECK(wn_bm25_create(&p, &ix) == WN_ERR_ARG, "b = 1.5 accepted");
}

/* A seeded random collection with a Zipf-like vocabulary, scored by brute force
 * from the test's own counts, for posting lists of many blocks. */
#define RD 3000
#define RV 400
static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}
static int zipf_word(void) {
    /* P(w) ~ 1 / (w + 1): inverse of the cumulative harmonic sum, by rejection */
    for (;;) {
        int w = (int)(rnd() % RV);
        if (rnd() % (uint32_t)(w + 1) == 0) return w;
    }
}

typedef struct {
    float s;
    int64_t id;
} ref_hit;

static int cmp_ref(const void *a, const void *b) {
    const ref_hit *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void test_random(void) {
    static uint16_t tf[RD][RV];
    static int dl[RD];
    wn_bm25_params p = wn_bm25_default_params();
    p.stem = 0;
    wn_bm25 *ix, *half;
    CHECK(wn_bm25_create(&p, &ix) == WN_OK, "%s", wn_last_error());
    CHECK(wn_bm25_create(&p, &half) == WN_OK, "%s", wn_last_error());
    char *text = malloc(64 * 1024);
    for (int d = 0; d < RD; d++) {
        int len = 1 + (int)(rnd() % 300);
        size_t o = 0;
        for (int i = 0; i < len; i++) {
            int w = zipf_word();
            tf[d][w]++;
            o += (size_t)sprintf(text + o, "w%d ", w);
        }
        dl[d] = len;
        CHECK(wn_bm25_add(ix, 1000 + d, text) == WN_OK, "%s", wn_last_error());
        if (d < RD / 2) CHECK(wn_bm25_add(half, 1000 + d, text) == WN_OK, "%s", wn_last_error());
    }
    /* brute force, Lucene's formula with its one-byte lengths */
    double sum = 0;
    int df[RV] = {0};
    for (int d = 0; d < RD; d++) {
        sum += dl[d];
        for (int w = 0; w < RV; w++) df[w] += tf[d][w] > 0;
    }
    float avgdl = (float)(sum / RD);
    char pbuf[512], hbuf[512];
    const char *path = scratch_path(pbuf, sizeof pbuf, "test_bm25.wnbm");
    CHECK(wn_bm25_save(ix, path) == WN_OK, "save: %s", wn_last_error());
    wn_bm25 *ld = NULL;
    CHECK(wn_bm25_load(path, &ld) == WN_OK, "load: %s", wn_last_error());
    /* the second half added to a loaded first half (copy on write) */
    const char *hpath = scratch_path(hbuf, sizeof hbuf, "test_bm25_half.wnbm");
    wn_bm25 *hl = NULL;
    CHECK(wn_bm25_save(half, hpath) == WN_OK, "save: %s", wn_last_error());
    CHECK(wn_bm25_load(hpath, &hl) == WN_OK, "load: %s", wn_last_error());
    rng = 88172645463325252ull; /* replay the same documents */
    for (int d = 0; d < RD; d++) {
        int len = 1 + (int)(rnd() % 300);
        size_t o = 0;
        for (int i = 0; i < len; i++) o += (size_t)sprintf(text + o, "w%d ", zipf_word());
        if (d >= RD / 2 && hl) CHECK(wn_bm25_add(hl, 1000 + d, text) == WN_OK, "%s", wn_last_error());
    }
    free(text);
    enum { NQ = 150, K = 10 };
    char *queries[NQ];
    int worst_rank = -1;
    ref_hit *all = malloc(sizeof(ref_hit) * RD);
    for (int q = 0; q < NQ; q++) {
        int nt = 1 + (int)(rnd() % 6);
        int words[6];
        char buf[128];
        size_t o = 0;
        for (int i = 0; i < nt; i++) {
            words[i] = (int)(rnd() % 3 ? rnd() % RV : (uint32_t)zipf_word());
            o += (size_t)sprintf(buf + o, "w%d ", words[i]);
        }
        queries[q] = strdup(buf);
        for (int d = 0; d < RD; d++) {
            double s = 0;
            for (int i = 0; i < nt; i++) {
                int w = words[i], f = tf[d][w];
                if (!f) continue;
                float idf = (float)log(1.0 + (RD - df[w] + 0.5) / (df[w] + 0.5));
                float L = (float)bm25_norm_to_len(bm25_len_to_norm((uint32_t)dl[d]));
                double K1 = 0.9 * (0.6 + 0.4 * L / avgdl);
                s += idf * 1.9 * f / (f + K1);
            }
            all[d].s = (float)s;
            all[d].id = 1000 + d;
        }
        qsort(all, RD, sizeof *all, cmp_ref);
        int nref = 0;
        while (nref < K && all[nref].s > 0) nref++;
        const wn_bm25 *ixs[4] = {ix, ld, hl, NULL};
        for (int v = 0; v < 3; v++) {
            if (!ixs[v]) continue;
            float sc[K];
            int64_t id[K];
            int n = -1;
            CHECK(wn_bm25_search(ixs[v], queries[q], K, sc, id, &n) == WN_OK, "%s", wn_last_error());
            CHECK(n == nref, "query %d variant %d: %d hits, brute force %d", q, v, n, nref);
            if (v == 0 && n > 0 && q % 10 == 0) { /* explain agrees with search */
                char *ex = NULL;
                CHECK(wn_bm25_explain(ixs[v], queries[q], id[n - 1], &ex) == WN_OK, "%s", wn_last_error());
                const char *tot = ex ? strstr(ex, "total ") : NULL;
                CHECK(tot && (float)atof(tot + 6) == sc[n - 1], "explain total %s vs %.9g", tot ? tot : "-",
                      (double)sc[n - 1]);
                wn_free_buffer(ex);
            }
            for (int r = 0; r < n && r < nref; r++) {
                /* ids must agree unless the brute force has a near tie there */
                int tie = (r > 0 && fabsf(all[r].s - all[r - 1].s) < 1e-5f) ||
                          (r + 1 < RD && fabsf(all[r].s - all[r + 1].s) < 1e-5f);
                if (!tie && id[r] != all[r].id && worst_rank < 0) worst_rank = r;
                CHECK(tie || id[r] == all[r].id, "query %d '%s' variant %d rank %d: id %lld, brute force %lld", q,
                      queries[q], v, r, (long long)id[r], (long long)all[r].id);
                CHECK(fabsf(sc[r] - all[r].s) <= 1e-5f * (1 + all[r].s), "query %d rank %d: %.9g vs %.9g", q, r,
                      (double)sc[r], (double)all[r].s);
            }
        }
    }
    free(all);
    {   /* a long query: every word ten times scores ten times the single query */
        char *lq = malloc(RV * 10 * 8), *sq = malloc(RV * 8);
        size_t o = 0, o1 = 0;
        for (int r = 0; r < 10; r++)
            for (int w = 0; w < RV; w++) o += (size_t)sprintf(lq + o, "w%d ", (w * 7 + r) % RV);
        for (int w = 0; w < RV; w++) o1 += (size_t)sprintf(sq + o1, "w%d ", w);
        float s10[K], s1[K];
        int64_t i10[K], i1x[K];
        int n10 = 0, n1x = 0;
        CHECK(wn_bm25_search(ix, lq, K, s10, i10, &n10) == WN_OK && wn_bm25_search(ix, sq, K, s1, i1x, &n1x) == WN_OK,
              "%s", wn_last_error());
        CHECK(n10 == K && n1x == K, "long query: %d and %d hits", n10, n1x);
        for (int r = 0; r < n10 && r < n1x; r++) CHECK(fabsf(s10[r] - 10 * s1[r]) <= 1e-4f * s10[r], "rank %d", r);
        free(lq);
        free(sq);
    }
    /* batch on 1 and 2 threads equals the single searches */
    float *s1 = malloc(sizeof(float) * NQ * K), *s2 = malloc(sizeof(float) * NQ * K);
    int64_t *i1 = malloc(sizeof(int64_t) * NQ * K), *i2 = malloc(sizeof(int64_t) * NQ * K);
    int n1[NQ], n2[NQ];
    CHECK(wn_bm25_search_batch(ix, NQ, (const char *const *)queries, K, 1, s1, i1, n1) == WN_OK, "%s", wn_last_error());
    CHECK(wn_bm25_search_batch(ix, NQ, (const char *const *)queries, K, 2, s2, i2, n2) == WN_OK, "%s", wn_last_error());
    CHECK(memcmp(s1, s2, sizeof(float) * NQ * K) == 0 && memcmp(i1, i2, sizeof(int64_t) * NQ * K) == 0 &&
              memcmp(n1, n2, sizeof n1) == 0,
          "batch results depend on the thread count");
    for (int q = 0; q < NQ; q++) {
        float sc[K];
        int64_t id[K];
        int n;
        wn_bm25_search(ix, queries[q], K, sc, id, &n);
        CHECK(n == n1[q] && memcmp(sc, s1 + q * K, sizeof(float) * (size_t)n) == 0 &&
                  memcmp(id, i1 + q * K, sizeof(int64_t) * (size_t)n) == 0,
              "batch query %d differs from the single search", q);
        for (int r = n; r < K; r++) CHECK(i1[q * K + r] == -1, "padding id %lld", (long long)i1[q * K + r]);
    }
    free(s1);
    free(s2);
    free(i1);
    free(i2);
    for (int q = 0; q < NQ; q++) free(queries[q]);
    wn_bm25_free(ix);
    wn_bm25_free(half);
    wn_bm25_free(ld);
    wn_bm25_free(hl);
    unlink(hpath);
    (void)worst_rank;
}

static int write_bytes(const char *path, const char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

/* Corrupt and truncated files are refused with a format error, never a crash. */
static void test_corrupt(void) {
    char pbuf[512], bbuf[512];
    const char *path = scratch_path(pbuf, sizeof pbuf, "test_bm25.wnbm"),
               *bad = scratch_path(bbuf, sizeof bbuf, "test_bm25_bad.wnbm");
    char *data = NULL;
    size_t len = 0;
    if (wn_read_file(path, (void *)&data, &len) != WN_OK) {
        CHECK(0, "cannot read %s: %s", path, wn_last_error());
        return;
    }
    wn_bm25 *ix = NULL;
    size_t cuts[] = {0, 4, 100, 256, len / 2, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_bytes(bad, data, cuts[i]);
        wn_status st = wn_bm25_load(bad, &ix);
        CHECK(st == WN_ERR_FORMAT && !ix, "truncated to %zu bytes: status %d", cuts[i], st);
    }
    /* one flipped byte at many places: header, documents, terms, postings, blocks */
    int refused = 0, tried = 0;
    for (size_t off = 0; off < len; off += len / 97 + 1) {
        data[off] ^= 0x5a;
        write_bytes(bad, data, len);
        wn_status st = wn_bm25_load(bad, &ix);
        if (st == WN_OK) wn_bm25_free(ix); /* only padding can change without notice */
        else refused++;
        tried++;
        data[off] ^= 0x5a;
    }
    CHECK(refused >= tried - 3, "%d of %d corrupt files loaded", tried - refused, tried);
    memcpy(data, "WNBX", 4);
    write_bytes(bad, data, len);
    CHECK(wn_bm25_load(bad, &ix) == WN_ERR_FORMAT && strstr(wn_last_error(), "WNBM"), "bad magic: %s",
          wn_last_error());
    memcpy(data, "WNBM", 4);
    data[4] = 9; /* version */
    write_bytes(bad, data, len);
    CHECK(wn_bm25_load(bad, &ix) == WN_ERR_FORMAT && strstr(wn_last_error(), "version 9"), "version: %s",
          wn_last_error());
    char nbuf[512];
    CHECK(wn_bm25_load(scratch_path(nbuf, sizeof nbuf, "no_such_file.wnbm"), &ix) == WN_ERR_NOTFOUND, "missing file");
    wn_free(data);
    unlink(bad);
    unlink(path);
}

/* Recomputes every checksum of a WNBM file in place (docs/FORMAT.md), so that a
 * mutation reaches the structural checks behind them. */
static uint64_t rd64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t fold(uint64_t acc, uint64_t h) { return (acc ^ h) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull; }
static uint64_t hash_clipped(const uint8_t *d, size_t len, uint64_t off, uint64_t n) {
    if (off > len) return 0;
    if (n > len - off) n = len - off;
    return bm25_hash((const char *)d + off, (size_t)n);
}
static void reseal(uint8_t *d, size_t len) {
    uint64_t N = rd64(d + 32), names = rd64(d + 56), off[7], sums[7];
    uint32_t V = rd32(d + 24);
    for (int i = 0; i < 7; i++) off[i] = rd64(d + 88 + 8 * i);
    sums[0] = hash_clipped(d, len, off[0], N * 8);
    sums[1] = hash_clipped(d, len, off[1], N * 4);
    sums[2] = hash_clipped(d, len, off[2], N);
    sums[4] = hash_clipped(d, len, off[4], names);
    sums[3] = sums[5] = sums[6] = 0;
    for (uint32_t t = 0; t < V && off[3] + 64 * (uint64_t)(t + 1) <= len; t++) {
        const uint8_t *r = d + off[3] + 64 * (uint64_t)t;
        sums[3] = fold(sums[3], bm25_hash((const char *)r, 64));
        uint64_t po = rd64(r), bo = rd64(r + 8), np = rd32(r + 16), nb = rd32(r + 52);
        sums[5] = fold(sums[5], hash_clipped(d, len, off[5] + po, np));
        sums[6] = fold(sums[6], hash_clipped(d, len, off[6] + bo * 16, nb * 16));
    }
    for (int i = 0; i < 7; i++) memcpy(d + 144 + 8 * i, &sums[i], 8);
    uint64_t h = bm25_hash((const char *)d, 248);
    memcpy(d + 248, &h, 8);
}

static void fault_doc(int d, char *buf);

/* Mutations behind valid checksums: the reader's structural checks must refuse
 * what would make search read outside the file; what loads must search safely. */
static void test_resealed(void) {
    wn_bm25_params p = wn_bm25_default_params();
    wn_bm25 *ix;
    CHECK(wn_bm25_create(&p, &ix) == WN_OK, "%s", wn_last_error());
    char buf[4096];
    for (int d = 0; d < 300; d++) {
        fault_doc(d, buf);
        wn_bm25_add(ix, d, buf);
    }
    char pbuf[512];
    const char *path = scratch_path(pbuf, sizeof pbuf, "test_bm25_reseal.wnbm");
    CHECK(wn_bm25_save(ix, path) == WN_OK, "%s", wn_last_error());
    wn_bm25_free(ix);
    char *data = NULL;
    size_t len = 0;
    if (wn_read_file(path, &data, &len) != WN_OK) {
        CHECK(0, "%s", wn_last_error());
        return;
    }
    uint8_t *d = (uint8_t *)data;
    /* unchanged but resealed: still loads (the checker agrees with the writer) */
    reseal(d, len);
    write_bytes(path, data, len);
    CHECK(wn_bm25_load(path, &ix) == WN_OK, "resealed original: %s", wn_last_error());
    wn_bm25_free(ix);
    int loaded = 0, refused = 0;
    uint64_t start = rd64(d + 88 + 8 * 1); /* lens onwards: lengths, norms, terms, postings, blocks */
    for (uint64_t o = start; o < len; o += 7) {
        uint8_t save = d[o];
        d[o] ^= (uint8_t)(1u << (o % 8));
        reseal(d, len);
        write_bytes(path, data, len);
        wn_status st = wn_bm25_load(path, &ix);
        CHECK(st == WN_OK || st == WN_ERR_FORMAT, "byte %llu: status %d", (unsigned long long)o, st);
        if (st == WN_OK) {
            loaded++;
            float sc[10];
            int64_t id[10];
            int n;
            const char *qs[3] = {"t1 t3 t5 t7", "t2 t140 t9", "t0"};
            for (int q = 0; q < 3; q++) CHECK(wn_bm25_search(ix, qs[q], 10, sc, id, &n) == WN_OK, "%s", wn_last_error());
            wn_bm25_add(ix, 100000, "t1 t2 t3");
            wn_bm25_free(ix);
        } else {
            refused++;
        }
        d[o] = save;
    }
    printf("resealed mutations: %d refused, %d loaded (padding, names, ids, tf values)\n", refused, loaded);
    CHECK(refused > loaded, "only %d of %d structural mutations refused", refused, refused + loaded);
    wn_free(data);
    unlink(path);
}

/* Allocation failures (SQLite's fault simulation): the N-th allocation fails, for
 * every N until a run completes; each call must fail with WN_ERR_NOMEM, leave the
 * index as it was (a failed add adds nothing), and leak nothing (ASan). */
static void fault_doc(int d, char *buf) {
    size_t o = 0;
    int len = d == 7 ? 300 : 3 + d % 5; /* one long document */
    for (int i = 0; i < len; i++) o += (size_t)sprintf(buf + o, "t%d ", (d * 7 + i * 3) % (d == 7 ? 150 : 20));
}

static void test_faults(void) {
    fault_alloc f = {0};
    wn_allocator a = fault_allocator(&f, 1);
    long fail_at;
    char pbuf[512];
    const char *path = scratch_path(pbuf, sizeof pbuf, "test_bm25_fault.wnbm");
    enum { ND = 200 };
    char buf[4096];
    int done = 0, failures = 0;
    wn_threads *pool = NULL; /* the batch runs on 2 threads: failures on the worker too */
    CHECK(wn_threads_create(2, &pool) == WN_OK, "pool: %s", wn_last_error());
    const char *batch_q[8] = {"t1 new", "t2 t3", "t4", "t5 t1", "brand", "words t6", "t7 t8", "t9"};
    float bsc[8 * 5];
    int64_t bid[8 * 5];
    for (fail_at = 1; !done && fail_at < 100000; fail_at++) {
        fault_plant_stale_message();
        wn_set_allocator(&a);
        fault_arm(&f, fail_at);
        wn_bm25 *ix = NULL, *ld = NULL;
        int added = 0, ok = 1;
        wn_status st = wn_bm25_create(NULL, &ix);
        for (int d = 0; !st && d < ND; d++) {
            fault_doc(d, buf);
            st = wn_bm25_add(ix, d, buf);
            if (!st) added++;
        }
        float sc[5];
        int64_t id[5];
        int n;
        if (!st) st = wn_bm25_search(ix, "t1 t3 t5", 5, sc, id, &n);
        if (!st) st = wn_bm25_save(ix, path);
        if (!st) st = wn_bm25_load(path, &ld);
        if (!st) st = wn_bm25_add(ld, ND, "t1 t2 brand new words");
        if (!st) st = wn_bm25_search_batch(ld, 1, (const char *const[]){"t1 new"}, 5, 1, sc, id, &n);
        if (!st) st = wn_bm25_search_batch_threads(ld, pool, 8, batch_q, 5, bsc, bid, NULL);
        wn_set_allocator(NULL);
        if (st) {
            failures++;
            ok = st == WN_ERR_NOMEM && fault_message_ok(st);
            CHECK(ok, "fail_at %ld: status %d (%s), expected out of memory with its own message", fail_at, st,
                  wn_last_error());
            if (ix) CHECK(wn_bm25_count(ix) == added, "fail_at %ld: size %lld after %d adds", fail_at,
                          (long long)wn_bm25_count(ix), added);
            if (ix && added < ND) { /* the index still works and lacks the failed document */
                int len;
                CHECK(wn_bm25_doc_length(ix, added, &len) == WN_ERR_NOTFOUND, "fail_at %ld: failed doc present",
                      fail_at);
                CHECK(wn_bm25_search(ix, "t1 t3", 5, sc, id, &n) == WN_OK, "fail_at %ld: %s", fail_at, wn_last_error());
            }
        } else {
            done = 1;
        }
        wn_bm25_free(ld);
        wn_bm25_free(ix);
        if (!ok) break;
    }
    CHECK(done, "no complete run up to %ld allocations", fail_at);
    wn_threads_free(pool);
    printf("fault injection: %d failing runs, all clean\n", failures);
    unlink(path);
}

int main(void) {
    test_analyzer();
    test_norms();
    test_hand();
    test_random();
    test_corrupt();
    test_faults();
    test_resealed();
    return check_done();
}
