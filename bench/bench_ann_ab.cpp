// bench_ann_ab.cpp - winnow's HNSW against hnswlib's in one process, interleaved.
// Builds both on the same data (M, ef_construction, threads; builds alternate which
// goes first over --builds rounds), then, for every ef of the sweep and --rounds
// rounds, times a pass of single-thread, one-query-per-call searches of each library
// back to back, alternating which goes first. On a machine shared with other work
// the two libraries are thus measured seconds apart under the same load; the
// per-round ratios and their median are printed, so the noise is visible.
// Compiled by bench/ann.sh (g++ with winnow's flags, linked to build/libwinnow.a):
//   bench_ann_ab --base B.fvecs --queries Q.fvecs --gt G.ivecs [--m 16 --efc 200
//                --threads 2 --sweep 16,32,64,128 --rounds 5 --builds 1]
// One JSON line per build and per (ef, round), then a summary line per ef.
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "bench_ann_common.h"
#include "bench_hnswlib.h"
#include "winnow.h"

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

int main(int argc, char **argv) {
    bench_hnsw_opts o;
    o.sweep = "16,32,64,128";
    int k = 10, rounds = 5, builds = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        const char *v = argv[i + 1];
        if (bench_hnsw_opt(o, a, v)) continue;
        if (a == "--rounds") rounds = atoi(v);
        else if (a == "--builds") builds = atoi(v);
        else {
            fprintf(stderr, "bench_ann_ab: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    const char *base = o.base, *queries = o.queries, *gtp = o.gt, *sweep = o.sweep;
    const int M = o.M, efc = o.efc, threads = o.threads;
    if (!base || !queries || !gtp || rounds < 1 || builds < 1) {
        fprintf(stderr, "bench_ann_ab: --base, --queries and --gt are required\n");
        return 2;
    }
    int64_t n, nq, ng;
    int d, dq, gk;
    float *x = (float *)bench_read_vecs(base, &n, &d), *q = (float *)bench_read_vecs(queries, &nq, &dq);
    int32_t *gt = (int32_t *)bench_read_vecs(gtp, &ng, &gk);
    if (!x || !q || !gt || d != dq || ng != nq) {
        fprintf(stderr, "bench_ann_ab: unreadable or mismatched inputs\n");
        return 1;
    }
    hnswlib::L2Space space(d);
    hnswlib::HierarchicalNSW<float> *h = nullptr;
    wn_index *ix = nullptr;
    std::vector<double> cpu_w, cpu_h;
    for (int b = 0; b < builds; b++) {
        for (int side = 0; side < 2; side++) {
            bool winnow_side = (side + b) % 2 == 0;
            double c0 = bench_process_cpu(), t0 = bench_now();
            if (winnow_side) {
                if (ix) wn_index_free(ix);
                wn_index_params p = wn_index_default_params();
                p.m = M, p.ef_construction = efc, p.n_threads = threads;
                if (wn_index_create(WN_INDEX_HNSW, d, WN_METRIC_L2, &p, &ix) != WN_OK ||
                    wn_index_add(ix, n, x, nullptr) != WN_OK) {
                    fprintf(stderr, "bench_ann_ab: %s\n", wn_last_error());
                    return 1;
                }
            } else {
                delete h;
                h = bench_hnswlib_build(&space, x, n, d, M, efc, threads);
            }
            double c = bench_process_cpu() - c0, w = bench_now() - t0;
            (winnow_side ? cpu_w : cpu_h).push_back(c);
            printf("{\"what\": \"ab build\", \"lib\": \"%s\", \"round\": %d, \"n\": %lld, \"dim\": %d, \"threads\": %d, "
                   "\"seconds\": %.3f, \"cpu_seconds\": %.3f}\n",
                   winnow_side ? "winnow" : "hnswlib", b + 1, (long long)n, d, threads, w, c);
            fflush(stdout);
        }
    }
    printf("{\"what\": \"ab build summary\", \"winnow_cpu_median\": %.3f, \"hnswlib_cpu_median\": %.3f, \"ratio\": %.3f}\n",
           median(cpu_w), median(cpu_h), median(cpu_w) / median(cpu_h));
    std::vector<int64_t> iw((size_t)nq * k), ih((size_t)nq * k, -1);
    std::vector<float> dw((size_t)nq * k);
    char *sw = strdup(sweep);
    for (char *tok = strtok(sw, ","); tok; tok = strtok(nullptr, ",")) {
        int ef = atoi(tok);
        wn_index_search_params sp = wn_index_search_default_params();
        sp.ef = ef;
        h->setEf(ef);
        auto pass_w = [&] {
            double c0 = bench_thread_cpu();
            for (int64_t i = 0; i < nq; i++)
                wn_index_search(ix, 1, q + (size_t)i * d, k, &sp, dw.data() + i * k, iw.data() + i * k);
            return bench_thread_cpu() - c0;
        };
        auto pass_h = [&] {
            double c0 = bench_thread_cpu();
            for (int64_t i = 0; i < nq; i++) {
                auto r = h->searchKnn(q + (size_t)i * d, k);
                for (int j = k - 1; j >= 0 && !r.empty(); j--) ih[i * k + j] = (int64_t)r.top().second, r.pop();
            }
            return bench_thread_cpu() - c0;
        };
        pass_w(), pass_h(); // warm both
        std::vector<double> qw, qh, ratio;
        for (int r = 0; r < rounds; r++) {
            double cw, ch;
            if (r % 2 == 0) cw = pass_w(), ch = pass_h();
            else ch = pass_h(), cw = pass_w();
            qw.push_back(nq / cw), qh.push_back(nq / ch), ratio.push_back(ch / cw);
            printf("{\"what\": \"ab search\", \"ef\": %d, \"round\": %d, \"winnow_qps_cpu\": %.1f, \"hnswlib_qps_cpu\": %.1f, "
                   "\"ratio\": %.3f}\n",
                   ef, r + 1, nq / cw, nq / ch, ch / cw);
            fflush(stdout);
        }
        double rw = bench_recall(iw.data(), k, gt, gk, nq), rh = bench_recall(ih.data(), k, gt, gk, nq);
        std::vector<double> rs = ratio;
        std::sort(rs.begin(), rs.end());
        printf("{\"what\": \"ab search summary\", \"ef\": %d, \"k\": %d, \"winnow_recall\": %.4f, \"hnswlib_recall\": %.4f, "
               "\"winnow_qps_cpu_median\": %.1f, \"hnswlib_qps_cpu_median\": %.1f, \"ratio_min\": %.3f, "
               "\"ratio_median\": %.3f, \"ratio_max\": %.3f}\n",
               ef, k, rw, rh, median(qw), median(qh), rs.front(), median(ratio), rs.back());
        fflush(stdout);
    }
    free(sw);
    wn_index_free(ix);
    delete h;
    free(x), free(q), free(gt);
    return 0;
}
