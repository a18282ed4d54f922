#!/usr/bin/env python3
"""check_demo_compare.py OUT STDOUT WINNOW BI_B CE - checks exercise 3 of `winnow demo
--compare-bi-encoder BI_B` (stdlib only):

  - B's notebook evaluation, recomputed here: the notebook's documents and queries (read
    from cli/demo/cli_demo.c), `winnow embed --model BI_B` and brute-force cosine for the
    top k, `winnow score --model CE` to re-rank them; P@3, MRR and nDCG@10 (one relevant
    document: 1/log2(rank+1)) of both stages against OUT/compare/results.json (1e-6);
  - the side-by-side table printed: every row shows A's numbers from OUT/results.json and
    B's from OUT/compare/results.json.
Prints each failure; exits 1 on any."""
import json
import math
import os
import re
import subprocess
import sys

fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)


def lines_of(bin_, args, text):
    out = subprocess.run([bin_] + args, input=text.encode(), capture_output=True, check=True).stdout.decode()
    return [json.loads(l) for l in out.splitlines()]


def seed_eval(winnow, bi, ce, k):
    src = open(os.path.join(os.path.dirname(__file__), "..", "..", "cli", "demo", "cli_demo.c"), encoding="utf-8").read()
    docs = re.findall(r'^\s+\{"(d\d+)", "([^"]+)"\},$', src, re.M)
    queries = re.findall(r'^\s+\{"([^"]+\?)", "(d\d+)"\},$', src, re.M)
    check(len(docs) == 8 and len(queries) == 5, "cli_demo.c: %d documents, %d queries found" % (len(docs), len(queries)))
    demb = [e["embedding"] for e in lines_of(winnow, ["embed", "--model", bi], "".join(t + "\n" for _, t in docs))]
    qemb = [e["embedding"] for e in lines_of(winnow, ["embed", "--model", bi], "".join(q + "\n" for q, _ in queries))]

    def cos(u, v):
        return sum(a * b for a, b in zip(u, v)) / (math.sqrt(sum(a * a for a in u)) * math.sqrt(sum(b * b for b in v)))

    res = {"bi": [0, 0, 0], "rerank": [0, 0, 0]}
    for (q, gold), qe in zip(queries, qemb):
        top = sorted(range(len(docs)), key=lambda j: -cos(qe, demb[j]))[:k]
        sc = lines_of(winnow, ["score", "--model", ce], "".join(q + "\t" + docs[j][1] + "\n" for j in top))
        re_top = [j for _, j in sorted(((-s["score"], i), j) for i, (s, j) in enumerate(zip(sc, top)))]
        for key, order in (("bi", top), ("rerank", re_top)):
            ids = [docs[j][0] for j in order]
            r = ids.index(gold) + 1 if gold in ids else 0
            res[key][0] += (0 < r <= 3) / len(queries)
            res[key][1] += (1 / r if r else 0) / len(queries)
            res[key][2] += (1 / math.log2(r + 1) if r else 0) / len(queries)
    return res


def main():
    out, stdout, winnow, bi_b, ce = sys.argv[1:6]
    a = json.load(open(os.path.join(out, "results.json"), encoding="utf-8"))
    b = json.load(open(os.path.join(out, "compare", "results.json"), encoding="utf-8"))
    check(a.get("compare", {}).get("bi_encoder") == bi_b and b.get("bi_encoder") == bi_b,
          "results.json: compare %s, compare/results.json bi_encoder %s" % (a.get("compare"), b.get("bi_encoder")))
    got = seed_eval(winnow, bi_b, ce, b["seed"]["k"])
    for key in ("bi", "rerank"):
        for i, m in enumerate(("p@3", "mrr", "ndcg@10")):
            check(abs(got[key][i] - b["seed"][key][m]) < 1e-6,
                  "B notebook %s %s: demo %.6f, recomputed %.6f" % (key, m, b["seed"][key][m], got[key][i]))
    printed = open(stdout, encoding="utf-8").read().split("Exercise 3 - the two bi-encoders side by side", 1)
    check(len(printed) == 2, "stdout: no side-by-side table")
    rows = {}
    for l in printed[-1].splitlines():
        m = re.match(r"^  (\S.{0,19}?)\s+(\d\.\d{3}) (\d\.\d{3})\s+(\d\.\d{3})\s+(\d+\.\d\d)\s+(\d+\.\d\d)  \|"
                     r"\s+(\d\.\d{3}) (\d\.\d{3})\s+(\d\.\d{3})\s+(\d+\.\d\d)\s+(\d+\.\d\d)$", l)
        if m:
            rows[m.group(1)] = m.groups()[1:]

    def want(r):
        sa, sb = a["seed"], b["seed"]
        if r == "notebook bi-encoder":
            return [sa["bi"]["p@3"], sa["bi"]["mrr"], sa["bi"]["ndcg@10"], None, 0, sb["bi"]["p@3"], sb["bi"]["mrr"],
                    sb["bi"]["ndcg@10"], None, 0]
        if r == "notebook + re-ranker":
            return [sa["rerank"]["p@3"], sa["rerank"]["mrr"], sa["rerank"]["ndcg@10"], None, sa["rerank"]["ms"],
                    sb["rerank"]["p@3"], sb["rerank"]["mrr"], sb["rerank"]["ndcg@10"], None, sb["rerank"]["ms"]]
        x = next(s for s in a["stages"] if s["name"] == r)
        y = next(s for s in b["stages"] if s["name"] == r)
        return [x["p@3"], x["mrr@10"], x["ndcg@10"], x["first_ms"], x["rerank_ms"],
                y["p@3"], y["mrr@10"], y["ndcg@10"], y["first_ms"], y["rerank_ms"]]

    names = ["notebook bi-encoder", "notebook + re-ranker"] + [s["name"] for s in a["stages"]]
    check(sorted(rows) == sorted(names), "side-by-side rows %s, expected %s" % (sorted(rows), sorted(names)))
    for r in names:
        if r not in rows:
            continue
        for i, (p, w) in enumerate(zip(rows[r], want(r))):
            if w is not None:
                check(p == ("%.3f" % w if i % 5 < 3 else "%.2f" % w), "side by side %s column %d: %s, results %s" % (r, i, p, w))
    for f in fails:
        print("check_demo_compare: " + f)
    print("check_demo_compare: %s (%d rows)" % ("FAILED" if fails else "ok", len(rows)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
