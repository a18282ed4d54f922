#!/bin/sh
# t_train_cli.sh - `winnow train` end to end on the fixtures of
# scripts/make_train_reference.py: bi (MNRL) and ce (BCE) with --no-shuffle
# --dropout 0 give the losses torch.optim.AdamW gave (1e-4 relative, from the
# log), the same lr per step; the checkpoint loads in `winnow embed` / `score`
# unchanged; a fixed seed with dropout on reproduces the run bit for bit and
# does not depend on --threads; malformed data is reported with file and line;
# nothing is printed when stderr is not a terminal.
: "${BUILD:=build}"
W="$BUILD/winnow"
FX=tests/fixtures/train
[ -x "$W" ] || { echo "t_train_cli: $W is not built"; exit 1; }
. "${0%/*}/lib.sh"
t_tmp train
expect_err() { grep -qF -- "$1" "$T/err" || { fail "$2: stderr lacks '$1':"; cat "$T/err"; }; }

# losses of the log against the fixture's list (relative 1e-4), lr to 1e-9
cmp_log() { # log fixture.json what
    exp=$(grep -o '"losses": \[[^]]*\]' "$2" | sed 's/.*\[//; s/\]//; s/,/ /g')
    lrs=$(grep -o '"lrs": \[[^]]*\]' "$2" | sed 's/.*\[//; s/\]//; s/,/ /g')
    awk -v want="$exp" -v lrs="$lrs" -v what="$3" '
        BEGIN { n = split(want, e, " "); split(lrs, r, " ") }
        { line = $0
          sub(/.*"loss": /, "", line); sub(/,.*/, "", line); l = line + 0
          line = $0; sub(/.*"lr": /, "", line); sub(/,.*/, "", line); lr = line + 0
          k++; d = (l - e[k]) / e[k]; if (d < 0) d = -d
          dl = lr - r[k]; if (dl < 0) dl = -dl
          printf "%s step %d: loss %.9g torch %.9g (rel %.2e), lr %.9g torch %.9g\n", what, k, l, e[k], d, lr, r[k]
          if (d > 1e-4 || dl > 1e-9) bad++ }
        END { if (k != n) { printf "%s: %d log lines, expected %d\n", what, k, n; bad++ }; exit bad > 0 }' "$1"
}

common="--no-shuffle --dropout 0 --steps 4 --batch 4 --lr 1e-3 --warmup 1 --weight-decay 0.01 --max-grad-norm 1 --max-length 16"

# 1. bi: losses as PyTorch's, checkpoint loads in embed
"$W" train bi --model "$FX/adam-bi" --data "$FX/adam_bi.jsonl" --out "$T/bi" $common --log "$T/bi.log" \
    >"$T/out" 2>"$T/err" || fail "train bi: exit $? ($(cat "$T/err"))"
[ -s "$T/err" ] && fail "train bi printed on a non-terminal stderr: $(cat "$T/err")"
[ -s "$T/out" ] && fail "train bi printed on stdout: $(cat "$T/out")"
cmp_log "$T/bi.log" "$FX/adam_bi.json" "bi" || fail "bi losses"
for f in config.json model.safetensors vocab.txt modules.json 1_Pooling/config.json sentence_bert_config.json; do
    [ -s "$T/bi/$f" ] || fail "bi checkpoint lacks $f"
done
ls "$T/bi" | grep -q tmp && fail "a temporary file is left in the checkpoint: $(ls "$T/bi")"
echo "the first city" | "$W" embed --model "$T/bi" >"$T/emb" 2>"$T/err" || fail "embed of the checkpoint: $(cat "$T/err")"
grep -q '^{"embedding":\[' "$T/emb" || fail "embed of the checkpoint: $(cat "$T/emb")"

# 2. ce: losses, checkpoint loads in score
"$W" train ce --model "$FX/adam-ce" --data "$FX/adam_ce.jsonl" --out "$T/ce" $common --log "$T/ce.log" \
    2>"$T/err" || fail "train ce: exit $? ($(cat "$T/err"))"
cmp_log "$T/ce.log" "$FX/adam_ce.json" "ce" || fail "ce losses"
printf 'the first city\ta film about music\n' | "$W" score --model "$T/ce" >"$T/sc" 2>"$T/err" ||
    fail "score with the checkpoint: $(cat "$T/err")"
[ -s "$T/sc" ] || fail "score printed nothing"

# 3. dropout on, shuffled: the same seed gives the same bytes, whatever the threads
"$W" train bi --model "$FX/adam-bi" --data "$FX/adam_bi.jsonl" --out "$T/r1" --steps 3 --batch 4 --lr 1e-3 \
    --dropout 0.1 --seed 7 --threads 1 --log "$T/r1.log" 2>"$T/err" || fail "seeded run 1: $(cat "$T/err")"
"$W" train bi --model "$FX/adam-bi" --data "$FX/adam_bi.jsonl" --out "$T/r2" --steps 3 --batch 4 --lr 1e-3 \
    --dropout 0.1 --seed 7 --threads 2 --log "$T/r2.log" 2>"$T/err" || fail "seeded run 2: $(cat "$T/err")"
cmp -s "$T/r1/model.safetensors" "$T/r2/model.safetensors" || fail "same seed, different weights (1 vs 2 threads)"
sed 's/"seconds": [0-9.]*//' "$T/r1.log" >"$T/l1"; sed 's/"seconds": [0-9.]*//' "$T/r2.log" >"$T/l2"
cmp -s "$T/l1" "$T/l2" || fail "same seed, different logs"
"$W" train bi --model "$FX/adam-bi" --data "$FX/adam_bi.jsonl" --out "$T/r3" --steps 3 --batch 4 --lr 1e-3 \
    --dropout 0.1 --seed 8 2>"$T/err" || fail "seeded run 3: $(cat "$T/err")"
cmp -s "$T/r1/model.safetensors" "$T/r3/model.safetensors" && fail "seeds 7 and 8 gave the same weights"

# 4. kill -9 and --resume: the resumed run ends with the uninterrupted run's bytes
long="--steps 120 --batch 4 --lr 1e-3 --warmup 10 --dropout 0.1 --seed 3 --save-every 1 --threads 1"
"$W" train bi --model "$FX/adam-bi" --data "$FX/adam_bi.jsonl" --out "$T/full" $long 2>"$T/err" ||
    fail "uninterrupted run: $(cat "$T/err")"
"$W" train bi --model "$FX/adam-bi" --data "$FX/adam_bi.jsonl" --out "$T/cut" $long --log "$T/cut.log" 2>"$T/err" &
KP=$!
i=0
while [ ! -e "$T/cut/trainer_state.wnts" ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done
sleep 0.05
kill -9 $KP 2>/dev/null && echo "killed the run after $(wc -l <"$T/cut.log") logged updates"
wait $KP 2>/dev/null
for f in "$T"/cut/*; do case "$f" in *.tmp.*) ;; *) [ -s "$f" ] || fail "empty file under its final name: $f" ;; esac; done
echo "a b" | "$W" embed --model "$T/cut" >/dev/null 2>"$T/err" || fail "the interrupted checkpoint does not load: $(cat "$T/err")"
"$W" train bi --model "$FX/adam-bi" --data "$FX/adam_bi.jsonl" --out "$T/cut" $long --log "$T/cut.log" --resume \
    2>"$T/err" || fail "resume: $(cat "$T/err")"
cmp -s "$T/full/model.safetensors" "$T/cut/model.safetensors" || fail "resumed run differs from the uninterrupted one"
[ "$(grep -c '"step": 120,' "$T/cut.log")" = 1 ] || fail "the resumed log does not end at step 120 once"
"$W" train bi --model "$FX/adam-bi" --data "$FX/adam_bi.jsonl" --out "$T/cut" $long --seed 4 --resume 2>"$T/err" &&
    fail "resume with another seed accepted"
expect_err "a resumed run must repeat it" "resume with another seed"

# 5. --dev: with lr 0 the weights stay, so the dev loss over the training file is the mean of the 4 batch losses
"$W" train bi --model "$FX/adam-bi" --data "$FX/adam_bi.jsonl" --dev "$FX/adam_bi.jsonl" --eval-every 2 --out "$T/dev" \
    --steps 4 --batch 4 --lr 0 --no-shuffle --dropout 0.1 --max-length 16 --log "$T/dev.log" 2>"$T/err" ||
    fail "--dev run: $(cat "$T/err")"
[ "$(grep -c dev_loss "$T/dev.log")" = 2 ] || fail "expected 2 dev evaluations: $(cat "$T/dev.log")"
"$W" train bi --model "$FX/adam-bi" --data "$FX/adam_bi.jsonl" --dev "$FX/adam_bi.jsonl" --out "$T/dev" \
    --steps 4 --batch 4 --lr 0 --no-shuffle --dropout 0 --max-length 16 --log "$T/dev.log" 2>"$T/err" ||
    fail "--dev run: $(cat "$T/err")"
awk '/"loss"/ { l = $0; sub(/.*"loss": /, "", l); sub(/,.*/, "", l); s += l; n++ }
     /dev_loss/ { d = $0; sub(/.*"dev_loss": /, "", d); sub(/,.*/, "", d) }
     END { m = s / n; e = (d - m) / m; if (e < 0) e = -e
           printf "dev loss %.9g, mean of the batch losses %.9g\n", d, m; exit !(n == 4 && e < 1e-6) }' "$T/dev.log" ||
    fail "dev loss is not the mean of the batch losses at lr 0"

# 6. --config: a new model from a config.json (no weights), HF's initialisation from --seed
mkdir -p "$T/cfg"
cp "$FX/adam-bi/config.json" "$FX/adam-bi/vocab.txt" "$FX/adam-bi/tokenizer_config.json" "$T/cfg/"
for s in 1 1 2; do
    "$W" train bi --config "$T/cfg/config.json" --data "$FX/adam_bi.jsonl" --out "$T/new$s.$$" --steps 2 --batch 4 \
        --seed $s 2>"$T/err" || fail "--config run: $(cat "$T/err")"
    [ -d "$T/new$s" ] || mv "$T/new$s.$$" "$T/new$s"
done
cmp -s "$T/new1/model.safetensors" "$T/new1.$$/model.safetensors" || fail "--config: same seed, different model"
cmp -s "$T/new1/model.safetensors" "$T/new2/model.safetensors" && fail "--config: seeds 1 and 2 gave the same model"
cmp -s "$T/cfg/config.json" "$T/new1/config.json" || fail "--config: the checkpoint's config.json is not the given one"
echo "a b" | "$W" embed --model "$T/new1" >/dev/null 2>"$T/err" || fail "--config checkpoint does not load: $(cat "$T/err")"

# 7. mlm: {"text"} rows; from a bi-encoder (a new head) and from a config; the loss falls
#    on a small repeated corpus; the checkpoint (bert.* + cls.*) still embeds
sed 's/.*"positive": \("[^"]*"\).*/{"text": \1}/' "$FX/adam_bi.jsonl" >"$T/text.jsonl"
"$W" train mlm --model "$FX/adam-bi" --data "$T/text.jsonl" --out "$T/mlm" --steps 60 --batch 8 --lr 3e-3 \
    --dropout 0 --mlm-prob 0.3 --log "$T/mlm.log" 2>"$T/err" || fail "train mlm: $(cat "$T/err")"
awk '/"loss"/ { l = $0; sub(/.*"loss": /, "", l); sub(/,.*/, "", l); n++; if (n <= 10) a += l; else if (n > 50) b += l }
     END { printf "mlm: mean loss of updates 1-10 %.4f, 51-60 %.4f\n", a / 10, b / 10; exit !(n == 60 && b < 0.8 * a) }' \
    "$T/mlm.log" || fail "mlm loss did not fall by 20%"
echo "a b" | "$W" embed --model "$T/mlm" >/dev/null 2>"$T/err" || fail "mlm checkpoint does not embed: $(cat "$T/err")"
"$W" train mlm --config "$T/cfg/config.json" --data "$T/text.jsonl" --out "$T/mlm2" --steps 2 --batch 4 2>"$T/err" ||
    fail "train mlm --config: $(cat "$T/err")"
printf '{"text": "a b"}\n{"txt": "c"}\n' >"$T/badt.jsonl"
"$W" train mlm --model "$FX/adam-bi" --data "$T/badt.jsonl" --out "$T/x" 2>"$T/err" && fail "mlm row without text accepted"
expect_err 'badt.jsonl:2: missing "text"' "mlm missing text"

# 8. errors: malformed lines with file and line, missing fields, usage
printf '{"query": "a", "positive": "b"}\n{"query": "a", "positive": \n' >"$T/bad1.jsonl"
"$W" train bi --model "$FX/adam-bi" --data "$T/bad1.jsonl" --out "$T/x" 2>"$T/err" && fail "bad JSON accepted"
expect_err "bad1.jsonl:2:" "bad JSON"
printf '{"query": "a", "positive": "b"}\n\n{"query": "a"}\n' >"$T/bad2.jsonl"
"$W" train bi --model "$FX/adam-bi" --data "$T/bad2.jsonl" --out "$T/x" 2>"$T/err" && fail "missing positive accepted"
expect_err 'bad2.jsonl:3: missing "positive"' "missing field"
printf '{"query": "", "document": "b", "label": 1}\n' >"$T/bad3.jsonl"
"$W" train ce --model "$FX/adam-ce" --data "$T/bad3.jsonl" --out "$T/x" 2>"$T/err" && fail "empty query accepted"
expect_err 'bad3.jsonl:1: empty "query"' "empty text"
printf '{"query": "a", "document": "b", "label": 3}\n' >"$T/bad4.jsonl"
"$W" train ce --model "$FX/adam-ce" --data "$T/bad4.jsonl" --out "$T/x" 2>"$T/err" && fail "label 3 accepted"
expect_err 'bad4.jsonl:1: "label" 3 is outside [0, 1]' "bad label"
"$W" train ce --model "$FX/adam-bi" --data "$FX/adam_ce.jsonl" --out "$T/x" 2>"$T/err" && fail "ce on a bi-encoder"
expect_err "is a bi-encoder" "wrong task"
"$W" train bi --model "$FX/adam-bi" --out "$T/x" 2>"$T/err"; [ $? -eq 2 ] || fail "missing --data: not a usage error"
[ -e "$T/x/model.safetensors" ] && fail "a failed run wrote a checkpoint"
t_done
