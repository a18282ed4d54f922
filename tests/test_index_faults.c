/*
 * test_index_faults.c - SQLite-style fault simulation for the vector indexes: an
 * allocator that fails its N-th call, looped over N, under create, add, remove,
 * search, save and load of each type. Every failure must come back as a status
 * (WN_ERR_NOMEM, or an error with a message) and nothing may leak: the count of
 * live blocks returns to zero (ASan checks the rest). Each failure's message must be
 * its own (a stale one is planted before each run), also when the allocation
 * failed on a worker thread: the second pass builds and searches on a shared pool
 * of 2 threads (HNSW inserts and graph searches on the workers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "faults.h"
#include "winnow.h"

enum { N = 300, D = 8 };

/* One scenario; returns the status of the first failing call (WN_OK if none). */
static wn_status scenario(wn_index_type t, const float *x, const char *path, wn_threads *pool) {
    wn_index_params p = wn_index_default_params();
    p.n_threads = 1;
    p.threads = pool;
    wn_index_search_params sp = wn_index_search_default_params();
    sp.threads = pool;
    p.m = 4;
    p.ef_construction = 16;
    p.nlist = 4;
    p.pq_m = 2;
    wn_index *ix = NULL, *lx = NULL;
    float dist[5 * 3];
    int64_t ids[5 * 3];
    wn_status st = wn_index_create(t, D, WN_METRIC_L2, &p, &ix);
    if (st == WN_OK) st = wn_index_add(ix, N, x, NULL);
    if (st == WN_OK) st = wn_index_remove(ix, 3);
    if (st == WN_OK) st = wn_index_search(ix, 3, x, 5, &sp, dist, ids);
    if (st == WN_OK) st = wn_index_save(ix, path);
    if (st == WN_OK) st = wn_index_load(path, &lx);
    if (st == WN_OK) st = wn_index_add(lx, 1, x, NULL);
    if (st == WN_OK) st = wn_index_search(lx, 3, x, 5, &sp, dist, ids);
    wn_index_free(ix);
    wn_index_free(lx);
    return st;
}

int main(void) {
    float *x = malloc(sizeof(float) * N * D);
    unsigned s = 1;
    for (int i = 0; i < N * D; i++) x[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f;
    char path[64];
    snprintf(path, sizeof path, "/tmp/wn_test_index_faults.%d", (int)getpid());
    fault_alloc f = {0};
    wn_allocator a = fault_allocator(&f, 0);
    wn_threads *pool = NULL; /* made before the failing allocator is installed */
    CHECK(wn_threads_create(2, &pool) == WN_OK && wn_threads_count(pool) == 2, "pool: %s", wn_last_error());
    wn_set_allocator(&a);
    /* every type alone, then on the pool HNSW (build, graph search) and IVF (k-means) */
    const int runs[][2] = {{0, 0}, {1, 0}, {2, 0}, {3, 0}, {1, 1}, {2, 1}};
    for (int r = 0; r < 6; r++) {
        int t = runs[r][0], n_fail = 0;
        wn_threads *tp = runs[r][1] ? pool : NULL;
        for (long k = 0;; k++) {
            fault_plant_stale_message();
            fault_arm(&f, k + 1); /* k counts from 0 */
            wn_status st = scenario((wn_index_type)t, x, path, tp);
            CHECK(fault_live(&f) == 0, "type %d, failing call %ld: %ld blocks leaked", t, k, fault_live(&f));
            if (!fault_reached(&f)) { /* the scenario made fewer calls: it ran through */
                CHECK(st == WN_OK, "type %d: clean run failed: %s", t, wn_last_error());
                break;
            }
            n_fail++;
            /* success is allowed where an allocation is optional (a cache of scratch) */
            CHECK(st == WN_OK || (st == WN_ERR_NOMEM && fault_message_ok(st)),
                  "type %d%s, call %ld: status %s with message '%s'", t, tp ? " (pool)" : "", k,
                  wn_status_name(st), wn_last_error());
            if (k > 5000) break;
        }
        fprintf(stderr, "type %d%s: %d failure points checked\n", t, tp ? " on a shared pool" : "", n_fail);
    }
    wn_set_allocator(NULL);
    wn_threads_free(pool);
    remove(path);
    free(x);
    return check_done();
}
