#!/bin/sh
# t_mine_cli.sh - winnow mine on a tiny BM25 index: hard negatives come from the
# first stage in rank order, never the row's positive or a near-duplicate of it
# (same words, other case and punctuation), never a kept negative twice; the
# existing negatives stay first; the output feeds winnow train; bad rows fail
# with file:line and leave no output.
: "${BUILD:=build}"
W="$BUILD/winnow"
[ -x "$W" ] || { echo "t_mine_cli: $W is not built"; exit 1; }
. "${0%/*}/lib.sh"
t_tmp mine
expect_err() { grep -qF -- "$1" "$T/err" || { fail "$2: stderr lacks '$1':"; cat "$T/err"; }; }

cat >"$T/corpus.jsonl" <<'J'
{"_id": "d1", "title": "Cats", "text": "the cat sat on the warm mat near the window"}
{"_id": "d2", "title": "Dogs", "text": "dogs are loyal companions and enjoy long walks in the park"}
{"_id": "d3", "title": "", "text": "THE CAT sat on the warm mat, near the window!"}
{"_id": "d4", "title": "Cooking", "text": "a good risotto needs patience, stock and constant stirring"}
{"_id": "d5", "title": "Birds", "text": "parrots can imitate human speech and live for decades"}
{"_id": "d6", "title": "Rivers", "text": "the amazon river carries more water than any other river"}
{"_id": "d7", "title": "Cats again", "text": "a kitten chases the cat toy across the mat"}
{"_id": "d8", "title": "Parks", "text": "city parks give dogs and people room to walk the cat"}
J
"$W" index --corpus "$T/corpus.jsonl" --out "$T/ix" --bm25 2>"$T/err" || { fail "index: $(cat "$T/err")"; t_done; }
cat >"$T/rows.jsonl" <<'J'
{"query": "cat on a mat", "positive": "the cat sat on the warm mat near the window"}
{"query": "walking dogs in the park", "positive": "Dogs dogs are loyal companions and enjoy long walks in the park", "negatives": ["Cats again a kitten chases the cat toy across the mat"]}
J
"$W" mine --index "$T/ix" --data "$T/rows.jsonl" --out "$T/mined.jsonl" --per-query 2 --depth 8 --first-stage bm25 \
    2>"$T/err" || fail "mine: $(cat "$T/err")"
cat "$T/mined.jsonl"
[ "$(wc -l <"$T/mined.jsonl")" = 2 ] || fail "expected 2 rows"
row1=$(sed -n 1p "$T/mined.jsonl"); row2=$(sed -n 2p "$T/mined.jsonl")
neg1=$(echo "$row1" | sed 's/.*"negatives"//'); neg2=$(echo "$row2" | sed 's/.*"negatives"//')
echo "$row1" | grep -q '"negatives": \["Cats again a kitten chases the cat toy across the mat", "Parks city parks' ||
    fail "row 1: the two best non-duplicate hits (d7, d8) expected first: $row1"
echo "$neg1" | grep -qi 'warm mat' && fail "row 1 mined its positive or its near-duplicate d3: $row1"
echo "$row2" | grep -q '"negatives": \["Cats again a kitten' || fail "row 2: the existing negative must stay first: $row2"
[ "$(echo "$neg2" | grep -o 'kitten' | wc -l)" = 1 ] || fail "row 2: an existing negative mined again: $row2"
echo "$neg2" | grep -q 'loyal companions' && fail "row 2 mined its positive: $row2"
# BM25 drops stop words: only d2 (the positive) and d8 share a term with row 2's query
[ "$(echo "$neg2" | grep -o '", "' | wc -l)" = 1 ] || fail "row 2: expected 1 kept + 1 mined negative (d8): $row2"
echo "$neg2" | grep -q 'Parks city parks' || fail "row 2: d8 expected: $row2"
grep -q "2 rows, 3 negatives added" "$T/err" || fail "summary: $(cat "$T/err")"

# the output trains
"$W" train bi --model tests/fixtures/train/adam-bi --data "$T/mined.jsonl" --out "$T/m" --steps 1 --batch 2 \
    --max-length 32 2>"$T/err" || fail "train on mined rows: $(cat "$T/err")"

# errors
printf '{"query": "a", "positive": "b"}\n{"query": "a"}\n' >"$T/bad.jsonl"
"$W" mine --index "$T/ix" --data "$T/bad.jsonl" --out "$T/bad.out" --first-stage bm25 2>"$T/err" && fail "missing positive accepted"
expect_err 'bad.jsonl:2: missing or empty "positive"' "missing positive"
[ -e "$T/bad.out" ] && fail "a failed run left its output"
ls "$T" | grep -q 'bad.out.tmp' && fail "a failed run left its temporary file"
t_done
