#!/bin/sh
# train_small_embed.sh [OUT] - reproduces models/winnow-small-embed from scratch:
# the Debian pairs (scripts/make_training_data.sh, apt-get installs what it needs),
# then winnow train-static with the settings of the shipped model. The tokenizer
# shipped with the model (bert-base-uncased's) is read from
# models/winnow-small-embed/0_StaticEmbedding unless TOKENIZER says otherwise.
# Time on this machine (2 cores, shared): see models/README.md.
set -e
OUT=${1:-models/winnow-small-embed}
DATA=${DATA:-/tmp/winnow-train-data}
W=${WINNOW:-build/winnow}
TOK=${TOKENIZER:-models/winnow-small-embed/0_StaticEmbedding}
[ -x "$W" ] || make -j2 all
sh "$(dirname "$0")/make_training_data.sh" "$DATA"
# the tokenizer files are copied into OUT: keep a copy when OUT is their source
TMPTOK=$(mktemp -d)
trap 'rm -rf "$TMPTOK"' EXIT
cp "$TOK/tokenizer.json" "$TOK/vocab.txt" "$TMPTOK/"
FILES=$DATA/debian-descriptions.jsonl,$DATA/manpages.jsonl,$DATA/wordnet.jsonl,$DATA/gcide.jsonl,$DATA/foldoc.jsonl,$DATA/jargon.jsonl
$W train-static --data "$FILES" --tokenizer "$TMPTOK" --out "$OUT" ${TRAIN_ARGS:---dim 256 --steps 6000 --batch 256 --lr 5e-3 --seed 42} \
    --log "$OUT.train.log"
