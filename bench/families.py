#!/usr/bin/python3
"""families.py - per-family encoder speed (bench/families.sh): winnow against ONNX
Runtime (onnxruntime-node 1.30, fp32) on random-weight bi-encoders of the real
shapes of the models people retrieve with, on the same token ids:

  mpnet       all-mpnet-base-v2              12 layers, 768 hidden, 12 heads, FFN 3072
  distilbert  msmarco-distilbert-base-v4     6 x 768, 12 heads, FFN 3072
  roberta     all-distilroberta-v1           6 x 768, 12 heads, FFN 3072
  xlmr        paraphrase-multilingual-MiniLM-L12-v2  12 x 384, 12 heads, FFN 1536
              (vocab cut from 250,002 to 32,000 rows: the table is only looked up,
              its size changes memory, not speed)

Each model is built by scripts/make_reference_families.py's weight generator (HF
init) in the HF layout (what winnow loads) and exported to ONNX from the same
torch.nn encoder in float32 (mean pooling + normalise; the transformers package
is not available, so no optimum export). Before timing, both engines' embeddings
of 32 x 16 tokens are checked against PyTorch's (float64): max |diff| is printed.
Timings are interleaved (winnow, ORT, winnow, ... workload by workload, ROUNDS
rounds; each answer the median of REPS runs): sequences/s at batch 32 for 16,
64, 128, 256 tokens.

  /usr/bin/python3 bench/families.py DIR THREADS REPS ROUNDS > DIR/families.jsonl
  /usr/bin/python3 bench/families.py table DIR/families.jsonl   (the Markdown table)
FAMILIES=mpnet,xlmr limits the run to those families, LENS=16,64 to those lengths
(the ids files of 16..256 are always written).
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import make_reference_families as mf  # noqa: E402

FAMILIES = [  # name, fam, model_type, spec, bos, eos
    ("mpnet", "mpnet", "mpnet", dict(vocab=30527, hidden=768, heads=12, layers=12, inter=3072, max_pos=514), 0, 2),
    ("distilbert", "distilbert", "distilbert", dict(vocab=30522, hidden=768, heads=12, layers=6, inter=3072,
                                                      max_pos=512, eps=1e-12, pad=0), 101, 102),
    ("roberta", "roberta", "roberta", dict(vocab=50265, hidden=768, heads=12, layers=6, inter=3072, max_pos=514), 0, 2),
    ("xlmr", "roberta", "xlm-roberta", dict(vocab=32000, hidden=384, heads=12, layers=12, inter=1536, max_pos=514), 0, 2),
]
LENS = [int(x) for x in os.environ.get("LENS", "16,64,128,256").split(",")]  # LENS=16,64: fewer workloads
NB = 32


class Pooled(torch.nn.Module):
    """make_reference_families.Encoder in float32, mean-pooled and normalised."""

    def __init__(self, enc):
        super().__init__()
        self.e = enc.float()

    def forward(self, input_ids, attention_mask):
        s = self.e
        B, T = input_ids.shape
        if s.fam in ("mpnet", "roberta"):
            pad = s.spec["pad"]
            m = input_ids.ne(pad).long()
            pos = torch.cumsum(m, dim=1) * m + pad
        else:
            pos = torch.arange(T).unsqueeze(0).expand(B, T)
        x = s.word(input_ids)
        if s.typ is not None:
            x = x + s.typ(torch.zeros_like(input_ids))
        x = s.ln(x + s.pos(pos))
        ext = (1.0 - attention_mask[:, None, None, :].float()) * -1e30
        bias = None
        if s.rel is not None:
            r = torch.arange(T)
            bias = s.rel(mf.relative_position_bucket(r[None, :] - r[:, None], num_buckets=32)).permute([2, 0, 1]).unsqueeze(0)
        for ly in s.layers:
            x = ly(x, ext, bias)
        m = attention_mask.unsqueeze(-1).float()
        return F.normalize((x * m).sum(1) / torch.clamp(m.sum(1), min=1e-9), p=2.0, dim=1)


def setup(d, name, fam, model_type, kw, bos, eos):
    fd = os.path.join(d, name)
    if os.path.exists(os.path.join(fd, "model.onnx")):
        return fd
    spec = mf.spec_of(seed=7, init="hf", **kw)
    w, blob = mf.build_weights(fam, spec)
    enc = mf.Encoder(fam, spec, w).eval()
    mf.write_model_dir(os.path.join(fd, "model"), fam, spec, model_type, blob)
    rng = np.random.default_rng(11)
    for L in (16, 64, 128, 256):
        with open(os.path.join(fd, "ids_bi_%d.txt" % L), "w") as f:
            for _ in range(NB):
                ids = [bos] + [int(x) for x in rng.integers(5, spec["vocab"], L - 2)] + [eos]
                f.write(" ".join(map(str, ids)) + "\n")
    ids = torch.tensor([list(map(int, l.split())) for l in open(os.path.join(fd, "ids_bi_16.txt"))])
    mask = torch.ones_like(ids)
    with torch.no_grad():  # the float64 reference, before the float32 copy for ONNX
        ref = mf.run(enc, [(r.tolist(), [0] * len(r)) for r in ids], spec["pad"])[2]
    ref.float().numpy().tofile(os.path.join(fd, "ref_bi16.f32"))
    model = Pooled(enc).eval()
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask), os.path.join(fd, "model.onnx"), input_names=["input_ids", "attention_mask"],
                          output_names=["out"], dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"},
                                                              "out": {0: "b"}}, opset_version=14)
    print("families: %s ready in %s" % (name, fd), file=sys.stderr)
    return fd


class Worker:
    def __init__(self, engine, fam, argv):
        self.engine, self.fam = engine, fam
        self.p = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        while True:
            line = self.p.stdout.readline()
            if not line:
                sys.exit("families: %s %s worker ended before it was ready" % (engine, fam))
            r = json.loads(line)
            if r.get("what") == "ready":
                break
            r["family"] = fam
            print(json.dumps(r), flush=True)

    def ask(self, L, n):
        self.p.stdin.write("bi %d %d\n" % (L, n))
        self.p.stdin.flush()
        r = json.loads(self.p.stdout.readline())
        r["family"] = self.fam
        return r

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        self.p.wait()


def table(paths):
    """Markdown table of JSON-lines results: best round per engine, winnow / ORT."""
    best, checks, machine = {}, {}, ""
    for p in paths:
        for line in open(p):
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            if r.get("what") == "check":
                checks[(r["family"], r["engine"])] = r["max_abs_diff"]
            elif r.get("what") == "machine":
                machine = "threads %s, %s kernels (%s)" % (r["threads"], r["isa"], r["kernels"])
            elif r.get("what") == "bi":
                k = (r["family"], r["engine"], r["len"])
                best[k] = max(best.get(k, 0), r["value"])
    print("batch 32, random ids, no padding; %s; seq/s, best round; max |diff| vs PyTorch float64 at 32 x 16\n" % machine)
    print("| family (shape) | tokens | winnow seq/s | ORT seq/s | winnow / ORT | max abs diff winnow, ORT |")
    print("|---|---|---|---|---|---|")
    shape = {f[0]: "%d x %d" % (f[3]["layers"], f[3]["hidden"]) for f in FAMILIES}
    for fam in [f[0] for f in FAMILIES]:
        for L in LENS:
            w, o = best.get((fam, "winnow", L)), best.get((fam, "ort", L))
            if w is None:
                continue
            print("| %s (%s) | %d | %.1f | %s | %s | %.1e, %s |" % (
                fam, shape[fam], L, w, "%.1f" % o if o else "-", "%.2f" % (w / o) if o else "-",
                checks.get((fam, "winnow"), float("nan")),
                "%.1e" % checks[(fam, "ort")] if (fam, "ort") in checks else "-"))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "table":
        return table(sys.argv[2:])
    d, threads, reps, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    only = os.environ.get("FAMILIES", "").split(",") if os.environ.get("FAMILIES") else None
    os.makedirs(d, exist_ok=True)
    for name, fam, mt, kw, bos, eos in FAMILIES:
        if only and name not in only:
            continue
        fd = setup(d, name, fam, mt, kw, bos, eos)
        ws = [Worker("winnow", name, ["build/bench/bench_encoder", "fserve", fd, threads, "fp32"]),
              Worker("ort", name, ["node", "bench/ort/families.js", fd, threads])]
        for rnd in range(rounds):
            order = ws[rnd % 2:] + ws[:rnd % 2]
            for L in LENS:
                for w in order:
                    time.sleep(0.05)
                    r = w.ask(L, reps if L < 128 else (reps + 1) // 2)
                    r["round"] = rnd + 1
                    print(json.dumps(r), flush=True)
        for w in ws:
            w.close()
        print("families: %s done" % name, file=sys.stderr)


if __name__ == "__main__":
    main()
