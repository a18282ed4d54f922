#!/usr/bin/python3
"""make_static_fixture.py - writes tests/fixtures/static/: a tiny static embedding
model in sentence-transformers' StaticEmbedding layout (the first 3,000 tokens of
bert-base-uncased's vocabulary, 16 dimensions, F16 table) and expected.txt, the
embeddings PyTorch computes for a few texts the way StaticEmbedding does:
nn.EmbeddingBag (mean) over the word-piece ids without special tokens, then
F.normalize (the Normalize module). The ids come from a small BERT tokenizer
written here (lower case, punctuation split, greedy longest-match WordPiece,
[UNK] for a word it cannot cover), independent of winnow's.
Needs python3-torch. Run from the repository root:
    /usr/bin/python3 scripts/make_static_fixture.py"""
import json
import os
import struct
import unicodedata

import torch
import torch.nn.functional as F

V, D = 3000, 16
OUT = "tests/fixtures/static"
VOCAB = "../shared/models/all-MiniLM-L6-v2/vocab.txt"
TEXTS = [
    "The cat sat on the mat.",
    "A man is playing music!",
    "",
    "What time is it? 12:30, they said.",
    "Xylophones and zebras: unknown words, qzxj rows",
    "   spaces   everywhere   ",
    "Café résumé naïve",
    "one",
]


def tokenize(text, vocab):
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    words, cur = [], ""
    for c in text:
        if c.isspace():
            if cur:
                words.append(cur)
            cur = ""
        elif unicodedata.category(c).startswith("P") or (33 <= ord(c) <= 47) or (58 <= ord(c) <= 64) or (91 <= ord(c) <= 96) or (123 <= ord(c) <= 126):
            if cur:
                words.append(cur)
            words.append(c)
            cur = ""
        else:
            cur += c
    if cur:
        words.append(cur)
    ids = []
    for w in words:
        start, pieces = 0, []
        while start < len(w):
            end = len(w)
            found = None
            while end > start:
                sub = w[start:end] if start == 0 else "##" + w[start:end]
                if sub in vocab:
                    found = sub
                    break
                end -= 1
            if found is None:
                pieces = None
                break
            pieces.append(vocab[found])
            start = end
        ids.extend(pieces if pieces is not None else [vocab["[UNK]"]])
    return ids


def main():
    toks = open(VOCAB, encoding="utf-8").read().split("\n")[:V]
    vocab = {t: i for i, t in enumerate(toks)}
    os.makedirs(os.path.join(OUT, "0_StaticEmbedding"), exist_ok=True)
    with open(os.path.join(OUT, "0_StaticEmbedding", "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(toks) + "\n")
    g = torch.Generator().manual_seed(11)
    w16 = (torch.randn(V, D, generator=g) * 0.3).half()
    hdr = json.dumps({"embedding.weight": {"dtype": "F16", "shape": [V, D], "data_offsets": [0, V * D * 2]}}, separators=(",", ":"))
    hdr += " " * (-len(hdr) % 8)
    with open(os.path.join(OUT, "0_StaticEmbedding", "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hdr)) + hdr.encode() + w16.numpy().tobytes())
    modules = [
        {"idx": 0, "name": "0", "path": "0_StaticEmbedding", "type": "sentence_transformers.models.StaticEmbedding"},
        {"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    with open(os.path.join(OUT, "modules.json"), "w") as f:
        json.dump(modules, f, indent=2)
        f.write("\n")
    bag = torch.nn.EmbeddingBag.from_pretrained(w16.float(), mode="mean")
    with open(os.path.join(OUT, "expected.txt"), "w", encoding="utf-8") as f:
        f.write("# T text / I word-piece ids / E embedding (torch EmbeddingBag mean + F.normalize), per case\n")
        for t in TEXTS:
            ids = tokenize(t, vocab)
            if ids:
                e = F.normalize(bag(torch.tensor(ids), torch.tensor([0])), p=2, dim=1)[0]
            else:
                e = torch.zeros(D)  # an empty bag: EmbeddingBag gives zeros, normalize keeps them
            f.write("T\t" + t + "\n")
            f.write("I\t" + " ".join(map(str, ids)) + "\n")
            f.write("E\t" + " ".join("%.9g" % x for x in e.tolist()) + "\n")


if __name__ == "__main__":
    main()
