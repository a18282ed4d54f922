// bench_hnswlib.h - hnswlib's build as the ANN benchmark drivers run it (C++ only):
// point 0 first, then the rest from `threads` threads taking the next index, the
// way hnswlib's own examples build in parallel. Seed 42, as winnow's default.
#ifndef BENCH_HNSWLIB_H
#define BENCH_HNSWLIB_H
#include <hnswlib/hnswlib.h>

#include <atomic>
#include <thread>
#include <vector>

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
