#!/bin/sh
# eval_bundled.sh [EMBED] [RERANK] [OUTDIR] - the bundled models' figures (models/README.md,
# models/eval.json, the demo's report): on each shared test collection
# (../shared/data/collections: cranfield, cisi, med, cacm with qrels/test.tsv; scifact with
# its only qrels, train.tsv, never trained on), nDCG@10, MRR@10, Recall@100 and ms per
# query of
#   bm25           winnow's BM25 (k1 0.9, b 0.4)
#   dense          EMBED alone (flat cosine index)
#   hybrid         the default fusion (weighted RRF, dense weight 0.25)
#   bm25+rerank    BM25's top 100 re-ranked by RERANK with its own interpolation
#   bm25+rerank-alone the same, the re-ranker's score alone (--interpolate 0)
#   hybrid+rerank  the hybrid's top 100 re-ranked by RERANK with its own interpolation
# ms per query: the stage's mean latency (re-ranking: first stage + re-ranking), 2 threads.
# Then STS-B test Spearman of EMBED (scripts/eval_sts.py). Writes OUTDIR/eval.json
# (the rows) and prints a markdown table. With no ../shared, says so and exits 77.
set -e
EMBED=${1:-winnow-small-embed}
RERANK=${2:-winnow-small-rerank}
OUT=${3:-/tmp/winnow-eval-bundled}
W=${WINNOW:-build/winnow}
C=${COLLECTIONS:-../shared/data/collections}
TH=${THREADS:-2}
[ -d "$C" ] || { echo "SKIPPED: $C is absent (the shared test collections)"; exit 77; }
mkdir -p "$OUT"
for c in ${ONLY:-cranfield cisi med cacm scifact}; do
    [ -d "$C/$c" ] || { echo "SKIPPED $c: $C/$c is absent" >&2; continue; }
    q=$C/$c/qrels/test.tsv
    [ -f "$q" ] || q=$C/$c/qrels/train.tsv
    e="--index $OUT/ix-$c --queries $C/$c/queries.jsonl --qrels $q --threads $TH"
    $W index --corpus "$C/$c/corpus.jsonl" --out "$OUT/ix-$c" --bm25 --dense "$EMBED" --force >/dev/null 2>&1
    $W eval $e --first-stage bm25 --json "$OUT/$c-bm25.json" >/dev/null
    $W eval $e --first-stage dense --json "$OUT/$c-dense.json" >/dev/null
    $W eval $e --first-stage hybrid --json "$OUT/$c-hybrid.json" >/dev/null
    $W eval $e --first-stage bm25 --rerank "$RERANK" --k-candidates 100 --json "$OUT/$c-rerank.json" >/dev/null
    $W eval $e --first-stage bm25 --rerank "$RERANK" --k-candidates 100 --interpolate 0 --json "$OUT/$c-rerank-alone.json" >/dev/null
    $W eval $e --first-stage hybrid --rerank "$RERANK" --k-candidates 100 --json "$OUT/$c-hybrid-rerank.json" >/dev/null
    echo "$c done" >&2
done
STS=${STS:-../shared/data/sts/sts-test.csv}
sts=null
if [ -f "$STS" ]; then
    sts=$(/usr/bin/python3 "$(dirname "$0")/eval_sts.py" "$EMBED" "$STS" --winnow "$W" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["spearman"])')
fi
/usr/bin/python3 - "$OUT" "$EMBED" "$RERANK" "${sts:-null}" <<'PY'
import json, os, sys
out, embed, rerank, sts = sys.argv[1:5]
runs = [("bm25", "bm25", "bm25"), ("dense", "dense", "dense"), ("hybrid", "hybrid", "hybrid"),
        ("bm25+rerank", "rerank", "rerank@100"), ("bm25+rerank-alone", "rerank-alone", "rerank@100"),
        ("hybrid+rerank", "hybrid-rerank", "rerank@100")]
cols = [c for c in ["cranfield", "cisi", "med", "cacm", "scifact"] if os.path.exists(f"{out}/{c}-bm25.json")]
rows = []
for c in cols:
    for name, f, stage in runs:
        j = json.load(open(f"{out}/{c}-{f}.json"))
        st = j[stage]
        ms = st["latency_ms"]["mean"] if "latency_ms" in st else None
        if stage.startswith("rerank"):
            ms = st.get("total_latency_ms", st.get("latency_ms", {})).get("mean", ms)
        rows.append({"collection": c, "run": name, "ndcg@10": round(st["ndcg@10"], 4), "mrr@10": round(st["mrr@10"], 4),
                     "recall@100": round(st["recall@100"], 4), "ms_per_query": round(ms, 3) if ms is not None else None,
                     "queries": st.get("queries")})
doc = {"embed": embed, "rerank": rerank, "stsb_spearman": {embed: None if sts == "null" else float(sts)}, "rows": rows,
       "command": "sh scripts/eval_bundled.sh " + embed + " " + rerank}
tmp = f"{out}/eval.json.tmp"
json.dump(doc, open(tmp, "w"), indent=1)
os.replace(tmp, f"{out}/eval.json")
for m in ["ndcg@10", "mrr@10", "recall@100", "ms_per_query"]:
    print(f"\n| {m} | " + " | ".join(cols) + " | mean |")
    print("|---|" + "---|" * (len(cols) + 1))
    for name, _, _ in runs:
        v = [next(r[m] for r in rows if r["collection"] == c and r["run"] == name) for c in cols]
        fmt = (lambda x: "%.3f" % x if x is not None else "-")
        print(f"| {name} | " + " | ".join(fmt(x) for x in v) + " | " + fmt(sum(x or 0 for x in v) / len(v)) + " |")
print("\nSTS-B test Spearman (%s): %s" % (embed, sts))
PY
