#!/usr/bin/env python3
"""serve_ab.py BASE_WINNOW NEW_WINNOW [DIR] - /embed one text at 64 connections (wrk,
8 s) on two builds of `winnow serve`, interleaved (order alternating), 4 rounds, each
with the offline `winnow embed` rate of the new build (3,000 CISI titles, model load
subtracted): the ratios of the same round. DIR: the models and embed1.lua that
bench/serve.sh leaves in WN_BENCH_DIR (default /tmp/winnow-serve); ../shared for CISI."""
import json, re, subprocess, sys, time, signal
D = sys.argv[3] if len(sys.argv) > 3 else "/tmp/winnow-serve"
bins = {"base": sys.argv[1], "new": sys.argv[2]}
titles = [json.loads(l)["title"] for l in open("../shared/data/collections/cisi/corpus.jsonl")][:1000]
def serve_rps(w):
    err = open(D + "/ab.err", "w+")
    p = subprocess.Popen([w, "serve", "--embed", D + "/bi", "--port", "0", "--threads", "2"], stdout=subprocess.DEVNULL, stderr=err)
    port = None
    for _ in range(600):
        err.seek(0); m = re.search(r"listening on http://[^:]+:(\d+)", err.read())
        if m: port = int(m.group(1)); break
        time.sleep(0.1)
    out = subprocess.run(["wrk", "-t", "2", "-c", "64", "-d", "8s", "--timeout", "30s", "-s", D + "/embed1.lua", "http://127.0.0.1:%d" % port], capture_output=True, text=True).stdout
    p.send_signal(signal.SIGTERM); p.wait(60)
    r = json.loads(re.search(r"^JSON (.*)$", out, re.M).group(1))
    return r["requests"] / r["seconds"]
def offline(w):
    def timed(lines):
        t = time.time(); subprocess.run([w, "embed", "--model", D + "/bi", "--threads", "2", "--batch", "32"], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True); return time.time() - t
    t1, tn = timed(titles[:1]), timed(titles * 3)
    return 3 * len(titles) / (tn - t1)
for r in range(4):
    row = {}
    for k in (["base", "new"] if r % 2 == 0 else ["new", "base"]):
        row[k] = serve_rps(bins[k])
    row["offline"] = offline(bins["new"])
    print("round %d: base %.1f new %.1f offline %.1f | base/off %.2f new/off %.2f new/base %.2f" % (r + 1, row["base"], row["new"], row["offline"], row["base"] / row["offline"], row["new"] / row["offline"], row["new"] / row["base"]), flush=True)
