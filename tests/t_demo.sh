#!/bin/sh
# t_demo.sh - `winnow demo` end to end as `make demo` runs it: the two seed model ids
# fetched from tests/tools/hub_test_server.py on 127.0.0.1, which serves the random-weight
# tiny fixtures (tests/fixtures/model/tiny-bi, tiny-ce) under those ids. What it
# prints is checked against PyTorch (tests/fixtures/demo/tiny_expected.json, by
# scripts/make_demo_reference.py) with tests/tools/check_demo.py; then local
# directories, the cache without network, and the failures: fast, clear, non-zero.
: "${BUILD:=build}"
W="$BUILD/winnow"
FX=tests/fixtures/model
EXP=tests/fixtures/demo/tiny_expected.json
. "${0%/*}/lib.sh"
command -v python3 >/dev/null 2>&1 || skip_or_fail "python3 is not installed (scripts/deps.sh installs it)"
[ -d "$FX/tiny-bi" ] && [ -d "$FX/tiny-ce" ] || { echo "FAIL: no tiny fixture models in $FX (they are committed)"; exit 1; }
[ -x "$W" ] || { echo "t_demo: $W is not built"; exit 1; }
t_tmp demo
expect_err() { grep -qF -- "$1" "$T/err" || fail "$2: stderr lacks '$1':"; }

mkdir -p "$T/hub/sentence-transformers" "$T/hub/cross-encoder"
cp -r "$FX/tiny-bi" "$T/hub/sentence-transformers/all-MiniLM-L6-v2"
cp -r "$FX/tiny-ce" "$T/hub/cross-encoder/ms-marco-MiniLM-L-6-v2"

hub_start "$T/hub" 120 # caches in $T, never the user's huggingface_hub cache

# 1. the default models, downloaded from the (local) hub
"$W" demo --threads 2 --dpkg-status tests/fixtures/demo/dpkg_status --queries 4 --out "$T/o1" >"$T/out" 2>"$T/err" ||
    fail "demo from the hub: exit $? ($(cat "$T/err"))"
python3 tests/tools/check_demo.py "$T/out" "$EXP" --models "$FX/tiny-bi" "$FX/tiny-ce" || fail "demo from the hub: output (above)"
for m in sentence-transformers--all-MiniLM-L6-v2 cross-encoder--ms-marco-MiniLM-L-6-v2; do
    [ -f "$T/cache/$m/main/.winnow-complete" ] || fail "$m is not complete in the cache"
done
grep -q "GET /sentence-transformers/all-MiniLM-L6-v2/resolve/main/model.safetensors" "$T/log" ||
    fail "the bi-encoder was not fetched from the hub"

# 2. local directories, no hub
"$W" demo --bi-encoder "$FX/tiny-bi" --cross-encoder "$FX/tiny-ce" --no-collection --out "$T/o2" >"$T/out" 2>"$T/err" ||
    fail "demo with directories: exit $? ($(cat "$T/err"))"
python3 tests/tools/check_demo.py "$T/out" "$EXP" --models "$FX/tiny-bi" "$FX/tiny-ce" || fail "demo with directories: output (above)"
"$W" demo --bi-encoder "$FX/tiny-bi" --cross-encoder "$FX/tiny-ce" --section rank-shift --out "$T/o2" >"$T/out" 2>&1 ||
    fail "--section rank-shift: exit $?"
grep -q "^Rank shift" "$T/out" && ! grep -q "^Stage 1" "$T/out" || fail "--section rank-shift printed other sections"

# 3. usage errors and a model in the wrong role
"$W" demo --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option: want exit 2"
"$W" demo --section nope >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown section: want exit 2"
"$W" demo --bi-encoder "$FX/tiny-ce" --cross-encoder "$FX/tiny-ce" >/dev/null 2>"$T/err"
[ $? -eq 1 ] || fail "a cross-encoder as bi-encoder: want exit 1"
expect_err "is a cross-encoder, not a bi-encoder" "wrong role"

# 4. the hub gone: the cache still serves; an empty cache fails fast, saying what to do
hub_stop
"$W" demo --no-collection --out "$T/o4" >"$T/out" 2>"$T/err" || fail "demo from the cache, hub gone: exit $? ($(cat "$T/err"))"
python3 tests/tools/check_demo.py "$T/out" "$EXP" --models "$FX/tiny-bi" "$FX/tiny-ce" || fail "demo from the cache: output (above)"
#    an empty cache, hub gone: the bundled models (here the tiny fixtures under their
#    names, through WINNOW_MODELS_DIR), said once, and the demo runs to the end
mkdir -p "$T/bundled" "$T/nobundled"
cp -r "$FX/tiny-bi" "$T/bundled/winnow-small-embed"
cp -r "$FX/tiny-ce" "$T/bundled/winnow-small-rerank"
start=$(date +%s)
WINNOW_CACHE="$T/empty" WINNOW_MODELS_DIR="$T/bundled" "$W" demo --no-collection --out "$T/o4b" >"$T/out" 2>"$T/err" ||
    fail "no seed models, hub unreachable: exit $?, want 0 (the bundled models) ($(cat "$T/err"))"
secs=$(( $(date +%s) - start ))
[ $secs -le 5 ] || fail "no seed models, hub unreachable: took ${secs}s"
[ "$(grep -c "bundled winnow-small-embed and winnow-small-rerank" "$T/out")" = 1 ] ||
    fail "the fallback to the bundled models is not said exactly once"
grep -q "cannot be reached: using the bundled" "$T/out" || fail "the fallback does not say why"
grep -q "^  bi-encoder     winnow-small-embed (bundled)" "$T/out" || fail "the header does not name the bundled bi-encoder"
python3 tests/tools/check_demo.py "$T/out" "$EXP" --models "$FX/tiny-bi" "$FX/tiny-ce" || fail "demo, bundled models: output (above)"
#    the bundled models' evaluation (eval.json beside them) in the report, when it is
#    there; said when it is absent or malformed, and the demo still succeeds
report_text() { python3 -c 'import html, re, sys; t = open(sys.argv[1], encoding="utf-8").read()
print(re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", t))))' "$1"; }
report_text "$T/o4b/report.html" >"$T/rep"
grep -q "own evaluation (models/eval.json) .* cannot be read" "$T/rep" || fail "report: eval.json absent is not said"
cp tests/fixtures/demo/eval.json "$T/bundled/eval.json"
WINNOW_CACHE="$T/empty" WINNOW_MODELS_DIR="$T/bundled" "$W" demo --no-collection --out "$T/o4e" >/dev/null 2>"$T/err" ||
    fail "bundled models with eval.json: exit $?"
report_text "$T/o4e/report.html" >"$T/rep"
for want in "STS-B test Spearman of winnow-small-embed 0.612" "cisi bm25 0.312 0.500 0.438 0.25" \
    "cisi hybrid 0.330 0.520 0.450 0.75" "bm25+rerank 0.675 - 0.900 120.50" \
    'Command: scripts/eval_bundled.sh --collections "../shared/data/collections"'; do
    grep -qF "$want" "$T/rep" || fail "report: eval.json's '$want' is not shown"
done
printf '{"rows": [{"collection": "x", "run": ' >"$T/bundled/eval.json"
WINNOW_CACHE="$T/empty" WINNOW_MODELS_DIR="$T/bundled" "$W" demo --no-collection --out "$T/o4f" >/dev/null 2>"$T/err" ||
    fail "bundled models with a malformed eval.json: exit $?"
report_text "$T/o4f/report.html" | grep -q "eval.json is malformed (a string expected at byte 37)" || fail "report: malformed eval.json not said"
rm "$T/bundled/eval.json"
#    --offline with the cache holding only the bi-encoder: that one, and the bundled cross-encoder
mkdir -p "$T/half_cache" && cp -r "$T/cache/sentence-transformers--all-MiniLM-L6-v2" "$T/half_cache/"
WINNOW_CACHE="$T/half_cache" WINNOW_MODELS_DIR="$T/bundled" "$W" demo --offline --no-collection --out "$T/o4c" >"$T/out" 2>"$T/err" ||
    fail "one seed model cached: exit $? ($(cat "$T/err"))"
grep -q "^winnow demo: cross-encoder/ms-marco-MiniLM-L-6-v2 is not in the cache and offline mode is on: using the bundled winnow-small-rerank in its place, with sentence-transformers/all-MiniLM-L6-v2" "$T/out" ||
    fail "one seed model cached: the line saying so (got: $(head -n 1 "$T/out"))"
grep -q "^  bi-encoder     sentence-transformers/all-MiniLM-L6-v2  " "$T/out" || fail "one seed model cached: the seed bi-encoder did not run"
#    neither the seed's nor the bundled: fast, non-zero, saying what to do
start=$(date +%s)
WINNOW_CACHE="$T/empty" WINNOW_MODELS_DIR="$T/nobundled" "$W" demo >"$T/out" 2>"$T/err"; rc=$?
secs=$(( $(date +%s) - start ))
[ $rc -eq 1 ] || fail "no models, hub unreachable: exit $rc, want 1"
[ $secs -le 5 ] || fail "no models, hub unreachable: took ${secs}s"
expect_err "cannot get the bi-encoder sentence-transformers/all-MiniLM-L6-v2" "unreachable"
expect_err "cannot get the cross-encoder cross-encoder/ms-marco-MiniLM-L-6-v2" "unreachable"
expect_err "cannot be reached" "unreachable"
expect_err "nor the bundled winnow-small-embed in its place" "unreachable"
expect_err "Put config.json, model.safetensors" "unreachable"
expect_err "$T/empty/sentence-transformers--all-MiniLM-L6-v2/main" "unreachable"
expect_err "--bi-encoder DIR --cross-encoder DIR" "unreachable"
expect_err "WINNOW_CACHE" "unreachable"
[ -s "$T/out" ] && fail "a failed demo printed on stdout"
WINNOW_CACHE="$T/empty" WINNOW_MODELS_DIR="$T/nobundled" HF_HUB_OFFLINE=1 "$W" demo >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "offline, no models: exit $rc, want 1"
expect_err "offline mode is on" "offline"
#    a model named on the command line is never replaced
WINNOW_CACHE="$T/empty" WINNOW_MODELS_DIR="$T/bundled" "$W" demo --bi-encoder sentence-transformers/all-MiniLM-L6-v2 \
    --no-collection --out "$T/o4d" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "--bi-encoder not to be had: exit $rc, want 1 (no fallback for a named model)"
expect_err "cannot get the bi-encoder sentence-transformers/all-MiniLM-L6-v2" "named model"

# 5. the exercises on a collection made here (BEIR layout, graded qrels, judgments past
#    the --docs cut, a query with no relevant document inside it, one without qrels):
#    metrics against tests/tools/trec_eval.py, the dense run against brute-force cosine
#    of `winnow embed`, re-ranked runs against `winnow score`, hybrid against RRF.
python3 - "$T/coll" <<'PY'
import json, os, random, sys
d = sys.argv[1]; os.makedirs(d + "/qrels", exist_ok=True)
rng = random.Random(7)
words = ("retrieval dense sparse index vector search query document model rank score attention token "
         "sentence embedding graph cluster neighbor fast slow exact approximate library book catalog "
         "classification subject author citation journal science information system user study").split()
docs = []
for i in range(120):
    w = [rng.choice(words) for _ in range(rng.randint(6, 18))]
    docs.append({"_id": "d%d" % i, "title": " ".join(w[:2]) if i % 3 else "", "text": " ".join(w)})
qs = [{"_id": "q%d" % i, "text": " ".join(rng.choice(words) for _ in range(rng.randint(2, 5)))} for i in range(10)]
qs.append({"_id": "qout", "text": "zzz unrelated"})
with open(d + "/corpus.jsonl", "w") as f:
    f.writelines(json.dumps(x) + "\n" for x in docs)
with open(d + "/queries.jsonl", "w") as f:
    f.writelines(json.dumps(x) + "\n" for x in [qs[-1]] + qs[:-1] + [{"_id": "qnone", "text": "no judgments"}])
with open(d + "/qrels/test.tsv", "w") as f:
    f.write("query-id\tcorpus-id\tscore\n")
    for q in qs[:-1]:
        qw = set(q["text"].split())
        for x in docs:
            n = len(qw & set(x["text"].split()))
            if n >= 1: f.write("%s\t%s\t%d\n" % (q["_id"], x["_id"], 2 if n >= 2 else rng.choice([0, 1])))
    f.write("qout\td115\t1\n")
PY
"$W" demo --bi-encoder "$FX/tiny-bi" --cross-encoder "$FX/tiny-ce" --collection "$T/coll" --docs 100 --queries 6 \
    --out "$T/oc" >"$T/out" 2>"$T/err" || fail "demo --collection: exit $? ($(cat "$T/err"))"
for h in "Collection - 100 documents, 6 queries" "k sweep" "ANN vs brute force" "BM25 and hybrid" "Report - $T/oc/report.html"; do
    grep -qF "$h" "$T/out" || fail "demo --collection: no '$h' in the output"
done
[ "$(tail -n 1 "$T/out")" = "Report - $T/oc/report.html" ] || fail "demo --collection: the report's path is not the last line"
python3 tests/tools/check_demo_collection.py "$T/oc" "$T/coll" --docs 100 --queries 6 --winnow "$W" \
    --bi "$FX/tiny-bi" --ce "$FX/tiny-ce" --stdout "$T/out" || fail "demo --collection: runs and metrics (above)"
grep -q "<svg" "$T/oc/report.html" || fail "report: no inline SVG"
grep -q "<svg" "$T/oc/eval-report.html" || fail "eval-report.html (wn_report_write): missing or without SVG"
grep -Eq "(src|href)=\"(https?:)?//" "$T/oc/report.html" && fail "report: loads a network asset"
python3 tests/tools/check_demo.py "$T/out" "$EXP" --models "$FX/tiny-bi" "$FX/tiny-ce" || fail "demo --collection: seed output (above)"
#    the default collection (the Debian packages of a small dpkg status fixture), run by 1.
python3 tests/tools/check_demo_collection.py "$T/o1" "$T/o1/debian-collection" --docs 100000 --queries 4 ||
    fail "demo on the default collection: runs and metrics (above)"
#    from another directory, without ../shared: this machine's own packages (dpkg's
#    status file), or, where there is none, the skip said; exit 0, report written
mkdir -p "$T/elsewhere"
(cd "$T/elsewhere" && "$OLDPWD/$W" demo --bi-encoder "$OLDPWD/$FX/tiny-bi" --cross-encoder "$OLDPWD/$FX/tiny-ce" \
    --queries 8 >"$T/out" 2>"$T/err") || fail "demo without ../shared: exit $?, want 0 ($(cat "$T/err"))"
if [ -f /var/lib/dpkg/status ]; then
    grep -q "^Collection - [0-9]* documents, 8 queries" "$T/out" || fail "demo without ../shared: the Debian collection did not run"
    python3 tests/tools/check_demo_collection.py "$T/elsewhere/winnow-demo" "$T/elsewhere/winnow-demo/debian-collection" \
        --docs 1000000 --queries 8 || fail "demo on this machine's Debian collection: runs and metrics (above)"
else
    grep -q "Collection - skipped" "$T/out" && grep -q -- "--dpkg-status FILE" "$T/out" || fail "demo without dpkg: skip not said"
fi
[ -s "$T/elsewhere/winnow-demo/report.html" ] || fail "demo without ../shared: no winnow-demo/report.html"
#    a bad --collection fails, naming what is missing
"$W" demo --bi-encoder "$FX/tiny-bi" --cross-encoder "$FX/tiny-ce" --collection "$T/nope" --out "$T/o6" >/dev/null 2>"$T/err"
[ $? -eq 1 ] || fail "--collection missing: want exit 1"
expect_err "$T/nope: not a directory" "--collection missing"
mkdir -p "$T/half" && cp "$T/coll/corpus.jsonl" "$T/half/"
"$W" demo --bi-encoder "$FX/tiny-bi" --cross-encoder "$FX/tiny-ce" --collection "$T/half" --out "$T/o6" >/dev/null 2>"$T/err"
[ $? -eq 1 ] || fail "--collection without queries: want exit 1"
expect_err "lacks $T/half/queries.jsonl" "--collection without queries"

# 6. with the real weights (WINNOW_MODELS=/dir holding all-MiniLM-L6-v2/ and
#    ms-marco-MiniLM-L-6-v2/), the notebook's own printed numbers
SEED=../shared/seed/expected.json
if [ -n "$WINNOW_MODELS" ] && [ -d "$WINNOW_MODELS/all-MiniLM-L6-v2" ] && [ -f "$SEED" ]; then
    "$W" demo --bi-encoder "$WINNOW_MODELS/all-MiniLM-L6-v2" --cross-encoder "$WINNOW_MODELS/ms-marco-MiniLM-L-6-v2" --out "$T/o5" --no-collection \
        >"$T/out" 2>"$T/err" || fail "demo with the real weights: exit $? ($(cat "$T/err"))"
    python3 tests/tools/check_demo.py "$T/out" "$SEED" || fail "demo with the real weights: output (above)"
else
    echo "t_demo: the real-weights check needs WINNOW_MODELS and $SEED (not run)"
fi

[ $fails -eq 0 ] || { cat "$T/err"; echo "$fails failures"; exit 1; }
echo "t_demo: all passed"
