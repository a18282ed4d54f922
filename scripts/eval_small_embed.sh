#!/bin/sh
# eval_small_embed.sh MODEL [OUTDIR] [WEIGHTS] - nDCG@10, MRR@10 and Recall@100 of
# BM25, MODEL alone (dense) and their weighted-RRF hybrid on the shared test
# collections (../shared/data/collections: cranfield, cisi, med, cacm with
# qrels/test.tsv; scifact with its only qrels, train.tsv), with winnow's own
# index / eval commands; the hybrid for each --dense-weight in WEIGHTS (default
# "0.15 0.2 0.25 0.3 0.5"; winnow's RRF: 2(1-w)/(60 + r_bm25) + 2w/(60 + r_dense)).
# Then STS-B test Spearman (scripts/eval_sts.py). Prints a table; the JSON of each
# run stays in OUTDIR (default /tmp/winnow-eval-small).
set -e
MODEL=$1
OUT=${2:-/tmp/winnow-eval-small}
WEIGHTS=${3:-"0.15 0.2 0.25 0.3 0.5"}
W=${WINNOW:-build/winnow}
C=${COLLECTIONS:-../shared/data/collections}
mkdir -p "$OUT"
for c in cranfield cisi med cacm scifact; do
    [ -d "$C/$c" ] || { echo "SKIPPED $c: $C/$c is absent" >&2; continue; }
    q=$C/$c/qrels/test.tsv
    [ -f "$q" ] || q=$C/$c/qrels/train.tsv
    $W index --corpus "$C/$c/corpus.jsonl" --out "$OUT/ix-$c" --bm25 --dense "$MODEL" --force >/dev/null 2>&1
    $W eval --index "$OUT/ix-$c" --queries "$C/$c/queries.jsonl" --qrels "$q" --first-stage bm25 --json "$OUT/$c-bm25.json" >/dev/null 2>&1
    $W eval --index "$OUT/ix-$c" --queries "$C/$c/queries.jsonl" --qrels "$q" --first-stage dense --json "$OUT/$c-dense.json" >/dev/null 2>&1
    for w in $WEIGHTS; do
        $W eval --index "$OUT/ix-$c" --queries "$C/$c/queries.jsonl" --qrels "$q" --first-stage hybrid --dense-weight "$w" \
            --json "$OUT/$c-hybrid-$w.json" >/dev/null 2>&1
    done
done
/usr/bin/python3 - "$OUT" "$WEIGHTS" <<'PY'
import json, os, sys
out, weights = sys.argv[1], sys.argv[2].split()
runs = ["bm25", "dense"] + ["hybrid-" + w for w in weights]
cols = [c for c in ["cranfield", "cisi", "med", "cacm", "scifact"] if os.path.exists(f"{out}/{c}-bm25.json")]
def get(c, r):
    j = json.load(open(f"{out}/{c}-{r}.json"))
    return next(iter(j.values()))
print("| run | " + " | ".join(cols) + " | mean |")
print("|---|" + "---|" * (len(cols) + 1))
for m in ["ndcg@10", "mrr@10", "recall@100"]:
    for r in runs:
        v = [get(c, r)[m] for c in cols]
        print(f"| {r} {m} | " + " | ".join("%.3f" % x for x in v) + " | **%.3f** |" % (sum(v) / len(v)))
for r in ["bm25", "dense", "hybrid-" + weights[0]]:
    lat = [get(c, r)["latency_ms"]["mean"] for c in cols]
    print(f"| {r} ms/query | " + " | ".join("%.2f" % x for x in lat) + " | |")
PY
[ -f ../shared/data/sts/sts-test.csv ] && /usr/bin/python3 "$(dirname "$0")/eval_sts.py" "$MODEL" --winnow "$W"
