#!/bin/sh
# run.sh [SECONDS] [HARNESS...] - fuzzes winnow's file readers with libFuzzer (clang,
# -fsanitize=fuzzer,address,undefined), SECONDS each (default 180), from the committed
# corpus tests/fuzz/corpus/<harness>/ plus seeds (tests/fuzz/seeds/<harness>/ and what
# tests/fuzz/make_seeds.c writes), then replaces the committed corpus by a small one:
# libFuzzer's merge (inputs in size order, each kept only if it reaches edges or
# features the ones before it did not), cut to the seeds plus the CAP inputs (default
# 40) that added the most edges, then features. Runs in fork mode, so a
# crash does not stop the run: crashes, ooms (> 256 MB in one allocation or 512 MB
# resident) and timeouts land in build-fuzz/findings/<harness>-*; fix the bug, then add
# the input to the corpus. `make check` replays every corpus (build/tests/fuzz_replay_*).
# Needs clang and its libFuzzer runtime (Debian: clang, libclang-rt-14-dev); not part
# of make check (minutes of CPU). Runs from the repository root (the tokenizer
# harness reads ../shared or tests/fixtures).
set -e
cd "$(dirname "$0")/../.."
SECS=${1:-180}
CAP=${CAP:-40}
[ $# -gt 0 ] && shift
HARNESSES=${*:-"fuzz_bm25_load fuzz_config fuzz_eval fuzz_index_load fuzz_json fuzz_safetensors fuzz_store fuzz_tokenizer"}
B=build-fuzz
FLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc -fno-strict-aliasing -pthread -fsanitize=address,undefined"
LIBS="-lutf8proc -lcurl -lsqlite3 -lm -lpthread"
LIMITS="-max_len=4096 -timeout=10 -rss_limit_mb=512 -malloc_limit_mb=256"
mkdir -p $B/obj $B/findings
objs=""
for c in src/*/*.c; do
    o=$B/obj/$(echo "$c" | tr / _).o
    extra=""
    case "$c" in
        *_avx2.c) extra="-mavx2 -mfma -mf16c" ;;
        *_avx512.c) extra="-mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16" ;;
    esac
    if [ ! -e "$o" ] || [ "$c" -nt "$o" ] || [ -n "$(find src -name '*.h' -newer "$o")" ]; then
        clang $FLAGS -fsanitize=fuzzer-no-link $extra -c "$c" -o "$o"
    fi
    objs="$objs $o"
done
rm -rf $B/seeds
clang $FLAGS -o $B/make_seeds tests/fuzz/make_seeds.c $objs $LIBS
$B/make_seeds $B/seeds
i=0
for f in tests/fixtures/tokenizer/*.txt; do # texts for the tokenizer (first byte even: text)
    { printf '\040'; head -c 3000 "$f"; } >"$B/seeds/fuzz_tokenizer/fixture_$i"
    i=$((i + 1))
done
for h in $HARNESSES; do
    clang $FLAGS -fsanitize=fuzzer -o $B/$h tests/fuzz/$h.c $objs $LIBS
    mkdir -p tests/fuzz/corpus/$h $B/work/$h
    [ -d tests/fuzz/seeds/$h ] && cp tests/fuzz/seeds/$h/* $B/seeds/$h/
    echo "== $h: ${SECS}s"
    $B/$h -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -max_total_time="$SECS" $LIMITS \
        -artifact_prefix=$B/findings/$h- $B/work/$h tests/fuzz/corpus/$h $B/seeds/$h >$B/$h.log 2>&1 || true
    grep -E '^#[0-9]+.*DONE|cov:' $B/$h.log | tail -n 1
    # the merge control file lists what each input adds (COV: edges, FT: features)
    rm -rf $B/empty $B/$h.ctl && mkdir -p $B/empty
    $B/$h -merge=1 -merge_control_file=$B/$h.ctl $LIMITS $B/empty $B/seeds/$h tests/fuzz/corpus/$h $B/work/$h \
        >$B/$h.merge.log 2>&1 || { tail -n 5 $B/$h.merge.log; exit 1; }
    python3 - "$B/$h.ctl" "$B/seeds/$h" "tests/fuzz/corpus/$h" "$CAP" <<'PY'
import hashlib, os, shutil, sys
ctl, seeds, out, cap = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lines = open(ctl).read().split("\n")
n = int(lines[0]); files = lines[2:2 + n]
cov, ft = {}, {}
for l in lines[2 + n:]:
    w = l.split()
    if len(w) >= 2 and w[0] in ("COV", "FT"):
        (cov if w[0] == "COV" else ft)[int(w[1])] = len(w) - 2
seed = [i for i, f in enumerate(files) if f.startswith(seeds + "/")]
new = sorted((i for i in set(cov) | set(ft) if i not in seed and (cov.get(i) or ft.get(i))),
             key=lambda i: (-cov.get(i, 0), -ft.get(i, 0), os.path.getsize(files[i])))
keep = seed + new[:cap]
data = {hashlib.sha1(open(files[i], "rb").read()).hexdigest(): open(files[i], "rb").read() for i in keep}
shutil.rmtree(out); os.makedirs(out)
for name, d in data.items():
    open(os.path.join(out, name), "wb").write(d)
print("   %d inputs kept in %s (%d seeds; %d of %d that added coverage; %d inputs seen)" %
      (len(data), out, len(seed), min(cap, len(new)), len(new), len(files)))
PY
    ls $B/findings/ | grep "^$h-" | sed 's/^/   finding: /' || true
done
