#!/bin/sh
# t_bundled_cli.sh - winnow's own models by name (src/model/bundled.c, docs/MODELS.md):
# `--model winnow-small-embed` gives the same vectors as the directory
# models/winnow-small-embed, from another current directory, offline with an empty
# cache and an unreachable hub; the name also works for --dense (index, search) and
# from an installed layout (bin/winnow + share/winnow/models); WINNOW_MODELS_DIR
# replaces the search list; winnow-small-rerank scores by name as by path and brings its
# own interpolation to search; names not in the list fail with a clear message and never
# touch the network.
: "${BUILD:=build}"
W="$BUILD/winnow"
[ -x "$W" ] || { echo "t_bundled_cli: $W is not built"; exit 1; }
[ -f models/winnow-small-embed/modules.json ] || { echo "SKIPPED: models/winnow-small-embed is absent"; exit 77; }
. "${0%/*}/lib.sh"
t_tmp bundled
expect_err() { grep -qF -- "$1" "$T/err" || { fail "$2: stderr lacks '$1':"; cat "$T/err"; }; }
ROOT=$(pwd -P)
WA="$ROOT/$W"
# no network, no cache, no override: a name must come from this machine
unset WINNOW_MODELS_DIR HF_TOKEN
export WINNOW_CACHE="$T/cache" HF_HUB_CACHE="$T/hf" HF_ENDPOINT="http://127.0.0.1:9" HF_HUB_OFFLINE=1
mkdir -p "$T/elsewhere"
printf 'a cat sat on the mat\nfast retrieval with dense vectors\n\n' >"$T/texts"

# 1. the reference: the directory path
"$W" embed --model models/winnow-small-embed "$T/texts" >"$T/want" 2>"$T/err" || fail "embed by path: $(cat "$T/err")"
[ "$(wc -l <"$T/want")" -eq 3 ] || fail "embed by path: $(wc -l <"$T/want") lines, want 3"
# 2. by name, from another directory, offline
(cd "$T/elsewhere" && "$WA" embed --model winnow-small-embed "$T/texts") >"$T/got" 2>"$T/err" ||
    fail "embed --model winnow-small-embed from $T/elsewhere: $(cat "$T/err")"
cmp -s "$T/got" "$T/want" || fail "by name and by path differ"
[ ! -e "$T/cache" ] || fail "a bundled name touched the hub cache"
# 3. online mode with an unreachable hub: still no network needed
(cd "$T/elsewhere" && HF_HUB_OFFLINE= "$WA" embed --model winnow-small-embed "$T/texts") >"$T/got" 2>"$T/err" ||
    fail "embed, hub unreachable: $(cat "$T/err")"
cmp -s "$T/got" "$T/want" || fail "hub unreachable: vectors differ"

# 4. --dense NAME for index and search, from two other directories (the index keeps the name)
printf '{"_id":"d1","text":"cats sit on mats"}\n{"_id":"d2","text":"dense vector retrieval is fast"}\n{"_id":"d3","text":"the weather is cold"}\n' >"$T/corpus.jsonl"
(cd "$T/elsewhere" && "$WA" index --corpus "$T/corpus.jsonl" --out "$T/ix" --bm25 --dense winnow-small-embed) \
    >/dev/null 2>"$T/err" || fail "index --dense winnow-small-embed: $(cat "$T/err")"
(cd / && "$WA" search --index "$T/ix" --first-stage hybrid --k 1 --json "fast dense retrieval") >"$T/out" 2>"$T/err" ||
    fail "search --first-stage hybrid on it: $(cat "$T/err")"
grep -q '"d2"' "$T/out" || fail "hybrid search: d2 is not the top hit: $(cat "$T/out")"

# 5. an installed layout: bin/winnow finds ../share/winnow/models
mkdir -p "$T/inst/bin" "$T/inst/share/winnow/models"
cp "$W" "$T/inst/bin/winnow" && cp -R models/winnow-small-embed "$T/inst/share/winnow/models/"
(cd "$T/elsewhere" && "$T/inst/bin/winnow" embed --model winnow-small-embed "$T/texts") >"$T/got" 2>"$T/err" ||
    fail "installed layout: $(cat "$T/err")"
cmp -s "$T/got" "$T/want" || fail "installed layout: vectors differ"

# 6. WINNOW_MODELS_DIR replaces the list (a ':'-separated list, as PATH)
mkdir -p "$T/mine" && ln -s "$ROOT/models/winnow-small-embed" "$T/mine/my-embed"
(cd "$T/elsewhere" && WINNOW_MODELS_DIR="$T/nothing:$T/mine" "$WA" embed --model my-embed "$T/texts") >"$T/got" \
    2>"$T/err" || fail "WINNOW_MODELS_DIR: $(cat "$T/err")"
cmp -s "$T/got" "$T/want" || fail "WINNOW_MODELS_DIR: vectors differ"
WINNOW_MODELS_DIR="$T/mine" "$W" embed --model winnow-small-embed "$T/texts" >/dev/null 2>"$T/err" &&
    fail "WINNOW_MODELS_DIR without it: winnow-small-embed still found"
expect_err "not bundled in this build" "override"
expect_err "$T/mine, from WINNOW_MODELS_DIR" "override"
expect_err "bundled there: my-embed" "override"

# 7. winnow-small-rerank: by name as by path (score), in search with its own
#    interpolation (config_sentence_transformers.json "winnow": {"rerank_interpolate"}: as if given explicitly,
#    unlike the cross-encoder alone), and a clear error where the list lacks it
printf 'cats\ta cat sat on the mat\ncats\tthe weather is cold\n' >"$T/pairs"
"$W" score --model models/winnow-small-rerank <"$T/pairs" >"$T/want.s" 2>"$T/err" || fail "score by path: $(cat "$T/err")"
(cd "$T/elsewhere" && "$WA" score --model winnow-small-rerank <"$T/pairs") >"$T/got.s" 2>"$T/err" ||
    fail "score --model winnow-small-rerank: $(cat "$T/err")"
cmp -s "$T/got.s" "$T/want.s" && [ "$(wc -l <"$T/got.s")" -eq 2 ] || fail "score: by name and by path differ"
s1=$(sed -n '1s/.*"score": *\([-0-9.e]*\).*/\1/p' "$T/got.s"); s2=$(sed -n '2s/.*"score": *\([-0-9.e]*\).*/\1/p' "$T/got.s")
awk -v a="$s1" -v b="$s2" 'BEGIN { exit !(a > b) }' || fail "score: the cat pair ($s1) not above the weather pair ($s2)"
own=$(sed -n 's/.*"rerank_interpolate": *\([0-9.]*\).*/\1/p' models/winnow-small-rerank/config_sentence_transformers.json)
[ -n "$own" ] || fail "models/winnow-small-rerank/config_sentence_transformers.json has no rerank_interpolate"
for a in "" "--interpolate $own" "--interpolate 0"; do
    "$W" search --index "$T/ix" --first-stage hybrid --rerank winnow-small-rerank --k 3 --json $a "cats on mats" 2>"$T/err" |
        sed 's/"ms":[0-9.e+-]*//g' >"$T/s$(echo "$a" | tr -dc 0-9)" || fail "search --rerank winnow-small-rerank $a: $(cat "$T/err")"
done
cmp -s "$T/s" "$T/s$(echo "$own" | tr -dc 0-9)" || fail "search: the model's own interpolation differs from --interpolate $own"
cmp -s "$T/s" "$T/s0" && fail "search: the model's own interpolation gives the cross-encoder alone"
grep -q '"d1"' "$T/s" || fail "search --rerank: d1 missing: $(cat "$T/s")"
WINNOW_MODELS_DIR="$T/mine" "$W" score --model winnow-small-rerank <"$T/pairs" >/dev/null 2>"$T/err" &&
    fail "WINNOW_MODELS_DIR without it: winnow-small-rerank still found"
expect_err "winnow-small-rerank is one of winnow's own models, but it is not bundled in this build" "score rerank"
expect_err "cross-encoder directory or hub id" "score rerank"
# 7b. the tokenizer of a bundled static model (in its module folder) by name
printf 'Static tokenizers, by name\n' > "$T/tok.txt"
"$W" tokenize --model winnow-small-embed "$T/tok.txt" > "$T/tok.by-name" 2>"$T/err" || fail "tokenize by name: $(cat "$T/err")"
"$W" tokenize --model "$ROOT/models/winnow-small-embed/0_StaticEmbedding" "$T/tok.txt" > "$T/tok.by-dir"
cmp -s "$T/tok.by-name" "$T/tok.by-dir" && grep -q '"ids":\[101,' "$T/tok.by-name" || fail "tokenize by name differs from the module folder's"
# 8. an unknown name that looks bundled: says where it looked and what is there
"$W" embed --model winnow-small-embedd "$T/texts" >/dev/null 2>"$T/err"
[ $? -eq 1 ] || fail "unknown name: want exit 1"
expect_err "'winnow-small-embedd': no such directory, no bundled model of that name" "unknown name"
expect_err "$ROOT/models" "unknown name"
expect_err "bundled there: " "unknown name"
expect_err "winnow-small-embed" "unknown name"
expect_err "not a hub id" "unknown name"
[ ! -e "$T/cache" ] || fail "the failed names touched the hub cache"
t_done
echo "t_bundled_cli: all passed"
