#!/bin/sh
# t_pipeline.sh - winnow index / search / eval end to end on a tiny corpus: BM25,
# then (with the tiny model fixtures) dense, hybrid and re-ranking. The JSON figures
# are checked against tests/tools/trec_eval.py (an independent implementation) on
# the run files winnow writes, to 1e-6; bad inputs must fail with file:line.
set -u
: "${BUILD:=build}"
W="$BUILD/winnow"
PY=/usr/bin/python3
. "${0%/*}/lib.sh"
[ -x "$W" ] || { echo "FAIL: $W is not built"; exit 1; }
[ -x "$PY" ] || skip_or_fail "python3 absent (needed for the independent check; scripts/deps.sh installs it)"
T=$(mktemp -d /tmp/wn_t_pipeline.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }

cat >"$T/corpus.jsonl" <<'J'
{"_id": "d1", "title": "Cats", "text": "the cat sat on the warm mat near the window"}
{"_id": "d2", "title": "Dogs", "text": "dogs are loyal companions and enjoy long walks in the park"}
{"_id": "d3", "title": "Physics", "text": "quantum entanglement links particles across large distances"}
{"_id": "d4", "title": "Cooking", "text": "a good risotto needs patience, stock and constant stirring"}
{"_id": "d5", "title": "Birds", "text": "parrots can imitate human speech and live for decades"}
{"_id": "d6", "title": "Rivers", "text": "the amazon river carries more water than any other river"}
{"_id": "d7", "title": "Cats again", "text": "a kitten chases the cat toy across the mat"}
{"_id": "d8", "title": "Parks", "text": "city parks give dogs and people room to walk"}
J
cat >"$T/queries.jsonl" <<'J'
{"_id": "q1", "text": "cat on a mat"}
{"_id": "q2", "text": "walking dogs in the park"}
{"_id": "q3", "text": "talking birds"}
{"_id": "q4", "text": "unjudged query about rivers"}
J
printf 'query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td7\t1\nq1\td3\t0\nq2\td2\t1\nq2\td8\t2\nq3\td5\t1\nq3\td99\t1\n' >"$T/qrels.tsv"

# ---- BM25
"$W" index --corpus "$T/corpus.jsonl" --out "$T/ix" --bm25 2>"$T/err" && ok "index --bm25" || { bad "index --bm25"; cat "$T/err"; }
"$W" search --index "$T/ix" --k 3 "cat on the mat" >"$T/out" 2>&1 && grep -q "1\. d[17] " "$T/out" && ok "search text" || { bad "search text"; cat "$T/out"; }
"$W" search --index "$T/ix" --k 2 --json "amazon river" >"$T/out.json" 2>&1
$PY - "$T/out.json" <<'P' && ok "search --json" || bad "search --json"
import json, sys
o = json.loads(open(sys.argv[1]).readline())
h = o["stages"]["bm25"]["hits"]
assert o["query"] == "amazon river" and h[0]["id"] == "d6" and h[0]["rank"] == 1, o
assert set(h[0]) >= {"rank", "id", "score", "title", "snippet"}, h[0]
P
"$W" eval --index "$T/ix" --queries "$T/queries.jsonl" --qrels "$T/qrels.tsv" --first-stage bm25 \
    --run "$T/bm25.run" --json "$T/bm25.json" --report "$T/bm25.html" >"$T/table" 2>"$T/err" && ok "eval bm25" || { bad "eval bm25"; cat "$T/err"; }
grep -q "qrels.tsv: 1 judgments name documents not in the index (first .*qrels.tsv:8, 'd99')" "$T/err" && ok "unknown qrels doc warned with file:line" || { bad "unknown doc warning"; cat "$T/err"; }
grep -q "^bm25 " "$T/table" && ok "eval table" || bad "eval table"
grep -q "<svg" "$T/bm25.html" && ! grep -q "http" "$T/bm25.html" && ok "report self-contained" || bad "report"

# the report shows what the JSON says: its metrics table cell by cell, well-formed
# charts (tests/tools/check_report.py parses the HTML; no browser needed)
$PY tests/tools/check_report.py "$T/bm25.html" "$T/bm25.json" >"$T/rep" 2>&1 && ok "report table = JSON, charts well-formed" ||
    { bad "report content"; cat "$T/rep"; }

# JSON against the independent implementation, on the run file winnow wrote
check_json() { # json stage run
    $PY - "$1" "$2" "$3" "$T/qrels.tsv" <<'P'
import json, subprocess, sys
js, stage, run, qrels = sys.argv[1:5]
d = json.load(open(js))[stage]
ms = [k for k in d if "@" in k or k == "map"]
assert {"ndcg@10", "map", "mrr@10", "recall@100", "p@3"} <= set(ms), ms
out = subprocess.run(["/usr/bin/python3", "tests/tools/trec_eval.py", qrels, run] + ms, capture_output=True, text=True, check=True).stdout
ref = {l.split("\t")[0]: float(l.split("\t")[2]) for l in out.splitlines() if l.split("\t")[1] == "all"}
for m in ms:
    assert abs(d[m] - ref[m]) <= 1e-6, (stage, m, d[m], ref[m])
lat = d["latency_ms"]
assert set(lat) == {"mean", "p50", "p95", "p99"} and 0 <= lat["p50"] <= lat["p95"] <= lat["p99"], lat
assert d["queries"] == 3, d["queries"]
print(stage, "matches on", len(ms), "measures")
P
}
check_json "$T/bm25.json" bm25 "$T/bm25.run" && ok "bm25 metrics = independent check" || bad "bm25 metrics"

"$W" eval --qrels "$T/qrels.tsv" --from-run "$T/bm25.run" --json "$T/fromrun.json" >/dev/null 2>"$T/err" \
    && $PY -c "
import json, sys
a = json.load(open('$T/bm25.json'))['bm25']; b = json.load(open('$T/fromrun.json'))['$T/bm25.run']
assert all(abs(a[m] - b[m]) < 1e-12 for m in b if m != 'queries'), (a, b)" && ok "eval --from-run = eval" || { bad "--from-run"; cat "$T/err"; }

# ---- bad inputs
printf '{"_id": "q1", "text": "a"}\n{"_id": "q1", "text": "b"}\n' >"$T/dup.jsonl"
"$W" eval --index "$T/ix" --queries "$T/dup.jsonl" --qrels "$T/qrels.tsv" 2>"$T/err" >/dev/null
[ $? -eq 1 ] && grep -q "dup.jsonl:2: duplicate query id 'q1'" "$T/err" && ok "duplicate query id" || { bad "duplicate query id"; cat "$T/err"; }
printf '{"_id": "q1", "text": "a"}\n{"_id": "q2", "text": "  "}\n' >"$T/empty.jsonl"
"$W" eval --index "$T/ix" --queries "$T/empty.jsonl" --qrels "$T/qrels.tsv" 2>"$T/err" >/dev/null
[ $? -eq 1 ] && grep -q "empty.jsonl:2: query 'q2' is empty" "$T/err" && ok "empty query" || { bad "empty query"; cat "$T/err"; }
printf '{"_id": "x1", "text": "fine"}\n{"_id": "x2", "text": broken}\n' >"$T/badcorpus.jsonl"
"$W" index --corpus "$T/badcorpus.jsonl" --out "$T/ix" --bm25 --force 2>"$T/err"
[ $? -eq 1 ] && grep -q "badcorpus.jsonl:2: " "$T/err" && ok "malformed corpus line named" || { bad "malformed corpus"; cat "$T/err"; }
"$W" search --index "$T/ix" --k 1 "amazon" | grep -q "d6" && ok "failed rebuild kept the old index" || bad "old index lost"
"$W" index --corpus "$T/badcorpus.jsonl" --out "$T/ix2" --bm25 --skip-bad 2>"$T/err" && grep -q "warning: .*badcorpus.jsonl:2:" "$T/err" \
    && grep -q "1 documents" "$T/err" && ok "--skip-bad" || { bad "--skip-bad"; cat "$T/err"; }

# ---- dense, hybrid, re-ranking (random-weight tiny models: plumbing, not quality)
BI=tests/fixtures/model/tiny-bi CE=tests/fixtures/model/tiny-ce
if [ -f "$BI/model.safetensors" ] && [ -f "$CE/model.safetensors" ]; then
    "$W" index --corpus "$T/corpus.jsonl" --out "$T/ixd" --bm25 --dense "$BI" --threads 1 2>"$T/err" && ok "index --bm25 --dense" || { bad "index dense"; cat "$T/err"; }
    "$W" search --index "$T/ixd" --first-stage hybrid --rerank "$CE" --k 3 --shift "cat on a mat" >"$T/out" 2>&1 \
        && grep -q "Re-ranker top-3" "$T/out" && ok "search --shift" || { bad "search --shift"; cat "$T/out"; }
    "$W" index --corpus "$T/corpus.jsonl" --out "$T/ixc" --dense "$BI" --chunk-tokens 4 --chunk-overlap 1 --threads 1 2>"$T/err" \
        && grep -q "8 documents, dense into .* (2[0-9] vectors)" "$T/err" && "$W" search --index "$T/ixc" --k 3 --threads 1 "cat" >"$T/out" \
        && grep -q "^dense" "$T/out" && ok "chunked dense index and search" || { bad "chunked dense"; cat "$T/err" "$T/out"; }
    for fs in dense hybrid; do
        "$W" eval --index "$T/ixd" --queries "$T/queries.jsonl" --qrels "$T/qrels.tsv" --first-stage $fs --rerank "$CE" \
            --k-candidates 2,5 --threads 1 --run "$T/$fs.run" --json "$T/$fs.json" --report "$T/$fs.html" >/dev/null 2>"$T/err" \
            && ok "eval $fs + rerank" || { bad "eval $fs"; cat "$T/err"; }
        check_json "$T/$fs.json" $fs "$T/$fs.run" && check_json "$T/$fs.json" rerank@2 "$T/$fs.run.rerank@2" \
            && check_json "$T/$fs.json" rerank@5 "$T/$fs.run.rerank@5" && ok "$fs + rerank metrics = independent check" || bad "$fs metrics"
        $PY tests/tools/check_report.py "$T/$fs.html" "$T/$fs.json" >"$T/rep" 2>&1 && ok "$fs report = JSON" ||
            { bad "$fs report content"; cat "$T/rep"; }
    done
    # the default fusion weight is 0.25 (docs/PIPELINE.md): the same run as asking for it
    "$W" eval --index "$T/ixd" --queries "$T/queries.jsonl" --qrels "$T/qrels.tsv" --first-stage hybrid --threads 1 \
        --dense-weight 0.25 --run "$T/w25.run" >/dev/null 2>"$T/err" \
        && cmp -s "$T/w25.run" "$T/hybrid.run" && ok "hybrid default = --dense-weight 0.25" || { bad "default weight"; cat "$T/err"; }
else
    bad "the tiny model fixtures $BI and $CE are absent (they are committed)"
fi
[ $fail -eq 0 ] && echo "all passed"
exit $fail
