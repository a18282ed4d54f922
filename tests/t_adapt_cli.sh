#!/bin/sh
# t_adapt_cli.sh - `winnow index --adapt` end to end through the CLI on a tiny
# corpus: the adapted model lands in the index (DIR/adapted-model, adapt.json), no
# progress bar when stderr is piped, the same seed gives the same model with 1 or 2
# threads and another seed another model; `winnow search` uses the adapted model
# (a dense hit's score is the cosine of `winnow embed --model DIR/adapted-model`
# vectors of the query and the document); usage and input errors.
: "${BUILD:=build}"
W="$BUILD/winnow"
[ -x "$W" ] || { echo "t_adapt_cli: $W is not built"; exit 1; }
. "${0%/*}/lib.sh"
t_tmp adapt_cli
i=0
while [ $i -lt 100 ]; do
    case $((i % 5)) in
    0) set -- apple fruit orchard juice ;; 1) set -- engine car road wheel ;; 2) set -- ocean wave beach tide ;;
    3) set -- guitar song melody band ;; 4) set -- snow winter frost ice ;;
    esac
    echo "{\"_id\": \"d$i\", \"title\": \"$1 $2 number $i\", \"text\": \"The $3 of item $i is near the $4. A $1 and a $2 meet the $3 in story $i. Nothing else about $4 here.\"}"
    i=$((i + 1))
done > "$T/c.jsonl"
A="--corpus $T/c.jsonl --bm25 --dense models/winnow-small-embed --adapt --adapt-pairs 8"
"$W" index $A --out "$T/ix" --threads 1 2>"$T/err" || { fail "index --adapt failed"; cat "$T/err"; }
for f in adapted-model/modules.json adapted-model/adapt.json adapted-model/0_StaticEmbedding/model.safetensors \
    adapted-model/0_StaticEmbedding/tokenizer.json dense.idx bm25.idx; do
    [ -s "$T/ix/$f" ] || fail "no $f in the index"
done
grep -q "adapted .* held-out loss" "$T/err" || { fail "no adaptation summary"; cat "$T/err"; }
if tr '\r' '\n' < "$T/err" | grep -q "adapting"; then fail "progress printed to a pipe"; fi
"$W" index $A --out "$T/ix2" --threads 2 2>/dev/null || fail "index --adapt (2 threads)"
cmp -s "$T/ix/adapted-model/0_StaticEmbedding/model.safetensors" "$T/ix2/adapted-model/0_StaticEmbedding/model.safetensors" ||
    fail "same seed, 1 and 2 threads: different models"
"$W" index $A --out "$T/ix3" --threads 1 --seed 7 2>/dev/null || fail "index --adapt --seed 7"
cmp -s "$T/ix/adapted-model/0_StaticEmbedding/model.safetensors" "$T/ix3/adapted-model/0_StaticEmbedding/model.safetensors" &&
    fail "seeds 42 and 7 gave the same model"
# search uses the adapted model: score = cos(embed(query), embed(title + " " + text)) with it
"$W" search --index "$T/ix" --first-stage dense --k 1 --json "melody guitar" > "$T/hit" 2>"$T/err" || { fail "search"; cat "$T/err"; }
score=$(sed 's/.*"score":\([-0-9.e]*\).*/\1/' "$T/hit")
doc=$(sed 's/.*"title":"\([^"]*\)","snippet":"\([^"]*\)".*/\1 \2/' "$T/hit")
for m in "$T/ix/adapted-model" models/winnow-small-embed; do
    printf 'melody guitar\n%s\n' "$doc" | "$W" embed --model "$m" > "$T/e" 2>"$T/err" || { fail "embed $m"; cat "$T/err"; }
    awk -v s="$score" -v m="$m" '{ sub(/^[^[]*\[/, ""); sub(/\].*$/, ""); n = split($0, v, ","); for (i = 1; i <= n; i++) x[NR, i] = v[i]; d = n }
        END { for (i = 1; i <= d; i++) c += x[1, i] * x[2, i]; diff = c - s; if (diff < 0) diff = -diff
              printf "%s: cosine %.6f, search score %.6f\n", m, c, s; exit !(m ~ /adapted/ ? diff < 1e-4 : diff > 1e-3) }' "$T/e" ||
        fail "dense score vs $m's cosine"
done
# errors: nothing is left at --out
"$W" index --corpus "$T/c.jsonl" --out "$T/x" --adapt 2>"$T/err"; [ $? -eq 2 ] && grep -q -- "--dense" "$T/err" || fail "--adapt without --dense: exit 2 + message"
"$W" index $A --out "$T/x" --adapt-init maybe 2>"$T/err"; [ $? -eq 2 ] && grep -q "model or random" "$T/err" || fail "bad --adapt-init"
"$W" index --corpus "$T/c.jsonl" --out "$T/x" --dense tests/fixtures/model/tiny-bi --adapt 2>"$T/err"
[ $? -eq 1 ] && grep -q "not a static embedding model" "$T/err" || { fail "BERT model: exit 1 + message"; cat "$T/err"; }
echo '{"_id": "1", "title": "", "text": "short"}' > "$T/one.jsonl"
"$W" index --corpus "$T/one.jsonl" --out "$T/x" --dense models/winnow-small-embed --adapt 2>"$T/err"
[ $? -eq 1 ] && grep -q "at least 2" "$T/err" || { fail "one short document: exit 1 + message"; cat "$T/err"; }
[ -e "$T/x" ] && fail "a failed index left $T/x"
t_done
