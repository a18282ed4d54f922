#!/bin/sh
# serve.sh - load benchmark of `winnow serve` with wrk on loopback (bench/serve_bench.py
# says what is measured): /embed one text per request at 1, 8, 64 connections with
# batching on and off against offline `winnow embed` on the same texts, /embed 32
# texts, /rerank 20 documents, /search hybrid + re-ranking of 20, and 429s past the
# limit. Random-weight MiniLM-L6 models (bench_encoder setup), CISI texts (../shared).
#
#   sh bench/serve.sh     (THREADS=2 DURATION=8 ROUNDS=2 SOAK=0 WN_BENCH_DIR=/tmp/winnow-serve)
#   SOAK=600: also 10 minutes of mixed load (zero non-2xx expected, RSS sampled)
#
# About 3 minutes on 2 cores; needs ~200 MB in WN_BENCH_DIR and Debian's wrk
# (installed here if missing).
set -e
cd "$(dirname "$0")/.."
DIR=${WN_BENCH_DIR:-/tmp/winnow-serve}
command -v wrk >/dev/null || apt-get install -y wrk
make -s -j2 build/winnow build/bench/bench_encoder
mkdir -p "$DIR"
[ -f "$DIR/bi/model.safetensors" ] || build/bench/bench_encoder setup "$DIR" >/dev/null
/usr/bin/python3 bench/serve_bench.py build/winnow "$DIR"
