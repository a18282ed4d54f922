#!/bin/sh
# run_tokenizer_fuzz.sh - builds tests/fuzz/fuzz_tokenizer.c with libFuzzer and runs
# it for N seconds (default 60): tests/fuzz/run_tokenizer_fuzz.sh [SECONDS]. Needs
# clang and libclang-rt (Debian: clang, libclang-rt-14-dev). Seeds: the fixture
# inputs and tokenizer.json files; crashes land in build-fuzz/ as crash-* files.
set -e
cd "$(dirname "$0")/../.."
SECS=${1:-60}
OUT=build-fuzz
CC=${FUZZ_CC:-clang}
C="$OUT/corpus_fuzz_tokenizer"
mkdir -p "$C"
echo "== fuzz_tokenizer: build"
$CC -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Iinclude -Isrc -o "$OUT/fuzz_tokenizer" tests/fuzz/fuzz_tokenizer.c src/tokenizer/*.c src/util/*.c \
    -lutf8proc -lm -lpthread
# seeds: texts (first byte even) and tokenizer.json files (first byte odd)
i=0
for f in tests/fixtures/tokenizer/*.txt; do
    { printf '\040'; cat "$f"; } >"$C/seed_text_$i"; i=$((i + 1))
done
{ printf '\001'; printf '{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "a": 3, "##b": 4, "caf\\u00e9": 5}}, "normalizer": {"type": "BertNormalizer", "lowercase": false}, "added_tokens": [{"id": 1, "content": "[CLS]"}]}'; } >"$C/seed_json_0"
echo "== fuzz_tokenizer: run ${SECS}s"
"$OUT/fuzz_tokenizer" -max_total_time="$SECS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$OUT/fuzz_tokenizer-" "$C" 2>"$OUT/fuzz_tokenizer.log" || {
    echo "fuzz_tokenizer found a crash: see $OUT/fuzz_tokenizer.log"; tail -30 "$OUT/fuzz_tokenizer.log"; exit 1; }
tail -n 3 "$OUT/fuzz_tokenizer.log"
