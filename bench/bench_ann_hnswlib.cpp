// bench_ann_hnswlib.cpp - hnswlib's side of bench/ann.sh (Debian libhnswlib-dev,
// header-only): the same build (M, ef_construction, threads), the same ef sweep,
// the same measurements and JSON lines as bench_ann.c. Compiled by bench/ann.sh
// with winnow's flags (-O2 plus the AVX2/FMA flags winnow's kernels get).
#include <hnswlib/hnswlib.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "bench_ann_common.h"
#include "bench_hnswlib.h"

int main(int argc, char **argv) {
    bench_hnsw_opts o;
    o.sweep = "64";
    const char *metric = "l2";
    const int k = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        const char *v = argv[i + 1];
        if (!bench_hnsw_opt(o, a, v) && a == "--metric") metric = v;
    }
    const char *base = o.base, *queries = o.queries, *gtp = o.gt, *sweep = o.sweep;
    const int M = o.M, efc = o.efc, threads = o.threads;
    if (!base || !queries || !gtp) return 2;
    int64_t n, nq, ng;
    int d, dq, gk;
    float *x = (float *)bench_read_vecs(base, &n, &d), *q = (float *)bench_read_vecs(queries, &nq, &dq);
    int32_t *gt = (int32_t *)bench_read_vecs(gtp, &ng, &gk);
    hnswlib::SpaceInterface<float> *space;
    if (std::string(metric) == "l2") space = new hnswlib::L2Space(d);
    else space = new hnswlib::InnerProductSpace(d); // cos: the data is unit-norm
    size_t rss0 = bench_rss();
    double t0 = bench_now(), c0 = bench_process_cpu();
    auto *h = bench_hnswlib_build(space, x, n, d, M, efc, threads);
    double tb = bench_now() - t0, cb = bench_process_cpu() - c0;
    size_t rss1 = bench_rss();
    // hnswlib's own memory: level-0 block (vectors + links + labels), upper links, and
    // per element the upper-links pointer, level, lock and label-map entry (the map's
    // node and bucket estimated at 32 + 8 bytes, libstdc++'s layout)
    size_t bytes = h->max_elements_ * h->size_data_per_element_;
    for (int64_t i = 0; i < n; i++) bytes += h->element_levels_[i] * h->size_links_per_element_;
    bytes += h->max_elements_ * (sizeof(void *) + sizeof(int) + sizeof(std::mutex)) + h->label_lookup_.size() * 40;
    printf("{\"lib\": \"hnswlib\", \"what\": \"build\", \"type\": \"hnsw\", \"n\": %lld, \"dim\": %d, \"threads\": %d, "
           "\"seconds\": %.3f, \"cpu_seconds\": %.3f, \"index_bytes\": %zu, \"rss_delta\": %zu}\n",
           (long long)n, d, threads, tb, cb, bytes, rss1 > rss0 ? rss1 - rss0 : 0);
    fflush(stdout);
    std::vector<int64_t> ids((size_t)nq * k, -1);
    auto one = [&](int64_t i) {
        auto r = h->searchKnn(q + (size_t)i * d, k);
        for (int j = k - 1; j >= 0 && !r.empty(); j--) ids[i * k + j] = (int64_t)r.top().second, r.pop();
    };
    char *sw = strdup(sweep);
    for (char *tok = strtok(sw, ","); tok; tok = strtok(nullptr, ",")) {
        int ef = atoi(tok);
        h->setEf(ef);
        for (int64_t i = 0; i < (nq < 50 ? nq : 50); i++) one(i);
        t0 = bench_now();
        c0 = bench_thread_cpu();
        for (int64_t i = 0; i < nq; i++) one(i);
        double t1 = bench_now() - t0, c1 = bench_thread_cpu() - c0;
        double r = bench_recall(ids.data(), k, gt, gk, nq);
        std::atomic<int64_t> nx(0);
        t0 = bench_now();
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; t++)
            ts.emplace_back([&] {
                for (int64_t i; (i = nx++) < nq;) one(i);
            });
        for (auto &t : ts) t.join();
        double tB = bench_now() - t0;
        printf("{\"lib\": \"hnswlib\", \"what\": \"search\", \"type\": \"hnsw\", \"param\": %d, \"k\": %d, \"recall\": "
               "%.4f, \"qps_single\": %.1f, \"qps_single_cpu\": %.1f, \"qps_batched\": %.1f, \"threads\": %d}\n",
               ef, k, r, (double)nq / t1, (double)nq / c1, (double)nq / tB, threads);
        fflush(stdout);
    }
    free(sw);
    delete h;
    delete space;
    free(x), free(q), free(gt);
    return 0;
}
