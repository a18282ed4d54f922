/*
 * test_index.c - vector indexes against a brute force written here in double
 * precision (not the library's kernels): recall for every type x metric, the edge
 * cases (empty, k > n, duplicates, non-finite input), deletes, replaces, filters,
 * save -> load -> identical results, and corrupt or truncated files rejected.
 * Data: seeded Gaussian clusters, small enough to stay fast under ASan.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "winnow.h"

/* N base vectors, NQ queries, D dimension, K results */
enum { N = 2000, NQ = 50, D = 40, K = 10 };

static uint64_t rng_state;
static double rnd(void) { /* xorshift64*, uniform in [0,1) */
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}
static float gauss(void) {
    double u = rnd() + 1e-12, v = rnd();
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}
/* n vectors around 20 centres (realistic clusters: the same centres for base and
 * queries, as documents and questions share topics), seeded */
static float *make_data(int n, uint64_t seed) {
    rng_state = 0x9E3779B97F4A7C15ULL;
    float cent[20][D];
    for (int c = 0; c < 20; c++)
        for (int j = 0; j < D; j++) cent[c][j] = gauss();
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    float *x = malloc((size_t)n * D * sizeof(float));
    for (int i = 0; i < n; i++) {
        int c = (int)(rnd() * 20);
        for (int j = 0; j < D; j++) x[(size_t)i * D + j] = cent[c][j] + 0.6f * gauss();
    }
    return x;
}

/* The reference score of the public API: ip, cosine, or squared L2. */
static double score(wn_metric m, const float *a, const float *b) {
    double ab = 0, aa = 0, bb = 0;
    for (int j = 0; j < D; j++) ab += (double)a[j] * b[j], aa += (double)a[j] * a[j], bb += (double)b[j] * b[j];
    if (m == WN_METRIC_IP) return ab;
    if (m == WN_METRIC_COS) return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
    return aa + bb - 2 * ab;
}
static int better(wn_metric m, double a, double b) { return m == WN_METRIC_L2 ? a < b : a > b; }

/* Exact top-k ids (external id = position) of q among x[n], only over allowed ones. */
static void brute(wn_metric m, const float *x, int n, const float *q, int k, const uint8_t *allow, int64_t *out) {
    double *best = malloc(sizeof(double) * k);
    int nb = 0;
    for (int i = 0; i < n; i++) {
        if (allow && !((allow[i >> 3] >> (i & 7)) & 1)) continue;
        double s = score(m, q, x + (size_t)i * D);
        int p = nb < k ? nb++ : k;
        if (p == k) {
            if (!better(m, s, best[k - 1])) continue;
            p = k - 1;
        }
        while (p > 0 && better(m, s, best[p - 1])) best[p] = best[p - 1], out[p] = out[p - 1], p--;
        best[p] = s, out[p] = i;
    }
    for (int j = nb; j < k; j++) out[j] = -1;
    free(best);
}

static double recall(const int64_t *got, const int64_t *truth, int nq, int k) {
    int hit = 0, tot = 0;
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < k; j++) {
            if (truth[i * k + j] < 0) continue;
            tot++;
            for (int l = 0; l < k; l++)
                if (got[i * k + l] == truth[i * k + j]) {
                    hit++;
                    break;
                }
        }
    return tot ? (double)hit / tot : 1.0;
}

static wn_index *build(wn_index_type t, wn_metric m, wn_storage st, const float *x, int n) {
    wn_index_params p = wn_index_default_params();
    p.storage = st;
    p.n_threads = 2;
    p.m = 12;
    p.ef_construction = 60;
    p.nlist = 32;
    p.pq_m = D / 8;
    wn_index *ix = NULL;
    wn_status s = wn_index_create(t, D, m, &p, &ix);
    CHECK(s == WN_OK, "create %s/%s: %s", wn_index_type_name(t), wn_metric_name(m), wn_last_error());
    if (s != WN_OK) return NULL;
    s = wn_index_add(ix, n, x, NULL);
    CHECK(s == WN_OK, "add %s/%s: %s", wn_index_type_name(t), wn_metric_name(m), wn_last_error());
    return ix;
}

static wn_index_search_params high_params(void) {
    wn_index_search_params sp = wn_index_search_default_params();
    sp.ef = 200;
    sp.nprobe = 32;
    sp.rerank = 200;
    return sp;
}

static const wn_index_type types[] = {WN_INDEX_FLAT, WN_INDEX_HNSW, WN_INDEX_IVF, WN_INDEX_IVFPQ};
enum { NTYPES = sizeof types / sizeof *types };

/* Recall >= 0.99 at high ef/nprobe for every type and metric; scores match the reference. */
static void test_recall(const float *x, const float *q) {
    int64_t *truth = malloc(sizeof(int64_t) * NQ * K), *ids = malloc(sizeof(int64_t) * NQ * K);
    float *dist = malloc(sizeof(float) * NQ * K);
    for (int m = 0; m < 3; m++) {
        for (int i = 0; i < NQ; i++) brute((wn_metric)m, x, N, q + i * D, K, NULL, truth + i * K);
        for (int ti = 0; ti < NTYPES; ti++) {
            wn_index *ix = build(types[ti], (wn_metric)m, WN_STORAGE_FP32, x, N);
            if (!ix) continue;
            wn_index_search_params sp = high_params();
            sp.n_threads = 2;
            wn_status s = wn_index_search(ix, NQ, q, K, &sp, dist, ids);
            CHECK(s == WN_OK, "search: %s", wn_last_error());
            double r = recall(ids, truth, NQ, K);
            fprintf(stderr, "recall@%d %s/%s = %.4f\n", K, wn_index_type_name(types[ti]), wn_metric_name(m), r);
            CHECK(r >= 0.99, "recall %s/%s = %.4f", wn_index_type_name(types[ti]), wn_metric_name(m), r);
            /* the returned score is the metric's value for the returned id */
            for (int i = 0; i < NQ; i += 7) {
                double ref = score((wn_metric)m, q + i * D, x + ids[i * K] * D);
                CHECK(fabs(ref - dist[i * K]) <= 1e-3 * (1 + fabs(ref)), "%s/%s score %g vs %g",
                      wn_index_type_name(types[ti]), wn_metric_name(m), dist[i * K], ref);
                for (int j = 1; j < K; j++)
                    CHECK(!better((wn_metric)m, dist[i * K + j], dist[i * K + j - 1]), "results not sorted");
            }
            wn_index_free(ix);
        }
    }
    free(truth), free(ids), free(dist);
}

/* Flat with fp16 / int8 storage: recall stays high (int8 is lossy). */
static void test_storage(const float *x, const float *q) {
    int64_t *truth = malloc(sizeof(int64_t) * NQ * K), *ids = malloc(sizeof(int64_t) * NQ * K);
    float *dist = malloc(sizeof(float) * NQ * K);
    for (int i = 0; i < NQ; i++) brute(WN_METRIC_L2, x, N, q + i * D, K, NULL, truth + i * K);
    for (int st = 1; st < 3; st++) {
        for (int ti = 0; ti < NTYPES; ti++) {
            if (types[ti] == WN_INDEX_IVFPQ) continue;
            wn_index *ix = build(types[ti], WN_METRIC_L2, (wn_storage)st, x, N);
            wn_index_search_params sp = high_params();
            CHECK(wn_index_search(ix, NQ, q, K, &sp, dist, ids) == WN_OK, "%s", wn_last_error());
            double r = recall(ids, truth, NQ, K);
            fprintf(stderr, "recall@%d %s/l2 storage %d = %.4f\n", K, wn_index_type_name(types[ti]), st, r);
            CHECK(r >= (st == 1 ? 0.98 : 0.9), "storage %d recall %.4f", st, r);
            wn_index_free(ix);
        }
    }
    free(truth), free(ids), free(dist);
}

/* Empty index, k > n, duplicates, non-finite input. */
static void test_edges(void) {
    for (int ti = 0; ti < NTYPES; ti++) {
        const char *tn = wn_index_type_name(types[ti]);
        wn_index_params p = wn_index_default_params();
        p.nlist = 4;
        p.pq_m = 4;
        wn_index *ix;
        CHECK(wn_index_create(types[ti], 8, WN_METRIC_L2, &p, &ix) == WN_OK, "%s", wn_last_error());
        float q[8] = {1, 2, 3, 4, 5, 6, 7, 8}, dist[20];
        int64_t ids[20];
        if (types[ti] < WN_INDEX_IVF) { /* IVF cannot search before training */
            CHECK(wn_index_search(ix, 1, q, 5, NULL, dist, ids) == WN_OK, "%s empty: %s", tn, wn_last_error());
            for (int j = 0; j < 5; j++) CHECK(ids[j] == -1 && isinf(dist[j]), "%s empty index returned %lld", tn, (long long)ids[j]);
        }
        /* 12 vectors: 4 distinct, each three times (duplicates) */
        float x[12 * 8];
        int64_t xid[12];
        for (int i = 0; i < 12; i++) {
            for (int j = 0; j < 8; j++) x[i * 8 + j] = (float)((i % 4) * 10 + j);
            xid[i] = 100 + i;
        }
        CHECK(wn_index_add(ix, 12, x, xid) == WN_OK, "%s add: %s", tn, wn_last_error());
        CHECK(wn_index_count(ix) == 12, "%s count %lld", tn, (long long)wn_index_count(ix));
        wn_index_search_params sp = high_params();
        sp.nprobe = 4;
        CHECK(wn_index_search(ix, 1, x, 20, &sp, dist, ids) == WN_OK, "%s: %s", tn, wn_last_error());
        int found = 0;
        for (int j = 0; j < 20; j++) found += ids[j] >= 0;
        CHECK(found == 12, "%s k > n: %d of 12 found", tn, found);
        for (int j = 12; j < 20; j++) CHECK(ids[j] == -1 && dist[j] == INFINITY, "%s padding %lld %g", tn, (long long)ids[j], dist[j]);
        /* the three copies of vector 0 come first, at distance 0 */
        for (int j = 0; j < 3; j++)
            CHECK((ids[j] - 100) % 4 == 0 && dist[j] < 1e-3, "%s duplicate %d: id %lld dist %g", tn, j, (long long)ids[j], dist[j]);
        /* non-finite input is rejected, with a message, and nothing is added */
        float bad[8] = {1, 2, NAN, 4, 5, 6, 7, 8};
        CHECK(wn_index_add(ix, 1, bad, NULL) == WN_ERR_ARG, "%s NaN accepted", tn);
        CHECK(strstr(wn_last_error(), "non-finite") != NULL, "message: %s", wn_last_error());
        bad[2] = INFINITY;
        CHECK(wn_index_add(ix, 1, bad, NULL) == WN_ERR_ARG, "%s inf accepted", tn);
        CHECK(wn_index_search(ix, 1, bad, 3, NULL, dist, ids) == WN_ERR_ARG, "%s inf query accepted", tn);
        CHECK(wn_index_count(ix) == 12, "%s count after rejects %lld", tn, (long long)wn_index_count(ix));
        /* duplicate and negative ids rejected */
        int64_t dup = 100, neg = -5;
        CHECK(wn_index_add(ix, 1, x, &dup) == WN_ERR_ARG, "%s duplicate id accepted", tn);
        CHECK(wn_index_add(ix, 1, x, &neg) == WN_ERR_ARG, "%s negative id accepted", tn);
        CHECK(wn_index_remove(ix, 999) == WN_ERR_NOTFOUND, "%s remove of absent id", tn);
        wn_index_free(ix);
    }
    wn_index *ix;
    CHECK(wn_index_create(WN_INDEX_FLAT, 0, WN_METRIC_L2, NULL, &ix) == WN_ERR_ARG, "dim 0 accepted");
    CHECK(wn_index_create(WN_INDEX_IVFPQ, 10, WN_METRIC_L2, &(wn_index_params){.pq_m = 3}, &ix) == WN_ERR_ARG,
          "pq_m 3 with dim 10 accepted");
}

/* Deletes never returned, replace moves the vector, filters honoured with k results. */
static void test_updates_filters(const float *x, const float *q) {
    int64_t *ids = malloc(sizeof(int64_t) * NQ * K), *truth = malloc(sizeof(int64_t) * NQ * K);
    float *dist = malloc(sizeof(float) * NQ * K);
    uint8_t allow[(N + 7) / 8];
    for (int ti = 0; ti < NTYPES; ti++) {
        const char *tn = wn_index_type_name(types[ti]);
        wn_index *ix = build(types[ti], WN_METRIC_L2, WN_STORAGE_FP32, x, N);
        wn_index_search_params sp = high_params();
        /* delete the exact top-1 of every query (and a few more): none may come back */
        for (int i = 0; i < NQ; i++) {
            brute(WN_METRIC_L2, x, N, q + i * D, K, NULL, truth + i * K);
            for (int j = 0; j < 2; j++) wn_index_remove(ix, truth[i * K + j]);
        }
        CHECK(wn_index_search(ix, NQ, q, K, &sp, dist, ids) == WN_OK, "%s", wn_last_error());
        int bad = 0;
        for (int i = 0; i < NQ * K; i++)
            for (int l = 0; l < NQ; l++) bad += ids[i] == truth[l * K] || ids[i] == truth[l * K + 1];
        CHECK(bad == 0, "%s: %d deleted ids returned", tn, bad);
        /* replace: vector 5 moved onto query 0 becomes its nearest */
        int64_t rid = 5;
        if (wn_index_count(ix) && wn_index_remove(ix, rid) == WN_OK) {
            CHECK(wn_index_replace(ix, rid, q) == WN_ERR_NOTFOUND, "%s replace of removed id", tn);
            CHECK(wn_index_add(ix, 1, x + rid * D, &rid) == WN_OK, "%s re-add: %s", tn, wn_last_error());
        }
        CHECK(wn_index_replace(ix, rid, q) == WN_OK, "%s replace: %s", tn, wn_last_error());
        CHECK(wn_index_search(ix, 1, q, K, &sp, dist, ids) == WN_OK, "%s", wn_last_error());
        CHECK(ids[0] == rid && dist[0] < 1e-3, "%s replaced id %lld at %g, top is %lld", tn, (long long)rid, dist[0], (long long)ids[0]);
        int seen = 0;
        for (int j = 0; j < K; j++) seen += ids[j] == rid;
        CHECK(seen == 1, "%s replaced id returned %d times", tn, seen);
        wn_index_free(ix);

        /* filters: 10% of ids allowed (bitmap), recall of the filtered top-k */
        ix = build(types[ti], WN_METRIC_L2, WN_STORAGE_FP32, x, N);
        memset(allow, 0, sizeof allow);
        rng_state = 777;
        for (int i = 0; i < N; i++)
            if (rnd() < 0.1) allow[i >> 3] |= (uint8_t)(1 << (i & 7));
        sp.allow = allow;
        sp.allow_bits = N;
        CHECK(wn_index_search(ix, NQ, q, K, &sp, dist, ids) == WN_OK, "%s", wn_last_error());
        int outside = 0, missing = 0;
        for (int i = 0; i < NQ * K; i++) {
            if (ids[i] < 0) missing++;
            else if (!((allow[ids[i] >> 3] >> (ids[i] & 7)) & 1)) outside++;
        }
        CHECK(outside == 0, "%s: %d filtered-out ids returned", tn, outside);
        CHECK(missing == 0, "%s: %d short results with 10%% allowed", tn, missing);
        for (int i = 0; i < NQ; i++) brute(WN_METRIC_L2, x, N, q + i * D, K, allow, truth + i * K);
        double r = recall(ids, truth, NQ, K);
        fprintf(stderr, "filtered (10%%) recall@%d %s = %.4f\n", K, tn, r);
        CHECK(r >= 0.9, "%s filtered recall %.4f", tn, r);
        wn_index_free(ix);
    }
    free(ids), free(truth), free(dist);
}

/* Deleting 40% passes the compaction threshold (30%): the graph and lists are
 * rebuilt from the live vectors; ids, counts and recall over what is left hold. */
static void test_compaction(const float *x, const float *q) {
    int64_t *ids = malloc(sizeof(int64_t) * NQ * K), *truth = malloc(sizeof(int64_t) * NQ * K);
    float *dist = malloc(sizeof(float) * NQ * K);
    uint8_t live[(N + 7) / 8];
    memset(live, 0, sizeof live);
    for (int i = 0; i < N; i++)
        if (i % 5 >= 2) live[i >> 3] |= (uint8_t)(1 << (i & 7));
    for (int i = 0; i < NQ; i++) brute(WN_METRIC_L2, x, N, q + i * D, K, live, truth + i * K);
    for (int ti = 0; ti < NTYPES; ti++) {
        const char *tn = wn_index_type_name(types[ti]);
        wn_index *ix = build(types[ti], WN_METRIC_L2, WN_STORAGE_FP32, x, N);
        size_t before = wn_index_memory(ix, NULL);
        for (int i = 0; i < N; i++)
            if (i % 5 < 2) CHECK(wn_index_remove(ix, i) == WN_OK, "%s remove %d: %s", tn, i, wn_last_error());
        CHECK(wn_index_count(ix) == N - 2 * N / 5, "%s count %lld", tn, (long long)wn_index_count(ix));
        CHECK(wn_index_memory(ix, NULL) < before, "%s: no compaction (%zu bytes, %zu before)", tn,
              wn_index_memory(ix, NULL), before);
        wn_index_search_params sp = high_params();
        CHECK(wn_index_search(ix, NQ, q, K, &sp, dist, ids) == WN_OK, "%s", wn_last_error());
        int bad = 0;
        for (int i = 0; i < NQ * K; i++) bad += ids[i] < 0 || ids[i] % 5 < 2;
        CHECK(bad == 0, "%s: %d deleted or missing ids after compaction", tn, bad);
        double r = recall(ids, truth, NQ, K);
        fprintf(stderr, "after 40%% deletes recall@%d %s = %.4f\n", K, tn, r);
        CHECK(r >= 0.97, "%s recall after compaction %.4f", tn, r);
        int64_t back = 0;
        CHECK(wn_index_add(ix, 1, x, &back) == WN_OK, "%s re-add id 0: %s", tn, wn_last_error());
        CHECK(wn_index_search(ix, 1, x, 1, &sp, dist, ids) == WN_OK && ids[0] == 0, "%s re-added id 0 not found", tn);
        wn_index_free(ix);
    }
    free(ids), free(truth), free(dist);
}

static int even_only(void *ud, int64_t id) {
    (*(int *)ud)++;
    return id % 2 == 0;
}

typedef struct {
    const wn_index *ix;
    const float *q;
    int64_t ids[NQ * K];
    float dist[NQ * K];
    wn_status st;
} conc_arg;

static void *conc_search(void *a) {
    conc_arg *c = a;
    wn_index_search_params sp = high_params();
    for (int rep = 0; rep < 3 && c->st == WN_OK; rep++)
        for (int i = 0; i < NQ && c->st == WN_OK; i++)
            c->st = wn_index_search(c->ix, 1, c->q + i * D, K, &sp, c->dist + i * K, c->ids + i * K);
    return NULL;
}

/* A callback filter is honoured; searches from 4 threads at once on one index give
 * the single-threaded results. */
static void test_callback_concurrent(const float *x, const float *q) {
    int64_t *ids = malloc(sizeof(int64_t) * NQ * K);
    float *dist = malloc(sizeof(float) * NQ * K);
    for (int ti = 0; ti < NTYPES; ti++) {
        const char *tn = wn_index_type_name(types[ti]);
        wn_index *ix = build(types[ti], WN_METRIC_COS, WN_STORAGE_FP32, x, N);
        wn_index_search_params sp = high_params();
        int called = 0;
        sp.filter = even_only;
        sp.filter_ud = &called;
        CHECK(wn_index_search(ix, NQ, q, K, &sp, dist, ids) == WN_OK, "%s", wn_last_error());
        int odd = 0, missing = 0;
        for (int i = 0; i < NQ * K; i++) odd += ids[i] >= 0 && ids[i] % 2, missing += ids[i] < 0;
        CHECK(odd == 0 && missing == 0 && called > 0, "%s callback filter: %d odd, %d missing, %d calls", tn, odd,
              missing, called);
        sp = high_params();
        CHECK(wn_index_search(ix, NQ, q, K, &sp, dist, ids) == WN_OK, "%s", wn_last_error());
        conc_arg args[4];
        pthread_t th[4];
        for (int t = 0; t < 4; t++) {
            args[t].ix = ix, args[t].q = q, args[t].st = WN_OK;
            pthread_create(&th[t], NULL, conc_search, &args[t]);
        }
        for (int t = 0; t < 4; t++) {
            pthread_join(th[t], NULL);
            CHECK(args[t].st == WN_OK, "%s concurrent search failed", tn);
            CHECK(!memcmp(args[t].ids, ids, sizeof(int64_t) * NQ * K), "%s: concurrent results differ (thread %d)", tn, t);
        }
        wn_index_free(ix);
    }
    free(ids), free(dist);
}

/* HNSW builds a large batch over an fp16 copy of the rows scaled by a power of two
 * (hnsw.c): data times 2^40 or 2^-40 (out of fp16's range unscaled) must give the
 * same graph, hence the same ids at a low ef, as the data itself, since every step
 * scales exactly; and the fp16-built graph must find as much as the fp32-built one
 * (exact_build) at a low ef, against the brute force. Single-threaded so
 * each graph is deterministic. */
static void test_build_scale(const float *x, const float *q) {
    enum { EF = 12 };
    int64_t *truth = malloc(sizeof(int64_t) * NQ * K), *ids[4];
    float *dist = malloc(sizeof(float) * NQ * K), *xs = malloc(sizeof(float) * N * D),
          *qs = malloc(sizeof(float) * NQ * D);
    for (int i = 0; i < NQ; i++) brute(WN_METRIC_L2, x, N, q + i * D, K, NULL, truth + i * K);
    const int ex[4] = {0, 40, -40, 0};
    double r[4];
    for (int v = 0; v < 4; v++) {
        for (int j = 0; j < N * D; j++) xs[j] = ldexpf(x[j], ex[v]);
        for (int j = 0; j < NQ * D; j++) qs[j] = ldexpf(q[j], ex[v]);
        wn_index_params p = wn_index_default_params();
        p.n_threads = 1, p.m = 8, p.ef_construction = 40, p.exact_build = v == 3;
        wn_index *ix = NULL;
        CHECK(wn_index_create(WN_INDEX_HNSW, D, WN_METRIC_L2, &p, &ix) == WN_OK && wn_index_add(ix, N, xs, NULL) == WN_OK,
              "build x 2^%d: %s", ex[v], wn_last_error());
        wn_index_search_params sp = wn_index_search_default_params();
        sp.ef = EF;
        ids[v] = malloc(sizeof(int64_t) * NQ * K);
        CHECK(wn_index_search(ix, NQ, qs, K, &sp, dist, ids[v]) == WN_OK, "%s", wn_last_error());
        r[v] = recall(ids[v], truth, NQ, K);
        fprintf(stderr, "hnsw ef %d recall@10, data x 2^%d%s = %.4f\n", EF, ex[v], v == 3 ? " (fp32 build)" : "", r[v]);
        wn_index_free(ix);
    }
    CHECK(!memcmp(ids[0], ids[1], sizeof(int64_t) * NQ * K), "data x 2^40 gives other ids than the data");
    CHECK(!memcmp(ids[0], ids[2], sizeof(int64_t) * NQ * K), "data x 2^-40 gives other ids than the data");
    CHECK(r[0] >= 0.8 && r[0] >= r[3] - 0.03, "fp16-built graph recall %.4f vs fp32-built %.4f", r[0], r[3]);
    for (int v = 0; v < 4; v++) free(ids[v]);
    free(truth), free(dist), free(xs), free(qs);
}

int main(void) {
    float *x = make_data(N, 1), *q = make_data(NQ, 2);
    test_recall(x, q);
    test_storage(x, q);
    test_edges();
    test_updates_filters(x, q);
    test_callback_concurrent(x, q);
    test_compaction(x, q);
    test_build_scale(x, q);
    free(x), free(q);
    return check_done();
}
