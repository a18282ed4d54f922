#!/bin/sh
# t_demo_compare.sh - exercise 3 of the demo, `--compare-bi-encoder`: two tiny
# random-weight bi-encoders (tests/fixtures/model/tiny-bi, a BERT, and
# tests/fixtures/static, a static embedding model) with tests/fixtures/model/tiny-ce,
# on the dpkg status fixture's collection. B's notebook evaluation is recomputed from
# `winnow embed` / `winnow score` and the side-by-side table checked against both
# results.json (tests/tools/check_demo_compare.py); B's collection runs and metrics
# like A's (tests/tools/check_demo_collection.py); then the failures.
: "${BUILD:=build}"
W="$BUILD/winnow"
FX=tests/fixtures/model
B=tests/fixtures/static
. "${0%/*}/lib.sh"
command -v python3 >/dev/null 2>&1 || skip_or_fail "python3 is not installed (scripts/deps.sh installs it)"
[ -x "$W" ] || { echo "t_demo_compare: $W is not built"; exit 1; }
t_tmp demo_compare
M="--bi-encoder $FX/tiny-bi --cross-encoder $FX/tiny-ce --dpkg-status tests/fixtures/demo/dpkg_status"

"$W" demo $M --compare-bi-encoder "$B" --out "$T/o" >"$T/out" 2>"$T/err" || fail "--compare-bi-encoder: exit $? ($(cat "$T/err"))"
python3 tests/tools/check_demo_compare.py "$T/o" "$T/out" "$W" "$B" "$FX/tiny-ce" || fail "exercise 3 (above)"
for side in "$T/o:$FX/tiny-bi" "$T/o/compare:$B"; do
    python3 tests/tools/check_demo_collection.py "${side%%:*}" "$T/o/debian-collection" --docs 1000000 --queries 1000000 \
        --winnow "$W" --bi "${side#*:}" --ce "$FX/tiny-ce" || fail "the collection with ${side#*:} (above)"
done
[ "$(tail -n 1 "$T/out")" = "Report - $T/o/report.html" ] || fail "the report's path is not the last line"
#    a bi-encoder with E5-style prompts: the demo puts "passage: " before documents and
#    "query: " before queries, as the pipeline does (the runs equal winnow embed's with them)
cp -r "$FX/tiny-bi" "$T/prompted"
printf '{"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": null}\n' \
    >"$T/prompted/config_sentence_transformers.json"
"$W" demo --bi-encoder "$T/prompted" --cross-encoder "$FX/tiny-ce" --dpkg-status tests/fixtures/demo/dpkg_status \
    --out "$T/op" >"$T/outp" 2>"$T/err" || fail "a prompted bi-encoder: exit $? ($(cat "$T/err"))"
python3 tests/tools/check_demo_collection.py "$T/op" "$T/op/debian-collection" --docs 1000000 --queries 1000000 \
    --winnow "$W" --bi "$T/prompted" --ce "$FX/tiny-ce" --doc-prompt-name passage --query-prompt-name query ||
    fail "the collection with a prompted bi-encoder (above)"
python3 tests/tools/check_demo_collection.py "$T/op" "$T/op/debian-collection" --docs 1000000 --queries 1000000 \
    --winnow "$W" --bi "$T/prompted" --ce "$FX/tiny-ce" >/dev/null 2>&1 &&
    fail "the prompted runs also match unprompted vectors: the check shows nothing"
grep -q "Exercise 3: bi-encoder A $FX/tiny-bi against B $B" "$T/o/report.html" || fail "report: no exercise 3 table"
#    without a collection: the notebook's part side by side
"$W" demo $M --no-collection --compare-bi-encoder "$B" --out "$T/o2" >"$T/out" 2>"$T/err" ||
    fail "--compare-bi-encoder --no-collection: exit $? ($(cat "$T/err"))"
grep -q "^  notebook + re-ranker" "$T/out" && ! grep -q "^  dense  " "$T/out" || fail "--no-collection: the table"

# failures: a cross-encoder to compare, a model that is not there
"$W" demo $M --no-collection --compare-bi-encoder "$FX/tiny-ce" --out "$T/o3" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "a cross-encoder to compare: exit $rc, want 1"
grep -q "is a cross-encoder, not a bi-encoder" "$T/err" || fail "a cross-encoder to compare: $(cat "$T/err")"
WINNOW_CACHE="$T/empty" HF_HUB_OFFLINE=1 "$W" demo $M --no-collection --compare-bi-encoder nobody/nothing --out "$T/o4" \
    >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "a model not to be had: exit $rc, want 1"
grep -q "cannot get the bi-encoder nobody/nothing" "$T/err" || fail "a model not to be had: $(cat "$T/err")"

t_done
echo "t_demo_compare: all passed"
