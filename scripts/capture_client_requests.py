#!/usr/bin/env python3
"""capture_client_requests.py WINNOW OUT - records what real clients send to a winnow
server, for tests/t_serve_replay.sh (which replays them without npm).

Starts `winnow serve` on the tiny fixture models (tests/fixtures/model/tiny-bi,
tiny-ce, API key k3y) and a recording proxy in front of it, runs
tests/tools/clients/serve_clients.js (openai, @huggingface/inference, cohere-ai: npm i
in tests/tools/clients first) through the proxy, and writes OUT (JSON lines), one per
request: {"method", "path", "content_type", "auth": "bearer"|"wrong"|"none", "body"
(the exact request text), "status" (what winnow answered), "shape" (the response's
structure: objects' keys and types, arrays as their first element's shape)}.
The replay checks that winnow still answers 200 (or the same error) and a response
of the same shape, which these clients parsed when it was recorded."""
import http.client
import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading
import time

winnow, out_path = sys.argv[1], sys.argv[2]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
fx = os.path.join(root, "tests", "fixtures", "model")
records = []
sys.path.insert(0, os.path.join(root, "tests", "tools"))
from json_shape import shape  # noqa: E402  (what t_serve_replay.sh compares)


srv = subprocess.Popen([winnow, "serve", "--embed", os.path.join(fx, "tiny-bi"), "--rerank", os.path.join(fx, "tiny-ce"),
                        "--port", "0", "--threads", "1", "--api-key", "k3y"], stderr=subprocess.PIPE, text=True)
line = ""
for _ in range(200):
    line = srv.stderr.readline()
    if "listening on" in line:
        break
port = int(line.rsplit(":", 1)[1].split()[0].strip("/"))


class Proxy(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        auth = self.headers.get("Authorization", "")
        fwd = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "authorization", "accept")}
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", self.path, body=body, headers=fwd)
        r = c.getresponse()
        data = r.read()
        try:
            sh = shape(json.loads(data))
        except ValueError:
            sh = None
        records.append({"method": "POST", "path": self.path, "content_type": self.headers.get("Content-Type"),
                        "auth": "bearer" if auth == "Bearer k3y" else ("wrong" if auth else "none"),
                        "body": body.decode("utf-8"), "status": r.status, "shape": sh})
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in ("content-type", "content-length"):
                self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


socketserver.TCPServer.allow_reuse_address = True
proxy = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Proxy)
threading.Thread(target=proxy.serve_forever, daemon=True).start()
texts = ["hello world", "The quick brown fox jumps over the lazy dog.", "second text, with punctuation!"]
try:
    res = subprocess.run(["node", os.path.join(root, "tests", "tools", "clients", "serve_clients.js"),
                          str(proxy.server_address[1]), "k3y", json.dumps(texts), "what does the fox do?"],
                         capture_output=True, text=True, timeout=120)
    if res.returncode:
        sys.exit("capture_client_requests: the clients failed:\n" + res.stderr)
finally:
    proxy.shutdown()
    srv.terminate()
    srv.wait(timeout=20)
    time.sleep(0.1)
clients = {"/v1/embeddings": "openai@6.9.1 embeddings.create", "/embed": "@huggingface/inference@4.13.30 featureExtraction",
           "/v1/rerank": "cohere-ai@8.1.0 CohereClient.rerank", "/v2/rerank": "cohere-ai@8.1.0 CohereClientV2.rerank"}
tmp = out_path + ".tmp"
with open(tmp, "w") as f:
    for r in records:
        r["client"] = clients.get(r["path"], "?")
        f.write(json.dumps(r, sort_keys=True) + "\n")
os.replace(tmp, out_path)
print("capture_client_requests: %d requests -> %s" % (len(records), out_path))
