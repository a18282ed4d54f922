#!/bin/sh
# families.sh - per-family encoder speed: winnow against ONNX Runtime on
# random-weight MPNet, DistilBERT, RoBERTa and XLM-R bi-encoders of real shapes
# (bench/families.py says which models and how), interleaved, then a table.
#
#   sh bench/families.sh    (THREADS=2 REPS=3 ROUNDS=2 WN_BENCH_DIR=/tmp/winnow-families FAMILIES=...)
#
# Needs ~2 GB in WN_BENCH_DIR and, the first time, Debian's python3-torch and
# python3-onnx and the npm package onnxruntime-node (installed here if missing).
set -e
cd "$(dirname "$0")/.."
DIR=${WN_BENCH_DIR:-/tmp/winnow-families}
THREADS=${THREADS:-2}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-2}
PY=/usr/bin/python3
. bench/ref_deps.sh
make -s build/bench/bench_encoder
mkdir -p "$DIR"
$PY bench/families.py "$DIR" "$THREADS" "$REPS" "$ROUNDS" >"$DIR/families.jsonl" 2>"$DIR/families.log" ||
    { tail -20 "$DIR/families.log"; exit 1; }
$PY bench/families.py table "$DIR/families.jsonl"
