#!/usr/bin/python3
"""make_reference_families.py - PyTorch references for winnow's other encoder
families: MPNet, DistilBERT, RoBERTa / XLM-RoBERTa.

transformers is not installed here, so each family is written from torch.nn
layers following the HF modules' semantics (modeling_mpnet.py, modeling_distilbert.py,
modeling_roberta.py) and the MPNet paper (Song et al. 2020: a BERT-shaped encoder
with T5's bucketed relative position bias shared by all layers):
  - MPNet: word + position embeddings (no token types), position ids
    padding_idx + cumsum(id != padding_idx) with padding_idx 1; relative position
    bias from encoder.relative_attention_bias through T5's bidirectional buckets
    (32 buckets, max distance 128, computed in float32 as HF does), the same
    (NH, T, T) bias added to every layer's scaled scores; post-LN layers with
    attention.attn.{q,k,v,o} and attention.LayerNorm; head (MPNetForSequence-
    Classification) classifier.dense + tanh + classifier.out_proj on <s>.
  - DistilBERT: word + position embeddings, LayerNorm eps 1e-12 everywhere,
    q scaled by 1/sqrt(HD) before q k^T, sa_layer_norm / output_layer_norm; head
    pre_classifier + ReLU + classifier.
  - RoBERTa / XLM-R: BERT's layers, position ids as MPNet's with the config's
    pad_token_id, one token type; head classifier.dense + tanh + out_proj.
Models are random-weight, written in the HF layout (safetensors by hand, names
as the HF modules name them, "mpnet."/"distilbert."/"roberta." prefixes for the
*For* classes). Everything runs in float64 on the weights as stored.

Fixtures (tests/fixtures/model/families/): per model a directory (config.json,
model.safetensors, sentence-transformers files) and name.json + name.f32 in
make_reference.py's format (inputs, every layer, embeddings or logits), read by
tests/test_model_families.c. mpnet_text: a model with the real all-mpnet-base-v2
vocabulary size, for `winnow embed` on texts with the real tokenizer files; its
token ids come from HF's tokenizer (scripts/hf_ids.js, npm tokenizers 0.23.2),
truncated at max_seq_length 384 as sentence-transformers does.

--full DIR writes a random all-mpnet-base-v2 at full shape (12 x 768, 438 MB)
with the real config and tokenizer files into DIR, and DIR/expected.jsonl: the
reference embeddings of DIR/texts.txt (scripts/check_mpnet_full.sh runs winnow
on it and compares).

Run: NODE_PATH=/tmp/hf/node_modules /usr/bin/python3 scripts/make_reference_families.py
         [--out tests/fixtures/model/families] [--full DIR --init hf|wide]
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import Fixture, safetensors_bytes  # noqa: E402

MPNET_SRC = "../shared/models/all-mpnet-base-v2"
ST_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
            "sentence_bert_config.json", "modules.json", "1_Pooling/config.json"]


# ---------------------------------------------------------------- weights in the HF layout

def tensor_list(fam, spec):
    """(name, shape, kind) in file order; kind picks the distribution."""
    H, I, L = spec["hidden"], spec["inter"], spec["layers"]
    cls = spec["classifier"]
    pre = {"mpnet": "mpnet.", "distilbert": "distilbert.", "roberta": "roberta."}[fam] if cls else ""
    t = [(pre + "embeddings.word_embeddings.weight", (spec["vocab"], H), "emb"),
         (pre + "embeddings.position_embeddings.weight", (spec["max_pos"], H), "emb")]
    if fam == "roberta":
        t.append((pre + "embeddings.token_type_embeddings.weight", (spec["type_vocab"], H), "emb"))
    t += [(pre + "embeddings.LayerNorm.weight", (H,), "ln"), (pre + "embeddings.LayerNorm.bias", (H,), "b")]
    if fam == "mpnet":
        t.append((pre + "encoder.relative_attention_bias.weight", (spec["buckets"], spec["heads"]), "rel"))
    for l in range(L):
        if fam == "mpnet":
            p = "%sencoder.layer.%d." % (pre, l)
            names = ["attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o",
                     "attention.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"]
        elif fam == "distilbert":
            p = "%stransformer.layer.%d." % (pre, l)
            names = ["attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin",
                     "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm"]
        else:
            p = "%sencoder.layer.%d." % (pre, l)
            names = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                     "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"]
        shapes = [(H, H), (H, H), (H, H), (H, H), None, (I, H), (H, I), None]
        for nm, sh in zip(names, shapes):
            if sh is None:
                t += [(p + nm + ".weight", (H,), "ln"), (p + nm + ".bias", (H,), "b")]
            else:
                t += [(p + nm + ".weight", sh, "w"), (p + nm + ".bias", (sh[0],), "b")]
    if fam in ("mpnet", "roberta") and not cls and spec.get("pooler"):
        t += [("pooler.dense.weight", (H, H), "w"), ("pooler.dense.bias", (H,), "b")]  # present, unused
    if cls:
        NL = spec["num_labels"]
        if fam == "distilbert":
            t += [("pre_classifier.weight", (H, H), "w"), ("pre_classifier.bias", (H,), "b"),
                  ("classifier.weight", (NL, H), "w"), ("classifier.bias", (NL,), "b")]
        else:
            t += [("classifier.dense.weight", (H, H), "w"), ("classifier.dense.bias", (H,), "b"),
                  ("classifier.out_proj.weight", (NL, H), "w"), ("classifier.out_proj.bias", (NL,), "b")]
    return t


def build_weights(fam, spec):
    """{name without the base prefix: float64 tensor of the stored values}, file bytes."""
    rng = np.random.default_rng(spec["seed"])
    init = spec.get("init", "wide")
    weights, out = {}, []
    for name, shape, kind in tensor_list(fam, spec):
        if init == "hf":  # HF _init_weights: normal(0, 0.02), LayerNorm 1 / 0, zero biases
            v = {"ln": np.ones(shape), "b": np.zeros(shape)}.get(kind)
            if v is None:
                v = rng.normal(0, 0.02, size=shape)
            if kind == "rel":  # trained tables are far from 0.02; keep the bias visible
                v = rng.normal(0, 1.0, size=shape)
        else:
            fan = shape[-1] if len(shape) == 2 else 1
            a = {"emb": 0.5, "w": 1.5 * math.sqrt(3.0 / fan), "ln": 0.125, "b": 0.0625, "rel": 2.0}[kind]
            v = rng.uniform(-a, a, size=shape) + (1.0 if kind == "ln" else 0.0)
        v = v.astype(np.float32)
        dt = spec.get("word_dtype", "F32") if "word_embeddings" in name else "F32"
        stored = v.astype(np.float16).astype(np.float32) if dt == "F16" else v
        data = v.astype(np.float16).tobytes() if dt == "F16" else v.tobytes()
        base = name
        for p in ("mpnet.", "distilbert.", "roberta."):
            if base.startswith(p):
                base = base[len(p):]
        weights[base] = torch.from_numpy(stored.astype(np.float64))
        out.append((name, dt, shape, data))
    return weights, safetensors_bytes(out)


# ---------------------------------------------------------------- the encoders from torch.nn

def relative_position_bucket(relative_position, num_buckets=32, max_distance=128):
    """HF MPNetEncoder.relative_position_bucket (T5's bidirectional buckets)."""
    ret = 0
    n = -relative_position
    num_buckets //= 2
    ret += (n < 0).to(torch.long) * num_buckets
    n = torch.abs(n)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    val_if_large = max_exact + (
        torch.log(n.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).to(torch.long)
    val_if_large = torch.min(val_if_large, torch.full_like(val_if_large, num_buckets - 1))
    ret += torch.where(is_small, n, val_if_large)
    return ret


class Layer(nn.Module):
    """A post-LayerNorm encoder layer; scale_q_first: DistilBERT's order."""

    def __init__(s, H, I, NH, eps, scale_q_first=False):
        super().__init__()
        s.NH, s.scale_q_first = NH, scale_q_first
        s.q, s.k, s.v, s.o = (nn.Linear(H, H) for _ in range(4))
        s.ln1, s.ln2 = nn.LayerNorm(H, eps=eps), nn.LayerNorm(H, eps=eps)
        s.i, s.out = nn.Linear(H, I), nn.Linear(I, H)

    def forward(s, x, ext_mask, bias=None):
        B, T, H = x.shape
        HD = H // s.NH
        sp = lambda y: y.view(B, T, s.NH, HD).permute(0, 2, 1, 3)
        q, k, v = sp(s.q(x)), sp(s.k(x)), sp(s.v(x))
        if s.scale_q_first:
            scores = torch.matmul(q / math.sqrt(HD), k.transpose(-1, -2))
        else:
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(HD)
        if bias is not None:
            scores = scores + bias
        scores = scores + ext_mask
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).reshape(B, T, H)
        x = s.ln1(s.o(ctx) + x)
        return s.ln2(s.out(F.gelu(s.i(x))) + x)  # F.gelu: erf, HF's "gelu"


class Encoder(nn.Module):
    def __init__(s, fam, spec, w):
        super().__init__()
        s.fam, s.spec = fam, spec
        H, I, NH = spec["hidden"], spec["inter"], spec["heads"]
        eps = spec["eps"]
        s.word = nn.Embedding(spec["vocab"], H)
        s.pos = nn.Embedding(spec["max_pos"], H)
        s.typ = nn.Embedding(spec["type_vocab"], H) if fam == "roberta" else None
        s.ln = nn.LayerNorm(H, eps=eps)
        s.rel = nn.Embedding(spec["buckets"], NH) if fam == "mpnet" else None
        s.layers = nn.ModuleList(Layer(H, I, NH, eps, fam == "distilbert") for _ in range(spec["layers"]))
        s.cls_on = spec["classifier"]
        if s.cls_on:
            s.dense, s.outp = nn.Linear(H, H), nn.Linear(H, spec["num_labels"])
        s.double()
        if fam == "mpnet":
            lnames = ["attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o",
                      "attention.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"]
            lpre = "encoder.layer.%d."
        elif fam == "distilbert":
            lnames = ["attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin",
                      "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm"]
            lpre = "transformer.layer.%d."
        else:
            lnames = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                      "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"]
            lpre = "encoder.layer.%d."
        with torch.no_grad():
            s.word.weight.copy_(w["embeddings.word_embeddings.weight"])
            s.pos.weight.copy_(w["embeddings.position_embeddings.weight"])
            if s.typ is not None:
                s.typ.weight.copy_(w["embeddings.token_type_embeddings.weight"])
            s.ln.weight.copy_(w["embeddings.LayerNorm.weight"])
            s.ln.bias.copy_(w["embeddings.LayerNorm.bias"])
            if s.rel is not None:
                s.rel.weight.copy_(w["encoder.relative_attention_bias.weight"])
            for l, ly in enumerate(s.layers):
                p = lpre % l
                for mod, nm in zip((ly.q, ly.k, ly.v, ly.o, ly.ln1, ly.i, ly.out, ly.ln2), lnames):
                    mod.weight.copy_(w[p + nm + ".weight"])
                    mod.bias.copy_(w[p + nm + ".bias"])
            if s.cls_on:
                dn, on = (("pre_classifier", "classifier") if fam == "distilbert"
                          else ("classifier.dense", "classifier.out_proj"))
                s.dense.weight.copy_(w[dn + ".weight"])
                s.dense.bias.copy_(w[dn + ".bias"])
                s.outp.weight.copy_(w[on + ".weight"])
                s.outp.bias.copy_(w[on + ".bias"])

    def forward(s, ids, types, mask):
        B, T = ids.shape
        if s.fam in ("mpnet", "roberta"):  # create_position_ids_from_input_ids
            pad = s.spec["pad"]
            m = ids.ne(pad).int()
            pos = (torch.cumsum(m, dim=1).type_as(m) * m).long() + pad
        else:
            pos = torch.arange(T).unsqueeze(0).expand(B, T)
        x = s.word(ids)
        if s.typ is not None:
            x = x + s.typ(types)
        x = s.ln(x + s.pos(pos))
        ext = (1.0 - mask[:, None, None, :].double()) * torch.finfo(torch.float64).min
        bias = None
        if s.rel is not None:  # MPNetEncoder.compute_position_bias: arange positions, once per forward
            ctx_pos = torch.arange(T, dtype=torch.long)[:, None]
            mem_pos = torch.arange(T, dtype=torch.long)[None, :]
            bucket = relative_position_bucket(mem_pos - ctx_pos, num_buckets=32)
            bias = s.rel(bucket).permute([2, 0, 1]).unsqueeze(0)  # (1, NH, T, T)
        states = [x]
        for ly in s.layers:
            x = ly(x, ext, bias)
            states.append(x)
        logits = None
        if s.cls_on:
            h = s.dense(x[:, 0])
            h = F.relu(h) if s.fam == "distilbert" else torch.tanh(h)
            logits = s.outp(h)
        return states, logits


def run(model, seqs, pad):
    """seqs: list of (ids, types); a batch padded with the pad id (as sentence-
    transformers pads). Returns per-layer real-token rows, mean-pooled,
    normalised, logits."""
    B, T = len(seqs), max(len(a) for a, _ in seqs)
    ids = torch.full((B, T), pad, dtype=torch.long)
    typ = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.long)
    for b, (a, t) in enumerate(seqs):
        ids[b, :len(a)] = torch.tensor(a)
        typ[b, :len(a)] = torch.tensor(t)
        mask[b, :len(a)] = 1
    with torch.no_grad():
        states, logits = model(ids, typ, mask)
        m = mask.unsqueeze(-1).double()
        pooled = (states[-1] * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
        normed = F.normalize(pooled, p=2, dim=1, eps=1e-12)
    layers = [torch.cat([st[b, :len(seqs[b][0])] for b in range(B)]) for st in states]
    return layers, pooled, normed, logits


# ---------------------------------------------------------------- model directories

def config_of(fam, spec, model_type):
    H, NL = spec["hidden"], spec["num_labels"]
    arch = {"mpnet": "MPNet", "distilbert": "DistilBert", "roberta": "Roberta" if model_type == "roberta" else "XLMRoberta"}[fam]
    arch += "ForSequenceClassification" if spec["classifier"] else ("ForMaskedLM" if fam == "mpnet" else "Model")
    if fam == "distilbert":
        cfg = {"activation": "gelu", "architectures": [arch], "attention_dropout": 0.1, "dim": H, "dropout": 0.1,
               "hidden_dim": spec["inter"], "initializer_range": 0.02, "max_position_embeddings": spec["max_pos"],
               "model_type": "distilbert", "n_heads": spec["heads"], "n_layers": spec["layers"], "pad_token_id": 0,
               "qa_dropout": 0.1, "seq_classif_dropout": 0.2, "sinusoidal_pos_embds": False, "vocab_size": spec["vocab"]}
    else:
        cfg = {"architectures": [arch], "attention_probs_dropout_prob": 0.1, "bos_token_id": 0, "eos_token_id": 2,
               "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": H, "initializer_range": 0.02,
               "intermediate_size": spec["inter"], "layer_norm_eps": spec["eps"],
               "max_position_embeddings": spec["max_pos"], "model_type": model_type,
               "num_attention_heads": spec["heads"], "num_hidden_layers": spec["layers"], "pad_token_id": spec["pad"],
               "vocab_size": spec["vocab"]}
        if fam == "mpnet":
            cfg["relative_attention_num_buckets"] = spec["buckets"]
        else:
            cfg["type_vocab_size"] = spec["type_vocab"]
            cfg["position_embedding_type"] = "absolute"
    if spec["classifier"]:
        cfg["id2label"] = {str(i): "LABEL_%d" % i for i in range(NL)}
        cfg["label2id"] = {"LABEL_%d" % i: i for i in range(NL)}
    return cfg


def write_model_dir(d, fam, spec, model_type, blob, st_files=True):
    os.makedirs(d, exist_ok=True)
    json.dump(config_of(fam, spec, model_type), open(os.path.join(d, "config.json"), "w"), indent=2)
    open(os.path.join(d, "model.safetensors"), "wb").write(blob)
    if st_files and not spec["classifier"]:
        json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                   {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
                  open(os.path.join(d, "modules.json"), "w"), indent=2)
        os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
        json.dump({"word_embedding_dimension": spec["hidden"], "pooling_mode_cls_token": False,
                   "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False}, open(os.path.join(d, "1_Pooling", "config.json"), "w"))


def spec_of(**kw):
    s = dict(vocab=1000, hidden=48, heads=4, layers=2, inter=96, max_pos=130, type_vocab=1, classifier=0,
             num_labels=1, dtype="F32", seed=1, eps=1e-5, pad=1, buckets=32)
    s.update(kw)
    return s


def rand_seqs(rng, lens, vocab, bos, eos, pad=None, pad_inside=False):
    seqs = []
    for i, n in enumerate(lens):
        body = [int(x) for x in rng.integers(5, vocab, size=max(n - 2, 0))]
        if pad_inside and pad is not None and len(body) > 4 and i % 2 == 0:
            body[len(body) // 2] = pad  # a pad id inside the text: position stays at pad
            body[1] = pad
        ids = ([bos] + body + ([eos] if n >= 2 else []))[:n]
        seqs.append((ids, [0] * n))
    return seqs


def hf_ids(tokenizer_json, cases):
    """HF's ids for cases (dicts a, b, max) through scripts/hf_ids.js."""
    path = "/tmp/wn_fam_cases.jsonl"
    with open(path, "w") as f:
        for c in cases:
            f.write(json.dumps(c) + "\n")
    js = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hf_ids.js")
    out = subprocess.run(["node", js, tokenizer_json, path], check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l]


def mpnet_texts():
    """Texts for `winnow embed` (one a line: no newlines in them)."""
    t = ["What is Deep Learning?", "", "hello world", "The quick brown fox jumps over the lazy dog.",
         "naïve café résumé coöperate Ångström", "ΟΔΟΣ ΣΑΣ όσος İstanbul IŞIK", "中文分词测试，没有空格。 カタカナ ひらがな",
         "🚀🦙 ✅ ❤️ 👍🏽 emoji between words", "ctrl\x01chars\x07bell\x1bescape\x7fdel", "tab\tseparated\tcolumns",
         "many     spaces   between\t\t\twords   ", "a" * 120 + " " + "b" * 30,
         "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
         "<s> x </s> <pad> <unk> <mask> [UNK] [CLS]", "the <pad> token inside <pad><pad> twice", "hello<mask>world <MASK> <UNK>",
         "U.S.A. e.g. i.e. 3.14 1,000,000 10:30pm https://example.com/a_b?c=d",
         "Retrieval-augmented generation (RAG) combines a retriever with a generator."]
    corpus = [json.loads(l) for l in open("../shared/data/collections/cranfield/corpus.jsonl", encoding="utf-8")][:40]
    for d in corpus[:8]:
        t.append((d.get("title", "") + " " + d["text"]).replace("\n", " ").strip())
    long = " ".join((d.get("title", "") + " " + d["text"]).replace("\n", " ") for d in corpus[8:40])
    t.append(long)  # far past 384 tokens: truncated
    t.append(" ".join(["word%d" % i for i in range(300)]))  # 300 words, ~4 pieces each: truncated
    return t


# ---------------------------------------------------------------- main

def forward_fixture(out, name, fam, model_type, spec, lens, rng, pad_inside=False):
    w, blob = build_weights(fam, spec)
    m = Encoder(fam, spec, w).eval()
    write_model_dir(os.path.join(out, name), fam, spec, model_type, blob)
    bos, eos = (0, 2) if fam != "distilbert" else (101 % spec["vocab"], 102 % spec["vocab"])
    seqs = rand_seqs(rng, lens, spec["vocab"], bos, eos, spec["pad"] if fam != "distilbert" else None, pad_inside)
    layers, pooled, normed, logits = run(m, seqs, spec["pad"] if fam != "distilbert" else 0)
    fx = Fixture("families/" + name, spec, seqs)
    for i, l in enumerate(layers):
        fx.add("layer%d" % i, l)
    if spec["classifier"]:
        fx.add("logits", logits)
    else:
        fx.add("embedding", normed)
    fx.spec = dict(spec, family=fam, model_type=model_type)
    fx.write(os.path.dirname(out))
    print("%s: %s, %d sequences, lengths %s" % (name, model_type, len(lens), lens))


def mpnet_text_fixture(out, rng):
    spec = spec_of(vocab=30527, hidden=32, heads=4, layers=2, inter=64, max_pos=514, word_dtype="F16", seed=31)
    w, blob = build_weights("mpnet", spec)
    m = Encoder("mpnet", spec, w).eval()
    d = os.path.join(out, "mpnet_text")
    write_model_dir(d, "mpnet", spec, "mpnet", blob, st_files=False)  # the test adds the real tokenizer files
    texts = mpnet_texts()
    res = hf_ids(os.path.join(MPNET_SRC, "tokenizer.json"), [{"a": t, "b": None, "max": 384} for t in texts])
    seqs = [(r["ids"], [0] * len(r["ids"])) for r in res]
    _, _, normed, _ = run(m, seqs, 1)
    open(os.path.join(out, "mpnet_text.txt"), "w", encoding="utf-8").write("\n".join(texts) + "\n")
    with open(os.path.join(out, "mpnet_text.expected"), "w") as f:
        for v in normed.tolist():
            f.write('{"embedding":[%s]}\n' % ",".join("%.9g" % x for x in v))
    print("mpnet_text: %d texts, token counts %s" % (len(texts), [len(s[0]) for s in seqs]))


def distilbert_text_fixture(out):
    """A DistilBERT cross-encoder with the tiny BERT vocabulary of the BERT fixtures,
    for `winnow score` on text pairs (ids from make_reference.py's mini WordPiece)."""
    from make_reference import encode, tiny_vocab
    vocab = tiny_vocab()
    vmap = {t: i for i, t in enumerate(vocab)}
    spec = spec_of(vocab=len(vocab), max_pos=64, seed=19, eps=1e-12, classifier=1, num_labels=1, hidden=32, heads=4,
                   inter=64)
    w, blob = build_weights("distilbert", spec)
    m = Encoder("distilbert", spec, w).eval()
    d = os.path.join(out, "distilbert_text")
    write_model_dir(d, "distilbert", spec, "distilbert", blob)
    open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8").write("\n".join(vocab) + "\n")
    json.dump({"do_lower_case": True, "model_max_length": 64, "tokenizer_class": "DistilBertTokenizer"},
              open(os.path.join(d, "tokenizer_config.json"), "w"), indent=2)
    pairs = [("what is a cross encoder?", "A cross encoder reads the query and the document together."),
             ("hello", "world"), ("", "empty query"), ("long document", "word " * 100),
             ("Which index is fast?", "HNSW is a graph index; IVF uses clusters.")]
    seqs = [encode(vmap, a, b, 64) for a, b in pairs]
    _, _, _, logits = run(m, seqs, 0)
    open(os.path.join(out, "distilbert_text.txt"), "w").write("".join("%s\t%s\n" % p for p in pairs))
    with open(os.path.join(out, "distilbert_text.expected"), "w") as f:
        for v in logits[:, 0].tolist():
            f.write('{"score": %.9g}\n' % v)
    print("distilbert_text: %d pairs" % len(pairs))


def full_check(d, init):
    """A random all-mpnet-base-v2 at full shape with the real files, and the reference."""
    cfg = json.load(open(os.path.join(MPNET_SRC, "config.json")))
    spec = spec_of(vocab=cfg["vocab_size"], hidden=cfg["hidden_size"], heads=cfg["num_attention_heads"],
                   layers=cfg["num_hidden_layers"], inter=cfg["intermediate_size"],
                   max_pos=cfg["max_position_embeddings"], eps=cfg["layer_norm_eps"],
                   buckets=cfg["relative_attention_num_buckets"], seed=41 if init == "hf" else 42, init=init, pooler=1)
    w, blob = build_weights("mpnet", spec)
    m = Encoder("mpnet", spec, w).eval()
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    for f in ST_FILES + ["config.json"]:
        shutil.copy(os.path.join(MPNET_SRC, f), os.path.join(d, f))
    open(os.path.join(d, "model.safetensors"), "wb").write(blob)
    # texts not used by the committed fixtures: other collections' documents and queries
    texts = []
    for coll, n in (("cisi", 4), ("med", 3)):
        for l in list(open("../shared/data/collections/%s/corpus.jsonl" % coll, encoding="utf-8"))[:n]:
            o = json.loads(l)
            texts.append((o.get("title", "") + " " + o["text"]).replace("\n", " ").strip())
    for l in list(open("../shared/data/collections/cacm/queries.jsonl", encoding="utf-8"))[:3]:
        texts.append(json.loads(l)["text"].replace("\n", " ").strip())
    texts += ["Ünïcödé <UNK> mixed with 中文 and emoji 🚀", "x<unk>y <pad> z <mask>", " ".join(texts)]
    res = hf_ids(os.path.join(MPNET_SRC, "tokenizer.json"), [{"a": t, "b": None, "max": 384} for t in texts])
    seqs = [(r["ids"], [0] * len(r["ids"])) for r in res]
    embs = [None] * len(seqs)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i][0]))
    for k in range(0, len(order), 3):  # float64: batches of similar lengths, little padding
        part = order[k:k + 3]
        for i, v in zip(part, run(m, [seqs[i] for i in part], 1)[2].tolist()):
            embs[i] = v
    open(os.path.join(d, "texts.txt"), "w", encoding="utf-8").write("\n".join(texts) + "\n")
    with open(os.path.join(d, "expected.jsonl"), "w") as f:
        for v in embs:
            f.write('{"embedding":[%s]}\n' % ",".join("%.9g" % x for x in v))
    print("full all-mpnet-base-v2 (%s init): %d texts, token counts %s" % (init, len(texts), [len(s[0]) for s in seqs]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/model/families")
    ap.add_argument("--full", metavar="DIR")
    ap.add_argument("--init", default="hf", choices=["hf", "wide"])
    args = ap.parse_args()
    torch.set_num_threads(2)
    # HF's float32 buckets against exact integer arithmetic (the largest k with
    # (n / 8)^8 >= 16^k), for every distance up to 2048: where they agree, the
    # C code's float32 formula has no boundary case to get wrong
    d = torch.arange(-2048, 2049)
    hf = relative_position_bucket(d).tolist()
    for x, b in zip(d.tolist(), hf):
        n = abs(x)
        e = (16 if -x < 0 else 0) + (n if n < 8 else min(15, 8 + max(k for k in range(0, 40) if n ** 8 >= 8 ** 8 * 16 ** k)))
        assert e == b, "bucket of %d: torch %d, exact %d" % (x, b, e)
    if args.full:
        os.makedirs(args.full, exist_ok=True)
        full_check(args.full, args.init)
        return
    out = args.out
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261203)
    long_lens = [1, 2, 7, 33, 128, 200, 300, 5]
    forward_fixture(out, "mpnet_bi", "mpnet", "mpnet", spec_of(max_pos=514, seed=11), long_lens, rng, pad_inside=True)
    forward_fixture(out, "mpnet_ce", "mpnet", "mpnet", spec_of(max_pos=514, classifier=1, seed=12), [3, 17, 140, 9], rng)
    forward_fixture(out, "distilbert_bi", "distilbert", "distilbert", spec_of(max_pos=128, seed=13, eps=1e-12),
                    [1, 4, 65, 128, 19], rng)
    forward_fixture(out, "distilbert_ce", "distilbert", "distilbert",
                    spec_of(max_pos=128, seed=14, eps=1e-12, classifier=1, num_labels=2), [3, 40, 128], rng)
    forward_fixture(out, "roberta_bi", "roberta", "roberta", spec_of(max_pos=130, seed=15), [2, 9, 128, 50], rng,
                    pad_inside=True)
    forward_fixture(out, "roberta_ce", "roberta", "roberta", spec_of(max_pos=130, seed=16, classifier=1), [5, 128, 30], rng)
    forward_fixture(out, "xlmr_bi", "roberta", "xlm-roberta", spec_of(max_pos=66, seed=17, hidden=32, inter=64, heads=2),
                    [64, 3, 31], rng)
    mpnet_text_fixture(out, rng)
    distilbert_text_fixture(out)


if __name__ == "__main__":
    main()
