#!/bin/sh
# t_serve.sh - `winnow serve` over real HTTP on an ephemeral loopback port, driven by
# tests/tools/serve_check.py (Python's http.client and raw sockets): every endpoint's
# shape and numbers against `winnow embed/score/tokenize/search` and the PyTorch
# fixtures; /tokenize of a Unigram (XLM-R layout) model against HF's offsets
# (tests/fixtures/tokenizer/hf_unigram_xlmr_offsets.jsonl); 400/401/404/405/413/422
# errors in TEI's and OpenAI's shapes; a flood past --max-concurrent (only 200 and
# 429); 150 concurrent connections; slow, garbage and vanishing clients; SIGTERM
# draining a request in flight, then exit 0. Every server the checker starts is
# stopped by it (SIGTERM, then SIGKILL).
: "${BUILD:=build}"
W="$BUILD/winnow"
PY=/usr/bin/python3
. "${0%/*}/lib.sh"
[ -x "$W" ] || { echo "FAIL: $W is not built"; exit 1; }
[ -x "$PY" ] || skip_or_fail "python3 absent (scripts/deps.sh installs it)"
t_tmp serve
"$PY" tests/tools/serve_check.py "$W" "$T" all || fail "serve_check.py"
t_done
echo "t_serve: all passed"
