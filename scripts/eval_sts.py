#!/usr/bin/python3
"""eval_sts.py MODEL [STS_CSV] [--winnow BIN] - STS-B Spearman of a bi-encoder as
winnow computes it: cosine of `winnow embed` vectors against the gold 0-5 scores
(the sentence-transformers EmbeddingSimilarityEvaluator's figure). Standard
library only. Default data: ../shared/data/sts/sts-test.csv (tab separated:
genre, file, year, id, score, sentence1, sentence2)."""
import argparse
import json
import math
import subprocess
import sys


def ranks(x):
    order = sorted(range(len(x)), key=lambda i: x[i])
    r = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0 + 1
        i = j + 1
    return r


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = math.sqrt(sum((x - ma) ** 2 for x in a))
    vb = math.sqrt(sum((y - mb) ** 2 for y in b))
    return cov / (va * vb)


def spearman(a, b):
    return pearson(ranks(a), ranks(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("csv", nargs="?", default="../shared/data/sts/sts-test.csv")
    ap.add_argument("--winnow", default="build/winnow")
    a = ap.parse_args()
    gold, s1, s2 = [], [], []
    with open(a.csv, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 7:
                continue
            gold.append(float(p[4]))
            s1.append(p[5].replace("\n", " "))
            s2.append(p[6].replace("\n", " "))
    text = "\n".join(s1 + s2) + "\n"
    out = subprocess.run([a.winnow, "embed", "--model", a.model], input=text.encode(), stdout=subprocess.PIPE, check=True).stdout
    vec = [json.loads(l)["embedding"] for l in out.decode().splitlines()]
    n = len(gold)
    cos = []
    for i in range(n):
        u, v = vec[i], vec[n + i]
        nu = math.sqrt(sum(x * x for x in u)) or 1e-12
        nv = math.sqrt(sum(x * x for x in v)) or 1e-12
        cos.append(sum(x * y for x, y in zip(u, v)) / (nu * nv))
    print(json.dumps({"pairs": n, "spearman": round(spearman(cos, gold), 4), "pearson": round(pearson(cos, gold), 4)}))


if __name__ == "__main__":
    main()
