#!/bin/sh
# check_mpnet_full.sh - winnow embed on random all-mpnet-base-v2 models at full
# shape (12 layers x 768, the real config.json and tokenizer files from
# ../shared/models/all-mpnet-base-v2, 438 MB of float32 weights) against the
# PyTorch reference of scripts/make_reference_families.py --full, on texts the
# committed fixtures do not use (CISI and MED documents, CACM queries, one text
# past 384 tokens). Two weight draws: HF's init (normal 0.02, LayerNorm 1/0, the
# relative bias table normal 1) and a wide uniform one. Needs python3-torch and
# npm tokenizers@0.23.2 (NODE_PATH). Not part of `make check` (time, disk).
#   NODE_PATH=/tmp/hf/node_modules sh scripts/check_mpnet_full.sh [DIR]
set -e
: "${BUILD:=build}"
D="${1:-/tmp/wn_mpnet_full}"
for init in hf wide; do
    rm -rf "$D"
    /usr/bin/python3 scripts/make_reference_families.py --full "$D" --init "$init"
    for th in 2 1; do
        "$BUILD/winnow" embed --model "$D" --threads $th "$D/texts.txt" >"$D/got.jsonl"
        awk -v what="full all-mpnet-base-v2 ($init init, $th threads)" '
            function nums(line, arr,   n, i, k, parts) {
                gsub(/[^-0-9.eE+]+/, " ", line); n = split(line, parts, " "); k = 0
                for (i = 1; i <= n; i++) if (parts[i] ~ /[0-9]/) arr[++k] = parts[i] + 0
                return k
            }
            NR == FNR { g[NR] = $0; ng = NR; next }
            { ne = FNR; a = nums(g[FNR], x); b = nums($0, y); if (a != b) bad++
              for (i = 1; i <= a; i++) { d = x[i] - y[i]; if (d < 0) d = -d; if (d > worst) worst = d; if (d > 1e-4) bad++ } }
            END { if (ng != ne) bad++
                  printf "%s: %d texts, worst |diff| %g (tolerance 1e-4)%s\n", what, ne, worst, bad ? "  FAIL" : ""
                  exit bad > 0 }' "$D/got.jsonl" "$D/expected.jsonl"
    done
done
rm -rf "$D"
