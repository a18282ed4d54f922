#!/bin/sh
# encoders.sh - encoder speed: winnow against ONNX Runtime (onnxruntime-node 1.30,
# fp32 and int8) and PyTorch (Debian's python3-torch) in the same run, on the
# same random-weight MiniLM-L6 models and the same token ids:
#   bi-encoder sequences/s at batch 32 for 16..256 tokens, batch-1 latency at 16
#   tokens, cross-encoder pairs/s (100 pairs of 128 tokens), whole-corpus CISI
#   embedding (1,460 documents; ORT pads each batch of 32 in input order, winnow
#   sorts by length), peak RSS at 32 x 256; winnow's bf16/int8 quality vs fp32.
# Each precision's outputs are checked against fp32 before it is timed, and
# winnow's fp32 outputs against PyTorch's. Prints a table with ratios.
#
#   sh bench/encoders.sh    (THREADS=2 REPS=3 ROUNDS=3 WN_BENCH_DIR=/tmp/winnow-encoders)
#
# Needs ~1 GB in WN_BENCH_DIR and, the first time, Debian's python3-torch and
# python3-onnx and the npm package (installed here if missing). The machine may
# be shared: the timings are interleaved (bench/encoders_drive.py: every engine
# is a worker that has its models loaded, asked in turn workload by workload,
# ROUNDS times), so engines are compared seconds apart on the same machine
# state; the table shows each engine's best round and the per-round ratios.
set -e
cd "$(dirname "$0")/.."
DIR=${WN_BENCH_DIR:-/tmp/winnow-encoders}
THREADS=${THREADS:-2}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-3}
PY=/usr/bin/python3
. bench/ref_deps.sh
make -s build/bench/bench_encoder
B=build/bench/bench_encoder
mkdir -p "$DIR"
$B setup "$DIR"
$PY bench/ref_torch.py export "$DIR" 2>"$DIR/export.log" || { cat "$DIR/export.log"; exit 1; }
R="$DIR/results.jsonl"
: >"$R"
echo "checks: winnow fp32, bf16, int8 on CISI; peak RSS ..." >&2
for p in fp32 bf16 int8; do $B check "$DIR" "$THREADS" $p >>"$R"; done
for p in fp32 bf16 int8; do $B rss "$DIR" "$THREADS" $p >>"$R"; done
echo "timings: winnow, ONNX Runtime, PyTorch interleaved, $ROUNDS rounds ..." >&2
$PY bench/encoders_drive.py "$DIR" "$THREADS" "$REPS" "$ROUNDS" >>"$R"
$PY bench/report.py "$DIR"
