#!/bin/sh
# t_tokenize_cli.sh - golden tests of `winnow tokenize`: each command's output is
# diffed byte for byte with tests/fixtures/tokenizer/*.expected (ids hand-computed
# from the fixture vocab, which is transformers' BertTokenizer test vocab), plus exit
# codes and messages of the error cases; one line of the real all-MiniLM-L6-v2 vocab
# (tests/fixtures/tokenizer/all-MiniLM-L6-v2, unpacked) against the HuggingFace ids of
# tests/fixtures/tokenizer/bert-uncased.out.
: "${BUILD:=build}"
W="$BUILD/winnow"
F=tests/fixtures/tokenizer
M=$F/tiny
[ -x "$W" ] || { echo "t_tokenize_cli: $W is not built"; exit 1; }
. "${0%/*}/lib.sh"
t_tmp tokenize_cli
golden() { # name expected command...
    name=$1 exp=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err" || fail "$name: exit $? ($(cat "$T/err"))"
    diff -u "$exp" "$T/out" >"$T/diff" || { fail "$name: output differs"; cat "$T/diff"; }
}

golden "single from FILE" $F/single.expected "$W" tokenize --model $M $F/single.txt
golden "single from stdin" $F/single.expected sh -c "\"$W\" tokenize --model $M < $F/single.txt"
golden "pair, --max-length 7" $F/pair7.expected "$W" tokenize --model $M --pair --max-length 7 $F/pair7.txt
golden "pair, --max-length 8" $F/pair8.expected "$W" tokenize --model $M --pair --max-length 8 $F/pair8.txt

# errors: a line without TAB names file:line; bad options exit 2; a missing model 1
printf 'want\tlow\nno tab here\n' >"$T/bad.txt"
"$W" tokenize --model $M --pair "$T/bad.txt" >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "line without TAB: exit $rc, want 1"
grep -q "$T/bad.txt:2: no TAB" "$T/err" || fail "line without TAB: message '$(cat "$T/err")'"
[ "$(cat "$T/out")" = '{"ids":[1,5,2,13,2],"type_ids":[0,0,0,1,1]}' ] || fail "line before the bad one: '$(cat "$T/out")'"
"$W" tokenize --model $M --max-length 1 </dev/null >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "--max-length 1: exit $rc, want 2"
"$W" tokenize --model $M --bogus </dev/null >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "unknown option: exit $rc, want 2"
"$W" tokenize </dev/null >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no --model: exit $rc, want 2"
HF_HUB_OFFLINE=1 WINNOW_CACHE="$T/cache" "$W" tokenize --model "$T/no/such/model" </dev/null >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "missing model: exit $rc, want 1"
grep -q "winnow tokenize: " "$T/err" || fail "missing model: message '$(cat "$T/err")'"
"$W" tokenize --help | grep -q "usage: winnow tokenize --model M \[--pair\] \[--max-length N\] \[FILE\]" || fail "--help"

S="$T/minilm"
mkdir -p "$S"
for f in tests/fixtures/tokenizer/all-MiniLM-L6-v2/*; do
    case "$f" in
        *.xz) xz -dc "$f" >"$S/$(basename "$f" .xz)" || fail "cannot unpack $f (xz-utils: scripts/deps.sh)" ;;
        *) cp "$f" "$S/" ;;
    esac
done
# " Hello, world!" is 7592 1010 2088 999 in tests/fixtures/tokenizer/bert-uncased.out
grep -qx ' 7592 1010 2088 999' tests/fixtures/tokenizer/bert-uncased.out || fail "bert-uncased.out does not hold the ids used below"
out=$(printf ' Hello, world!\n' | "$W" tokenize --model "$S")
[ "$out" = '{"ids":[101,7592,1010,2088,999,102],"type_ids":[0,0,0,0,0,0]}' ] || fail "all-MiniLM-L6-v2: '$out'"
[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "t_tokenize_cli: all passed"
