#!/usr/bin/python3
"""make_demo_reference.py - what `winnow demo` must print when its two models are the
random-weight tiny fixtures (tests/fixtures/model/tiny-bi as the bi-encoder, tiny-ce as
the cross-encoder), computed in PyTorch float64, independently of winnow's C code.

The seed notebook's pipeline, on its own corpus and queries: cosine top-k of
normalised mean-pooled embeddings (brute force), cross-encoder logits of the k
(query, document) pairs, P@3 and MRR of both stages over the 5 queries, and the rank
shift of the notebook's last query. Weights come from make_reference.py's generator
(the same one that wrote the fixtures; checked byte for byte against the fixture
files), token ids from its mini WordPiece (exact for this ASCII text).

Run (needs python3-torch, python3-numpy): /usr/bin/python3 scripts/make_demo_reference.py
Writes tests/fixtures/demo/tiny_expected.json, read by tests/t_demo.sh.
"""
import hashlib
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_reference as mr  # noqa: E402

FIX = "tests/fixtures/model"
OUT = "tests/fixtures/demo/tiny_expected.json"
K, K_EVAL = 5, 3

# the notebook's corpus and queries (as embedded in cli/demo/cli_demo.c)
CORPUS = [
    ("d1", "Transformers use attention to model relationships between tokens in a sequence."),
    ("d2", "Convolutional neural networks are widely used in computer vision for image classification."),
    ("d3", "Retrieval-Augmented Generation (RAG) adds external knowledge via retrieval to improve LLM answers."),
    ("d4", "FAISS supports IVF and HNSW indexes for fast approximate nearest neighbor search at scale."),
    ("d5", "MiniLM and DistilBERT produce compact sentence embeddings suitable for dense retrieval."),
    ("d6", "BM25 is a keyword-based sparse retrieval method that relies on exact and partial token matches."),
    ("d7", "Cross-encoders score a query and a document together, enabling fine-grained token-level interactions."),
    ("d8", "Bi-encoders encode queries and documents independently, enabling fast vector search at scale."),
]
QUERIES = [
    ("How can RAG improve answers from language models?", "d3"),
    ("Which ANN index is graph-based and very fast?", "d4"),
    ("Which small models are good for sentence embeddings?", "d5"),
    ("What retrieval method uses keyword matches?", "d6"),
    ("Why are cross-encoders often more accurate than bi-encoders?", "d7"),
]
TEST_QUERY = "What is a cross-encoder and why is it useful?"
SHIFT_QUERY = "Why use a re-ranker with dense retrieval?"


def load(name, fixture_json):
    spec = json.load(open(os.path.join(FIX, fixture_json)))["spec"]
    w, blob = mr.build_weights(spec)
    if open(os.path.join(FIX, name, "model.safetensors"), "rb").read() != blob:
        sys.exit("%s/%s/model.safetensors is not what the generator makes from %s's spec" % (FIX, name, fixture_json))
    vocab = open(os.path.join(FIX, name, "vocab.txt"), encoding="utf-8").read().split("\n")
    vmap = {t: i for i, t in enumerate(vocab) if t}
    return spec, mr.Bert(spec, w).eval(), vmap


def main():
    torch.set_num_threads(2)
    bspec, bi, bvocab = load("tiny-bi", "tiny_bi_text.json")
    cspec, ce, cvocab = load("tiny-ce", "tiny_ce_text.json")
    ids = [d for d, _ in CORPUS]

    def embed(texts):
        seqs = [mr.encode(bvocab, t, None, bspec["max_pos"]) for t in texts]
        _, _, normed, _ = mr.run(bspec, bi, seqs)
        return normed

    docs = embed([t for _, t in CORPUS])
    gaps = []

    def search(q):
        sims = (docs @ embed([q])[0]).tolist()
        order = sorted(range(len(sims)), key=lambda i: (-sims[i], i))[:K]
        gaps.extend(sims[order[i]] - sims[order[i + 1]] for i in range(len(order) - 1))
        seqs = [mr.encode(cvocab, q, CORPUS[i][1], cspec["max_pos"]) for i in order]
        _, _, _, logits = mr.run(cspec, ce, seqs)
        lg = logits[:, 0].tolist()
        re = sorted(range(len(order)), key=lambda j: (-lg[j], j))
        gaps.extend(lg[re[j]] - lg[re[j + 1]] for j in range(len(re) - 1))
        return ([[ids[i], sims[i]] for i in order], [[ids[order[j]], lg[j]] for j in re])

    bi_top, re_top = search(TEST_QUERY)
    per_query, p_bi, p_re, rr_bi, rr_re = [], 0, 0, 0, 0
    for q, gold in QUERIES:
        b, r = search(q)
        rb = next((i + 1 for i, (d, _) in enumerate(b) if d == gold), 0)
        rr = next((i + 1 for i, (d, _) in enumerate(r) if d == gold), 0)
        per_query.append([gold, rb, rr])
        p_bi += 0 < rb <= K_EVAL
        p_re += 0 < rr <= K_EVAL
        rr_bi += 1 / rb if rb else 0
        rr_re += 1 / rr if rr else 0
    n = len(QUERIES)
    sb, sr = search(SHIFT_QUERY)
    out = {
        "about": "winnow demo with tests/fixtures/model/tiny-bi and tiny-ce, by scripts/make_demo_reference.py "
                 "(PyTorch float64)",
        "models_sha256": {m: hashlib.sha256(open(os.path.join(FIX, m, "model.safetensors"), "rb").read()).hexdigest()
                          for m in ("tiny-bi", "tiny-ce")},
        "min_gap": min(gaps),
        "test_query": TEST_QUERY,
        "bi_encoder_top": bi_top,
        "reranked": re_top,
        "per_query": per_query,
        "P@3": [p_bi / n, p_re / n],
        "MRR": [rr_bi / n, rr_re / n],
        "shift_query": SHIFT_QUERY,
        "shift_bi": [d for d, _ in sb],
        "shift_re": [d for d, _ in sr],
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    json.dump(out, open(OUT, "w"), indent=1)
    print("wrote %s; smallest gap between neighbouring scores %.3g" % (OUT, min(gaps)))


if __name__ == "__main__":
    main()
