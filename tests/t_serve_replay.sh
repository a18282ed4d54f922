#!/bin/sh
# t_serve_replay.sh - the requests real clients sent, replayed to `winnow serve` without
# the clients: tests/fixtures/serve/client_requests.jsonl was recorded by
# scripts/capture_client_requests.py from the openai, @huggingface/inference and
# cohere-ai npm packages (tests/t_serve_clients.sh runs the clients themselves when
# they are installed). Each body, byte for byte, with its content type and key, must
# get the status it got then and a response of the same shape (the keys and types
# those clients parsed): a change in what the server accepts or answers that would
# break them fails here, in every `make check`.
: "${BUILD:=build}"
W="$BUILD/winnow"
PY=/usr/bin/python3
FX=tests/fixtures/serve/client_requests.jsonl
. "${0%/*}/lib.sh"
[ -x "$W" ] || { echo "FAIL: $W is not built"; exit 1; }
[ -x "$PY" ] || skip_or_fail "python3 absent (scripts/deps.sh installs it)"
[ -f "$FX" ] || { echo "FAIL: $FX is missing"; exit 1; }
t_tmp serve_replay
"$W" serve --embed tests/fixtures/model/tiny-bi --rerank tests/fixtures/model/tiny-ce --port 0 --threads 1 \
    --api-key k3y 2>"$T/err" &
PID=$!
i=0
while ! grep -q "listening on" "$T/err" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(sed -n 's/.*listening on http:[^:]*:\([0-9]*\).*/\1/p' "$T/err")
[ -n "$PORT" ] || { cat "$T/err"; kill "$PID"; fail "the server did not start"; t_done; }
"$PY" - "$PORT" "$FX" <<'PY' || fail "replay"
import http.client, json, sys
sys.path.insert(0, "tests/tools")
from json_shape import shape  # the shape capture_client_requests.py recorded
port, fx = int(sys.argv[1]), sys.argv[2]
bad = n = 0
for line in open(fx):
    r = json.loads(line)
    n += 1
    h = {"Content-Type": r["content_type"]}
    if r["auth"] != "none":
        h["Authorization"] = "Bearer " + ("k3y" if r["auth"] == "bearer" else "wrong")
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(r["method"], r["path"], body=r["body"].encode(), headers=h)
    resp = c.getresponse()
    data = resp.read()
    try:
        got = shape(json.loads(data))
    except ValueError:
        got = "not JSON: %r" % data[:80]
    good = resp.status == r["status"] and got == r["shape"]
    print("%s %s %s -> %d%s" % ("ok  " if good else "FAIL", r["client"], r["path"], resp.status,
                                "" if good else "\n  want %d %s\n  got  %s" % (r["status"], r["shape"], got)))
    bad += not good
if n < 6:
    print("FAIL: only %d recorded requests in %s" % (n, fx)); bad += 1
sys.exit(1 if bad else 0)
PY
kill "$PID"; wait "$PID" 2>/dev/null; PID=
t_done
echo "t_serve_replay: all passed"
