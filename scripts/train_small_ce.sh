#!/bin/sh
# train_small_ce.sh [OUT] - the small BERT cross-encoder of winnow-small-rerank v0 (no longer
# bundled: models/README.md, "v0"), from scratch; default OUT /tmp/winnow-small-ce:
#   1. the Debian pairs (scripts/make_training_data.sh; apt-get installs what it needs);
#   2. the re-ranker's rows (scripts/make_rerank_data.py): synopsis -> description,
#      inverse cloze over the descriptions, FOLDOC / Jargon / a WordNet sample; BM25
#      negatives mined with `winnow mine` over all positives, near duplicates dropped,
#      2 hard + 1 random negative per row;
#   3. a new BertForSequenceClassification (2 layers, hidden 128, 2 heads, FFN 512,
#      128 positions, bert-base-uncased vocabulary: scripts/small_ce.config.json)
#      whose word embeddings start from winnow-small-embed's table (scripts/init_rerank.py);
#   4. `winnow train ce --listwise` (softmax over the positive and its 3 negatives);
#   5. scripts/package_rerank.py: F16, config with its interpolation with the first stage.
# Time on this machine: models/README.md. Same data, seed and settings: same bytes.
set -e
OUT=${1:-/tmp/winnow-small-ce}
DATA=${DATA:-/tmp/winnow-train-data}
WORK=${WORK:-/tmp/winnow-rerank-work}
W=${WINNOW:-build/winnow}
EMBED=${EMBED:-models/winnow-small-embed}
STEPS=${STEPS:-1600}
INTERP=${INTERP:-0.7}  # chosen on the demo's Debian collection (models/README.md)
S=$(dirname "$0")
[ -x "$W" ] || make -j2 all
[ -f "$DATA/debian-descriptions.jsonl" ] || sh "$S/make_training_data.sh" "$DATA"
mkdir -p "$WORK"
/usr/bin/python3 "$S/make_rerank_data.py" pairs "$DATA" "$WORK/data"
"$W" index --corpus "$WORK/data/corpus.jsonl" --out "$WORK/data/bm25" --bm25 --force >/dev/null
"$W" mine --index "$WORK/data/bm25" --data "$WORK/data/rows.jsonl" --out "$WORK/data/mined.jsonl" \
    --per-query 6 --depth 30 --skip-top 0 --first-stage bm25
/usr/bin/python3 "$S/make_rerank_data.py" listwise "$WORK/data" 3
# the new model's directory: its config and bert-base-uncased's tokenizer files
mkdir -p "$WORK/cfg"
cp "$S/small_ce.config.json" "$WORK/cfg/config.json"
cp "$EMBED/0_StaticEmbedding/vocab.txt" "$EMBED/0_StaticEmbedding/tokenizer.json" "$WORK/cfg/"
cat > "$WORK/cfg/tokenizer_config.json" <<'J'
{
 "clean_up_tokenization_spaces": true,
 "cls_token": "[CLS]",
 "do_basic_tokenize": true,
 "do_lower_case": true,
 "mask_token": "[MASK]",
 "model_max_length": 128,
 "never_split": null,
 "pad_token": "[PAD]",
 "sep_token": "[SEP]",
 "strip_accents": null,
 "tokenize_chinese_chars": true,
 "tokenizer_class": "BertTokenizer",
 "unk_token": "[UNK]"
}
J
printf '{\n  "cls_token": "[CLS]",\n  "mask_token": "[MASK]",\n  "pad_token": "[PAD]",\n  "sep_token": "[SEP]",\n  "unk_token": "[UNK]"\n}' \
    > "$WORK/cfg/special_tokens_map.json"
rm -rf "$WORK/init" "$WORK/run"
"$W" train ce --listwise --config "$WORK/cfg/config.json" --data "$WORK/data/listwise.jsonl" --out "$WORK/init" \
    --steps 1 --lr 0 --batch 2 --max-length 128 >/dev/null
/usr/bin/python3 "$S/init_rerank.py" "$WORK/init" "$EMBED"
"$W" train ce --listwise --model "$WORK/init" --data "$WORK/data/listwise.jsonl" --out "$WORK/run" \
    --steps "$STEPS" --batch 16 --lr 5e-4 --warmup 100 --max-length 128 --seed 42 --save-every 200 --log "$WORK/train.log"
awk 'NR % 10 == 0' "$WORK/train.log" > "$OUT.train.log"
/usr/bin/python3 "$S/package_rerank.py" "$WORK/run" "$OUT" "$INTERP"
