#!/usr/bin/env python3
"""make_small_rerank.py EMBED OUT DIM A - makes models/winnow-small-rerank from
winnow-small-embed: a static pair scorer whose table is the embedding model's table
projected on its DIM leading right singular directions (float64 SVD, each direction's
sign fixed so its largest component is positive: the same input gives the same bytes),
stored F16, with bert-base-uncased's tokenizer files and
config_sentence_transformers.json's "winnow": {"pair_scorer": true,
"rerank_interpolate": A}. winnow scores (query, document) as the cosine of the two
embeddings and mixes it with the first stage's score (A on the first stage);
sentence-transformers loads the directory as a StaticEmbedding bi-encoder (the same
cosine: model.similarity). Written to OUT.tmp and renamed into place."""
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_tensors  # noqa: E402

embed, out, dim, a = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
src = os.path.join(embed, "0_StaticEmbedding")
E = st_tensors.load(os.path.join(src, "model.safetensors"))["embedding.weight"].astype(np.float64)
if not 0 < dim <= E.shape[1]:
    sys.exit("make_small_rerank: DIM must be in 1..%d" % E.shape[1])
_, s, vt = np.linalg.svd(E, full_matrices=False)
P = vt[:dim].T.copy()
for j in range(dim):
    if P[np.argmax(np.abs(P[:, j])), j] < 0:
        P[:, j] = -P[:, j]
T = (E @ P).astype(np.float32)
kept = float((s[:dim] ** 2).sum() / (s ** 2).sum())
tmp = out.rstrip("/") + ".tmp"
shutil.rmtree(tmp, ignore_errors=True)
os.makedirs(os.path.join(tmp, "0_StaticEmbedding"))
st_tensors.save(os.path.join(tmp, "0_StaticEmbedding", "model.safetensors"), {"embedding.weight": T}, "F16")
for f in ("tokenizer.json", "vocab.txt"):
    shutil.copy(os.path.join(src, f), os.path.join(tmp, "0_StaticEmbedding", f))
shutil.copy(os.path.join(embed, "modules.json"), tmp)
cfg = {"prompts": {}, "default_prompt_name": None, "similarity_fn_name": "cosine",
       "winnow": {"pair_scorer": True, "rerank_interpolate": a}}
json.dump(cfg, open(os.path.join(tmp, "config_sentence_transformers.json"), "w"), indent=2)
shutil.rmtree(out, ignore_errors=True)
os.replace(tmp, out)
print("make_small_rerank: %s: (%d, %d) F16, %.1f MB, %.1f%% of the table's energy kept" %
      (out, T.shape[0], dim, os.path.getsize(os.path.join(out, "0_StaticEmbedding", "model.safetensors")) / 1e6, 100 * kept))
