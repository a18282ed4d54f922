#!/bin/sh
# t_train_static_cli.sh - `winnow train-static` end to end through the CLI: a tiny
# run writes the StaticEmbedding layout, the log, the same bytes with the same
# seed; `winnow embed --model` reads it (unit-norm vectors, one line per text);
# the bundled models/winnow-small-embed loads and ranks a paraphrase above an
# unrelated sentence; usage errors exit 2 with a message.
: "${BUILD:=build}"
W="$BUILD/winnow"
[ -x "$W" ] || { echo "t_train_static_cli: $W is not built"; exit 1; }
. "${0%/*}/lib.sh"
t_tmp train_static
TOK=models/winnow-small-embed/0_StaticEmbedding
i=0
while [ $i -lt 40 ]; do
    echo "{\"query\": \"topic $i word$i\", \"positive\": \"a longer text about topic $i and word$i, number $i\"}"
    i=$((i + 1))
done > "$T/pairs.jsonl"
"$W" train-static --data "$T/pairs.jsonl" --tokenizer "$TOK" --out "$T/m1" --dim 8 --steps 20 --batch 8 --log "$T/log" 2>"$T/err" ||
    { fail "train-static failed"; cat "$T/err"; }
for f in modules.json config_sentence_transformers.json 0_StaticEmbedding/model.safetensors 0_StaticEmbedding/tokenizer.json 0_StaticEmbedding/vocab.txt; do
    [ -s "$T/m1/$f" ] || fail "no $f"
done
grep -q "sentence_transformers.models.StaticEmbedding" "$T/m1/modules.json" || fail "modules.json lacks StaticEmbedding"
[ "$(wc -l < "$T/log")" -eq 1 ] && grep -q '^20 ' "$T/log" || { fail "log: expected one line for step 20"; cat "$T/log"; }
"$W" train-static --data "$T/pairs.jsonl" --tokenizer "$TOK" --out "$T/m2" --dim 8 --steps 20 --batch 8 --threads 1 2>/dev/null
cmp -s "$T/m1/0_StaticEmbedding/model.safetensors" "$T/m2/0_StaticEmbedding/model.safetensors" || fail "same seed, different model"
printf 'topic 3\n\nword7 and more\n' | "$W" embed --model "$T/m1" > "$T/emb" 2>"$T/err" || { fail "embed"; cat "$T/err"; }
[ "$(wc -l < "$T/emb")" -eq 3 ] || fail "embed: $(wc -l < "$T/emb") lines, expected 3"
awk '{ sub(/^[^[]*\[/, ""); sub(/\].*$/, ""); n = split($0, v, ","); s = 0; for (i = 1; i <= n; i++) s += v[i] * v[i];
       if (n != 8) { print "dim " n; exit 1 }
       if (NR != 2 && (s < 0.999 || s > 1.001)) { print "norm^2 " s " on line " NR; exit 1 }
       if (NR == 2 && s != 0) { print "empty text: norm^2 " s; exit 1 } }' "$T/emb" || fail "embeddings: wrong dimension or norm"
# the bundled model
printf 'A man is playing a guitar.\nA person plays the guitar.\nThe stock market fell sharply today.\n' |
    "$W" embed --model models/winnow-small-embed > "$T/b" 2>"$T/err" || { fail "bundled model"; cat "$T/err"; }
awk '{ sub(/^[^[]*\[/, ""); sub(/\].*$/, ""); n = split($0, v, ","); for (i = 1; i <= n; i++) x[NR, i] = v[i]; d = n }
     END { for (i = 1; i <= d; i++) { s12 += x[1, i] * x[2, i]; s13 += x[1, i] * x[3, i] }
           printf "bundled: cos(paraphrase) %.3f, cos(unrelated) %.3f\n", s12, s13
           if (d != 256 || !(s12 > s13 + 0.2)) exit 1 }' "$T/b" || fail "bundled model: paraphrase not above the unrelated sentence"
# usage errors
"$W" train-static --out "$T/x" 2>"$T/err"; [ $? -eq 2 ] && grep -q -- "--data" "$T/err" || fail "missing --data: exit 2 + message"
"$W" train-static --data "$T/nope.jsonl" --tokenizer "$TOK" --out "$T/x" 2>"$T/err"; [ $? -eq 1 ] && grep -q "nope.jsonl" "$T/err" || fail "absent data file named"
t_done
