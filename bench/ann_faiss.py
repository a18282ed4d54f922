#!/usr/bin/python3
"""ann_faiss.py - FAISS's side of bench/ann.sh (Debian python3-faiss, built without
SIMD): exact flat search (sgemm through OpenBLAS for batches, the brute-force
baseline) and IVF-PQ (nlist, pq_m x 8 bits, by residual) with exact re-ranking of
k_factor * k candidates (IndexRefineFlat), swept over nprobe. Same data, ground
truth, k and threads as bench_ann; prints the same JSON lines.
usage: ann_faiss.py BASE QUERIES GT THREADS NLIST PQ_M RERANK SWEEP"""
import json
import sys
import time

import faiss
import numpy as np


def read_vecs(path, dtype):
    a = np.fromfile(path, dtype=np.int32)
    d = a[0]
    return a.reshape(-1, d + 1)[:, 1:].copy().view(dtype)


def recall(ids, gt, k):
    return float(np.mean([len(set(ids[i, :k]) & set(gt[i, :k])) / k for i in range(len(ids))]))


base, queries, gtp = sys.argv[1], sys.argv[2], sys.argv[3]
threads, nlist, pq_m, rerank = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
sweep = [int(v) for v in sys.argv[8].split(",")]
x, q, gt = read_vecs(base, np.float32), read_vecs(queries, np.float32), read_vecs(gtp, np.int32)
n, d = x.shape
k = 10
out = lambda o: print(json.dumps(o), flush=True)

faiss.omp_set_num_threads(threads)
flat = faiss.IndexFlatIP(d)  # unit vectors: the same ranking as L2
flat.add(x)
t0 = time.perf_counter()
_, ids = flat.search(q, 100)
tb = time.perf_counter() - t0
out({"lib": "faiss", "what": "search", "type": "flat", "param": 0, "k": 100, "recall": recall(ids, gt, 10),
     "qps_batched": len(q) / tb, "threads": threads})

t0 = time.perf_counter()
quant = faiss.IndexFlatIP(d)
ivfpq = faiss.IndexIVFPQ(quant, d, nlist, pq_m, 8, faiss.METRIC_INNER_PRODUCT)
ivfpq.train(x[np.random.default_rng(1).choice(n, min(n, max(64 * nlist, 4096)), replace=False)])  # winnow's sample size
index = faiss.IndexRefineFlat(ivfpq)
index.add(x)
tb = time.perf_counter() - t0
codes = ivfpq.invlists.compute_ntotal() * (pq_m + 8) + nlist * d * 4 + pq_m * 256 * (d // pq_m) * 4
out({"lib": "faiss", "what": "build", "type": "ivfpq", "n": n, "dim": d, "threads": threads, "seconds": tb,
     "index_bytes": codes + n * d * 4, "vector_bytes": n * d * 4})
index.k_factor = max(1, rerank // k)
for nprobe in sweep:
    ivfpq.nprobe = nprobe
    faiss.omp_set_num_threads(1)
    t0 = time.perf_counter()
    for i in range(len(q)):
        _, ids1 = index.search(q[i:i + 1], k)
    t1 = time.perf_counter() - t0
    _, ids = index.search(q, k)
    r = recall(ids, gt, k)
    faiss.omp_set_num_threads(threads)
    t0 = time.perf_counter()
    _, ids = index.search(q, k)
    tB = time.perf_counter() - t0
    out({"lib": "faiss", "what": "search", "type": "ivfpq", "param": nprobe, "k": k, "recall": r,
         "qps_single": len(q) / t1, "qps_batched": len(q) / tB, "threads": threads})
