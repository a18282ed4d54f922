/* bench_ann_common.h - what the ANN benchmark drivers share (C and C++): .fvecs /
 * .ivecs readers, recall@k against ground truth, resident memory, a clock. */
#ifndef BENCH_ANN_COMMON_H
#define BENCH_ANN_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds of this thread / of the whole process: on a shared machine the other
 * load inflates wall time far more than CPU time, so ratios use both */
static double bench_thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double bench_process_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* .fvecs or .ivecs (4-byte values): n x d, malloc'd; exits on error (benchmark only) */
static void *bench_read_vecs(const char *path, int64_t *n, int *d) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench: cannot open %s\n", path);
        exit(1);
    }
    int32_t dd;
    if (fread(&dd, 4, 1, f) != 1 || dd < 1) {
        fprintf(stderr, "bench: %s is not .fvecs/.ivecs\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    int64_t nn = sz / (4 + 4 * (int64_t)dd);
    char *x = (char *)malloc((size_t)nn * dd * 4);
    for (int64_t i = 0; i < nn; i++) {
        int32_t di;
        if (fread(&di, 4, 1, f) != 1 || di != dd || fread(x + (size_t)i * dd * 4, 4, (size_t)dd, f) != (size_t)dd) {
            fprintf(stderr, "bench: %s: bad vector %lld\n", path, (long long)i);
            exit(1);
        }
    }
    fclose(f);
    *n = nn, *d = dd;
    return x;
}

/* recall@k: fraction of the first k true ids found among the first k results */
static double bench_recall(const int64_t *ids, int k, const int32_t *gt, int gk, int64_t nq) {
    int64_t hit = 0;
    for (int64_t i = 0; i < nq; i++)
        for (int j = 0; j < k; j++)
            for (int l = 0; l < k; l++)
                if (ids[i * k + l] == gt[i * gk + j]) {
                    hit++;
                    break;
                }
    return (double)hit / (double)(nq * k);
}

/* resident set size in bytes (/proc/self/statm) */
static size_t bench_rss(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
        fclose(f);
    }
    return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}
#endif
