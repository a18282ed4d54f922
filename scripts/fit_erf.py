#!/usr/bin/python3
"""fit_erf.py - the rational erf of src/nn/ops_avx2.c's GELU.

erf(z) ~ z P(z^2) / Q(z^2), Q(0) = 1, for 0 <= z <= ZMAX (beyond, erf rounds to 1
in float32), P of degree 6 and Q of degree 4. The fit is a linearised least
squares (z P - erf (Q - 1) = erf) on Chebyshev-spaced points, re-weighted
(Lawson-style) towards the minimax error; the scaled variable s = z^2 / ZMAX^2
keeps it well conditioned and the printed coefficients are for z^2 itself.
Prints the error in exact arithmetic and after float32 evaluation as the kernel
does it (Horner, then z * P / Q).

Usage: /usr/bin/python3 scripts/fit_erf.py [NP NQ]   (needs python3-numpy)"""
import sys
from math import erf

import numpy as np

ZMAX = 3.925
NP, NQ = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (6, 4)

z = ZMAX * (1 - np.cos(np.linspace(0, np.pi, 6000))) / 2
f = np.array([erf(v) for v in z])
s = (z / ZMAX) ** 2


def fit(n_p, n_q, iters=200):
    q_val = np.ones_like(z)
    w = np.ones_like(z) / len(z)
    best = (1e9, None, None)
    for _ in range(iters):
        a = np.hstack([z[:, None] * s[:, None] ** np.arange(n_p + 1),
                       -(f[:, None] * s[:, None] ** np.arange(1, n_q + 1))])
        sw = np.sqrt(w) / q_val
        c, *_ = np.linalg.lstsq(a * sw[:, None], f * sw, rcond=None)
        p, q = c[:n_p + 1], np.concatenate([[1.0], c[n_p + 1:]])
        q_val = np.polyval(q[::-1], s)
        q_val = np.where(q_val > 0, q_val, np.abs(q_val) + 1e-3)
        err = z * np.polyval(p[::-1], s) / q_val - f
        m = np.abs(err).max()
        if m < best[0]:
            best = (m, p.copy(), q.copy())
        w = w * np.abs(err) ** 0.5 + 1e-300
        w /= w.sum()
    return best


err, p, q = fit(NP, NQ)
pk = [np.float32(c / ZMAX ** (2 * k)) for k, c in enumerate(p)]
qk = [np.float32(c / ZMAX ** (2 * k)) for k, c in enumerate(q)]
z32 = np.linspace(0, 6, 300001).astype(np.float32)
zc = np.minimum(z32, np.float32(ZMAX))
u = (zc * zc).astype(np.float32)
pv = np.float32(0)
for c in pk[::-1]:
    pv = (pv * u + c).astype(np.float32)
qv = np.float32(0)
for c in qk[::-1]:
    qv = (qv * u + c).astype(np.float32)
r = np.minimum((zc * pv).astype(np.float32) / qv, np.float32(1))
e32 = np.abs(r.astype(np.float64) - np.array([erf(float(v)) for v in z32])).max()
print("degrees %d/%d: max error %.3g exact, %.3g in float32" % (NP, NQ, err, e32))
print("P (z^2 ascending):", ", ".join("%.9g" % c for c in pk))
print("Q (z^2 ascending):", ", ".join("%.9g" % c for c in qk))
