#!/bin/sh
# t_serve_prompts.sh - prompts and label names in `winnow serve`: a bi-encoder with
# sentence-transformers prompts (config_sentence_transformers.json) gets its default
# prompt on /embed and /v1/embeddings, as `winnow embed` (and sentence-transformers'
# encode) put it; TEI's "prompt_name" picks another, as `winnow embed --prompt-name`;
# an unknown name is a 422 that lists the model's prompts. A classifier's id2label
# names are /predict's labels and /info's id2label.
: "${BUILD:=build}"
W="$BUILD/winnow"
PY=/usr/bin/python3
. "${0%/*}/lib.sh"
[ -x "$W" ] || { echo "FAIL: $W is not built"; exit 1; }
[ -x "$PY" ] || skip_or_fail "python3 absent (scripts/deps.sh installs it)"
t_tmp serve_prompts
cp -r tests/fixtures/model/tiny-bi "$T/bi"
printf '{"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": "query"}\n' \
    >"$T/bi/config_sentence_transformers.json"
cp -r tests/fixtures/model/tiny-ce "$T/ce"
sed 's/"0": "LABEL_0"/"0": "relevant"/' tests/fixtures/model/tiny-ce/config.json >"$T/ce/config.json"
grep -q '"relevant"' "$T/ce/config.json" || fail "the test's classifier config"
printf 'hello world\nThe quick brown fox.\n' >"$T/texts"
"$W" embed --model "$T/bi" "$T/texts" >"$T/default" || fail "winnow embed"
"$W" embed --model "$T/bi" --prompt-name passage "$T/texts" >"$T/passage" || fail "winnow embed --prompt-name"
"$W" embed --model "$T/bi" --prompt "" "$T/texts" >"$T/none" || fail "winnow embed --prompt ''"
cmp -s "$T/default" "$T/none" && fail "the default prompt changes nothing: the test cannot tell"
"$W" serve --embed "$T/bi" --rerank "$T/ce" --port 0 --threads 1 2>"$T/err" &
PID=$!
i=0
while ! grep -q "listening on" "$T/err" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(sed -n 's/.*listening on http:[^:]*:\([0-9]*\).*/\1/p' "$T/err")
[ -n "$PORT" ] || { cat "$T/err"; fail "the server did not start"; t_done; }
"$PY" - "$PORT" "$T" <<'PY' || fail "prompts"
import http.client, json, sys
port, t = int(sys.argv[1]), sys.argv[2]
texts = open(t + "/texts").read().splitlines()
want = {k: [json.loads(l)["embedding"] for l in open("%s/%s" % (t, k))] for k in ("default", "passage")}
bad = 0
def req(path, body=None, method="POST"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, json.loads(r.read())
def same(name, got, w):
    global bad
    good = len(got) == len(w) and all(abs(a - b) <= 1e-5 for g, x in zip(got, w) for a, b in zip(g, x))
    print("%s %s" % ("ok  " if good else "FAIL", name))
    bad += not good
st, js = req("/embed", {"inputs": texts})
same("/embed: the default prompt, as winnow embed", js if st == 200 else [], want["default"])
st, js = req("/embed", {"inputs": texts, "prompt_name": "passage"})
same("/embed prompt_name passage, as winnow embed --prompt-name passage", js if st == 200 else [], want["passage"])
st, js = req("/v1/embeddings", {"input": texts, "model": "m", "encoding_format": "float"})
same("/v1/embeddings: the default prompt", [d["embedding"] for d in js["data"]] if st == 200 else [], want["default"])
st, js = req("/embed", {"inputs": texts, "prompt_name": "nope"})
good = st == 422 and "nope" in js.get("error", "") and "'passage'" in js["error"] and "'query'" in js["error"]
print("%s unknown prompt_name: %d %s" % ("ok  " if good else "FAIL", st, js)); bad += not good
st, js = req("/embed", {"inputs": texts, "prompt_name": 3})
good = st == 422
print("%s prompt_name not a string: %d" % ("ok  " if good else "FAIL", st)); bad += not good
st, js = req("/predict", {"inputs": ["hello", "world"]})
good = st == 200 and js[0]["label"] == "relevant"
print("%s /predict label from id2label: %s" % ("ok  " if good else "FAIL", js)); bad += not good
st, js = req("/info", method="GET")
good = st == 200 and isinstance(js.get("model_type"), dict)
print("%s /info: %s" % ("ok  " if good else "FAIL", js.get("model_type"))); bad += not good
sys.exit(1 if bad else 0)
PY
kill "$PID"; wait "$PID" 2>/dev/null; PID=
# a classifier alone: /info names its labels
"$W" serve --rerank "$T/ce" --port 0 --threads 1 2>"$T/err2" &
PID=$!
i=0
while ! grep -q "listening on" "$T/err2" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(sed -n 's/.*listening on http:[^:]*:\([0-9]*\).*/\1/p' "$T/err2")
"$PY" -c '
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30); c.request("GET", "/info")
j = json.loads(c.getresponse().read())
ok = j["model_type"] == {"classifier": {"num_labels": 1, "id2label": {"0": "relevant"}}}
print("%s /info classifier: %s" % ("ok  " if ok else "FAIL", j["model_type"])); sys.exit(0 if ok else 1)' "$PORT" ||
    fail "/info of a classifier"
kill "$PID"; wait "$PID" 2>/dev/null; PID=
t_done
echo "t_serve_prompts: all passed"
