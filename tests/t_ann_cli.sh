#!/bin/sh
# t_ann_cli.sh - `winnow ann build|search` end to end on small .fvecs files made
# here by Python (struct, seeded): the flat index's ids must equal a brute force
# computed in Python (an independent reference), HNSW/IVF must reach recall@10
# >= 0.95 against it, search must print its JSON line, and bad files or options
# must fail with a message and the documented exit code (1 failure, 2 usage).
: "${BUILD:=build}"
W="$BUILD/winnow"
[ -x "$W" ] || { echo "t_ann_cli: $W is not built"; exit 1; }
command -v python3 >/dev/null || skip_or_fail "python3 is absent (scripts/deps.sh installs it)"
. "${0%/*}/lib.sh"
t_tmp ann_cli

python3 - "$T" <<'PY'
import random, struct, sys
t = sys.argv[1]
rng = random.Random(7)
D = 24
cent = [[rng.gauss(0, 1) for _ in range(D)] for _ in range(10)]
def vec():
    c = cent[rng.randrange(10)]
    return [c[j] + 0.5 * rng.gauss(0, 1) for j in range(D)]
base = [vec() for _ in range(1500)]
qs = [vec() for _ in range(40)]
def fvecs(path, rows):
    with open(path, "wb") as f:
        for r in rows:
            f.write(struct.pack("<i", D) + struct.pack("<%df" % D, *r))
fvecs(t + "/base.fvecs", base)
fvecs(t + "/q.fvecs", qs)
# exact L2 top-10 in double precision (ties broken by id)
with open(t + "/truth.txt", "w") as f:
    for q in qs:
        d = sorted((sum((a - b) ** 2 for a, b in zip(q, x)), i) for i, x in enumerate(base))
        f.write(" ".join(str(i) for _, i in d[:10]) + "\n")
with open(t + "/short.fvecs", "wb") as f:
    f.write(open(t + "/base.fvecs", "rb").read()[:1010])
PY

ivecs_txt() { python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read(); o = 0
while o < len(b):
    k = struct.unpack_from("<i", b, o)[0]; o += 4
    print(" ".join(str(v) for v in struct.unpack_from("<%di" % k, b, o))); o += 4 * k
' "$1"; }
recall() { python3 -c '
import sys
a = [l.split() for l in open(sys.argv[1])]; b = [l.split() for l in open(sys.argv[2])]
print(sum(len(set(x) & set(y)) for x, y in zip(a, b)) / sum(len(y) for y in b))
' "$1" "$2"; }

for ty in flat hnsw ivf ivfpq; do
    "$W" ann build --type $ty --metric l2 --input "$T/base.fvecs" --m 12 --nlist 16 --pq-m 12 --threads 2 \
        --out "$T/$ty.wnix" 2>"$T/err" || { fail "$ty build: $(cat "$T/err")"; continue; }
    "$W" ann search --index "$T/$ty.wnix" --queries "$T/q.fvecs" --k 10 --ef 100 --nprobe 8 --threads 1 \
        --out "$T/$ty.ivecs" 2>"$T/err" || { fail "$ty search: $(cat "$T/err")"; continue; }
    grep -q '"queries": 40, .*"queries_per_s"' "$T/err" || fail "$ty search JSON line: $(cat "$T/err")"
    ivecs_txt "$T/$ty.ivecs" >"$T/$ty.txt"
    r=$(recall "$T/$ty.txt" "$T/truth.txt")
    echo "$ty recall@10 = $r"
    if [ $ty = flat ]; then
        cmp -s "$T/flat.txt" "$T/truth.txt" || fail "flat ids differ from the Python brute force"
    else
        python3 -c "import sys; sys.exit(0 if $r >= 0.95 else 1)" || fail "$ty recall $r < 0.95"
    fi
done

# errors
"$W" ann build --type flat --metric l2 --input "$T/short.fvecs" --out "$T/x.wnix" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "not a whole number" "$T/err" || fail "truncated .fvecs: exit $rc, $(cat "$T/err")"
"$W" ann build --type kdtree --metric l2 --input "$T/base.fvecs" --out "$T/x.wnix" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "type kdtree" "$T/err" || fail "bad --type: exit $rc, $(cat "$T/err")"
head -c 300 "$T/hnsw.wnix" >"$T/cut.wnix"
"$W" ann search --index "$T/cut.wnix" --queries "$T/q.fvecs" --out "$T/x.ivecs" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "cut.wnix" "$T/err" || fail "truncated index: exit $rc, $(cat "$T/err")"
"$W" ann search --index "$T/base.fvecs" --queries "$T/q.fvecs" --out "$T/x.ivecs" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "magic" "$T/err" || fail "not an index: exit $rc, $(cat "$T/err")"

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "t_ann_cli: all passed"
