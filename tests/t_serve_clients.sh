#!/bin/sh
# t_serve_clients.sh - real clients that nobody here wrote, against `winnow serve`:
# the `openai` npm package's embeddings.create (its default base64 encoding and
# float) on /v1/embeddings, its AuthenticationError on a wrong key, and
# @huggingface/inference's featureExtraction on /embed (TEI), and cohere-ai's rerank
# (v1 client on /v1/rerank, v2 client on /v2/rerank). Their embeddings must equal
# `winnow embed`'s on the same texts (1e-5), their relevance scores the sigmoid of
# `winnow score`'s logits, best first. The packages are reference tools,
# not dependencies: SKIPPED unless installed with
#   (cd tests/tools/clients && npm i --no-audit --no-fund)
: "${BUILD:=build}"
W="$BUILD/winnow"
FX=tests/fixtures/model
CL=tests/tools/clients
. "${0%/*}/lib.sh"
[ -x "$W" ] || { echo "FAIL: $W is not built"; exit 1; }
command -v node >/dev/null 2>&1 || { echo "SKIPPED: node is not installed"; exit 77; }
[ -f "$CL/node_modules/openai/package.json" ] && [ -f "$CL/node_modules/@huggingface/inference/package.json" ] &&
    [ -f "$CL/node_modules/cohere-ai/package.json" ] ||
    { echo "SKIPPED: the npm clients are not installed (cd $CL && npm i --no-audit --no-fund)"; exit 77; }
t_tmp serve_clients
"$W" serve --embed "$FX/tiny-bi" --rerank "$FX/tiny-ce" --port 0 --threads 1 --api-key k3y 2>"$T/err" &
PID=$!
i=0
while ! grep -q "listening on" "$T/err" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(sed -n 's/.*listening on http:[^:]*:\([0-9]*\).*/\1/p' "$T/err")
[ -n "$PORT" ] || { cat "$T/err"; fail "the server did not start"; t_done; }
printf 'hello world\nThe quick brown fox jumps over the lazy dog.\nsecond text, with punctuation!\n' >"$T/texts"
"$W" embed --model "$FX/tiny-bi" "$T/texts" >"$T/cli" || fail "winnow embed"
Q="what does the fox do?"
sed "s/^/$Q\t/" "$T/texts" | "$W" score --model "$FX/tiny-ce" >"$T/scores" || fail "winnow score"
TEXTS=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read().splitlines()))' "$T/texts")
timeout 60 node "$CL/serve_clients.js" "$PORT" k3y "$TEXTS" "$Q" >"$T/out" 2>"$T/node.err" || { cat "$T/node.err"; fail "node clients"; }
/usr/bin/python3 - "$T/out" "$T/cli" "$T/scores" "$T/texts" <<'PY' || fail "client results"
import json, math, sys
out = json.load(open(sys.argv[1]))
cli = [json.loads(l)["embedding"] for l in open(sys.argv[2])]
logit = [json.loads(l)["score"] for l in open(sys.argv[3])]
texts = open(sys.argv[4]).read().splitlines()
want = sorted(((1 / (1 + math.exp(-x)), i) for i, x in enumerate(logit)), key=lambda t: -t[0])
bad = 0
def check(name, got):
    global bad
    worst = max(abs(a - b) for g, c in zip(got, cli) for a, b in zip(g, c)) if len(got) == len(cli) else 1
    good = len(got) == len(cli) and all(len(g) == len(c) for g, c in zip(got, cli)) and worst <= 1e-5
    print("%s %s: worst |diff| %g" % ("ok  " if good else "FAIL", name, worst))
    bad += not good
check("openai embeddings.create (base64)", out["openai_base64"])
check("openai embeddings.create (float)", out["openai_float"])
check("@huggingface/inference featureExtraction on /embed", out["hf"])
d = out["denied"] or {}
good = d.get("status") == 401 and d.get("name") == "AuthenticationError"
print("%s openai client on a wrong key: %s" % ("ok  " if good else "FAIL", d))
good2 = out["usage"]["prompt_tokens"] > 0 and out["model"] == "tiny"
print("%s usage and model: %s %s" % ("ok  " if good2 else "FAIL", out["usage"], out["model"]))
def ranked(name, got, n, docs):
    global bad
    good = len(got) == n and all(g["index"] == w[1] and abs(g["relevanceScore"] - w[0]) <= 1e-5 for g, w in zip(got, want))
    if docs:
        good = good and all(g.get("document", {}).get("text") == texts[g["index"]] for g in got)
    print("%s %s: %s" % ("ok  " if good else "FAIL", name, [(g["index"], g["relevanceScore"]) for g in got]))
    bad += not good
ranked("cohere-ai CohereClient.rerank (/v1/rerank, topN 2, documents)", out.get("cohere_v1", []), 2, True)
ranked("cohere-ai CohereClientV2.rerank (/v2/rerank)", out.get("cohere_v2", []), len(texts), False)
sys.exit(1 if bad or not good or not good2 else 0)
PY
kill "$PID"; wait "$PID" 2>/dev/null; PID=
t_done
echo "t_serve_clients: all passed"
