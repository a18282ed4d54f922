#!/usr/bin/env python3
"""serve_bench.py - load benchmark of `winnow serve` with wrk (Debian) on loopback,
driven by bench/serve.sh. Models: bench_encoder's random-weight MiniLM-L6 shapes
(DIR/bi, DIR/ce: real cost per token, not real quality). Texts: the CISI collection
(../shared): document titles as the one-text requests, queries for /rerank and /search.

Measured, each run bounded in time (DURATION s) and connections:
  offline   `winnow embed` on the same texts, one process, batches of 32: texts/s
            (model load subtracted: a 1-text run is timed too)
  /embed    one text per request at 1, 8 and 64 connections, with batching on (the
            default --max-batch-tokens 16384) and off (--max-batch-tokens 1: one input per
            model call); on and off alternate, ROUNDS times, best round kept
  /embed    32 texts per request, /rerank 20 documents (their first 300 characters),
            /search hybrid + re-ranking of 20
  429       64 connections against --max-concurrent 8: answered 200 or 429, nothing else
  soak      (SOAK=seconds) mixed /embed, /v1/embeddings, /rerank, /search at 16 connections:
            non-2xx, socket errors, RSS every 10 s and its growth after the first minute
Each line: requests/s, p50 / p99 latency (wrk --latency), non-2xx count, server peak RSS.
Prints a Markdown table (docs/BENCHMARKS.md) and writes DIR/serve_results.json.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

W, DIR = sys.argv[1], sys.argv[2]
DURATION = int(os.environ.get("DURATION", "8"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
THREADS = os.environ.get("THREADS", "2")
SHARED = os.environ.get("WN_SHARED", "../shared")
CISI = f"{SHARED}/data/collections/cisi"


def load(path):
    return [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]


docs = load(f"{CISI}/corpus.jsonl")
titles = [d["title"] for d in docs if d.get("title")][:1000]
queries = [q["text"] for q in load(f"{CISI}/queries.jsonl")]


def lua_bodies(name, bodies, path):
    """a wrk script cycling through request bodies (path None: bodies are (path, body) pairs)"""
    p = os.path.join(DIR, name + ".lua")
    with open(p, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
        f.write("local bodies = {\n")
        for b in bodies:  # a JSON string literal is a Lua one here (ASCII, \" and \\ only)
            bp, bb = b if path is None else (path, b)
            f.write("  {%s, %s},\n" % (json.dumps(bp), json.dumps(json.dumps(bb))))
        f.write("}\nlocal i = 0\n")
        f.write('request = function()\n  i = i % #bodies + 1\n'
                '  return wrk.format(nil, bodies[i][1], nil, bodies[i][2])\nend\n')
        f.write("""done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %d, \\"non2xx\\": %d, \\"errors\\": %d, \\"p50\\": %f, \\"p99\\": %f, \\"seconds\\": %f}\\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.duration / 1e6))
end
""")
    return p


class Server:
    def __init__(self, *args):
        self.err = open(os.path.join(DIR, "serve.err"), "w+")
        self.p = subprocess.Popen([W, "serve", "--port", "0", "--threads", THREADS, *args],
                                  stdout=subprocess.DEVNULL, stderr=self.err)
        self.port = None
        for _ in range(600):
            self.err.seek(0)
            m = re.search(r"listening on http://[^:]+:(\d+)", self.err.read())
            if m:
                self.port = int(m.group(1))
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.1)
        self.err.seek(0)
        raise RuntimeError("server did not start: " + self.err.read())

    def rss_mb(self):
        for l in open(f"/proc/{self.p.pid}/status"):
            if l.startswith("VmHWM:"):
                return int(l.split()[1]) / 1024
        return 0

    def rss_now_mb(self):
        for l in open(f"/proc/{self.p.pid}/status"):
            if l.startswith("VmRSS:"):
                return int(l.split()[1]) / 1024
        return 0

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(120)


def wrk(srv, script, conns, seconds=None):
    out = subprocess.run(["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", "%ds" % (seconds or DURATION), "--timeout", "30s",
                          "-s", script, "http://127.0.0.1:%d" % srv.port], capture_output=True, text=True).stdout
    m = re.search(r"^JSON (.*)$", out, re.M)
    if not m:
        raise RuntimeError("wrk output without the summary:\n" + out)
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / r["seconds"]
    return r


def offline():
    """texts/s of `winnow embed` on the titles, minus the model load (a 1-text run)"""
    def timed(lines):
        t = time.time()
        subprocess.run([W, "embed", "--model", f"{DIR}/bi", "--threads", THREADS, "--batch", "32"],
                       input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
        return time.time() - t
    t1, tn = timed(titles[:1]), timed(titles)
    return len(titles) / max(tn - t1, 1e-9)


results = {"threads": THREADS, "duration_s": DURATION, "rounds": ROUNDS, "cpu": "", "rows": []}
try:
    results["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except (OSError, StopIteration):
    pass
results["nproc"] = os.cpu_count()
results["isa"] = subprocess.run([W, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
rows = results["rows"]


def row(name, conns, mode, r, rss):
    rows.append({"workload": name, "connections": conns, "mode": mode, "rps": r["rps"], "p50_ms": r["p50"],
                 "p99_ms": r["p99"], "non2xx": r["non2xx"], "socket_errors": r["errors"], "rss_mb": rss})
    print("%-28s c=%-3d %-12s %9.1f req/s  p50 %8.2f ms  p99 %8.2f ms  non-2xx %d  errors %d  rss %.0f MB" % (
        name, conns, mode, r["rps"], r["p50"], r["p99"], r["non2xx"], r["errors"], rss), file=sys.stderr, flush=True)


one = lua_bodies("embed1", [{"inputs": t} for t in titles], "/embed")
best = {}
base = 0
for rnd in range(ROUNDS):  # offline, batching on, batching off: interleaved, best round of each
    base = max(base, offline())
    print("round %d: offline winnow embed %.1f texts/s (best so far)" % (rnd + 1, base), file=sys.stderr, flush=True)
    for mode, extra in (("batching", []), ("no-batching", ["--max-batch-tokens", "1"])):
        s = Server("--embed", f"{DIR}/bi", *extra)
        try:
            for c in (1, 8, 64):
                r = wrk(s, one, c)
                print("round %d %s c=%d: %.1f req/s" % (rnd + 1, mode, c, r["rps"]), file=sys.stderr, flush=True)
                key = (c, mode)
                if key not in best or r["rps"] > best[key][0]["rps"]:
                    best[key] = (r, s.rss_mb())
        finally:
            s.stop()
results["offline_texts_per_s"] = base
for (c, mode), (r, rss) in sorted(best.items()):
    row("/embed 1 text", c, mode, r, rss)

# the other workloads, batching on, one server with the index and both models
corpus = os.path.join(DIR, "cisi.jsonl")
ix = os.path.join(DIR, "cisi_ix")
if not os.path.exists(os.path.join(ix, "dense.idx")):
    subprocess.run([W, "index", "--corpus", f"{CISI}/corpus.jsonl", "--out", ix, "--bm25", "--dense", f"{DIR}/bi",
                    "--threads", THREADS, "--force"], check=True, capture_output=True)
s = Server("--index", ix, "--rerank", f"{DIR}/ce")
try:
    e32 = lua_bodies("embed32", [{"inputs": titles[i:i + 32]} for i in range(0, 960, 32)], "/embed")
    rr = lua_bodies("rerank20", [{"query": q, "texts": [d["text"][:300] for d in docs[i * 7 % 1400:i * 7 % 1400 + 20]]}
                                 for i, q in enumerate(queries)], "/rerank")
    se = lua_bodies("search", [{"query": q, "first_stage": "hybrid", "rerank": True, "k_candidates": 20, "k": 10}
                               for q in queries], "/search")
    for name, script, conns in (("/embed 32 texts", e32, (1, 8)), ("/rerank 20 documents", rr, (1, 8)),
                                ("/search hybrid + rerank 20", se, (1, 8, 64))):
        for c in conns:
            row(name, c, "batching", wrk(s, script, c), s.rss_mb())
finally:
    s.stop()

SOAK = int(os.environ.get("SOAK", "0"))
if SOAK:  # sustained mixed load: every endpoint, 16 connections, RSS sampled every 10 s
    s = Server("--index", ix, "--rerank", f"{DIR}/ce")
    try:
        mixed = []
        for i, q in enumerate(queries):
            mixed += [("/embed", {"inputs": titles[i]}), ("/v1/embeddings", {"input": titles[i:i + 4]}),
                      ("/rerank", {"query": q, "texts": [d["text"][:300] for d in docs[i:i + 5]]}),
                      ("/search", {"query": q, "k_candidates": 5, "rerank": True})]
        script = lua_bodies("mixed", mixed, None)
        box = {}
        th = __import__("threading").Thread(target=lambda: box.update(r=wrk(s, script, 16, SOAK)))
        th.start()
        samples, t0 = [], time.time()
        while th.is_alive():
            time.sleep(10)
            samples.append((round(time.time() - t0), s.rss_now_mb()))
        th.join()
        r = box["r"]
        warm = [m for t, m in samples if t >= 60] or [m for _, m in samples]
        results["soak"] = {"seconds": SOAK, "requests": r["requests"], "non2xx": r["non2xx"], "errors": r["errors"],
                           "rps": r["rps"], "p50_ms": r["p50"], "p99_ms": r["p99"], "rss_mb": samples,
                           "rss_growth_after_60s": (warm[-1] - warm[0]) / warm[0] if warm else 0}
        print("soak %d s: %s" % (SOAK, json.dumps(results["soak"])), file=sys.stderr, flush=True)
    finally:
        s.stop()

s = Server("--embed", f"{DIR}/bi", "--max-concurrent", "8", "--max-client-batch", "1")
try:
    row("/embed 1 text, limit 8", 64, "429 expected", wrk(s, one, 64), s.rss_mb())
finally:
    results["exit_after_sigterm"] = s.stop()

json.dump(results, open(os.path.join(DIR, "serve_results.json"), "w"), indent=1)
print("\nCPU: %s (%d online), winnow --threads %s, %s; wrk on the same CPUs; %d s per run, best of %d rounds "
      "for /embed 1 text" % (results["cpu"], results["nproc"], THREADS, results["isa"], DURATION, ROUNDS))
print("offline `winnow embed` (batch 32): %.1f texts/s\n" % base)
print("| workload | connections | mode | requests/s | vs offline | p50 ms | p99 ms | non-2xx | peak RSS MB |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    ratio = "%.2f" % (r["rps"] / base) if r["workload"] == "/embed 1 text" else ""
    print("| %s | %d | %s | %.1f | %s | %.2f | %.2f | %d | %.0f |" % (
        r["workload"], r["connections"], r["mode"], r["rps"], ratio, r["p50_ms"], r["p99_ms"], r["non2xx"], r["rss_mb"]))
