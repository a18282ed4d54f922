#!/bin/sh
# bm25.sh - BM25 benchmark: winnow against Xapian (python3-xapian, BM25Weight) and
# Lucene 8 (liblucene8-java, BM25Similarity) on the same real corpus, in one run:
# Debian's ~62k English package descriptions, 1,000 OR-queries (package short
# descriptions), top 10, k1 = 0.9, b = 0.4, one thread each.
#
#   sh bench/bm25.sh            (from the repository root; installs what is missing)
#
# First a check: winnow's top 10 against Lucene's on the same queries (same
# analyzer chain and formula, so they should agree up to ties). Then the timings,
# wall and CPU seconds of the working thread (the machine is shared: ratios are
# taken on CPU time, which the other load does not inflate).
# Environment: NQ (queries, default 1000), K (default 10), OUT (work dir).
set -e
NQ=${NQ:-1000}
K=${K:-10}
OUT=${OUT:-/tmp/winnow-bench-bm25}
CP=/usr/share/java/lucene-core-8.7.0.jar:/usr/share/java/lucene-analyzers-common-8.7.0.jar
need=""
[ -f /usr/share/java/lucene-core-8.7.0.jar ] || need="$need liblucene8-java"
/usr/bin/python3 -c "import xapian" 2>/dev/null || need="$need python3-xapian"
command -v javac >/dev/null || need="$need default-jdk-headless"
[ -n "$need" ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >&2
ls /var/lib/apt/lists/*_i18n_Translation-en* >/dev/null 2>&1 || apt-get update -qq -o Acquire::Languages=en
mkdir -p "$OUT"
make -s build/bench/bench_bm25 >&2
javac -cp "$CP" -d "$OUT" bench/LuceneBM25.java
python3 bench/bm25_corpus.py "$OUT" "$NQ" >/dev/null
echo "corpus: $(wc -l <"$OUT/docs.tsv") documents, $(wc -l <"$OUT/queries.tsv") queries, $(du -m "$OUT/docs.tsv" | cut -f1) MB; k=$K, k1=0.9, b=0.4, 1 thread"

# check against the reference: top K agreement with Lucene
./build/bench/bench_bm25 "$OUT/docs.tsv" "$OUT/queries.tsv" "$K" "$OUT/winnow.run" >"$OUT/winnow.txt"
java -cp "$CP:$OUT" LuceneBM25 run "$OUT/docs.tsv" "$OUT/queries.tsv" "$K" 0.9 0.4 >"$OUT/lucene.run"
python3 - "$OUT/winnow.run" "$OUT/lucene.run" <<'PY'
import sys
from collections import defaultdict
def load(p):
    r = defaultdict(list)
    for l in open(p):
        q, _, d, rank, s, _ = l.split()
        r[q].append((d, float(s)))
    return r
w, l = load(sys.argv[1]), load(sys.argv[2])
same = tot = 0; worst = 0.0
for q in l:
    a, b = [d for d, _ in w.get(q, [])], [d for d, _ in l[q]]
    tot += len(b); same += len(set(a) & set(b))
    for (d1, s1), (d2, s2) in zip(w.get(q, []), l[q]):
        worst = max(worst, abs(s1 / 1.9 - s2))
print("check: winnow's top-k holds %.4f of Lucene's documents (%d of %d); max |score/(k1+1) - Lucene| at equal rank: %.2g" % (same / max(tot, 1), same, tot, worst))
PY
java -cp "$CP:$OUT" LuceneBM25 bench "$OUT/docs.tsv" "$OUT/queries.tsv" "$K" 0.9 0.4 >"$OUT/lucene.txt"
/usr/bin/python3 bench/xapian_bm25.py "$OUT/docs.tsv" "$OUT/queries.tsv" "$K" 0.9 0.4 "$OUT/xapian.db" >"$OUT/xapian.txt"
cat "$OUT/winnow.txt" "$OUT/lucene.txt" "$OUT/xapian.txt" | python3 -c '
import sys
rows = {}
for line in sys.stdin:
    f = line.split()
    rows[f[0]] = dict(kv.split("=") for kv in f[1:])
print("%-8s %10s %10s %12s %10s %10s %12s" % ("engine", "index s", "index cpu", "docs/s(cpu)", "query s", "query cpu", "q/s(cpu)"))
for e in ("winnow", "lucene", "xapian"):
    r = rows[e]
    dps = float(r["docs"]) / float(r["index_cpu"]); qps = float(r["queries"]) / float(r["query_cpu"])
    r["dps"], r["qps"] = dps, qps
    print("%-8s %10s %10s %12.0f %10s %10s %12.0f" % (e, r["index_s"], r["index_cpu"], dps, r["query_s"], r["query_cpu"], qps))
w = rows["winnow"]
print("ratios (CPU): query throughput winnow/xapian = %.2f (target >= 1.5), winnow/lucene = %.2f; indexing winnow/lucene = %.2f (target >= 1), winnow/xapian = %.2f" %
      (w["qps"] / rows["xapian"]["qps"], w["qps"] / rows["lucene"]["qps"], w["dps"] / rows["lucene"]["dps"], w["dps"] / rows["xapian"]["dps"]))
print("winnow extra: " + " ".join(open(sys.argv[1]).read().split("\n")[1:2]) if len(sys.argv) > 1 else "", end="")
' "$OUT/winnow.txt"
echo
