#!/bin/sh
# train_small_rerank.sh [OUT] - reproduces models/winnow-small-rerank from
# models/winnow-small-embed (run scripts/train_small_embed.sh first for the whole chain
# from scratch): the embedding table projected on its 128 leading singular directions,
# F16, declared a pair scorer with its own interpolation with the first stage
# (scripts/make_small_rerank.py). A few seconds. The interpolation, 0.5, was chosen on
# the demo's Debian collection (models/README.md), not on the evaluation collections.
set -e
OUT=${1:-models/winnow-small-rerank}
EMBED=${EMBED:-models/winnow-small-embed}
DIM=${DIM:-128}
INTERP=${INTERP:-0.5}
/usr/bin/python3 "$(dirname "$0")/make_small_rerank.py" "$EMBED" "$OUT" "$DIM" "$INTERP"
