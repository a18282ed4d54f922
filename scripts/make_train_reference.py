#!/usr/bin/python3
"""make_train_reference.py - PyTorch references for winnow's training (src/train).

Builds small random BERT models with make_reference.py's generator (the same
weights src/model/synth.c computes) and, in float64 with autograd:

  grad_bi      a bi-encoder (mean pooling + Normalize) on an MNRL batch: 3 queries,
               3 positives + 2 hard negatives, padded, scale 20
  grad_bi_cls  the same with CLS pooling and no Normalize
  grad_ce      a cross-encoder (num_labels 1) on a BCE batch of 6 pairs with token
               types and padding
  grad_ce_list the same model on a listwise softmax batch (2 groups of 3)

dumping the loss and every parameter's gradient; and, through the data format
`winnow train` reads (JSONL texts, tokenised with make_reference.py's mini
WordPiece), a few AdamW steps (torch.optim.AdamW with sentence-transformers'
decay groups, get_linear_schedule_with_warmup as a LambdaLR, clip_grad_norm_)
with dropout 0 for a bi-encoder (MNRL) and a cross-encoder (BCE): the loss
before each update, the learning rate it used, and the final weights.

Fixtures (tests/fixtures/train): <name>.json (spec, inputs, tensor index) +
<name>.f32 (little-endian float32); model directories bi/, ce/, bi-cls/;
data files adam_bi.jsonl, adam_ce.jsonl.

Run: /usr/bin/python3 scripts/make_train_reference.py [--out tests/fixtures/train]
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_reference as mr  # noqa: E402


def hf_params(model, classifier):
    """[(HF name as stored, parameter)] in make_reference.tensor_list's order."""
    pre = "bert." if classifier else ""
    out = [(pre + "embeddings.word_embeddings.weight", model.word.weight),
           (pre + "embeddings.position_embeddings.weight", model.pos.weight),
           (pre + "embeddings.token_type_embeddings.weight", model.typ.weight),
           (pre + "embeddings.LayerNorm.weight", model.ln.weight),
           (pre + "embeddings.LayerNorm.bias", model.ln.bias)]
    for l, ly in enumerate(model.layers):
        p = "%sencoder.layer.%d." % (pre, l)
        for mod, nm in ((ly.q, "attention.self.query"), (ly.k, "attention.self.key"),
                        (ly.v, "attention.self.value"), (ly.o, "attention.output.dense"),
                        (ly.ln1, "attention.output.LayerNorm"), (ly.i, "intermediate.dense"),
                        (ly.out, "output.dense"), (ly.ln2, "output.LayerNorm")):
            out.append((p + nm + ".weight", mod.weight))
            out.append((p + nm + ".bias", mod.bias))
    if classifier:
        out += [(pre + "pooler.dense.weight", model.pooler.weight), (pre + "pooler.dense.bias", model.pooler.bias),
                ("classifier.weight", model.cls.weight), ("classifier.bias", model.cls.bias)]
    return out


def pad(seqs):
    B, T = len(seqs), max(len(a) for a, _ in seqs)
    ids = torch.zeros(B, T, dtype=torch.long)
    typ = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.long)
    for b, (a, t) in enumerate(seqs):
        ids[b, :len(a)] = torch.tensor(a)
        typ[b, :len(a)] = torch.tensor(t)
        mask[b, :len(a)] = 1
    return ids, typ, mask


def embed(model, seqs, pooling="mean", normalize=True):
    """sentence-transformers: Transformer -> Pooling -> (Normalize)."""
    ids, typ, mask = pad(seqs)
    states, _ = model(ids, typ, mask)
    h = states[-1]
    if pooling == "cls":
        v = h[:, 0]
    else:
        m = mask.unsqueeze(-1).double()
        v = (h * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    return F.normalize(v, p=2, dim=1) if normalize else v


def logits_of(model, seqs):
    ids, typ, mask = pad(seqs)
    return model(ids, typ, mask)[1]


def mnrl(q, d, scale=20.0):
    """sentence-transformers MultipleNegativesRankingLoss: cos_sim * scale, CE with labels 0..nq-1."""
    s = torch.mm(F.normalize(q, p=2, dim=1), F.normalize(d, p=2, dim=1).t()) * scale
    return F.cross_entropy(s, torch.arange(q.shape[0]))


class Dump:
    def __init__(s, name, spec, meta):
        s.name, s.spec, s.meta, s.index, s.data, s.off = name, spec, meta, {}, [], 0

    def add(s, key, t):
        a = np.asarray(t.detach().numpy() if torch.is_tensor(t) else t, dtype="<f4")
        s.index[key] = {"offset": s.off, "shape": list(a.shape)}
        s.data.append(a.tobytes())
        s.off += a.size

    def write(s, out):
        meta = dict(s.meta, spec=s.spec, tensors=s.index)
        json.dump(meta, open(os.path.join(out, s.name + ".json"), "w"))
        open(os.path.join(out, s.name + ".f32"), "wb").write(b"".join(s.data))


def rand_seq(rng, n, vocab, pair=False):
    ids = [2] + [int(x) for x in rng.integers(5, vocab, size=n - 2)] + [3]
    types = [0] * n
    if pair:
        cut = max(2, n // 2)
        types = [0] * cut + [1] * (n - cut)
    return ids, types


def grads(params):
    return [(n, p.grad.clone() if p.grad is not None else torch.zeros_like(p)) for n, p in params]


def setup_pooling(d, cls):
    """Rewrites a bi-encoder directory's Pooling for CLS and drops Normalize."""
    json.dump({"word_embedding_dimension": json.load(open(os.path.join(d, "config.json")))["hidden_size"],
               "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": False,
               "pooling_mode_mean_sqrt_len_tokens": False}, open(os.path.join(d, "1_Pooling", "config.json"), "w"))
    json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}],
              open(os.path.join(d, "modules.json"), "w"), indent=2)


def grad_fixtures(out, rng):
    # --- bi-encoder, MNRL with hard negatives, mean pooling + Normalize; then CLS pooling
    for name, pooling in (("grad_bi", "mean"), ("grad_bi_cls", "cls")):
        spec = mr.spec_of(vocab=100, hidden=32, heads=4, layers=2, inter=64, max_pos=64, seed=31)
        w, blob = mr.build_weights(spec)
        d = os.path.join(out, "bi" if pooling == "mean" else "bi-cls")
        mr.write_model_dir(d, spec, blob)
        if pooling == "cls":
            setup_pooling(d, True)
        model = mr.Bert(spec, w)
        params = hf_params(model, False)
        qs = [rand_seq(rng, n, 100) for n in (5, 9, 3)]
        ds = [rand_seq(rng, n, 100) for n in (12, 4, 7, 20, 6)]
        q = embed(model, qs, pooling, pooling == "mean")
        dd = embed(model, ds, pooling, pooling == "mean")
        loss = mnrl(q, dd, 20.0)
        loss.backward()
        fx = Dump(name, spec, {"pooling": pooling, "nq": 3, "nd": 5, "scale": 20.0,
                               "inputs": [{"ids": a, "types": t} for a, t in qs + ds]})
        fx.add("loss", torch.tensor([loss.item()]))
        fx.add("emb_q", q)
        fx.add("emb_d", dd)
        for n, g in grads(params):
            fx.add("grad:" + n, g)
        fx.write(out)

    # --- cross-encoder: BCE, then listwise
    spec = mr.spec_of(vocab=100, hidden=32, heads=4, layers=2, inter=64, max_pos=64, seed=37, classifier=1,
                      num_labels=1)
    w, blob = mr.build_weights(spec)
    mr.write_model_dir(os.path.join(out, "ce"), spec, blob)
    for name in ("grad_ce", "grad_ce_list"):
        model = mr.Bert(spec, w)
        params = hf_params(model, True)
        seqs = [rand_seq(rng, n, 100, pair=True) for n in (7, 15, 4, 11, 9, 5)]
        x = logits_of(model, seqs).view(-1)
        if name == "grad_ce":
            y = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.25, 1.0], dtype=torch.float64)
            loss = F.binary_cross_entropy_with_logits(x, y)
            meta = {"labels": y.tolist()}
        else:
            loss = F.cross_entropy(x.view(2, 3), torch.zeros(2, dtype=torch.long))
            meta = {"groups": 2, "group_size": 3}
        loss.backward()
        meta["inputs"] = [{"ids": a, "types": t} for a, t in seqs]
        fx = Dump(name, spec, meta)
        fx.add("loss", torch.tensor([loss.item()]))
        fx.add("logits", x)
        for n, g in grads(params):
            fx.add("grad:" + n, g)
        fx.write(out)


def mlm_fixture(out, rng):
    """BertForMaskedLM: the encoder + BertOnlyMLMHead (dense, GELU, LayerNorm, decoder tied
    to the word embeddings + bias) on 4 padded sequences, cross-entropy over the labelled
    positions (ignore_index -100)."""
    spec = mr.spec_of(vocab=100, hidden=32, heads=4, layers=2, inter=64, max_pos=64, seed=47)
    w, _ = mr.build_weights(spec)
    H, V = spec["hidden"], spec["vocab"]
    head = {"cls.predictions.transform.dense.weight": rng.normal(0, 0.1, (H, H)),
            "cls.predictions.transform.dense.bias": rng.normal(0, 0.05, (H,)),
            "cls.predictions.transform.LayerNorm.weight": 1 + rng.normal(0, 0.1, (H,)),
            "cls.predictions.transform.LayerNorm.bias": rng.normal(0, 0.05, (H,)),
            "cls.predictions.bias": rng.normal(0, 0.05, (V,))}
    head = {k: v.astype(np.float32) for k, v in head.items()}
    tensors = [("bert." + n, "F32", tuple(t.shape), t.numpy().astype(np.float32).tobytes()) for n, t in w.items()]
    tensors += [(n, "F32", v.shape, v.tobytes()) for n, v in head.items()]
    d = os.path.join(out, "mlm")
    mr.write_model_dir(d, spec, mr.safetensors_bytes(tensors))
    cfg = json.load(open(os.path.join(d, "config.json")))
    cfg["architectures"] = ["BertForMaskedLM"]
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    model = mr.Bert(spec, w)
    hp = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in head.items()}
    seqs = [rand_seq(rng, n, V) for n in (9, 14, 5, 11)]
    labels = []
    for a, _ in seqs:
        lab = [-100] * len(a)
        for t in range(1, len(a) - 1):
            if rng.random() < 0.3:
                lab[t] = int(rng.integers(5, V))
                if rng.random() < 0.8:
                    a[t] = 4  # the [MASK] stand-in of this vocabulary
        labels.append(lab)
    ids, typ, mask = pad(seqs)
    states, _ = model(ids, typ, mask)
    h = states[-1]
    t = F.gelu(F.linear(h, hp["cls.predictions.transform.dense.weight"], hp["cls.predictions.transform.dense.bias"]))
    y = F.layer_norm(t, (H,), hp["cls.predictions.transform.LayerNorm.weight"],
                     hp["cls.predictions.transform.LayerNorm.bias"], eps=1e-12)
    logits = F.linear(y, model.word.weight, hp["cls.predictions.bias"])
    lab = torch.full(ids.shape, -100, dtype=torch.long)
    for b, l in enumerate(labels):
        lab[b, :len(l)] = torch.tensor(l)
    loss = F.cross_entropy(logits.view(-1, V), lab.view(-1), ignore_index=-100)
    loss.backward()
    fx = Dump("grad_mlm", spec, {"inputs": [{"ids": a, "types": t} for a, t in seqs], "labels": labels})
    fx.add("loss", torch.tensor([loss.item()]))
    for n, g in grads(hf_params(model, False)):
        fx.add("grad:bert." + n, g)
    for n, p in hp.items():
        fx.add("grad:" + n, p.grad)
    fx.write(out)


# ---------------------------------------------------------------- AdamW steps through the data format

WORDS = ("the of and to in is was for on as with by he at from his an were are which this be or has had not "
         "first one their its new after but who they also two been her she time can may been into more other "
         "world city school year people high state game film music house water war team").split()


def encode(vmap, a, b, max_len):
    """[CLS] a [SEP] (b [SEP]) truncated as HF's fast tokenizer does (tokenizers'
    truncation.rs, LongestFirst): with n1 <= n2, cut only the longer to budget - n1
    if that leaves it at least n1, else both to budget / 2, the odd token to the
    second (b on a tie). make_reference.encode pops one token at a time instead,
    which differs when both texts are cut."""
    if b is None:
        return mr.encode(vmap, a, None, max_len)
    ia, ib = mr.wordpiece(a, vmap), mr.wordpiece(b, vmap)
    budget = max_len - 3
    if len(ia) + len(ib) > budget:
        n1, n2, swap = len(ia), len(ib), False
        if n1 > n2:
            n1, n2, swap = n2, n1, True
        n2 = n1 if n1 > budget else max(n1, budget - n1)
        if n1 + n2 > budget:
            n1 = budget // 2
            n2 = n1 + budget % 2
        if swap:
            n1, n2 = n2, n1
        ia, ib = ia[:n1], ib[:n2]
    ids = [vmap["[CLS]"]] + ia + [vmap["[SEP]"]] + ib + [vmap["[SEP]"]]
    return ids, [0] * (len(ia) + 2) + [1] * (len(ib) + 1)


def sentence(rng, n):
    return " ".join(WORDS[int(i)] for i in rng.integers(0, len(WORDS), size=n))


def adam_fixture(out, rng, task, vocab):
    vmap = {t: i for i, t in enumerate(vocab)}
    spec = mr.spec_of(vocab=len(vocab), hidden=32, heads=4, layers=2, inter=64, max_pos=64, seed=41 if task == "bi" else 43,
                      classifier=int(task == "ce"), num_labels=1)
    w, blob = mr.build_weights(spec)
    d = os.path.join(out, "adam-" + task)
    mr.write_model_dir(d, spec, blob, vocab)
    model = mr.Bert(spec, w)
    params = hf_params(model, task == "ce")
    rows = []
    for r in range(16):
        if task == "bi":
            row = {"query": sentence(rng, int(rng.integers(2, 8))), "positive": sentence(rng, int(rng.integers(4, 20)))}
            row["negatives"] = [sentence(rng, int(rng.integers(3, 15))) for _ in range(r % 3)]
        else:
            row = {"query": sentence(rng, int(rng.integers(2, 8))), "document": sentence(rng, int(rng.integers(4, 20))),
                   "label": float(r % 2) if r % 5 else 0.5}
        rows.append(row)
    with open(os.path.join(out, "adam_%s.jsonl" % task), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    B, steps, lr, warmup, wd, clip, max_len = 4, 4, 1e-3, 1, 0.01, 1.0, 16
    decay = [p for n, p in params if not any(k in n for k in ("bias", "LayerNorm.weight"))]
    no_decay = [p for n, p in params if any(k in n for k in ("bias", "LayerNorm.weight"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup)))
    losses, lrs = [], []
    for k in range(steps):
        batch = rows[k * B:(k + 1) * B]
        opt.zero_grad()
        if task == "bi":
            qs = [encode(vmap, r["query"], None, max_len) for r in batch]
            ds = [encode(vmap, r["positive"], None, max_len) for r in batch]
            ds += [encode(vmap, n, None, max_len) for r in batch for n in r["negatives"]]
            loss = mnrl(embed(model, qs), embed(model, ds), 20.0)
        else:
            seqs = [encode(vmap, r["query"], r["document"], max_len) for r in batch]
            y = torch.tensor([r["label"] for r in batch], dtype=torch.float64)
            loss = F.binary_cross_entropy_with_logits(logits_of(model, seqs).view(-1), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], clip)
        losses.append(loss.item())
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    fx = Dump("adam_" + task, spec, {"task": task, "batch": B, "steps": steps, "lr": lr, "warmup": warmup,
                                     "weight_decay": wd, "max_grad_norm": clip, "max_length": max_len,
                                     "losses": losses, "lrs": lrs})
    fx.add("losses", torch.tensor(losses))
    for n, p in params:
        fx.add("weight:" + n, p)
    fx.write(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/train")
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(20261203)
    grad_fixtures(args.out, rng)
    vocab = mr.tiny_vocab()
    adam_fixture(args.out, rng, "bi", vocab)
    adam_fixture(args.out, rng, "ce", vocab)
    mlm_fixture(args.out, np.random.default_rng(47))


if __name__ == "__main__":
    main()
