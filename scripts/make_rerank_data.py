#!/usr/bin/env python3
"""make_rerank_data.py - the cross-encoder's training rows, from the Debian pairs that
scripts/make_training_data.sh writes. Two passes:

  pairs DATA OUT    writes OUT/rows.jsonl ({"query", "positive"}) and OUT/corpus.jsonl
                    (every distinct positive, BEIR layout) from:
                    - package synopsis -> long description (debian-descriptions.jsonl);
                    - inverse cloze from the same descriptions: one sentence of at least
                      6 words -> the rest of its description (what a question against an
                      abstract looks like);
                    - FOLDOC and Jargon File term -> definition, a WordNet sample
                      (gloss -> lemma + gloss is not used: lemma -> gloss only).
  listwise OUT N    reads OUT/mined.jsonl (rows with BM25-mined negatives from
                    `winnow mine`) and writes OUT/listwise.jsonl: each row with exactly N
                    negatives: the mined ones that are not near duplicates of the positive
                    (sibling packages such as foo / foo-dev share most of their
                    description: token-set Jaccard >= 0.5 or the same first 12 words is a
                    duplicate), topped up and always ending with one random document.
Deterministic for its inputs (seeded). Sources and licences: models/README.md.
"""
import json
import os
import random
import re
import sys

WORD = re.compile(r"[a-z0-9]+")


def toks(s):
    return set(WORD.findall(s.lower()))


def sentences(text):
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if s.strip()]


def read(path, limit=None, rng=None):
    if not os.path.exists(path):
        return []
    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    if limit is not None and len(rows) > limit:
        rows = rng.sample(rows, limit)
    return rows


def pairs(data, out):
    rng = random.Random(20261203)
    rows = []
    desc = read(os.path.join(data, "debian-descriptions.jsonl"))
    for r in desc:
        rows.append((r["query"], r["positive"]))
    for r in desc:
        ss = sentences(r["positive"])
        cand = [i for i, s in enumerate(ss) if len(s.split()) >= 6 and len(ss) >= 3]
        if not cand:
            continue
        i = rng.choice(cand)
        rest = " ".join(ss[:i] + ss[i + 1:])
        rows.append((ss[i], rest))
    for name, lim in (("foldoc", None), ("jargon", None), ("wordnet", 15000)):
        for r in read(os.path.join(data, name + ".jsonl"), lim, rng):
            rows.append((r["query"], r["positive"]))
    rng.shuffle(rows)
    os.makedirs(out, exist_ok=True)
    ids = {}
    with open(os.path.join(out, "corpus.jsonl"), "w", encoding="utf-8") as c, \
            open(os.path.join(out, "rows.jsonl"), "w", encoding="utf-8") as f:
        for q, p in rows:
            if p not in ids:
                ids[p] = "d%d" % len(ids)
                c.write(json.dumps({"_id": ids[p], "title": "", "text": p}) + "\n")
            f.write(json.dumps({"query": q, "positive": p}) + "\n")
    print("%d rows, %d documents" % (len(rows), len(ids)))


def listwise(out, n):
    rng = random.Random(7)
    docs = [json.loads(l)["text"] for l in open(os.path.join(out, "corpus.jsonl"), encoding="utf-8")]
    kept = dup = 0
    with open(os.path.join(out, "listwise.jsonl"), "w", encoding="utf-8") as f:
        for l in open(os.path.join(out, "mined.jsonl"), encoding="utf-8"):
            r = json.loads(l)
            p = r["positive"]
            tp, head = toks(p), p.split()[:12]
            negs = []
            for d in r.get("negatives", []):
                td = toks(d)
                j = len(tp & td) / max(1, len(tp | td))
                if d == p or j >= 0.5 or d.split()[:12] == head:
                    dup += 1
                    continue
                if len(negs) < n - 1:
                    negs.append(d)
            while len(negs) < n:
                d = rng.choice(docs)
                if d != p:
                    negs.append(d)
            f.write(json.dumps({"query": r["query"], "positive": p, "negatives": negs}) + "\n")
            kept += 1
    print("%d listwise rows, %d near-duplicate negatives dropped" % (kept, dup))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "pairs":
        pairs(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "listwise":
        listwise(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: make_rerank_data.py pairs DATA OUT | listwise OUT N")
