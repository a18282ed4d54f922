#!/bin/sh
# t_families_cli.sh - `winnow score` on a small DistilBERT cross-encoder, then
# `winnow embed --model DIR` on an all-mpnet-base-v2 directory
# as users have it: the real tokenizer and sentence-transformers files (from
# ../shared/models/all-mpnet-base-v2) with a small random-weight MPNet
# (tests/fixtures/model/families/mpnet_text: config.json + model.safetensors, the
# real vocabulary size). The texts (accents, CJK, emoji, control characters,
# special tokens written in the text, <pad> inside a text, long words, whitespace
# runs, documents past max_seq_length 384) were tokenized by HF's tokenizer and run
# through the PyTorch reference (scripts/make_reference_families.py): every number
# within 1e-4, one line per text, on 1 and 2 threads.
: "${BUILD:=build}"
W="$BUILD/winnow"
FX=tests/fixtures/model/families
SRC=tests/fixtures/tokenizer/all-mpnet-base-v2 # the real files, committed (xz) from ../shared/models
[ -x "$W" ] || { echo "t_families_cli: $W is not built"; exit 1; }
. "${0%/*}/lib.sh"
t_tmp families


# a DistilBERT cross-encoder (pre_classifier + ReLU head, no token types) through
# `winnow score` with its WordPiece vocab.txt
"$W" score --model "$FX/distilbert_text" "$FX/distilbert_text.txt" >"$T/s1" 2>"$T/err" || fail "score: exit $? ($(cat "$T/err"))"
cmp_floats "$T/s1" "$FX/distilbert_text.expected" 1e-4 "distilbert score" || fail "distilbert score output"

[ -f "$SRC/tokenizer.json.xz" ] || fail "$SRC/tokenizer.json.xz is absent (it is committed: a broken checkout?)"
M="$T/mpnet"
mkdir -p "$M/1_Pooling"
for f in tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt sentence_bert_config.json modules.json \
    1_Pooling/config.json; do
    if [ -f "$SRC/$f.xz" ]; then xz -dc "$SRC/$f.xz" >"$M/$f" || fail "unpack $f"; else cp "$SRC/$f" "$M/$f" || fail "copy $f"; fi
done
cp "$FX/mpnet_text/config.json" "$FX/mpnet_text/model.safetensors" "$M/"

"$W" embed --model "$M" "$FX/mpnet_text.txt" >"$T/e1" 2>"$T/err" || fail "embed: exit $? ($(cat "$T/err"))"
cmp_floats "$T/e1" "$FX/mpnet_text.expected" 1e-4 "mpnet embed" || fail "mpnet embed output"
"$W" embed --model "$M" --threads 1 --batch 3 <"$FX/mpnet_text.txt" >"$T/e2" 2>"$T/err" || fail "embed stdin: exit $?"
cmp_floats "$T/e2" "$FX/mpnet_text.expected" 1e-4 "mpnet embed --threads 1 --batch 3 (stdin)" || fail "mpnet embed stdin"

# prompts (config_sentence_transformers.json): --prompt-name query embeds "query: " + text,
# the default_prompt_name applies without an option, --prompt "" switches it off
printf '%s\n' '{"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": "passage"}' \
    >"$M/config_sentence_transformers.json"
head -n 6 "$FX/mpnet_text.txt" >"$T/six"
sed 's/^/query: /' "$T/six" >"$T/six_q"
sed 's/^/passage: /' "$T/six" >"$T/six_p"
"$W" embed --model "$M" --prompt-name query "$T/six" >"$T/p1" 2>"$T/err" || fail "--prompt-name: exit $? ($(cat "$T/err"))"
"$W" embed --model "$M" --prompt "" "$T/six_q" >"$T/p2" 2>"$T/err" || fail "--prompt '': exit $?"
cmp_floats "$T/p1" "$T/p2" 0 "--prompt-name query vs the texts with 'query: '" || fail "prompt query"
"$W" embed --model "$M" "$T/six" >"$T/p3" 2>"$T/err" || fail "default prompt: exit $?"
"$W" embed --model "$M" --prompt "" "$T/six_p" >"$T/p4" 2>"$T/err" || fail "--prompt '': exit $?"
cmp_floats "$T/p3" "$T/p4" 0 "default_prompt_name passage" || fail "default prompt"
"$W" embed --model "$M" --prompt "passage: " "$T/six" >"$T/p5" 2>"$T/err" || fail "--prompt: exit $?"
cmp_floats "$T/p5" "$T/p4" 0 "--prompt 'passage: '" || fail "--prompt"
"$W" embed --model "$M" --prompt-name nope "$T/six" >/dev/null 2>"$T/err" && fail "an unknown prompt name must fail"
grep -q "no prompt named 'nope' (query, passage)" "$T/err" || fail "unknown prompt message: $(cat "$T/err")"
rm "$M/config_sentence_transformers.json"

# --dimensions N: the first N numbers, normalised again
"$W" embed --model "$M" --dimensions 8 "$T/six" >"$T/d1" 2>"$T/err" || fail "--dimensions: exit $? ($(cat "$T/err"))"
"$W" embed --model "$M" "$T/six" >"$T/d0" 2>"$T/err" || fail "embed six: exit $?"
awk '{ sub(/^[^[]*\[/, ""); sub(/\].*/, ""); n = split($0, v, ","); s = 0; for (i = 1; i <= 8; i++) s += v[i] * v[i]
       printf "{\"embedding\":["; for (i = 1; i <= 8; i++) printf "%s%.9g", (i > 1 ? "," : ""), v[i] / sqrt(s); print "]}" }' \
    "$T/d0" >"$T/d0.8"
cmp_floats "$T/d1" "$T/d0.8" 1e-6 "--dimensions 8" || fail "--dimensions 8"
"$W" embed --model "$M" --dimensions 33 "$T/six" >/dev/null 2>"$T/err" && fail "--dimensions past the model's must fail"
grep -q "dimensions 33" "$T/err" || fail "--dimensions 33 message: $(cat "$T/err")"

# without tokenizer_config.json and special_tokens_map.json: tokenizer.json alone decides
rm "$M/tokenizer_config.json" "$M/special_tokens_map.json"
"$W" embed --model "$M" "$FX/mpnet_text.txt" >"$T/e3" 2>"$T/err" || fail "embed, tokenizer.json only: exit $?"
cmp_floats "$T/e3" "$FX/mpnet_text.expected" 1e-4 "mpnet embed, tokenizer.json only" || fail "tokenizer.json only"

t_done
echo "t_families_cli: all passed"
