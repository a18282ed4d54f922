#!/usr/bin/env python3
"""init_rerank.py CKPT STATIC - starts the cross-encoder from winnow-small-embed: the word
embeddings of the freshly initialised BERT checkpoint CKPT (model.safetensors, from
`winnow train ce --config ... --lr 0`) are replaced by the static model's token table
(STATIC/0_StaticEmbedding/model.safetensors, same vocabulary; a wider table is projected
on its leading singular directions), scaled so the
mean row norm is 1 (the table's per-token weights stay in the relative norms), so the
re-ranker starts knowing which tokens are related and which matter."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_tensors  # noqa: E402

ckpt, static = sys.argv[1], sys.argv[2]
t = st_tensors.load(os.path.join(ckpt, "model.safetensors"))
s = st_tensors.load(os.path.join(static, "0_StaticEmbedding", "model.safetensors"))
table = next(iter(s.values())).astype(np.float32)
w = t["bert.embeddings.word_embeddings.weight"]
if table.shape[0] != w.shape[0] or table.shape[1] < w.shape[1]:
    sys.exit("init_rerank: static table %s does not fit the word embeddings %s" % (table.shape, w.shape))
if table.shape[1] > w.shape[1]:  # keep the table's leading directions (truncated SVD)
    _, _, vt = np.linalg.svd(table, full_matrices=False)
    table = table @ vt[: w.shape[1]].T
norms = np.linalg.norm(table, axis=1)
table /= norms[norms > 0].mean()
t["bert.embeddings.word_embeddings.weight"] = table
st_tensors.save(os.path.join(ckpt, "model.safetensors"), t)
print("init_rerank: word embeddings from %s (%d x %d)" % (static, table.shape[0], table.shape[1]))
