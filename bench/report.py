#!/usr/bin/python3
"""report.py - the table of bench/encoders.sh from DIR/results.jsonl, plus the
cross-engine output check (winnow fp32 vs PyTorch fp32 on the same ids and
weights: embeddings within 1e-4, logits within 1e-3, the issue-2 tolerances).
Timings come in rounds (bench/encoders_drive.py): the table shows each engine's
best round, and a second table the spread of the per-round ratios.
Usage: report.py DIR"""
import json
import os
import sys

import numpy as np

d = sys.argv[1]
rows = [json.loads(l) for l in open(os.path.join(d, "results.jsonl")) if l.strip().startswith("{")]
val = {}  # the best round of each (engine, precision, workload)
per_round = {}  # (engine, prec, what, len) -> {round: value}
for r in rows:
    if "value" in r:
        k = (r["engine"], r.get("prec", "fp32"), r["what"], r.get("len", 0))
        if k not in val or (r["value"] < val[k]["value"] if r["what"] in ("lat", "rss") else
                            r["value"] > val[k]["value"]):
            val[k] = r
        if "round" in r:
            per_round.setdefault(k, {})[r["round"]] = r["value"]
machine = next((r for r in rows if r.get("what") == "machine"), {})
refused = [r for r in rows if r.get("what") == "refused"]


def load(name):
    p = os.path.join(d, name)
    return np.fromfile(p, dtype=np.float32) if os.path.exists(p) else None


print("machine: %d threads, ISA %s, winnow kernels %s, %d CPUs online" %
      (machine.get("threads", 0), machine.get("isa", "?"), machine.get("kernels", "?"), os.cpu_count()))
print("models: random-weight MiniLM-L6 (V 30522, H 384, 12 heads, 6 layers, I 1536), identical in all engines\n")

ok = True
for what, tol in (("bi16", 1e-4), ("ce", 1e-3)):
    ref = load("out_pytorch_fp32_%s.f32" % what)
    for eng in ("winnow", "ort"):
        got = load("out_%s_fp32_%s.f32" % (eng, what))
        if ref is None or got is None or got.shape != ref.shape:
            print("check %s fp32 %s vs PyTorch: missing outputs" % (eng, what))
            continue
        err = float(np.abs(got - ref).max())
        good = err <= tol
        print("check %-6s fp32 %-4s vs PyTorch fp32: max |diff| %.2e (tolerance %g) %s" %
              (eng, what, err, tol, "ok" if good else "WRONG"))
        if eng == "winnow" and not good:
            ok = False
for r in rows:
    if r.get("what") == "quality":
        if r["engine"] == "winnow":
            print("quality winnow %s vs fp32 on real text (CISI, random weights): embedding cosine min %.5f "
                  "mean %.6f over %d documents; cross-encoder Spearman %.5f over %d (query, document) pairs" %
                  (r["prec"], r["min_cos"], r["mean_cos"], r["n_docs"], r["spearman"], r["n_pairs"]))
        else:
            print("quality ORT %s vs ORT fp32 (32 x 16 random ids): embedding cosine min %.5f" %
                  (r["prec"], r["min_cos"]))
for r in refused:
    print("REFUSED %s %s: %s (not timed)" % (r["engine"], r["prec"], r["why"]))
if not ok:
    print("winnow fp32 disagrees with PyTorch: its timings are not comparable")
print()


def g(*k):
    r = val.get(k)
    return r["value"] if r else None


def f(v, w=8, p=1):
    return ("%*.*f" % (w, p, v)) if v is not None else "%*s" % (w, "-")


def ratio(a, b):
    return ("%6.2fx" % (a / b)) if a is not None and b else "     -"


cols = [("winnow", "fp32"), ("winnow", "bf16"), ("winnow", "int8"), ("ort", "fp32"), ("ort", "int8"),
        ("pytorch", "fp32")]
hdr = "%-22s" % "" + "".join("%12s" % ("%s %s" % (e if e != "pytorch" else "torch", p)) for e, p in cols)
hdr += " | fp32/ORT bf16/ORT int8/ORTi8 fp32/torch"
print(hdr)


def line(label, what, L, inverse=False):
    v = {c: g(c[0], c[1], what, L) for c in cols}
    s = "%-22s" % label + "".join("%12s" % f(v[c], 10, 2 if inverse else 1) for c in cols)
    if inverse:  # latency: smaller is better, ratio = theirs / ours
        r = lambda a, b: ratio(b, a)
    else:
        r = ratio
    s += " | %8s %8s %8s %10s" % (r(v[("winnow", "fp32")], v[("ort", "fp32")]), r(v[("winnow", "bf16")], v[("ort", "fp32")]),
                                  r(v[("winnow", "int8")], v[("ort", "int8")]), r(v[("winnow", "fp32")], v[("pytorch", "fp32")]))
    print(s)


for L in (16, 32, 64, 128, 256):
    line("bi seq/s B=32 T=%d" % L, "bi", L)
line("latency ms B=1 T=16", "lat", 16, inverse=True)
line("cross pairs/s T=128", "ce", 128)
line("CISI docs/s (fp32)", "cisi", 0)

def spread(mine, theirs, what, L):
    a, b = per_round.get(mine + (what, L), {}), per_round.get(theirs + (what, L), {})
    rs = sorted((b[k] / a[k]) if what == "lat" else (a[k] / b[k]) for k in a if k in b and a[k] and b[k])
    if not rs:
        return "%17s" % "-"
    return "%5.2f %5.2f %5.2f" % (rs[0], rs[len(rs) // 2], rs[-1])


nr = max((len(v) for v in per_round.values()), default=0)
if nr > 1:
    print("\nper-round ratios (min median max over %d rounds; each round asks the engines seconds apart)" % nr)
    pairs = [(("winnow", "fp32"), ("ort", "fp32"), "fp32/ORT"), (("winnow", "bf16"), ("ort", "fp32"), "bf16/ORT"),
             (("winnow", "int8"), ("ort", "int8"), "int8/ORTi8")]
    print("%-22s" % "" + "".join("%19s" % p[2] for p in pairs))
    for what, L, label in [("bi", L, "bi B=32 T=%d" % L) for L in (16, 32, 64, 128, 256)] + \
            [("lat", 16, "latency B=1 T=16"), ("ce", 128, "cross T=128")]:
        print("%-22s" % label + "".join("  " + spread(a, b, what, L) for a, b, _ in pairs))
for p in ("fp32", "bf16", "int8"):
    r = val.get(("winnow", p, "rss", 256))
    if r:
        print("peak RSS winnow %s at 32 x 256: %.0f MB (model file %.0f MB; target < file + 100 MB = %.0f MB)" %
              (p, r["value"], r["model_mb"], r["model_mb"] + 100))
print("\nratios: speed over speed (latency: theirs over ours); >1 means winnow is faster. CISI: ORT pads batches "
      "of 32 in input order; winnow sorts by length and includes tokenisation.")
