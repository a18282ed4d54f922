/* test_threads.c - one caller-owned thread pool (wn_threads) shared by a model, an
 * index and BM25: the results are those of the calls that start their own threads
 * (bit for bit: results do not depend on the threads); a batched search on the
 * pool starts no pool of its own (fewer allocations than one that does); two
 * threads sharing the pool take turns correctly; work started from inside a task
 * running on the pool (a filter callback searching BM25 on the same pool) runs
 * inline instead of deadlocking. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "winnow.h"

#define MODEL_DIR "tests/fixtures/model/tiny-bi"
enum { N = 2000, D = 16, NQ = 64, K = 10 };

static atomic_long n_alloc;
static void *c_malloc(size_t n, void *ud) {
    (void)ud;
    atomic_fetch_add(&n_alloc, 1);
    return malloc(n);
}
static void *c_realloc(void *p, size_t n, void *ud) {
    (void)ud;
    atomic_fetch_add(&n_alloc, 1);
    return realloc(p, n);
}
static void c_free(void *p, void *ud) {
    (void)ud;
    free(p);
}

static float X[N * D], Q[NQ * D];

typedef struct {
    const wn_index *ix;
    wn_threads *pool;
    const float *want_d;
    const int64_t *want_i;
    int ok;
} racer;

static void *race(void *a) {
    racer *r = a;
    float d[NQ * K];
    int64_t id[NQ * K];
    wn_index_search_params sp = wn_index_search_default_params();
    sp.threads = r->pool;
    r->ok = 1;
    for (int it = 0; it < 20; it++)
        if (wn_index_search(r->ix, NQ, Q, K, &sp, d, id) != WN_OK || memcmp(id, r->want_i, sizeof id) ||
            memcmp(d, r->want_d, sizeof d))
            r->ok = 0;
    return NULL;
}

typedef struct {
    const wn_bm25 *bm;
    wn_threads *pool;
    atomic_int calls, bad;
} nested;

static int nested_filter(void *ud, int64_t id) {
    nested *n = ud;
    const char *q[2] = {"alpha", "beta"};
    float sc[2 * 2];
    int64_t ids[2 * 2];
    if (atomic_fetch_add(&n->calls, 1) < 50 &&
        wn_bm25_search_batch_threads(n->bm, n->pool, 2, q, 2, sc, ids, NULL) != WN_OK)
        atomic_fetch_add(&n->bad, 1);
    return id % 2 == 0;
}

int main(void) {
    unsigned s = 7;
    for (int i = 0; i < N * D; i++) X[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (int i = 0; i < NQ * D; i++) Q[i] = X[(i * 13) % (N * D)] + 0.01f;

    wn_threads *pool = NULL;
    CHECK(wn_threads_create(2, &pool) == WN_OK && wn_threads_count(pool) == 2, "pool: %s", wn_last_error());
    wn_threads *bad = NULL;
    CHECK(wn_threads_create(-1, &bad) == WN_ERR_ARG && !bad, "n_threads -1 accepted");

    /* indexes: flat (exact) and HNSW, built on the pool and on their own threads */
    float d0[NQ * K], d1[NQ * K];
    int64_t i0[NQ * K], i1[NQ * K];
    for (int type = 0; type < 2; type++) {
        wn_index_params own = wn_index_default_params(), on = own;
        own.n_threads = 2;
        on.threads = pool;
        wn_index *a = NULL, *b = NULL;
        CHECK(wn_index_create((wn_index_type)type, D, WN_METRIC_L2, &own, &a) == WN_OK &&
                  wn_index_add(a, N, X, NULL) == WN_OK,
              "build: %s", wn_last_error());
        CHECK(wn_index_create((wn_index_type)type, D, WN_METRIC_L2, &on, &b) == WN_OK &&
                  wn_index_add(b, N, X, NULL) == WN_OK,
              "build on the pool: %s", wn_last_error());
        wn_index_search_params sp_own = wn_index_search_default_params(), sp_on = sp_own;
        sp_own.n_threads = 2;
        sp_on.threads = pool;
        CHECK(wn_index_search(a, NQ, Q, K, &sp_own, d0, i0) == WN_OK, "%s", wn_last_error());
        CHECK(wn_index_search(a, NQ, Q, K, &sp_on, d1, i1) == WN_OK, "%s", wn_last_error());
        CHECK(!memcmp(d0, d1, sizeof d0) && !memcmp(i0, i1, sizeof i0), "type %d: the pool's search differs", type);
        if (type == 0) { /* exact: the index built on the pool finds the same */
            CHECK(wn_index_search(b, NQ, Q, K, &sp_on, d1, i1) == WN_OK && !memcmp(i0, i1, sizeof i0),
                  "flat built on the pool differs");
        } else { /* HNSW built on 2 threads: recall against the one built on its own threads */
            int hit = 0;
            CHECK(wn_index_search(b, NQ, Q, K, &sp_on, d1, i1) == WN_OK, "%s", wn_last_error());
            for (int q = 0; q < NQ; q++)
                for (int x = 0; x < K; x++)
                    for (int y = 0; y < K; y++) hit += i1[q * K + x] == i0[q * K + y];
            CHECK(hit >= NQ * K * 9 / 10, "HNSW built on the pool: %d of %d shared", hit, NQ * K);
        }
        /* no pool per call when one is given: count allocations of one batched search */
        wn_allocator al = {c_malloc, c_realloc, c_free, NULL};
        wn_set_allocator(&al);
        long c0 = atomic_load(&n_alloc);
        CHECK(wn_index_search(a, NQ, Q, K, &sp_own, d0, i0) == WN_OK, "%s", wn_last_error());
        long c_own = atomic_load(&n_alloc) - c0;
        c0 = atomic_load(&n_alloc);
        CHECK(wn_index_search(a, NQ, Q, K, &sp_on, d1, i1) == WN_OK, "%s", wn_last_error());
        long c_on = atomic_load(&n_alloc) - c0;
        wn_set_allocator(NULL);
        if (type == 1) /* the graph search starts a pool of its own (flat: small work stays on the caller) */
            CHECK(c_on < c_own, "type %d: %ld allocations on the given pool, %ld with its own", type, c_on, c_own);
        fprintf(stderr, "type %d: a batched search allocates %ld times on its own threads, %ld on the given pool\n",
                type, c_own, c_on);
        if (type == 1) { /* two threads searching at once through the one pool */
            CHECK(wn_index_search(a, NQ, Q, K, &sp_on, d0, i0) == WN_OK, "%s", wn_last_error());
            racer r1 = {a, pool, d0, i0, 0}, r2 = r1;
            pthread_t t1, t2;
            pthread_create(&t1, NULL, race, &r1);
            pthread_create(&t2, NULL, race, &r2);
            pthread_join(t1, NULL);
            pthread_join(t2, NULL);
            CHECK(r1.ok && r2.ok, "concurrent searches on one pool went wrong");
        }
        if (type == 1) { /* a filter that itself runs BM25 on the same pool */
            wn_bm25 *bm = NULL;
            CHECK(wn_bm25_create(NULL, &bm) == WN_OK && wn_bm25_add(bm, 1, "alpha") == WN_OK &&
                      wn_bm25_add(bm, 2, "beta gamma") == WN_OK,
                  "%s", wn_last_error());
            nested ns = {bm, pool, 0, 0};
            wn_index_search_params sf = sp_on;
            sf.filter = nested_filter, sf.filter_ud = &ns;
            CHECK(wn_index_search(a, NQ, Q, K, &sf, d1, i1) == WN_OK, "%s", wn_last_error());
            CHECK(atomic_load(&ns.calls) > 0 && atomic_load(&ns.bad) == 0, "nested runs: %d calls, %d failed",
                  atomic_load(&ns.calls), atomic_load(&ns.bad));
            for (int x = 0; x < NQ * K; x++) CHECK(i1[x] < 0 || i1[x] % 2 == 0, "the filter was ignored");
            wn_bm25_free(bm);
        }
        wn_index_free(a);
        wn_index_free(b);
    }

    /* BM25: the batch on the pool equals the batch on the caller's thread */
    wn_bm25 *bm = NULL;
    CHECK(wn_bm25_create(NULL, &bm) == WN_OK, "%s", wn_last_error());
    const char *words[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};
    char text[128];
    for (int d = 0; d < 500; d++) {
        snprintf(text, sizeof text, "%s %s %s", words[d % 8], words[(d / 8) % 8], words[(d * 7) % 8]);
        CHECK(wn_bm25_add(bm, d, text) == WN_OK, "%s", wn_last_error());
    }
    const char *qs[NQ];
    for (int q = 0; q < NQ; q++) qs[q] = words[q % 8];
    float s0[NQ * K], s1[NQ * K];
    int n0[NQ], n1[NQ];
    CHECK(wn_bm25_search_batch(bm, NQ, qs, K, 1, s0, i0, n0) == WN_OK, "%s", wn_last_error());
    CHECK(wn_bm25_search_batch_threads(bm, pool, NQ, qs, K, s1, i1, n1) == WN_OK, "%s", wn_last_error());
    CHECK(!memcmp(s0, s1, sizeof s0) && !memcmp(i0, i1, sizeof i0) && !memcmp(n0, n1, sizeof n0),
          "BM25 on the pool differs");
    wn_bm25_free(bm);

    /* model: embeddings on the pool equal those on the model's own threads */
    wn_model_params own = wn_model_default_params(), on = own;
    own.n_threads = 2;
    on.threads = pool;
    wn_model *ma = NULL, *mb = NULL;
    CHECK(wn_model_load(MODEL_DIR, &own, &ma) == WN_OK && wn_model_load(MODEL_DIR, &on, &mb) == WN_OK, "load: %s",
          wn_last_error());
    if (ma && mb) {
        enum { NT = 40 };
        const char *texts[NT];
        static char tb[NT][64];
        for (int t = 0; t < NT; t++) {
            snprintf(tb[t], sizeof tb[t], "text number %d %s %s", t, words[t % 8], t % 3 ? words[(t * 5) % 8] : "");
            texts[t] = tb[t];
        }
        int dim = wn_model_dim(ma);
        float *ea = malloc(sizeof(float) * NT * dim), *eb = malloc(sizeof(float) * NT * dim);
        CHECK(wn_model_embed(ma, NT, texts, ea) == WN_OK && wn_model_embed(mb, NT, texts, eb) == WN_OK, "embed: %s",
              wn_last_error());
        CHECK(!memcmp(ea, eb, sizeof(float) * NT * dim), "embeddings on the shared pool differ");
        free(ea), free(eb);
    }
    wn_model_free(ma);
    wn_model_free(mb); /* does not free the caller's pool: it is used below */
    CHECK(wn_bm25_create(NULL, &bm) == WN_OK && wn_bm25_add(bm, 1, "alpha") == WN_OK &&
              wn_bm25_search_batch_threads(bm, pool, 2, qs, K, s1, i1, n1) == WN_OK,
          "the pool after the model was freed: %s", wn_last_error());
    wn_bm25_free(bm);
    wn_threads_free(pool);
    wn_threads_free(NULL);
    return check_done();
}
