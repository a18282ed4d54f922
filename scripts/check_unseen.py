#!/usr/bin/python3
"""check_unseen.py - end to end on models and texts the fixtures never had: new
shapes (hidden 96, 6 heads, 3 layers, intermediate 200), new seeds, F32/BF16/F16
weights, mean/CLS/max pooling and all four concatenated, cross-encoders at max_len 48, texts with accents, CJK,
a 150-char word, a 2500-char line; ids from `winnow tokenize`, outputs of
`winnow embed` / `winnow score` (batch 1/7/1000, threads 1/2, --activation sigmoid)
against the PyTorch model of scripts/make_reference.py. Prints the worst |diff| per
case; exits 1 if any embedding is off by more than 1e-4 or a logit by 1e-3.

Run from the repository root after `make`: /usr/bin/python3 scripts/check_unseen.py
"""
import sys, os, json, subprocess, math, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_reference as R
import torch, torch.nn.functional as F
W = os.environ.get("BUILD", "build") + "/winnow"
TMP = tempfile.mkdtemp(prefix="wn_unseen_")
vocab = open(R.VOCAB_SRC, encoding="utf-8").read().split("\n")
if vocab[-1] == "": vocab = vocab[:-1]
texts = ["Zürich's café served crème brûlée at 9:30pm!", "", "東京 is the capital of Japan", "x" * 150,
         "don't stop—believing... (really?)", "  leading and trailing   ", "word " * 500,
         "The cross-encoder re-ranks the bi-encoder's candidates.", "a\u0301 e\u0300 combining", "12345 67.89 $100"]
open(TMP + "/texts.txt", "w").write("\n".join(texts) + "\n")
worst = {}
def cli(args, inp):
    r = subprocess.run([W] + args + [inp], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines()]
for name, dtype, pool, maxpos, seed in [("bi_f32_mean", "F32", "mean", 64, 901), ("bi_bf16_cls", "BF16", "cls", 40, 902),
                                        ("bi_f16_max", "F16", "max", 96, 903), ("bi_f32_concat", "F32", "cls+max+mean+sqrt", 64, 904)]:
    spec = R.spec_of(vocab=len(vocab), hidden=96, heads=6, layers=3, inter=200, max_pos=maxpos, dtype=dtype, seed=seed)
    w, blob = R.build_weights(spec)
    m = R.Bert(spec, w).eval()
    d = os.path.join(TMP, name)
    R.write_model_dir(d, spec, blob, vocab)
    pc = json.load(open(d + "/1_Pooling/config.json"))
    modes = pool.split("+")
    pc["pooling_mode_mean_tokens"] = "mean" in modes; pc["pooling_mode_cls_token"] = "cls" in modes
    pc["pooling_mode_max_tokens"] = "max" in modes; pc["pooling_mode_mean_sqrt_len_tokens"] = "sqrt" in modes
    json.dump(pc, open(d + "/1_Pooling/config.json", "w"))
    toks = cli(["tokenize", "--model", d], TMP + "/texts.txt")
    seqs = [(t["ids"], t["type_ids"]) for t in toks]
    layers, pooled, normed, _ = R.run(spec, m, seqs)
    last = layers[-1]; lens = [len(a) for a, _ in seqs]; rows = torch.split(last, lens)
    parts = []  # sentence-transformers' Pooling concatenates in this order
    if "cls" in modes: parts.append(torch.stack([r[0] for r in rows]))
    if "max" in modes: parts.append(torch.stack([r.max(0).values for r in rows]))
    if "mean" in modes: parts.append(pooled)
    if "sqrt" in modes: parts.append(torch.stack([r.sum(0) / math.sqrt(len(r)) for r in rows]))
    p = torch.cat(parts, dim=1)
    ref = F.normalize(p, p=2, dim=1, eps=1e-12)
    for b, th in ((1, 1), (7, 2), (1000, 2)):
        got = torch.tensor([e["embedding"] for e in cli(["embed", "--model", d, "--batch", str(b), "--threads", str(th)], TMP + "/texts.txt")], dtype=torch.float64)
        diff = (got - ref).abs(); i = int(diff.argmax())
        worst[f"{name} b{b} t{th}"] = (float(diff.max()), i)
    print(name, "lens", lens)
# cross-encoder
pairs = [(a, b) for a, b in zip(texts, reversed(texts))]
open(TMP + "/pairs.txt", "w").write("\n".join(a + "\t" + b for a, b in pairs) + "\n")
for name, dtype, seed in [("ce_f32", "F32", 911), ("ce_bf16", "BF16", 912)]:
    spec = R.spec_of(vocab=len(vocab), hidden=96, heads=6, layers=3, inter=200, max_pos=48, classifier=1, dtype=dtype, seed=seed)
    w, blob = R.build_weights(spec)
    m = R.Bert(spec, w).eval()
    d = os.path.join(TMP, name)
    R.write_model_dir(d, spec, blob, vocab)
    toks = cli(["tokenize", "--pair", "--model", d], TMP + "/pairs.txt")
    seqs = [(t["ids"], t["type_ids"]) for t in toks]
    _, _, _, logits = R.run(spec, m, seqs)
    for b, th in ((1, 1), (7, 2)):
        got = torch.tensor([[e["score"]] for e in cli(["score", "--model", d, "--batch", str(b), "--threads", str(th)], TMP + "/pairs.txt")], dtype=torch.float64)
        diff = (got - logits).abs()
        worst[f"{name} b{b} t{th}"] = (float(diff.max()), int(diff.argmax()))
        sg = cli(["score", "--model", d, "--activation", "sigmoid"], TMP + "/pairs.txt")
        worst[f"{name} sigmoid"] = (max(abs(e["score"] - 1 / (1 + math.exp(-float(l)))) for e, l in zip(sg, logits[:, 0])), 0)
    print(name, "lens", [len(a) for a, _ in seqs])
bad = 0
for k, v in worst.items():
    tol = 1e-3 if k.startswith("ce_") else 1e-4
    bad += v[0] > tol
    print(f"{k:24s} worst |diff| {v[0]:.3g} at [{v[1]}] (tolerance {tol:g})")
import shutil
shutil.rmtree(TMP)
sys.exit(1 if bad else 0)
