#!/bin/sh
# run_index_fuzz.sh - fuzzes the index file reader with libFuzzer (clang
# -fsanitize=fuzzer,address,undefined) for SECONDS (default 60), seeded with small
# valid files of every type made by `winnow ann build`. Crashers are copied to
# tests/fixtures/index_fuzz/, which tests/test_index_io.c loads on every run.
#   tests/fuzz/run_index_fuzz.sh [SECONDS]
set -e
cd "$(dirname "$0")/../.."
S=${1:-60}
B=build-fuzz
mkdir -p $B/corpus $B/seeds tests/fixtures/index_fuzz
CF="-std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
SRCS="src/index/*.c src/util/*.c"
clang $CF -mavx2 -mfma -mf16c tests/fuzz/fuzz_index_load.c $SRCS -o $B/fuzz_index_load -lm -lpthread -lutf8proc
make -s build/winnow
/usr/bin/python3 -c "
import random, struct
r = random.Random(3)
with open('$B/seeds/base.fvecs', 'wb') as f:
    for i in range(300):
        f.write(struct.pack('<i', 8) + struct.pack('<8f', *[r.gauss(0, 1) for _ in range(8)]))"
for t in flat hnsw ivf ivfpq; do
    build/winnow ann build --type $t --metric l2 --input $B/seeds/base.fvecs --m 4 --nlist 4 --pq-m 2 \
        --out $B/corpus/$t.wnix 2>/dev/null
done
build/winnow ann build --type hnsw --metric ip --storage int8 --input $B/seeds/base.fvecs --m 4 \
    --out $B/corpus/hnsw8.wnix 2>/dev/null
$B/fuzz_index_load -max_total_time=$S -max_len=65536 -artifact_prefix=tests/fixtures/index_fuzz/ $B/corpus
