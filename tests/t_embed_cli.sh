#!/bin/sh
# t_embed_cli.sh - `winnow embed` and `winnow score` on the small fixture models
# against the PyTorch reference (tests/fixtures/model/cli_*.expected, written by
# scripts/make_reference.py from token ids its own mini WordPiece computed): every
# number within tolerance, same line count and order; then stdin, streaming
# across chunk boundaries, and the error paths (clear message, non-zero exit).
: "${BUILD:=build}"
W="$BUILD/winnow"
FX=tests/fixtures/model
[ -x "$W" ] || { echo "t_embed_cli: $W is not built"; exit 1; }
. "${0%/*}/lib.sh"
t_tmp embed
expect_err() { grep -qF -- "$1" "$T/err" || { fail "$2: stderr lacks '$1':"; cat "$T/err"; }; }

# 1. golden outputs, file and stdin, several batch/thread settings
"$W" embed --model "$FX/tiny-bi" "$FX/cli_embed.txt" >"$T/e1" 2>"$T/err" || fail "embed: exit $? ($(cat "$T/err"))"
cmp_floats "$T/e1" "$FX/cli_embed.expected" 1e-5 "embed" || fail "embed output"
"$W" embed --model "$FX/tiny-bi" --batch 1 --threads 1 <"$FX/cli_embed.txt" >"$T/e2" 2>"$T/err" || fail "embed stdin: exit $?"
cmp_floats "$T/e2" "$FX/cli_embed.expected" 1e-5 "embed --batch 1 --threads 1 (stdin)" || fail "embed stdin output"
"$W" score --model "$FX/tiny-ce" "$FX/cli_score.txt" >"$T/s1" 2>"$T/err" || fail "score: exit $? ($(cat "$T/err"))"
cmp_floats "$T/s1" "$FX/cli_score.expected" 1e-4 "score" || fail "score output"
"$W" score --model "$FX/tiny-ce" --batch 2 --threads 2 - <"$FX/cli_score.txt" >"$T/s2" 2>"$T/err" || fail "score stdin: exit $?"
cmp_floats "$T/s2" "$FX/cli_score.expected" 1e-4 "score --batch 2 (stdin)" || fail "score stdin output"
head -c 12 "$T/s1" | grep -q '^{"score": ' || fail "score line format: $(head -n1 "$T/s1")"
head -c 14 "$T/e1" | grep -q '^{"embedding":\[' || fail "embed line format"

# 2. sigmoid: 1/(1+exp(-logit)) of the same logits
"$W" score --model "$FX/tiny-ce" --activation sigmoid "$FX/cli_score.txt" >"$T/s3" 2>"$T/err" || fail "sigmoid: exit $?"
awk '{ sub(/^[^:]*: */, ""); sub(/}.*/, ""); printf "{\"score\": %.9g}\n", 1 / (1 + exp(-$0)) }' "$FX/cli_score.expected" >"$T/sig"
cmp_floats "$T/s3" "$T/sig" 1e-5 "score --activation sigmoid" || fail "sigmoid output"

# 3. streaming: 2100 lines cross the 2048-line chunks; output order and count kept
i=0; : >"$T/many"; : >"$T/many.exp"
while [ $i -lt 350 ]; do cat "$FX/cli_embed.txt" >>"$T/many"; cat "$FX/cli_embed.expected" >>"$T/many.exp"; i=$((i + 1)); done
"$W" embed --model "$FX/tiny-bi" --batch 64 "$T/many" >"$T/e3" 2>"$T/err" || fail "embed 2100 lines: exit $?"
cmp_floats "$T/e3" "$T/many.exp" 1e-5 "embed 2100 lines" || fail "embed streaming output"

# 4. odd but valid input: empty input, invalid UTF-8, a huge line
: | "$W" embed --model "$FX/tiny-bi" >"$T/e4" 2>"$T/err" || fail "empty input: exit $?"
[ ! -s "$T/e4" ] || fail "empty input printed something"
printf 'caf\351 \377\376 ok\n' | "$W" embed --model "$FX/tiny-bi" >"$T/e5" 2>"$T/err" || fail "invalid UTF-8: exit $? ($(cat "$T/err"))"
[ "$(wc -l <"$T/e5")" -eq 1 ] || fail "invalid UTF-8: want one line"
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "word%d ", i; print "" }' | "$W" embed --model "$FX/tiny-bi" >"$T/e6" 2>"$T/err" ||
    fail "a 100 kB line: exit $? ($(cat "$T/err"))"
[ "$(wc -l <"$T/e6")" -eq 1 ] || fail "a 100 kB line: want one line"

# 5. errors: clear message, non-zero exit
"$W" embed --help >/dev/null || fail "embed --help: exit $?"
"$W" score --help >/dev/null || fail "score --help: exit $?"
"$W" embed >/dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "embed without --model: want exit 2"
expect_err "--model is required" "no --model"
"$W" embed --model "$FX/tiny-bi" --bogus >/dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "unknown option: want exit 2"
"$W" embed --model "$FX/tiny-bi" --batch 0 >/dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "--batch 0: want exit 2"
"$W" embed --model "$FX/tiny-bi" --precision fp8 >/dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "--precision fp8: want exit 2"
"$W" embed --model "$T/nowhere" "$FX/cli_embed.txt" >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "missing model: want exit 1"
expect_err "nowhere" "missing model dir"
"$W" embed --model "$FX/tiny-ce" "$FX/cli_embed.txt" >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "cross-encoder to embed: want exit 1"
expect_err "cross-encoder" "cross-encoder to embed"
"$W" score --model "$FX/tiny-bi" "$FX/cli_score.txt" >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "bi-encoder to score: want exit 1"
expect_err "bi-encoder" "bi-encoder to score"
printf 'q\td\nno tab here\n' | "$W" score --model "$FX/tiny-ce" >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "no TAB: want exit 1"
expect_err "stdin:2: no TAB" "no TAB"
"$W" embed --model "$FX/tiny-bi" "$T/none.txt" >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "missing input: want exit 1"
"$W" embed --model "$FX/tiny-bi" "$T" >"$T/out" 2>"$T/err"; [ $? -eq 1 ] || fail "a directory as input: want exit 1"
expect_err "error reading $T: Is a directory" "a directory as input"
[ -s "$T/out" ] && fail "a directory as input: stdout not empty"
"$W" tokenize --model "$FX/tiny-bi" "$T" >"$T/out" 2>"$T/err"; [ $? -eq 1 ] || fail "tokenize a directory: want exit 1"
expect_err "error reading $T: Is a directory" "tokenize a directory"
mkdir -p "$T/broken"
cp -r "$FX/tiny-bi/." "$T/broken/"
printf '{"hidden_size": 64,' >"$T/broken/config.json"
"$W" embed --model "$T/broken" "$FX/cli_embed.txt" >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "bad config.json: want exit 1"
expect_err "config.json" "bad config.json"

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "t_embed_cli: all passed"
