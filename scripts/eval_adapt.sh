#!/bin/sh
# eval_adapt.sh [OUTDIR] [-- INDEX-OPTIONS...] - index-time adaptation (winnow index
# --adapt) on the shared test collections (../shared/data/collections: cranfield,
# cisi, med, cacm with qrels/test.tsv; scifact with its only qrels, train.tsv):
# nDCG@10, MRR@10 and Recall@100 of BM25, dense and hybrid (the default fusion,
# dense weight 0.25) with winnow-small-embed as shipped and adapted to each
# collection (its documents only: queries and qrels are never read by the
# adaptation), and the adaptation's time per collection. INDEX-OPTIONS are passed
# to the adapted run's `winnow index` (e.g. --adapt-init random, --adapt-pairs 32).
# One thread, one collection at a time. Prints a Markdown table; the JSON of each
# run stays in OUTDIR (default /tmp/winnow-eval-adapt).
set -e
OUT=${1:-/tmp/winnow-eval-adapt}
[ $# -gt 0 ] && shift
[ "$1" = "--" ] && shift
W=${WINNOW:-build/winnow}
C=${COLLECTIONS:-../shared/data/collections}
MODEL=${MODEL:-winnow-small-embed}
mkdir -p "$OUT"
for c in cranfield cisi med cacm scifact; do
    [ -d "$C/$c" ] || { echo "SKIPPED $c: $C/$c is absent" >&2; continue; }
    q=$C/$c/qrels/test.tsv
    [ -f "$q" ] || q=$C/$c/qrels/train.tsv
    for v in base adapt; do
        ix=$OUT/ix-$c-$v
        if [ $v = base ]; then
            $W index --corpus "$C/$c/corpus.jsonl" --out "$ix" --bm25 --dense "$MODEL" --threads 1 --force >/dev/null \
                2>"$OUT/$c-base.log" || { cat "$OUT/$c-base.log" >&2; exit 1; }
        else
            $W index --corpus "$C/$c/corpus.jsonl" --out "$ix" --bm25 --dense "$MODEL" --threads 1 --force --adapt "$@" \
                2>"$OUT/$c-adapt.log" >/dev/null || { cat "$OUT/$c-adapt.log" >&2; exit 1; }
            cp "$ix/adapted-model/adapt.json" "$OUT/$c-adapt.json"
        fi
        for s in bm25 dense hybrid; do
            [ $v = adapt ] && [ $s = bm25 ] && continue
            $W eval --index "$ix" --queries "$C/$c/queries.jsonl" --qrels "$q" --first-stage $s --threads 1 \
                --json "$OUT/$c-$v-$s.json" >/dev/null 2>"$OUT/$c-$v-$s.log" || { cat "$OUT/$c-$v-$s.log" >&2; exit 1; }
        done
    done
done
/usr/bin/python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
cols = [c for c in ["cranfield", "cisi", "med", "cacm", "scifact"] if os.path.exists(f"{out}/{c}-adapt-hybrid.json")]
runs = [("BM25", "base-bm25"), ("dense", "base-dense"), ("hybrid", "base-hybrid"),
        ("dense, adapted", "adapt-dense"), ("hybrid, adapted", "adapt-hybrid")]
def get(c, r):
    return next(iter(json.load(open(f"{out}/{c}-{r}.json")).values()))
print("| run | " + " | ".join(cols) + " | mean |")
print("|---|" + "---|" * (len(cols) + 1))
for m in ["ndcg@10", "mrr@10", "recall@100"]:
    for name, r in runs:
        v = [get(c, r)[m] for c in cols]
        print(f"| {name} {m} | " + " | ".join("%.3f" % x for x in v) + " | **%.3f** |" % (sum(v) / len(v)))
a = [json.load(open(f"{out}/{c}-adapt.json")) for c in cols]
print("| adaptation s (1 thread) | " + " | ".join("%.1f" % x["seconds"] for x in a) + " | |")
print("| documents (held out) | " + " | ".join("%d (%d)" % (x["docs"], x["heldout_docs"]) for x in a) + " | |")
print("| step kept / run | " + " | ".join("%d / %d" % (x["best_step"], x["steps"]) for x in a) + " | |")
print("| held-out loss start -> kept | " + " | ".join("%.2f -> %.2f" % (x["heldout_loss_start"], x["heldout_loss_best"]) for x in a) + " | |")
PY
