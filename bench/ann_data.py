#!/usr/bin/python3
"""ann_data.py - the benchmark's data sets, seeded, as TEXMEX .fvecs:
sphere: uniformly random unit vectors (Gaussian, normalised) - hard, no structure;
clustered: unit vectors around 1,000 random centres with per-cluster spread, like
sentence embeddings of a collection with topics. Queries come from the same law.
usage: ann_data.py KIND N DIM NQ OUTDIR"""
import sys

import numpy as np


def fvecs(path, x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty((x.shape[0], x.shape[1] + 1), dtype=np.float32)
    out[:, 0] = np.array([x.shape[1]], dtype=np.int32).view(np.float32)[0]
    out[:, 1:] = x
    out.tofile(path)


def make(kind, n, d, rng):
    if kind == "sphere":
        x = rng.standard_normal((n, d), dtype=np.float32)
    else:
        c = rng.standard_normal((1000, d), dtype=np.float32)
        spread = rng.uniform(0.3, 0.9, 1000).astype(np.float32)
        lab = rng.integers(0, 1000, n)
        x = c[lab] + spread[lab, None] * rng.standard_normal((n, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


kind, n, d, nq, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rng = np.random.default_rng(1234 if kind == "sphere" else 5678)
x = make(kind, n + nq, d, rng)
fvecs(f"{out}/base.fvecs", x[:n])
fvecs(f"{out}/queries.fvecs", x[n:])
