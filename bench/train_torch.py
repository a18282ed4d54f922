#!/usr/bin/python3
"""train_torch.py - the step bench_train.c times, in PyTorch (Debian python3-torch),
float32: MiniLM-L6 shapes with make_reference.py's BERT (torch.nn layers, the
erf GELU, HF's additive padding mask) in train mode with dropout 0.1 at HF's
sites, the MNRL (bi: B queries, B positives of T tokens) or BCE (ce: B pairs)
loss, backward, clip_grad_norm_(1.0), torch.optim.AdamW with sentence-transformers'
decay groups. Prints one JSON line like bench_train: median step time,
examples/s, tokens/s, peak RSS.

Run: /usr/bin/python3 bench/train_torch.py [--mode bi|ce] [--batch 32] [--len 64] [--steps 5] [--threads 2]
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import make_reference as mr  # noqa: E402


class Layer(nn.Module):
    def __init__(s, H, I, NH, p):
        super().__init__()
        s.NH, s.p = NH, p
        s.q, s.k, s.v, s.o = (nn.Linear(H, H) for _ in range(4))
        s.ln1, s.ln2 = nn.LayerNorm(H, eps=1e-12), nn.LayerNorm(H, eps=1e-12)
        s.i, s.out = nn.Linear(H, I), nn.Linear(I, H)

    def forward(s, x, ext):
        B, T, H = x.shape
        HD = H // s.NH
        sp = lambda y: y.view(B, T, s.NH, HD).permute(0, 2, 1, 3)
        q, k, v = sp(s.q(x)), sp(s.k(x)), sp(s.v(x))
        a = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(HD) + ext, dim=-1)
        ctx = torch.matmul(F.dropout(a, s.p, s.training), v).permute(0, 2, 1, 3).reshape(B, T, H)
        x = s.ln1(F.dropout(s.o(ctx), s.p, s.training) + x)
        return s.ln2(F.dropout(s.out(F.gelu(s.i(x))), s.p, s.training) + x)


class Bert(nn.Module):
    def __init__(s, V, H, I, NH, L, P, ce, p=0.1):
        super().__init__()
        s.word, s.pos, s.typ = nn.Embedding(V, H), nn.Embedding(P, H), nn.Embedding(2, H)
        s.ln = nn.LayerNorm(H, eps=1e-12)
        s.layers = nn.ModuleList(Layer(H, I, NH, p) for _ in range(L))
        s.p, s.ce = p, ce
        if ce:
            s.pooler, s.cls = nn.Linear(H, H), nn.Linear(H, 1)

    def forward(s, ids, typ, mask):
        T = ids.shape[1]
        x = F.dropout(s.ln(s.word(ids) + s.typ(typ) + s.pos(torch.arange(T).unsqueeze(0))), s.p, s.training)
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for ly in s.layers:
            x = ly(x, ext)
        if s.ce:
            return s.cls(F.dropout(torch.tanh(s.pooler(x[:, 0])), s.p, s.training)).view(-1)
        m = mask.unsqueeze(-1).float()
        return F.normalize((x * m).sum(1) / m.sum(1).clamp(min=1e-9), p=2, dim=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="bi")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--len", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    ce = a.mode == "ce"
    model = Bert(30522, 384, 1536, 12, 6, 512, ce).train()
    names = [n for n, _ in model.named_parameters()]
    decay = [p for n, p in model.named_parameters() if not ("bias" in n or n.startswith("ln") or ".ln" in n)]
    no_decay = [p for n, p in model.named_parameters() if "bias" in n or n.startswith("ln") or ".ln" in n]
    assert len(decay) + len(no_decay) == len(names)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=2e-5)
    B, T = a.batch, a.len
    rng = np.random.default_rng(1)
    nseq = B if ce else 2 * B
    ids = torch.from_numpy(rng.integers(1000, 30522, size=(nseq, T)).astype(np.int64))
    ids[:, 0], ids[:, -1] = 101, 102
    typ = torch.zeros(nseq, T, dtype=torch.long)
    if ce:
        typ[:, T // 2:] = 1
    mask = torch.ones(nseq, T, dtype=torch.long)
    y = torch.tensor([float(i % 2) for i in range(B)])
    times, cpu = [], []
    for s in range(a.steps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        if ce:
            loss = F.binary_cross_entropy_with_logits(model(ids, typ, mask), y)
        else:
            q = model(ids[:B], typ[:B], mask[:B])
            d = model(ids[B:], typ[B:], mask[B:])
            loss = F.cross_entropy(torch.mm(q, d.t()) * 20.0, torch.arange(B))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    med = sorted(times[1:])[len(times[1:]) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"impl": "pytorch " + torch.__version__, "mode": a.mode, "batch": B, "len": T,
                      "threads": torch.get_num_threads(), "step_ms": round(med * 1e3, 1),
                      "cpu_ms": round(sorted(cpu[1:])[len(cpu[1:]) // 2] * 1e3, 1),
                      "examples_per_s": round(B / med, 1), "tokens_per_s": round(nseq * T / med),
                      "peak_rss_mb": round(rss), "loss": round(loss.item(), 4)}))


if __name__ == "__main__":
    main()
