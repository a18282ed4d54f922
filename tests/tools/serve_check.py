#!/usr/bin/env python3
"""serve_check.py - drives `winnow serve` over real HTTP (http.client and raw sockets,
nothing of winnow's) for tests/t_serve.sh. Each check starts the real server on an
ephemeral loopback port (--port 0; the port is read from its "listening on" line) with
the tiny fixture models, and always stops it (SIGTERM, then SIGKILL).

    serve_check.py WINNOW TMPDIR PART    (PART: api | unigram | errors | load | search | all)

Numbers are compared with `winnow embed` / `winnow score` / `winnow tokenize` /
`winnow search` run on the same inputs, and with the PyTorch reference fixtures
(tests/fixtures/model/cli_*.expected). Prints one line per check, "FAIL ..." for
failures, and exits 1 if any failed.
"""
import base64
import http.client
import json
import math
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

W, TMP, PART = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "all"
FX = "tests/fixtures/model"
BI, CE = f"{FX}/tiny-bi", f"{FX}/tiny-ce"
fails = 0


def ok(cond, what, detail=""):
    global fails
    if cond:
        print(f"ok   {what}")
    else:
        fails += 1
        print(f"FAIL {what} {detail}")
    return cond


class Server:
    def __init__(self, *args, env=None):
        self.err = open(os.path.join(TMP, "serve.err"), "w+")
        e = dict(os.environ)
        e.pop("WINNOW_API_KEY", None)
        e.update(env or {})
        self.p = subprocess.Popen([W, "serve", "--port", "0", "--threads", "1", *args],
                                  stdout=subprocess.DEVNULL, stderr=self.err, env=e)
        self.port = None
        deadline = time.time() + 20
        while time.time() < deadline and self.p.poll() is None:
            self.err.seek(0)
            for line in self.err.read().splitlines():
                if "listening on http://" in line:
                    self.port = int(line.rsplit(":", 1)[1].split()[0])
            if self.port:
                return
            time.sleep(0.05)
        self.err.seek(0)
        raise RuntimeError("server did not start: " + self.err.read())

    def stop(self, timeout=20):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None

    def req(self, method, path, body=None, headers=None, raw=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        out = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        try:
            js = json.loads(out) if out else None
        except ValueError:
            js = out.decode("utf-8", "replace")
        return r.status, js, hdrs


def run(*args, stdin=None):
    return subprocess.run([W, *args], input=stdin, capture_output=True, text=True, check=True).stdout


def close(a, b, tol):
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def lines(path):
    return open(path, encoding="utf-8").read().split("\n")[:-1]


def check_api():
    texts_all = lines(f"{FX}/cli_embed.txt")
    want_all = [json.loads(l)["embedding"] for l in lines(f"{FX}/cli_embed.expected")]
    keep = [i for i, t in enumerate(texts_all) if t]
    texts, want = [texts_all[i] for i in keep], [want_all[i] for i in keep]
    cli = [json.loads(l)["embedding"] for l in run("embed", "--model", BI, stdin="\n".join(texts) + "\n").splitlines()]
    pairs_all = [l.split("\t", 1) for l in lines(f"{FX}/cli_score.txt")]
    want_s_all = [json.loads(l)["score"] for l in lines(f"{FX}/cli_score.expected")]
    keep = [i for i, p in enumerate(pairs_all) if p[0] and p[1]]
    pairs, want_s = [pairs_all[i] for i in keep], [want_s_all[i] for i in keep]
    s = Server("--embed", BI, "--rerank", CE, "--max-client-batch", "2")
    try:
        st, js, h = s.req("GET", "/health")
        ok(st == 200 and js == {"status": "ok"}, "GET /health")
        ok(all(k in h for k in ("x-total-time", "x-queue-time", "x-inference-time")), "timing headers", str(h))
        st, js, _ = s.req("GET", "/info")
        ok(st == 200 and js["model_id"] == BI and js["max_client_batch_size"] == 2 and js["max_input_length"] == 128
           and js["client_batch_split"] is True and "version" in js, "GET /info", str(js))
        # /embed, a batch larger than --max-client-batch (split, not refused)
        st, js, h = s.req("POST", "/embed", {"inputs": texts})
        ok(st == 200 and len(js) == len(texts), "/embed batch of %d with --max-client-batch 2" % len(texts), str(st))
        ok(all(close(a, b, 1e-5) for a, b in zip(js, want)), "/embed == PyTorch reference (1e-5)")
        ok(all(close(a, b, 1e-5) for a, b in zip(js, cli)), "/embed == winnow embed (1e-5)")
        st, js1, _ = s.req("POST", "/embed", {"inputs": texts[1], "normalize": True, "truncate": True})
        ok(st == 200 and len(js1) == 1 and close(js1[0], want[1], 1e-5), "/embed one string")
        st, jd, _ = s.req("POST", "/embed", {"inputs": [texts[0]], "dimensions": 16})
        v = want[0][:16]
        n = math.sqrt(sum(x * x for x in v))
        ok(st == 200 and close(jd[0], [x / n for x in v], 1e-5), "/embed dimensions=16 (Matryoshka, renormalised)")
        # OpenAI
        st, js, _ = s.req("POST", "/v1/embeddings", {"input": texts, "model": "tiny"})
        ok(st == 200 and js["object"] == "list" and js["model"] == "tiny" and
           [d["index"] for d in js["data"]] == list(range(len(texts))) and
           all(d["object"] == "embedding" for d in js["data"]) and
           js["usage"]["prompt_tokens"] == js["usage"]["total_tokens"] > 0, "/v1/embeddings shape", str(js)[:200])
        ok(all(close(d["embedding"], w, 1e-5) for d, w in zip(js["data"], want)), "/v1/embeddings float == reference")
        st, jb, _ = s.req("POST", "/v1/embeddings", {"input": texts[0], "encoding_format": "base64"})
        raw = base64.b64decode(jb["data"][0]["embedding"])
        vec = list(struct.unpack("<%df" % (len(raw) // 4), raw))
        ok(st == 200 and close(vec, want[0], 1e-5), "/v1/embeddings base64 (little-endian f32) == reference")
        # /rerank: logits, order, texts
        q = pairs[0][0]
        docs = [p[1] for p in pairs]
        cli_s = [json.loads(l)["score"] for l in run("score", "--model", CE,
                                                       stdin="".join(f"{q}\t{d}\n" for d in docs)).splitlines()]
        st, js, _ = s.req("POST", "/rerank", {"query": q, "texts": docs, "raw_scores": True, "return_text": True})
        ok(st == 200 and sorted(r["index"] for r in js) == list(range(len(docs))), "/rerank shape", str(js)[:200])
        ok(all(js[i]["score"] >= js[i + 1]["score"] for i in range(len(js) - 1)), "/rerank best first")
        ok(all(abs(r["score"] - cli_s[r["index"]]) <= 1e-4 and r["text"] == docs[r["index"]] for r in js),
           "/rerank raw_scores == winnow score (1e-4), return_text")
        st, js, _ = s.req("POST", "/rerank", {"query": q, "texts": docs})
        ok(st == 200 and all(abs(r["score"] - sigmoid(cli_s[r["index"]])) <= 1e-5 and "text" not in r for r in js),
           "/rerank scores are sigmoid(logit)")
        # /predict: pairs against the reference logits
        st, js, _ = s.req("POST", "/predict", {"inputs": [[a, b] for a, b in pairs], "raw_scores": True})
        ok(st == 200 and len(js) == len(pairs) and all(abs(p[0]["score"] - w) <= 1e-4 for p, w in zip(js, want_s)),
           "/predict batch of pairs == PyTorch reference (1e-4)", str(js)[:200])
        st, js, _ = s.req("POST", "/predict", {"inputs": pairs[0]})
        ok(st == 200 and isinstance(js, list) and abs(js[0]["score"] - sigmoid(want_s[0])) <= 1e-5, "/predict one pair")
        # Jina / Cohere
        st, js, _ = s.req("POST", "/v1/rerank", {"model": "m", "query": q, "top_n": 2, "return_documents": True,
                                                 "documents": [docs[0], {"text": docs[1]}] + docs[2:]})
        ok(st == 200 and len(js["results"]) == 2 and js["usage"]["total_tokens"] > 0 and
           all(abs(r["relevance_score"] - sigmoid(cli_s[r["index"]])) <= 1e-5 and
               r["document"]["text"] == docs[r["index"]] for r in js["results"]), "/v1/rerank (Jina/Cohere)", str(js)[:300])
        # /tokenize against winnow tokenize
        ids = json.loads(run("tokenize", "--model", BI, stdin=texts[1] + "\n").splitlines()[0])
        ids = ids["ids"] if isinstance(ids, dict) else ids
        st, js, _ = s.req("POST", "/tokenize", {"inputs": [texts[1]]})
        ok(st == 200 and [t["id"] for t in js[0]] == ids and js[0][0]["special"] and not js[0][1]["special"],
           "/tokenize ids == winnow tokenize", str(js)[:200])
        # TEI's offsets: each word-piece's byte span in the input, its text that slice
        raw = "Héllo, wörld! Naïve café 中文".encode()
        st, js, _ = s.req("POST", "/tokenize", {"inputs": raw.decode(), "add_special_tokens": False})
        ok(st == 200 and js[0] and all(not t["special"] and t["start"] is not None and
                                       t["text"] == raw[t["start"]:t["stop"]].decode() for t in js[0]) and
           "".join(t["text"] for t in js[0]) == raw.decode().replace(" ", ""), "/tokenize offsets and texts", str(js)[:300])
        st, js, _ = s.req("POST", "/embed", {"inputs": ["a"] * 16385})
        ok(st == 413 and js["error_type"] == "validation", "413 more than 16384 inputs", str(js))
        # metrics
        st, txt, h = s.req("GET", "/metrics")
        ok(st == 200 and h["content-type"].startswith("text/plain") and
           'winnow_requests_total{endpoint="/embed",code="2xx"} 3' in txt and
           "winnow_batch_size_count" in txt and 'stage="inference"' in txt, "/metrics (Prometheus text)")
        ok(s.stop() == 0, "SIGTERM: exit 0")
    finally:
        s.stop()


def unigram_model():
    """A tiny XLM-R bi-encoder for a Unigram tokenizer: tests/fixtures/model/families/xlmr_bi
    (config, pooling, weights; its 1,000 word embeddings repeated up to the tokenizer's
    size) with the XLM-R-layout tokenizer.json of tests/fixtures/tokenizer/unigram-xlmr."""
    src, d = f"{FX}/families/xlmr_bi", os.path.join(TMP, "xlmr_unigram")
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    tok = subprocess.run(["xz", "-dc", "tests/fixtures/tokenizer/unigram-xlmr/tokenizer.json.xz"], check=True,
                         capture_output=True).stdout
    open(os.path.join(d, "tokenizer.json"), "wb").write(tok)
    V = len(json.loads(tok)["model"]["vocab"])
    cfg = json.load(open(f"{src}/config.json"))
    cfg["vocab_size"] = V
    json.dump(cfg, open(f"{d}/config.json", "w"))
    for f in ("modules.json", "1_Pooling/config.json"):
        open(os.path.join(d, f), "wb").write(open(os.path.join(src, f), "rb").read())
    b = open(f"{src}/model.safetensors", "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    head, data, out, blobs, pos = json.loads(b[8:8 + n]), b[8 + n:], {}, [], 0
    for k, v in head.items():
        if k == "__metadata__":
            out[k] = v
            continue
        x, shape = data[v["data_offsets"][0]:v["data_offsets"][1]], v["shape"]
        if k.endswith("word_embeddings.weight"):
            row = len(x) // shape[0]
            x = b"".join(x[(i % shape[0]) * row:(i % shape[0] + 1) * row] for i in range(V))
            shape = [V, shape[1]]
        out[k] = {"dtype": v["dtype"], "shape": shape, "data_offsets": [pos, pos + len(x)]}
        blobs.append(x)
        pos += len(x)
    h = json.dumps(out).encode()
    h += b" " * (-len(h) % 8)
    open(f"{d}/model.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    return d


def check_unigram():
    """/tokenize of a Unigram model: ids and byte offsets equal to HF tokenizers' (npm 0.23.2,
    tests/fixtures/tokenizer/hf_unigram_xlmr_offsets.jsonl) on its single texts that fit the
    model's 64 tokens and have no added token written in them (those the server marks special)."""
    d = unigram_model()
    cases = [json.loads(l) for l in lines("tests/fixtures/tokenizer/hf_unigram_xlmr_offsets.jsonl")]
    cases = [c for c in cases if c["b"] is None and c["max"] == 0 and c["a"] and "\u0000" not in c["a"] and
             len(c["ids"]) <= 64 and not any(a in c["a"] for a in ("<s>", "</s>", "<pad>", "<unk>", "<mask>"))]
    s = Server("--embed", d)
    try:
        st, js, _ = s.req("POST", "/tokenize", {"inputs": [c["a"] for c in cases]})
        good, bad = 0, ""
        for c, toks in zip(cases, js if st == 200 else []):
            raw = c["a"].encode()
            got = [[t["id"], [-1, -1] if t["start"] is None else [t["start"], t["stop"]]] for t in toks]
            same = got == [[i, o] for i, o in zip(c["ids"], c["offsets"])] and all(
                t["special"] == (t["start"] is None) and
                (t["start"] is None or t["text"] == raw[t["start"]:t["stop"]].decode()) for t in toks)
            good += same
            bad = bad or ("" if same else "%r: %s" % (c["a"], str(toks)[:300]))
        ok(st == 200 and good == len(cases) and len(cases) >= 100,
           "/tokenize, Unigram (XLM-R layout): ids and offsets == HF tokenizers on %d of %d texts" % (good, len(cases)),
           bad)
        # HF: ids 4 10 12004 210, offsets [0,1] [0,1] [1,9] [10,14] (<mask> takes in the space it strips,
        # the space " {2,}" leaves is the run's last)
        st, js, _ = s.req("POST", "/tokenize", {"inputs": "a  <mask>  \u2460", "add_special_tokens": False})
        ok(st == 200 and [(t["id"], t["text"], t["special"], t["start"]) for t in js[0]] ==
           [(4, "a", False, 0), (10, "a", False, 0), (12004, "<mask>", True, None), (210, " \u2460", False, 10)],
           "/tokenize, Unigram: an lstrip added token is special, the other texts are the input's", str(js)[:300])
        ok(s.req("POST", "/embed", {"inputs": "x"})[0] == 200, "/embed with the Unigram model")
    finally:
        ok(s.stop() == 0, "Unigram server: exit 0")


def check_errors():
    s = Server("--embed", BI, "--rerank", CE, "--payload-limit", "20000", "--api-key", "k3y")
    auth = {"Authorization": "Bearer k3y"}
    try:
        def err(method, path, body=None, raw=None, headers=auth):
            return s.req(method, path, body, headers, raw)
        st, js, _ = err("POST", "/embed", {"inputs": "x"}, headers={})
        ok(st == 401 and js["error_type"] == "unauthorized", "401 without the API key")
        st, js, _ = err("POST", "/embed", {"inputs": "x"}, headers={"Authorization": "Bearer k3z"})
        ok(st == 401, "401 with a wrong key")
        st, js, _ = err("POST", "/embed", {"inputs": "x"}, headers={"Authorization": "Bearer k3y0"})
        ok(st == 401, "401 with a longer key")
        st, js, _ = err("POST", "/v1/embeddings", {"input": "x"}, headers={})
        ok(st == 401 and js["error"]["type"] == "authentication_error", "401 OpenAI-shaped on /v1/embeddings", str(js))
        ok(err("GET", "/health", headers={})[0] == 200 and err("GET", "/metrics", headers={})[0] == 200,
           "/health and /metrics need no key")
        ok(err("POST", "/embed", {"inputs": "x"})[0] == 200, "200 with the key")
        st, js, _ = err("POST", "/embed", {"inputs": []})
        ok(st == 400 and js["error_type"] == "empty" and "error" in js, "400 empty inputs (TEI shape)", str(js))
        ok(err("POST", "/embed", {"inputs": ""})[0] == 400, "400 empty string")
        st, js, _ = err("POST", "/v1/embeddings", {"input": []})
        ok(st == 400 and set(js["error"]) >= {"message", "type", "param", "code"}, "400 OpenAI-shaped", str(js))
        ok(err("POST", "/embed", raw=b'{"inputs": ["a",')[0] == 400, "400 malformed JSON")
        ok(err("POST", "/embed", raw=b'\xff\xfe')[0] == 400, "400 invalid UTF-8 body")
        ok(err("POST", "/embed", raw=b"[" * 5000 + b"]" * 5000)[0] == 400, "400 JSON nested beyond the depth bound")
        ok(err("POST", "/embed", {"inputs": [1, 2]})[0] == 422, "422 wrong element type")
        ok(err("POST", "/embed", {"inputs": "x", "truncate": "yes"})[0] == 422, "422 wrong option type")
        ok(err("POST", "/embed", {"inputs": "x", "dimensions": 4096})[0] == 422, "422 dimensions out of range")
        ok(err("POST", "/rerank", {"query": "q", "texts": "not a list"})[0] == 422, "422 texts not an array")
        ok(err("POST", "/v1/embeddings", {"input": "x", "encoding_format": "int8"})[0] == 422, "422 encoding_format")
        long = " ".join(["word"] * 300)
        st, js, _ = err("POST", "/embed", {"inputs": long, "truncate": False})
        ok(st == 422 and "128" in js["error"], "422 too long with truncate=false", str(js))
        ok(err("POST", "/embed", {"inputs": long})[0] == 200, "200 too long, truncated by default")
        st, js, _ = err("POST", "/embed", raw=json.dumps({"inputs": "y" * 30000}).encode())
        ok(st == 413, "413 body past --payload-limit (Content-Length)", str(st))
        # chunked: no Content-Length, the limit is found while reading
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        c.request("POST", "/embed", body=iter([b'{"inputs": "', b"z" * 15000, b"z" * 15000, b'"}']),
                  headers={**auth, "Content-Type": "application/json"}, encode_chunked=True)
        r = c.getresponse()
        ok(r.status == 413, "413 chunked body past the limit", str(r.status))
        c.close()
        ok(err("GET", "/nowhere")[0] == 404, "404 unknown path")
        ok(err("GET", "/embed")[0] == 405, "405 wrong method")
        ok(err("POST", "/search", {"query": "x"})[0] == 400, "400 /search without an index")
        # a client that disconnects mid-body, one that sends slowly, one that sends garbage
        for payload in (b"POST /embed HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k3y\r\nContent-Length: 1000\r\n\r\n{\"inp",
                        b"GARBAGE\r\n\r\n", b"POST /embed HTTP/1.1\r\nContent-Length: -5\r\n\r\n"):
            k = socket.create_connection(("127.0.0.1", s.port))
            k.sendall(payload)
            k.close()
        body = json.dumps({"inputs": "slow but steady"}).encode()
        k = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        k.sendall(b"POST /embed HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k3y\r\nContent-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 4):
            k.sendall(body[i:i + 4])
            time.sleep(0.02)
        resp = k.recv(65536)
        k.close()
        ok(resp.startswith(b"HTTP/1.1 200"), "a slow client is served", resp[:40])
        ok(err("GET", "/health")[0] == 200, "alive after disconnects and garbage")
        st, txt, _ = err("GET", "/metrics")
        ok('winnow_request_failures_total{endpoint="/embed"}' in txt and 'code="4xx"' in txt, "failures counted")
    finally:
        ok(s.stop() == 0, "SIGTERM after the error checks: exit 0")


def flood(s, threads, times, path, body):
    """threads threads POST body to path times each, at once: {status or exception: count}"""
    codes, lock = {}, threading.Lock()

    def worker():
        for _ in range(times):
            try:
                st = s.req("POST", path, body)[0]
            except Exception as e:  # noqa: BLE001 - counted as a failure
                st = repr(e)
            with lock:
                codes[st] = codes.get(st, 0) + 1
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    return codes


def check_load():
    # flood: 1 input in flight at most, 24 threads at once -> some 429s, never a 5xx
    s = Server("--embed", BI, "--max-concurrent", "1", "--max-client-batch", "1")
    text = " ".join(["retrieval"] * 100)
    try:
        codes = flood(s, 24, 15, "/embed", {"inputs": [text, text]})
        ok(set(codes) <= {200, 429} and codes.get(429, 0) > 0 and codes.get(200, 0) > 0,
           "flood past --max-concurrent: only 200 and 429 " + str(codes))
        st, txt, _ = s.req("GET", "/metrics")
        rej = [l for l in txt.splitlines() if l.startswith("winnow_rejected_total ")]
        ok(rej and int(rej[0].split()[1]) == codes.get(429, 0), "winnow_rejected_total == 429s seen", str(rej))
        ok(s.req("POST", "/embed", {"inputs": "after the flood"})[0] == 200, "served after the flood")
    finally:
        s.stop()
    # many connections at once, and batching: concurrent requests share model calls
    s = Server("--embed", BI)
    lock = threading.Lock()
    try:
        res, socks = [], []
        def one(i):
            st, js, _ = s.req("POST", "/embed", {"inputs": "text number %d" % i})
            with lock:
                res.append((st, i, js))
        ts = [threading.Thread(target=one, args=(i,)) for i in range(150)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        ok(len(res) == 150 and all(r[0] == 200 for r in res), "150 concurrent connections", str([r[0] for r in res][:10]))
        single = s.req("POST", "/embed", {"inputs": "text number 7"})[1][0]
        ok(close(next(r[2][0] for r in res if r[1] == 7), single, 1e-6), "a batched result == the same text alone")
        st, txt, _ = s.req("GET", "/metrics")
        calls = [l for l in txt.splitlines() if l.startswith("winnow_batch_size_count")]
        ok(calls and int(calls[0].split()[1]) <= 151, "model calls <= requests", str(calls))
        # SIGTERM drain: a request whose body is still arriving when the signal comes
        body = json.dumps({"inputs": ["drained", "request"]}).encode()
        k = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        k.sendall(b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.3)
        s.p.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        ok(s.p.poll() is None, "SIGTERM waits for the request in flight")
        try:
            socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
            refused = False
        except OSError:
            refused = True
        ok(refused, "no new connection accepted while draining")
        k.sendall(body[10:])
        resp = b""
        while b"]]" not in resp:
            chunk = k.recv(65536)
            if not chunk:
                break
            resp += chunk
        k.close()
        ok(resp.startswith(b"HTTP/1.1 200") and b"]]" in resp, "the request in flight is answered", resp[:60])
        ok(s.stop() == 0, "then exit 0")
    finally:
        s.stop()


def check_search():
    corpus = os.path.join(TMP, "corpus.jsonl")
    docs = ["the cat sat on the warm mat", "dogs enjoy long walks in the park", "quantum entanglement of particles",
            "a good risotto needs patience", "parrots imitate human speech", "the amazon river carries water",
            "a kitten chases the cat toy", "city parks give dogs room to walk"]
    with open(corpus, "w") as f:
        for i, d in enumerate(docs):
            f.write(json.dumps({"_id": "d%d" % i, "title": "", "text": d}) + "\n")
    ix = os.path.join(TMP, "ix")
    subprocess.run([W, "index", "--corpus", corpus, "--out", ix, "--bm25", "--dense", BI, "--threads", "1", "--force"],
                   check=True, capture_output=True)
    s = Server("--index", ix, "--rerank", CE)
    try:
        for stage in ("bm25", "dense", "hybrid"):
            for rr in (False, True):
                args = ["search", "--index", ix, "--first-stage", stage, "--k", "5", "--k-candidates", "6", "--json",
                        "--threads", "1"] + (["--rerank", CE] if rr else []) + ["cat on a mat"]
                cli = json.loads(run(*args).splitlines()[0])
                want = cli["stages"]["rerank" if rr else stage]["hits"]
                st, js, h = s.req("POST", "/search", {"query": "cat on a mat", "k": 5, "first_stage": stage,
                                                      "rerank": rr, "k_candidates": 6})
                got = js["results"] if st == 200 else []
                ok(st == 200 and [g["id"] for g in got] == [w["id"] for w in want] and
                   all(abs(g["score"] - w["score"]) <= 1e-5 and g["first_rank"] == w["first_rank"]
                       for g, w in zip(got, want)) and js["first_stage"] == stage and js["reranked"] == rr
                   and "first_stage_ms" in js["timings"],
                   "/search %s%s == winnow search" % (stage, " + rerank" if rr else ""), str(js)[:300])
        st, js, _ = s.req("POST", "/search", {"query": "dogs", "filter": {"ids": ["d7", "d1"]}, "rerank": False})
        ok(st == 200 and {r["id"] for r in js["results"]} <= {"d7", "d1"} and js["results"], "/search filter ids", str(js)[:200])
        ok(s.req("POST", "/search", {"query": "x", "first_stage": "sparse"})[0] == 422, "422 unknown first stage")
        st, js, _ = s.req("GET", "/info")
        ok(st == 200 and js["search"] is True and js["model_id"] == BI, "/info: the index's own bi-encoder", str(js))
        ok(s.req("POST", "/embed", {"inputs": "x"})[0] == 200, "/embed with the index's model")
    finally:
        ok(s.stop() == 0, "search server: exit 0")
    # searches take turns: past --max-search-queue waiting, 429 at once
    s = Server("--index", ix, "--rerank", CE, "--max-search-queue", "1")
    try:
        codes = flood(s, 16, 10, "/search", {"query": "dogs walking in the park", "k_candidates": 8})
        ok(set(codes) <= {200, 429} and codes.get(429, 0) > 0 and codes.get(200, 0) > 0,
           "search flood past --max-search-queue 1: only 200 and 429 " + str(codes))
    finally:
        ok(s.stop() == 0, "search flood server: exit 0")


for name, fn in (("api", check_api), ("unigram", check_unigram), ("errors", check_errors), ("load", check_load),
                 ("search", check_search)):
    if PART in (name, "all"):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - a crash of the checker is a failure
            import traceback
            traceback.print_exc()
            ok(False, "%s checks raised %r" % (name, e))
print("%d failures" % fails)
sys.exit(1 if fails else 0)
