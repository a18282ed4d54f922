#!/bin/sh
# train.sh - one training step of winnow (bench/bench_train.c) against the same
# step in PyTorch (bench/train_torch.py, Debian's python3-torch), interleaved:
# ROUNDS rounds of (winnow, PyTorch) per mode, each process timing STEPS steps
# after a warm-up step and reporting its median, examples/s, tokens/s and peak
# RSS (and CPU time per step: the fairer figure on a shared machine). MiniLM-L6 shapes, random weights and tokens, dropout 0.1, AdamW.
#   bi: MNRL, B queries + B positives of T tokens (default 32 x 64)
#   ce: BCE, B pairs of T tokens (default 32 x 128)
# Usage: sh bench/train.sh [ROUNDS] [STEPS] [THREADS]      (make bench first)
: "${BUILD:=build}"
R=${1:-3}; S=${2:-3}; TH=${3:-2}
PY=/usr/bin/python3
$PY -c 'import torch' 2>/dev/null || apt-get install -y python3-torch
[ -x "$BUILD/bench/bench_train" ] || make -s "$BUILD/bench/bench_train" || exit 1
echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs, winnow $("$BUILD/winnow" --version 2>/dev/null), threads $TH"
for mode in bi ce; do
    if [ $mode = bi ]; then T=64; else T=128; fi
    for r in $(seq 1 "$R"); do
        "$BUILD/bench/bench_train" --mode $mode --batch 32 --len $T --steps "$S" --threads "$TH"
        OMP_NUM_THREADS=$TH $PY bench/train_torch.py --mode $mode --batch 32 --len $T --steps "$S" --threads "$TH"
    done
done | tee /dev/stderr | $PY -c '
import json, sys, statistics
rows = [json.loads(l) for l in sys.stdin if l.startswith("{")]
for mode in ("bi", "ce"):
    w = [r for r in rows if r["mode"] == mode and r["impl"] == "winnow"]
    t = [r for r in rows if r["mode"] == mode and r["impl"] != "winnow"]
    if not w or not t: continue
    ratios = [b["step_ms"] / a["step_ms"] for a, b in zip(w, t)]
    cratios = [b["cpu_ms"] / a["cpu_ms"] for a, b in zip(w, t) if "cpu_ms" in a and "cpu_ms" in b] or [float("nan")]
    print("%s %dx%d: winnow %.0f ms/step (%.1f ex/s, %.0f tok/s, peak %d MB), %s %.0f ms/step (%.1f ex/s, peak %d MB); "
          "speed-up per round %s, median %.2fx; CPU time per step %.0f vs %.0f ms, ratio %.2fx" % (mode, w[0]["batch"], w[0]["len"], statistics.median(r["step_ms"] for r in w),
          statistics.median(r["examples_per_s"] for r in w), statistics.median(r["tokens_per_s"] for r in w),
          max(r["peak_rss_mb"] for r in w), t[0]["impl"], statistics.median(r["step_ms"] for r in t),
          statistics.median(r["examples_per_s"] for r in t), max(r["peak_rss_mb"] for r in t),
          " ".join("%.2f" % x for x in ratios), statistics.median(ratios),
          statistics.median(r.get("cpu_ms", float("nan")) for r in w),
          statistics.median(r.get("cpu_ms", float("nan")) for r in t), statistics.median(cratios)))
'
