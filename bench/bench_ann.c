/*
 * bench_ann.c - winnow's side of bench/ann.sh: builds one index on a .fvecs base,
 * then for each value of a sweep (ef for HNSW, nprobe for IVF) measures recall@10
 * against ground truth, single-query throughput (one thread, one query per call:
 * what a caller sees) and batched throughput (all queries in one call, T threads).
 * With --gt-out it is the exact ground truth maker (flat index, batched).
 * Prints one JSON line per measurement on stdout.
 *   bench_ann --base b.fvecs --queries q.fvecs --gt gt.ivecs --type hnsw --metric l2
 *             [--m 16 --efc 200 --nlist N --pq-m M --rerank R --storage fp32 --threads T
 *              --sweep 16,32,64 --label NAME --save FILE] | --gt-out gt.ivecs
 * --save FILE also times save, load (mmap, checks included) and the first query.
 * --load FILE skips the build and searches a saved index (for search-only tuning).
 */
#include "bench_ann_common.h"
#include "winnow.h"

int main(int argc, char **argv) {
    const char *base = NULL, *queries = NULL, *gtp = NULL, *gt_out = NULL, *label = "winnow", *sweep = "64";
    const char *save = NULL, *load = NULL;
    wn_index_type type = WN_INDEX_HNSW;
    wn_metric metric = WN_METRIC_L2;
    int threads = 2, rerank = 0, k = 10, bad = 0;
    wn_index_params p = wn_index_default_params();
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--base")) base = v;
        else if (!strcmp(a, "--queries")) queries = v;
        else if (!strcmp(a, "--gt")) gtp = v;
        else if (!strcmp(a, "--gt-out")) gt_out = v, type = WN_INDEX_FLAT;
        else if (!strcmp(a, "--type")) bad |= wn_index_type_parse(v, &type) != WN_OK;
        else if (!strcmp(a, "--metric")) bad |= wn_metric_parse(v, &metric) != WN_OK;
        else if (!strcmp(a, "--storage")) bad |= wn_storage_parse(v, &p.storage) != WN_OK;
        else if (!strcmp(a, "--m")) p.m = atoi(v);
        else if (!strcmp(a, "--efc")) p.ef_construction = atoi(v);
        else if (!strcmp(a, "--exact-build")) p.exact_build = atoi(v); /* HNSW over fp32 rows, not an fp16 copy */
        else if (!strcmp(a, "--nlist")) p.nlist = atoi(v);
        else if (!strcmp(a, "--pq-m")) p.pq_m = atoi(v);
        else if (!strcmp(a, "--rerank")) rerank = atoi(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--sweep")) sweep = v;
        else if (!strcmp(a, "--label")) label = v;
        else if (!strcmp(a, "--save")) save = v;
        else if (!strcmp(a, "--load")) load = v;
        else {
            fprintf(stderr, "bench_ann: unknown option %s\n", a);
            return 2;
        }
    }
    if (!base || !queries || bad || (!gtp && !gt_out)) {
        fprintf(stderr, "bench_ann: --base, --queries and --gt (or --gt-out) are required\n");
        return 2;
    }
    int64_t n, nq;
    int d, dq;
    float *x = bench_read_vecs(base, &n, &d), *q = bench_read_vecs(queries, &nq, &dq);
    p.n_threads = threads;
    size_t rss0 = bench_rss();
    wn_index *ix;
    double t0 = bench_now(), c0 = bench_process_cpu();
    if (load ? wn_index_load(load, &ix) != WN_OK
             : (wn_index_create((wn_index_type)type, d, (wn_metric)metric, &p, &ix) != WN_OK ||
                wn_index_add(ix, n, x, NULL) != WN_OK)) {
        fprintf(stderr, "bench_ann: %s\n", wn_last_error());
        return 1;
    }
    double tb = bench_now() - t0, cb = bench_process_cpu() - c0;
    size_t rss1 = bench_rss(), mapped, heap = wn_index_memory(ix, &mapped);
    size_t vec_bytes = (size_t)n * (size_t)d * (p.storage == WN_STORAGE_FP32 ? 4 : p.storage == WN_STORAGE_FP16 ? 2 : 1);
    printf("{\"lib\": \"%s\", \"what\": \"build\", \"type\": \"%s\", \"n\": %lld, \"dim\": %d, \"threads\": %d, "
           "\"seconds\": %.3f, \"cpu_seconds\": %.3f, \"index_bytes\": %zu, \"vector_bytes\": %zu, \"rss_delta\": %zu}\n",
           label, wn_index_type_name((wn_index_type)type), (long long)n, d, threads, tb, cb, heap, vec_bytes,
           rss1 > rss0 ? rss1 - rss0 : 0);
    fflush(stdout);
    if (save) { /* persistence: save, then the time until a loaded index has answered one query */
        t0 = bench_now();
        if (wn_index_save(ix, save) != WN_OK) {
            fprintf(stderr, "bench_ann: %s\n", wn_last_error());
            return 1;
        }
        double tsave = bench_now() - t0;
        wn_index *lx;
        float d1[10];
        int64_t i1[10];
        t0 = bench_now();
        if (wn_index_load(save, &lx) != WN_OK) {
            fprintf(stderr, "bench_ann: %s\n", wn_last_error());
            return 1;
        }
        double tload = bench_now() - t0;
        wn_index_search(lx, 1, q, 10, NULL, d1, i1);
        double tfirst = bench_now() - t0;
        printf("{\"lib\": \"%s\", \"what\": \"load\", \"type\": \"%s\", \"save_seconds\": %.3f, "
               "\"load_seconds\": %.3f, \"load_and_first_query_seconds\": %.3f}\n",
               label, wn_index_type_name((wn_index_type)type), tsave, tload, tfirst);
        wn_index_free(lx);
    }
    float *dist = malloc(sizeof(float) * (size_t)nq * k);
    int64_t *ids = malloc(sizeof(int64_t) * (size_t)nq * k);
    wn_index_search_params sp = wn_index_search_default_params();
    if (gt_out) {
        sp.n_threads = threads;
        t0 = bench_now();
        wn_index_search(ix, nq, q, 100 < n ? 100 : (int)n, &sp, NULL, NULL); /* warm-up is below */
        int gk = 100 < n ? 100 : (int)n;
        float *gd = malloc(sizeof(float) * (size_t)nq * gk);
        int64_t *gi = malloc(sizeof(int64_t) * (size_t)nq * gk);
        t0 = bench_now();
        wn_index_search(ix, nq, q, gk, &sp, gd, gi);
        double ts = bench_now() - t0;
        FILE *f = fopen(gt_out, "wb");
        for (int64_t i = 0; i < nq; i++) {
            int32_t kk = gk;
            fwrite(&kk, 4, 1, f);
            for (int j = 0; j < gk; j++) {
                int32_t v = (int32_t)gi[i * gk + j];
                fwrite(&v, 4, 1, f);
            }
        }
        fclose(f);
        printf("{\"lib\": \"%s\", \"what\": \"search\", \"type\": \"flat\", \"param\": 0, \"k\": %d, \"recall\": 1, "
               "\"qps_batched\": %.1f, \"threads\": %d}\n",
               label, gk, (double)nq / ts, threads);
        return 0;
    }
    int64_t ng;
    int gk;
    int32_t *gt = bench_read_vecs(gtp, &ng, &gk);
    char *sw = strdup(sweep);
    for (char *tok = strtok(sw, ","); tok; tok = strtok(NULL, ",")) {
        int v = atoi(tok);
        sp.ef = v, sp.nprobe = v, sp.rerank = rerank;
        /* single query, one thread */
        sp.n_threads = 1;
        wn_index_search(ix, nq < 50 ? nq : 50, q, k, &sp, dist, ids); /* warm caches */
        t0 = bench_now();
        c0 = bench_thread_cpu();
        for (int64_t i = 0; i < nq; i++) wn_index_search(ix, 1, q + (size_t)i * d, k, &sp, dist + i * k, ids + i * k);
        double t1 = bench_now() - t0, c1 = bench_thread_cpu() - c0;
        double r = bench_recall(ids, k, gt, gk, nq);
        sp.n_threads = threads;
        t0 = bench_now();
        wn_index_search(ix, nq, q, k, &sp, dist, ids);
        double tB = bench_now() - t0;
        double rB = bench_recall(ids, k, gt, gk, nq);
        printf("{\"lib\": \"%s\", \"what\": \"search\", \"type\": \"%s\", \"param\": %d, \"k\": %d, \"recall\": %.4f, "
               "\"qps_single\": %.1f, \"qps_single_cpu\": %.1f, \"qps_batched\": %.1f, \"recall_batched\": %.4f, "
               "\"threads\": %d}\n",
               label, wn_index_type_name((wn_index_type)type), v, k, r, (double)nq / t1, (double)nq / c1, (double)nq / tB, rB,
               threads);
        fflush(stdout);
    }
    free(sw), free(gt), free(dist), free(ids), free(x), free(q);
    wn_index_free(ix);
    return 0;
}
