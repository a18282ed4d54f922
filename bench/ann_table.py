#!/usr/bin/python3
"""ann_table.py - turns the JSON lines of bench/ann.sh into the Markdown tables of
the report: builds (seconds, memory, ratios) and sweeps (recall@10, QPS), with the
winnow/baseline ratios that the issue's targets name, all from the same run."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for ds in sorted({r["data"] for r in rows}):
    R = [r for r in rows if r["data"] == ds and not r["what"].startswith("ab ")]
    AB = [r for r in rows if r["data"] == ds and r["what"].startswith("ab ")]
    print(f"\n### {ds}\n")
    print("| build | type | n x dim | threads | wall s | CPU s | index MB | vectors MB | RSS growth MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in R:
        if r["what"] == "build":
            print(f"| {r['lib']} | {r['type']} | {r['n']} x {r['dim']} | {r['threads']} | {r['seconds']:.1f} | "
                  f"{r.get('cpu_seconds', 0):.1f} | {r['index_bytes'] / 1e6:.1f} | {r.get('vector_bytes', 0) / 1e6:.1f} | "
                  f"{r.get('rss_delta', 0) / 1e6:.1f} |")
    print("\n| search | type | ef / nprobe | recall@10 | QPS 1 thread, 1 query/call (wall) | same, per CPU s | QPS batched (all threads) |")
    print("|---|---|---|---|---|---|---|")
    for r in R:
        if r["what"] == "search":
            print(f"| {r['lib']} | {r['type']} | {r['param']} | {r['recall']:.4f} | {r.get('qps_single', 0):.0f} | "
                  f"{r.get('qps_single_cpu', 0):.0f} | {r.get('qps_batched', 0):.0f} |")
        if r["what"] == "load":
            print(f"| {r['lib']} | {r['type']} load | | | save {r['save_seconds']:.2f} s, load {r['load_seconds']:.3f} s, "
                  f"load + first query {r['load_and_first_query_seconds']:.3f} s | | |")
    # ratios the issue asks for
    def get(lib, typ, what="build"):
        return [r for r in R if r["lib"] == lib and r["type"] == typ and r["what"] == what]
    wb, hb = get("winnow", "hnsw"), get("hnswlib", "hnsw")
    if wb and hb:
        print(f"\n- HNSW build time winnow/hnswlib = {wb[0]['seconds'] / hb[0]['seconds']:.2f} (target <= 0.8); "
              f"memory {wb[0]['index_bytes'] / hb[0]['index_bytes']:.2f}, RSS growth {wb[0]['rss_delta'] / hb[0]['rss_delta']:.2f} (target <= 1)")
    def best_qps(lib, typ, rmin, key="qps_single"):
        s = [r for r in get(lib, typ, "search") if r["recall"] >= rmin]
        return max((r.get(key, 0) for r in s), default=0)
    w, h = best_qps("winnow", "hnsw", 0.95), best_qps("hnswlib", "hnsw", 0.95)
    if w and h:
        print(f"- HNSW single-query QPS at recall@10 >= 0.95 (wall): winnow {w:.0f}, hnswlib {h:.0f}, ratio {w / h:.2f} (target >= 1.2)")
    w, h = best_qps("winnow", "hnsw", 0.95, "qps_single_cpu"), best_qps("hnswlib", "hnsw", 0.95, "qps_single_cpu")
    if w and h:
        print(f"- same per CPU second: winnow {w:.0f}, hnswlib {h:.0f}, ratio {w / h:.2f}")
    if wb and hb and wb[0].get("cpu_seconds") and hb[0].get("cpu_seconds"):
        print(f"- HNSW build CPU seconds winnow/hnswlib = {wb[0]['cpu_seconds'] / hb[0]['cpu_seconds']:.2f}")
    wf, ff = get("winnow", "flat", "search"), get("faiss", "flat", "search")
    if wf and ff:
        print(f"- flat batched (k=100): winnow {wf[0]['qps_batched']:.0f} QPS, FAISS/OpenBLAS sgemm {ff[0]['qps_batched']:.0f}, "
              f"ratio {wf[0]['qps_batched'] / ff[0]['qps_batched']:.2f} (target >= 0.9)")
    wi, fi = get("winnow", "ivfpq"), get("faiss", "ivfpq")
    if wi:
        codes = wi[0]["index_bytes"] - wi[0]["vector_bytes"] * (1 + 1 / wi[0]["dim"])
        print(f"- IVF-PQ in RAM without the re-ranking vectors: {codes / 1e6:.1f} MB = 1/{wi[0]['vector_bytes'] / codes:.0f} "
              f"of flat's {wi[0]['vector_bytes'] / 1e6:.0f} MB (the vectors can stay in the mapped file)")
        w, f = best_qps("winnow", "ivfpq", 0.9), best_qps("faiss", "ivfpq", 0.9)
        if w and f:
            print(f"- IVF-PQ single-query QPS at recall@10 >= 0.9: winnow {w:.0f}, FAISS {f:.0f}, ratio {w / f:.2f}")
    if AB:  # bench_ann_ab: both libraries in one process, interleaved
        print("\nInterleaved (bench_ann_ab, one process; searches timed back to back per round):\n")
        for r in AB:
            if r["what"] == "ab build summary":
                print(f"- HNSW build CPU s, median of rounds: winnow {r['winnow_cpu_median']:.1f}, hnswlib "
                      f"{r['hnswlib_cpu_median']:.1f}, ratio {r['ratio']:.2f} (target <= 0.8)")
        print("\n| ef | recall@10 winnow / hnswlib | queries per CPU s winnow / hnswlib (median) | ratio min / median / max |")
        print("|---|---|---|---|")
        for r in AB:
            if r["what"] == "ab search summary":
                print(f"| {r['ef']} | {r['winnow_recall']:.4f} / {r['hnswlib_recall']:.4f} | "
                      f"{r['winnow_qps_cpu_median']:.0f} / {r['hnswlib_qps_cpu_median']:.0f} | "
                      f"{r['ratio_min']:.2f} / {r['ratio_median']:.2f} / {r['ratio_max']:.2f} |")
