// bench_hnswlib.h - hnswlib's build as the ANN benchmark drivers run it (C++ only):
// point 0 first, then the rest from `threads` threads taking the next index, the
// way hnswlib's own examples build in parallel. Seed 42, as winnow's default.
#ifndef BENCH_HNSWLIB_H
#define BENCH_HNSWLIB_H
#include <hnswlib/hnswlib.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

// The options both drivers take (--base --queries --gt --m --efc --threads --sweep);
// false for any other, which the driver handles itself.
struct bench_hnsw_opts {
    const char *base = nullptr, *queries = nullptr, *gt = nullptr, *sweep = nullptr;
    int M = 16, efc = 200, threads = 2;
};
static bool bench_hnsw_opt(bench_hnsw_opts &o, const std::string &a, const char *v) {
    if (a == "--base") o.base = v;
    else if (a == "--queries") o.queries = v;
    else if (a == "--gt") o.gt = v;
    else if (a == "--m") o.M = atoi(v);
    else if (a == "--efc") o.efc = atoi(v);
    else if (a == "--threads") o.threads = atoi(v);
    else if (a == "--sweep") o.sweep = v;
    else return false;
    return true;
}

static hnswlib::HierarchicalNSW<float> *bench_hnswlib_build(hnswlib::SpaceInterface<float> *space, const float *x,
                                                           int64_t n, int d, int M, int efc, int threads) {
    auto *h = new hnswlib::HierarchicalNSW<float>(space, (size_t)n, M, efc, 42);
    h->addPoint(x, 0);
    std::atomic<int64_t> next(1);
    std::vector<std::thread> th;
    for (int t = 0; t < threads; t++)
        th.emplace_back([&] {
            for (int64_t i; (i = next++) < n;) h->addPoint(x + (size_t)i * d, (size_t)i);
        });
    for (auto &t : th) t.join();
    return h;
}
#endif
