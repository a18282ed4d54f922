/* test_static_adapt.c - index-time adaptation (src/train/static_adapt.c): the pairs
 * made from documents (determinism, each kind's shape, empty documents, one-sentence
 * documents, no titles, unpunctuated text), a tiny adaptation that lowers the
 * held-out pair loss and writes the same file with 1 and 2 threads, an index built
 * with adaptation whose dense search scores are the adapted model's cosines, and the
 * errors. */
#include <string.h>

#include "check.h"
#include "scratch.h"
/* the file itself, for its static helpers (the archive's copy is then not linked) */
#include "train/static_adapt.c"

static const char *TOK = "models/winnow-small-embed/0_StaticEmbedding";

/* 1 when a[0..na) occurs in b[0..nb) at some position (*at). */
static int find_run(const int32_t *a, int na, const int32_t *b, int64_t nb, int64_t *at) {
    for (int64_t s = 0; s + na <= nb; s++)
        if (!memcmp(a, b + s, (size_t)na * sizeof *a)) return *at = s, 1;
    return 0;
}

static void test_pairs(void) {
    wn_tokenizer *tk = NULL;
    CHECK(wn_tokenizer_load(TOK, &tk) == WN_OK, "tokenizer: %s", wn_last_error());
    if (!tk) return;
    char unp[2048] = "";
    for (int i = 0; i < 100; i++) strcat(unp, i % 2 ? "wing " : "flow ");
    const char *titles[] = {"wings and flow", "", "a title alone", NULL, "heat transfer", "",
                            "a title that is long enough to be cut into two spans of words"};
    const char *texts[] = {"The wing stalls at high angles. Lift falls sharply! Why does it fall? Nobody knows.", "",
                           "", "one sentence only with enough words here to cut", "Heat moves through the plate.", unp, ""};
    enum { N = 7 };
    adapt_docs d;
    CHECK(adapt_docs_build(&d, tk, N, titles, texts) == WN_OK, "build: %s", wn_last_error());
    CHECK(d.n == N && d.doc[N] == d.n_tok, "counts");
    CHECK(adapt_kinds(&d, 0) == 7, "title + 4 sentences: all kinds, got %d", adapt_kinds(&d, 0));
    CHECK(d.doc_sent[1] - d.doc_sent[0] == 4, "4 sentences, got %lld", (long long)(d.doc_sent[1] - d.doc_sent[0]));
    CHECK(adapt_kinds(&d, 1) == 0, "empty document: no pair");
    CHECK(adapt_kinds(&d, 2) == 0, "a short title alone: no pair");
    CHECK(adapt_kinds(&d, 3) == 1 << ADAPT_SPANS, "one sentence, no title: spans only, got %d", adapt_kinds(&d, 3));
    CHECK(adapt_kinds(&d, 4) == (1 << ADAPT_TITLE | 1 << ADAPT_SPANS) || adapt_kinds(&d, 4) == 1 << ADAPT_TITLE,
          "title + one sentence: title (and spans if long enough), got %d", adapt_kinds(&d, 4));
    CHECK(!(adapt_kinds(&d, 4) >> ADAPT_ICT & 1), "one sentence: no inverse cloze");
    CHECK(d.doc_sent[6] - d.doc_sent[5] == 100 / 16 + 1 - (100 % 16 < ADAPT_MIN_SPAN), "unpunctuated: 16-token pieces, got %lld",
          (long long)(d.doc_sent[6] - d.doc_sent[5]));
    CHECK(adapt_kinds(&d, 6) == 1 << ADAPT_SPANS, "a long title alone: spans of it, got %d", adapt_kinds(&d, 6));
    int32_t q[ADAPT_WINDOW], p[ADAPT_WINDOW], q2[ADAPT_WINDOW], p2[ADAPT_WINDOW];
    int nq, np, nq2, np2, seen[3] = {0, 0, 0};
    CHECK(adapt_make_pair(&d, 1, &(uint64_t){1}, q, &nq, p, &np) == -1 && nq == 0 && np == 0, "no pair from an empty document");
    for (int64_t i = 0; i < N; i++) {
        uint64_t r1 = 7 + (uint64_t)i, r2 = 7 + (uint64_t)i;
        for (int rep = 0; rep < 200; rep++) {
            int k1 = adapt_make_pair(&d, i, &r1, q, &nq, p, &np), k2 = adapt_make_pair(&d, i, &r2, q2, &nq2, p2, &np2);
            CHECK(k1 == k2 && nq == nq2 && np == np2 && !memcmp(q, q2, (size_t)nq * 4) && !memcmp(p, p2, (size_t)np * 4),
                  "doc %lld: the same seed gives the same pair", (long long)i);
            if (k1 < 0) {
                CHECK(!adapt_kinds(&d, i), "doc %lld: no pair but kinds", (long long)i);
                break;
            }
            CHECK(adapt_kinds(&d, i) >> k1 & 1, "doc %lld: kind %d not allowed", (long long)i, k1);
            CHECK(nq >= 1 && np >= 1 && nq <= ADAPT_WINDOW && np <= ADAPT_WINDOW, "doc %lld: lengths %d %d", (long long)i, nq, np);
            if (i == 0) seen[k1]++;
            const int32_t *x = d.tok + d.text[i], *t = d.tok + d.doc[i];
            int64_t nx = d.doc[i + 1] - d.text[i], nt = d.text[i] - d.doc[i], a = 0, b = 0;
            if (k1 == ADAPT_ICT) { /* q is a sentence; p + q put back is a run of the text */
                CHECK(find_run(q, nq, x, nx, &a), "ICT query not in the text");
                CHECK(nq + np == nx, "short text: query + rest = text (%d + %d vs %lld)", nq, np, (long long)nx);
                int32_t whole[256];
                memcpy(whole, p, (size_t)a * 4);
                memcpy(whole + a, q, (size_t)nq * 4);
                memcpy(whole + a + nq, p + a, (size_t)(np - a) * 4);
                CHECK(!memcmp(whole, x, (size_t)nx * 4), "ICT: the rest is the text without the sentence");
            } else if (k1 == ADAPT_TITLE) {
                CHECK(nq == nt && !memcmp(q, t, (size_t)nq * 4), "TITLE: query is the title");
                CHECK(find_run(p, np, x, nx, &a), "TITLE: positive is a window of the text");
            } else {
                const int32_t *y = nx ? x : t;
                int64_t ny = nx ? nx : nt;
                CHECK(nq >= ADAPT_MIN_SPAN && find_run(q, nq, y, ny, &a) && find_run(p, np, y, ny, &b), "SPANS: runs of the body");
                CHECK(i == 5 || a + nq <= b, "SPANS: disjoint, query first (%lld + %d > %lld)", (long long)a, nq, (long long)b);
            }
        }
    }
    CHECK(seen[0] && seen[1] && seen[2], "every kind drawn: %d %d %d", seen[0], seen[1], seen[2]);
    /* a different seed gives different pairs */
    uint64_t r1 = 1, r2 = 2;
    int differ = 0;
    for (int rep = 0; rep < 20; rep++) {
        adapt_make_pair(&d, 0, &r1, q, &nq, p, &np);
        adapt_make_pair(&d, 0, &r2, q2, &nq2, p2, &np2);
        differ += nq != nq2 || np != np2 || memcmp(q, q2, (size_t)nq * 4) || memcmp(p, p2, (size_t)np * 4);
    }
    CHECK(differ > 0, "seeds 1 and 2 gave the same 20 pairs");
    adapt_docs_free(&d);
    /* no titles at all */
    CHECK(adapt_docs_build(&d, tk, 2, NULL, texts) == WN_OK && adapt_kinds(&d, 0) == (1 << ADAPT_ICT | 1 << ADAPT_SPANS),
          "no titles: ICT and spans, got %d", adapt_kinds(&d, 0));
    adapt_docs_free(&d);
    wn_tokenizer_free(tk);
}

/* ---- a tiny corpus: 12 topics, each document a title and sentences of its topic's words */
static const char *words[12][8] = {
    {"apple", "fruit", "tree", "sweet", "orchard", "juice", "harvest", "pear"},
    {"car", "engine", "road", "drive", "wheel", "fuel", "speed", "brake"},
    {"ocean", "wave", "beach", "sand", "tide", "salt", "shore", "surf"},
    {"computer", "memory", "chip", "data", "program", "disk", "screen", "code"},
    {"winter", "snow", "cold", "ice", "frost", "freeze", "storm", "sled"},
    {"music", "guitar", "song", "melody", "drum", "band", "concert", "rhythm"},
    {"bread", "bakery", "flour", "oven", "dough", "yeast", "loaf", "butter"},
    {"river", "bridge", "water", "bank", "stream", "flood", "boat", "fish"},
    {"book", "library", "read", "page", "author", "novel", "shelf", "story"},
    {"moon", "night", "sky", "star", "planet", "orbit", "telescope", "comet"},
    {"doctor", "hospital", "patient", "nurse", "medicine", "surgery", "clinic", "fever"},
    {"garden", "flower", "rose", "soil", "seed", "leaf", "bloom", "plant"},
};

static uint64_t rs_test = 99;
static const char *w_of(int topic) { return words[topic][static_rng_next(&rs_test) % 8]; }

/* n documents as BEIR JSONL into path (NULL: none) and arrays (titles, texts, owned by the caller). */
static void make_corpus(const char *path, int n, char **titles, char **texts) {
    FILE *f = path ? fopen(path, "wb") : NULL;
    for (int i = 0; i < n; i++) {
        int t = i % 12;
        char ti[128], tx[1024];
        snprintf(ti, sizeof ti, "%s %s %s", w_of(t), w_of(t), w_of(t));
        tx[0] = 0;
        for (int s = 0; s < 4; s++) {
            char sent[256];
            snprintf(sent, sizeof sent, "the %s and the %s near a %s %s. ", w_of(t), w_of(t), w_of(t), w_of(t));
            strcat(tx, sent);
        }
        titles[i] = strdup(ti), texts[i] = strdup(tx);
        if (f) fprintf(f, "{\"_id\": \"d%d\", \"title\": \"%s\", \"text\": \"%s\"}\n", i, ti, tx);
    }
    if (f) fclose(f);
}

static char *slurp(const char *path, size_t *n) {
    char *t = NULL;
    if (wn_read_file(path, &t, n) != WN_OK) return NULL;
    return t;
}

/* a small starting model: wn_static_train on a few pairs, 16 dimensions */
static int make_base(const char *dir) {
    char data[512];
    scratch_path(data, sizeof data, "adapt_base.jsonl");
    FILE *f = fopen(data, "wb");
    for (int t = 0; t < 12; t++) fprintf(f, "{\"query\": \"%s %s\", \"positive\": \"%s %s\"}\n", words[t][0], words[t][1], words[t][2], words[t][3]);
    fclose(f);
    wn_static_train_params p = wn_static_train_default_params();
    p.dim = 16, p.batch = 6, p.steps = 20, p.lr = 0.05f, p.n_threads = 1;
    const char *files[1] = {data};
    wn_status st = wn_static_train(files, 1, TOK, dir, &p, NULL);
    CHECK(st == WN_OK, "base model: %s", wn_last_error());
    return st == WN_OK;
}

static void test_adapt(const char *base) {
    enum { N = 160 };
    char *titles[N], *texts[N], out1[512], out2[512], path[700];
    make_corpus(NULL, N, titles, texts);
    scratch_path(out1, sizeof out1, "adapt_m1");
    scratch_path(out2, sizeof out2, "adapt_m2");
    wn_static_adapt_params p = wn_static_adapt_default_params();
    p.batch = 16, p.pairs_per_doc = 12, p.lr = 0.02f, p.n_threads = 1;
    wn_static_adapt_stats s1, s2;
    wn_status st = wn_static_adapt(base, NULL, N, (const char *const *)titles, (const char *const *)texts, out1, &p, &s1);
    CHECK(st == WN_OK, "adapt: %s", wn_last_error());
    CHECK(s1.docs == N && s1.heldout_docs == N / 10 && s1.train_docs == N - N / 10, "documents %lld, held out %lld, trained %lld",
          (long long)s1.docs, (long long)s1.heldout_docs, (long long)s1.train_docs);
    CHECK(s1.loss_start > 0 && s1.loss_best < 0.9f * s1.loss_start && s1.best_step > 0,
          "held-out loss %g -> %g (step %lld kept)", s1.loss_start, s1.loss_best, (long long)s1.best_step);
    fprintf(stderr, "adapt: held-out loss %.4f -> %.4f, step %lld of %lld kept\n", s1.loss_start, s1.loss_best,
            (long long)s1.best_step, (long long)s1.steps);
    p.n_threads = 2;
    st = wn_static_adapt(base, NULL, N, (const char *const *)titles, (const char *const *)texts, out2, &p, &s2);
    CHECK(st == WN_OK && s2.best_step == s1.best_step && s2.loss_best == s1.loss_best, "2 threads: %s", wn_last_error());
    size_t n1 = 0, n2 = 0;
    snprintf(path, sizeof path, "%s/0_StaticEmbedding/model.safetensors", out1);
    char *a = slurp(path, &n1);
    snprintf(path, sizeof path, "%s/0_StaticEmbedding/model.safetensors", out2);
    char *b = slurp(path, &n2);
    CHECK(a && b && n1 == n2 && !memcmp(a, b, n1), "1 and 2 threads differ (%zu, %zu bytes)", n1, n2);
    wn_free(a), wn_free(b);
    snprintf(path, sizeof path, "%s/adapt.json", out1);
    CHECK(wn_file_exists(path), "adapt.json written");
    wn_model *m = NULL;
    CHECK(wn_model_load(out1, NULL, &m) == WN_OK && m && wn_model_dim(m) == 16, "load the adapted model: %s", wn_last_error());
    wn_model_free(m);
    /* a random start learns too */
    p.random_init = 1;
    st = wn_static_adapt(base, NULL, N, (const char *const *)titles, (const char *const *)texts, out2, &p, &s2);
    CHECK(st == WN_OK && s2.loss_best < 0.9f * s2.loss_start, "random start: %s, loss %g -> %g", wn_last_error(), s2.loss_start,
          s2.loss_best);
    /* errors */
    p = wn_static_adapt_default_params();
    st = wn_static_adapt(base, NULL, 1, (const char *const *)titles, (const char *const *)texts, out2, &p, NULL);
    CHECK(st == WN_ERR_ARG && strstr(wn_last_error(), "at least 2"), "one document: %d %s", st, wn_last_error());
    const char *empty[3] = {"", NULL, ""};
    st = wn_static_adapt(base, NULL, 3, empty, empty, out2, &p, NULL);
    CHECK(st == WN_ERR_ARG, "empty documents: %d %s", st, wn_last_error());
    st = wn_static_adapt("tests/fixtures/model/tiny-bi", NULL, N, (const char *const *)titles, (const char *const *)texts, out2,
                         &p, NULL);
    CHECK(st == WN_ERR_UNSUPPORTED && strstr(wn_last_error(), "not a static"), "a BERT model: %d %s", st, wn_last_error());
    p.pairs_per_doc = 0;
    st = wn_static_adapt(base, NULL, N, (const char *const *)titles, (const char *const *)texts, out2, &p, NULL);
    CHECK(st == WN_ERR_ARG && strstr(wn_last_error(), "pairs_per_doc 0"), "pairs_per_doc 0: %d %s", st, wn_last_error());
    st = wn_static_adapt(NULL, NULL, N, NULL, NULL, out2, NULL, NULL);
    CHECK(st == WN_ERR_ARG, "no model");
    st = wn_static_adapt("/nonexistent/model", NULL, N, NULL, NULL, out2, NULL, NULL);
    CHECK(st != WN_OK && strstr(wn_last_error(), "/nonexistent/model"), "missing model: %s", wn_last_error());
    for (int i = 0; i < N; i++) free(titles[i]), free(texts[i]);
}

static float cosv(const float *a, const float *b, int D) {
    double ab = 0, aa = 0, bb = 0;
    for (int k = 0; k < D; k++) ab += (double)a[k] * b[k], aa += (double)a[k] * a[k], bb += (double)b[k] * b[k];
    return (float)(ab / sqrt(aa * bb));
}

static void test_index(const char *base) {
    enum { N = 120 };
    char *titles[N], *texts[N], corpus[512], dir[512], sub[700];
    scratch_path(corpus, sizeof corpus, "adapt_corpus.jsonl");
    scratch_path(dir, sizeof dir, "adapt_index");
    make_corpus(corpus, N, titles, texts);
    wn_pipeline_build_params bp = wn_pipeline_build_default_params();
    bp.bm25 = 1, bp.dense_model = base, bp.overwrite = 1, bp.model_params.n_threads = 1;
    wn_static_adapt_params ap = wn_static_adapt_default_params();
    ap.batch = 16, ap.pairs_per_doc = 8, ap.lr = 0.02f, ap.n_threads = 1;
    wn_pipeline_build_stats bs;
    wn_static_adapt_stats as;
    wn_status st = wn_static_adapt_build(corpus, dir, &bp, &ap, &bs, &as);
    CHECK(st == WN_OK && bs.docs == N && bs.vectors == N && as.docs == N, "build: %s", wn_last_error());
    snprintf(sub, sizeof sub, "%s/adapted-model", dir);
    CHECK(wn_dir_exists(sub), "%s is missing", sub);
    /* dense search: its scores are the adapted model's cosines, not the base's */
    wn_pipeline_params pp = wn_pipeline_default_params();
    pp.first_stage = WN_FIRST_DENSE;
    pp.model_params.n_threads = 1;
    wn_searcher *s = NULL;
    st = wn_searcher_open(dir, &pp, &s);
    CHECK(st == WN_OK, "open: %s", wn_last_error());
    wn_model *ad = NULL, *bm = NULL;
    CHECK(wn_model_load(sub, NULL, &ad) == WN_OK && wn_model_load(base, NULL, &bm) == WN_OK, "models: %s", wn_last_error());
    if (s && ad && bm) {
        const char *query = "guitar song melody";
        wn_hit hits[5];
        int n = 0;
        CHECK(wn_searcher_first(s, query, 5, hits, &n, NULL) == WN_OK && n == 5, "search: %s", wn_last_error());
        int D = wn_model_dim(ad);
        float qv[16], dv[16], qb[16], db[16];
        for (int i = 0; i < n; i++) {
            char doc[2048];
            snprintf(doc, sizeof doc, "%s %s", titles[hits[i].row], texts[hits[i].row]);
            const char *dt = doc;
            CHECK(wn_model_embed(ad, 1, &query, qv) == WN_OK && wn_model_embed(ad, 1, &dt, dv) == WN_OK, "embed");
            CHECK(wn_model_embed(bm, 1, &query, qb) == WN_OK && wn_model_embed(bm, 1, &dt, db) == WN_OK, "embed base");
            CHECK(fabsf(cosv(qv, dv, D) - hits[i].score) < 1e-4f, "hit %d: score %g, adapted cosine %g", i, hits[i].score,
                  cosv(qv, dv, D));
            CHECK(fabsf(cosv(qb, db, D) - hits[i].score) > 1e-4f, "hit %d: the base model's cosine %g is the score", i,
                  cosv(qb, db, D));
        }
    }
    wn_searcher_free(s);
    wn_model_free(ad);
    wn_model_free(bm);
    /* replacing the index removes the old adapted model with it; no dense model: an error */
    bp.dense_model = NULL;
    st = wn_static_adapt_build(corpus, dir, &bp, &ap, NULL, NULL);
    CHECK(st == WN_ERR_ARG, "no dense model: %d", st);
    bp.dense_model = base;
    bp.dense_adapt = adapt_store, bp.dense_adapt_ud = NULL;
    bp.dense_model = NULL;
    st = wn_pipeline_build(corpus, dir, &bp, NULL);
    CHECK(st == WN_ERR_ARG && strstr(wn_last_error(), "adaptation needs a dense model"), "hook without a model: %s", wn_last_error());
    bp = wn_pipeline_build_default_params();
    bp.bm25 = 1, bp.overwrite = 1;
    st = wn_pipeline_build(corpus, dir, &bp, NULL);
    CHECK(st == WN_OK && !wn_dir_exists(sub), "rebuilt without adaptation: %s; adapted-model %s", wn_last_error(),
          wn_dir_exists(sub) ? "left behind" : "gone");
    for (int i = 0; i < N; i++) free(titles[i]), free(texts[i]);
}

int main(void) {
    if (!wn_file_exists("models/winnow-small-embed/0_StaticEmbedding/tokenizer.json")) {
        CHECK(0, "%s/tokenizer.json is missing", TOK);
        return check_done();
    }
    test_pairs();
    char base[512];
    scratch_path(base, sizeof base, "adapt_base");
    if (make_base(base)) {
        test_adapt(base);
        test_index(base);
    }
    return check_done();
}
