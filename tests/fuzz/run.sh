#!/bin/sh
# run.sh - builds the libFuzzer harnesses of src/model and src/util/json.c and runs each for N seconds
# (default 60): tests/fuzz/run.sh [SECONDS] [harness...]. Needs clang and
# libclang-rt (Debian: clang, libclang-rt-14-dev). Corpora grow in build-fuzz/;
# crashes land in tests/fixtures/model/bad/ as crash-* files: keep them (renamed
# to say what they were), they are replayed by tests/test_model_fuzz_replay.c.
set -e
cd "$(dirname "$0")/../.."
SECS=${1:-60}
[ $# -gt 0 ] && shift
HARNESSES=${*:-"fuzz_safetensors fuzz_config fuzz_json"}
OUT=build-fuzz
CC=${FUZZ_CC:-clang}
mkdir -p "$OUT"
LIB="src/model/safetensors.c src/model/config.c src/util/json.c src/util/alloc.c src/util/error.c src/util/io.c src/util/utf8.c"
for h in $HARNESSES; do
    echo "== $h: build"
    $CC -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -Iinclude -Isrc -o "$OUT/$h" "tests/fuzz/$h.c" $LIB -lm -lpthread
    mkdir -p "$OUT/corpus_$h"
    cp tests/fuzz/seeds/"$h"/* "$OUT/corpus_$h/" 2>/dev/null || true
    echo "== $h: run ${SECS}s"
    "$OUT/$h" -max_total_time="$SECS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix=tests/fixtures/model/bad/"$h"- "$OUT/corpus_$h" 2>"$OUT/$h.log" || {
        echo "$h found a crash: see $OUT/$h.log and tests/fixtures/model/bad/"; tail -30 "$OUT/$h.log"; exit 1; }
    tail -n 3 "$OUT/$h.log"
done
