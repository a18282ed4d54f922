#!/bin/sh
# ann.sh - the vector index benchmark, one command: winnow against hnswlib (Debian
# libhnswlib-dev, compiled here with winnow's flags) and FAISS (Debian
# python3-faiss) on the same data, ground truth and threads, in one run.
#   bench/ann.sh [--n 100000] [--nq 1000] [--dim 384] [--threads 2] [--big] [--kinds "sphere clustered"] [--ab ROUNDS]
# Data: seeded unit vectors, uniformly on the sphere and clustered (bench/ann_data.py);
# ground truth: winnow's exact flat index (k=100). Measures build time and memory,
# and for an ef / nprobe sweep recall@10, single-query QPS (1 thread, one query per
# call) and batched QPS (all threads). --big adds 1M vectors (long: an hour on 2 cores).
# Writes build/ann-<date>.jsonl and prints Markdown tables with the ratios.
# --ab ROUNDS also runs bench_ann_ab on each set: winnow's and hnswlib's HNSW in one
# process, searches timed back to back for ROUNDS rounds per ef (per-round ratios and
# their median: the comparison to trust on a machine shared with other work).
set -e
N=100000 NQ=1000 DIM=384 T=2 KINDS="sphere clustered" BIG=0 AB=0
while [ $# -gt 0 ]; do
    case $1 in
        --n) N=$2; shift ;; --nq) NQ=$2; shift ;; --dim) DIM=$2; shift ;; --threads) T=$2; shift ;;
        --kinds) KINDS=$2; shift ;; --big) BIG=1 ;; --ab) AB=$2; shift ;;
        *) echo "usage: bench/ann.sh [--n N] [--nq NQ] [--dim D] [--threads T] [--kinds \"sphere clustered\"] [--big] [--ab ROUNDS]" >&2; exit 2 ;;
    esac
    shift
done
cd "$(dirname "$0")/.."
PY=/usr/bin/python3 # Debian's python: numpy and faiss come from apt
for p in libhnswlib-dev python3-faiss python3-numpy g++; do
    dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q "install ok installed" || {
        echo "ann.sh: needs Debian package $p (apt-get install -y $p)" >&2; exit 1; }
done
make -s bench >/dev/null
# hnswlib: the same compiler family and flags as winnow's SIMD kernels (-O2, AVX2+FMA)
g++ -std=c++17 -O2 -mavx2 -mfma -mf16c -pthread -Ibench bench/bench_ann_hnswlib.cpp -o build/bench/bench_ann_hnswlib
g++ -std=c++17 -O2 -mavx2 -mfma -mf16c -pthread -Ibench -Iinclude bench/bench_ann_ab.cpp build/libwinnow.a \
    -lcjson -lutf8proc -lcurl -lsqlite3 -lm -o build/bench/bench_ann_ab
W=${ANN_DATA:-/tmp/winnow-ann-bench}
mkdir -p "$W" build
OUT=build/ann-$(date -u +%Y%m%d-%H%M).jsonl
: >"$OUT"
SIZES=$N
[ $BIG = 1 ] && SIZES="$N 1000000"
echo "# $(date -u) $(nproc) cores, threads $T, isa $(grep -m1 -o 'avx512f' /proc/cpuinfo || echo avx2)" | tee -a "$OUT"
for n in $SIZES; do
    for kind in $KINDS; do
        D="$W/$kind-$n-$DIM"
        mkdir -p "$D"
        [ -s "$D/base.fvecs" ] || $PY bench/ann_data.py $kind $n $DIM $NQ "$D"
        tag="$kind $n x $DIM, $NQ queries"
        run() { "$@" | sed "s/^{/{\"data\": \"$tag\", /" | tee -a "$OUT"; }
        run build/bench/bench_ann --base "$D/base.fvecs" --queries "$D/queries.fvecs" --gt-out "$D/gt.ivecs" --threads $T
        run build/bench/bench_ann --base "$D/base.fvecs" --queries "$D/queries.fvecs" --gt "$D/gt.ivecs" \
            --type hnsw --metric l2 --m 16 --efc 200 --threads $T --sweep 16,32,64,128,256
        run build/bench/bench_ann_hnswlib --base "$D/base.fvecs" --queries "$D/queries.fvecs" --gt "$D/gt.ivecs" \
            --metric l2 --m 16 --efc 200 --threads $T --sweep 16,32,64,128,256
        [ "$AB" -gt 0 ] && run build/bench/bench_ann_ab --base "$D/base.fvecs" --queries "$D/queries.fvecs" \
            --gt "$D/gt.ivecs" --m 16 --efc 200 --threads $T --sweep 16,32,64,128 --rounds $AB
        NL=$(( n >= 1000000 ? 2048 : 512 ))
        run build/bench/bench_ann --base "$D/base.fvecs" --queries "$D/queries.fvecs" --gt "$D/gt.ivecs" \
            --type ivfpq --metric ip --nlist $NL --pq-m 48 --rerank 100 --threads $T --sweep 8,16,32,64,128
        run $PY bench/ann_faiss.py "$D/base.fvecs" "$D/queries.fvecs" "$D/gt.ivecs" $T $NL 48 100 8,16,32,64,128
    done
done
$PY bench/ann_table.py "$OUT"
