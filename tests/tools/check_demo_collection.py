#!/usr/bin/env python3
"""check_demo_collection.py OUT COLLECTION --docs N --queries M [--winnow BIN --bi DIR --ce DIR]
checks what `winnow demo --collection COLLECTION --out OUT` wrote (stdlib only):

  - the cut: qrels.tsv holds exactly the judgments of the original qrels on the first
    N documents, for the first M queries (queries.jsonl order) that have a relevant
    document among them;
  - every stage's metrics in results.json against tests/tools/trec_eval.py on its run
    file and qrels.tsv (1e-6);
  - ANN: the flat index's recall@10 is 1, the others' in [0, 1];
  - with --winnow/--bi/--ce: the dense run is the brute-force cosine ranking of
    `winnow embed` vectors (near-ties within 1e-5 may swap); every re-ranked run keeps
    the first stage's top k as a set, orders it by `winnow score` logits and leaves
    the rest in first-stage order; the hybrid run is the weighted reciprocal rank
    fusion 2(1-w)/(60+r_bm25) + 2w/(60+r_dense) of the BM25 and dense runs, w being
    results.json's hybrid.dense_weight.
Prints each failure; exits 1 on any."""
import argparse
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trec_eval  # noqa: E402

fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def read_run(path):
    run = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            qid, _, doc, rank, score, _ = line.split()
            run.setdefault(qid, []).append((int(rank), doc, float(score)))
    return {q: [d for _, d, _ in sorted(v)] for q, v in run.items()}


def measure(qrels, run, name):
    vals = [trec_eval.measure(name, trec_eval.ranked(run.get(q, [])), qrels[q]) for q in qrels]
    return sum(vals) / len(vals) if vals else 0.0


def lines_of(bin_, args, text):
    out = subprocess.run([bin_] + args, input=text.encode(), capture_output=True, check=True).stdout.decode()
    return [json.loads(l) for l in out.splitlines()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("collection")
    ap.add_argument("--docs", type=int, required=True)
    ap.add_argument("--queries", type=int, required=True)
    ap.add_argument("--winnow")
    ap.add_argument("--bi")
    ap.add_argument("--ce")
    ap.add_argument("--doc-prompt-name", help="the bi-encoder's prompt for documents (winnow embed --prompt-name)")
    ap.add_argument("--query-prompt-name", help="its prompt for queries")
    ap.add_argument("--stdout", help="what the demo printed: its tables must show results.json's numbers")
    a = ap.parse_args()

    res = json.load(open(os.path.join(a.out, "results.json"), encoding="utf-8"))
    check(res.get("collection"), "results.json: no collection")
    corpus = read_jsonl(os.path.join(a.collection, "corpus.jsonl"))[: a.docs]
    queries = read_jsonl(os.path.join(a.collection, "queries.jsonl"))
    allq = trec_eval.read_qrels(os.path.join(a.collection, "qrels", "test.tsv"))
    ids = {str(d["_id"]) for d in corpus}
    want = {}
    for q in queries:
        qid = str(q["_id"])
        judged = {d: g for d, g in allq.get(qid, {}).items() if d in ids}
        if len(want) < a.queries and any(g >= 1 for g in judged.values()):
            want[qid] = judged
    qrels = trec_eval.read_qrels(os.path.join(a.out, "qrels.tsv"))
    check(qrels == want, "qrels.tsv: %d queries, expected the cut %d (%s vs %s)" % (len(qrels), len(want), sorted(qrels)[:5], sorted(want)[:5]))
    check(res.get("docs") == len(corpus) and res.get("queries") == len(want),
          "results.json: docs %s queries %s, expected %d and %d" % (res.get("docs"), res.get("queries"), len(corpus), len(want)))

    runs = {}
    entries = [(s["name"], s["run"], s) for s in res["stages"]] + [("sweep k=%d" % w["k"], w["run"], w) for w in res["sweep"]]
    check(len(res["stages"]) >= 6 and len(res["sweep"]) >= 3, "results.json: %d stages, %d sweep points" % (len(res["stages"]), len(res["sweep"])))
    for name, f, s in entries:
        path = os.path.join(a.out, "runs", f)
        if not os.path.exists(path):
            fails.append("%s: no run file %s" % (name, path))
            continue
        check(name.startswith("sweep") or "recall@100" in s, "%s: no recall@100 in results.json" % name)
        run = trec_eval.read_run(path)
        runs[f] = read_run(path)
        for m in ("p@3", "mrr@10", "ndcg@10", "recall@100"):
            if m in s:
                v = measure(qrels, run, m)
                check(abs(v - s[m]) <= 1e-6, "%s %s: demo %.9f, trec_eval.py %.9f" % (name, m, s[m], v))
    if a.stdout:
        printed = open(a.stdout, encoding="utf-8").read().splitlines()
        for s in res["stages"]:
            rows = [l.split()[-7:-3] for l in printed if l.startswith("  ") and l[2:24].rstrip() == s["name"] and len(l.split()) >= 8]
            check(rows, "stdout: no table row for %s" % s["name"])
            for r in rows:
                want_r = ["%.3f" % s[m] for m in ("p@3", "mrr@10", "ndcg@10", "recall@100")]
                check(r == want_r, "stdout: %s printed %s, results.json %s" % (s["name"], r, want_r))
        for w in res["sweep"]:
            rows = [l.split()[1:3] for l in printed if l.split()[:1] == [str(w["k"])] and len(l.split()) == 5]
            check(rows == [["%.3f" % w["p@3"], "%.3f" % w["ndcg@10"]]], "stdout: sweep k=%d printed %s" % (w["k"], rows))
    ann = {x["index"]: x for x in res["ann"]}
    check(set(ann) == {"flat", "hnsw", "ivf"}, "ann: indexes %s" % sorted(ann))
    check(ann.get("flat", {}).get("recall@10") == 1, "ann: flat recall@10 %s, must be 1" % ann.get("flat", {}).get("recall@10"))
    for n, x in ann.items():
        check(0 <= x["recall@10"] <= 1 and x["ms_per_query"] > 0, "ann %s: %s" % (n, x))

    if a.winnow and a.bi and a.ce and "dense.run" in runs:
        qtext = {str(q["_id"]): q["text"] for q in queries}
        # one text a line for `winnow embed` / `winnow score`: newlines and tabs inside a
        # document (the Debian collection's paragraphs) become spaces, which the
        # tokenizers treat alike (whitespace)
        dtext = {str(d["_id"]): ((d.get("title", "") + " " + d["text"]) if d.get("title") else d["text"])
                 .replace("\n", " ").replace("\t", " ") for d in corpus}
        order = [str(d["_id"]) for d in corpus]
        dp = ["--prompt-name", a.doc_prompt_name] if a.doc_prompt_name else []
        qp = ["--prompt-name", a.query_prompt_name] if a.query_prompt_name else []
        demb = lines_of(a.winnow, ["embed", "--model", a.bi] + dp, "".join(dtext[d] + "\n" for d in order))
        qids = list(want)
        qemb = lines_of(a.winnow, ["embed", "--model", a.bi] + qp, "".join(qtext[q] + "\n" for q in qids))

        def cos(u, v):
            nu, nv = math.sqrt(sum(x * x for x in u)), math.sqrt(sum(x * x for x in v))
            return sum(x * y for x, y in zip(u, v)) / (nu * nv) if nu and nv else 0.0

        dense = runs["dense.run"]
        for qi, q in enumerate(qids):
            sims = {d: cos(qemb[qi]["embedding"], demb[j]["embedding"]) for j, d in enumerate(order)}
            best = sorted(sims.values(), reverse=True)
            got = dense.get(q, [])
            check(len(got) == min(100, len(order)), "dense %s: %d hits" % (q, len(got)))
            bad = [i for i, d in enumerate(got) if abs(sims[d] - best[i]) > 1e-5]
            check(not bad, "dense %s: rank %s is not the brute-force cosine order" % (q, bad[:3]))
        # re-ranking: logits of every pair the re-ranked runs hold in their top k
        pairs = {}
        for f, run in runs.items():
            k = int(f.split("rerank")[1].split(".")[0]) if "rerank" in f else int(f[7:-4]) if f.startswith("sweep_k") else 0
            if k:
                for q, lst in run.items():
                    for d in lst[:k]:
                        pairs[(q, d)] = None
        keys = sorted(pairs)
        sc = lines_of(a.winnow, ["score", "--model", a.ce], "".join(qtext[q] + "\t" + dtext[d] + "\n" for q, d in keys))
        for (q, d), s in zip(keys, sc):
            pairs[(q, d)] = s["score"]
        first_of = {"dense": "dense.run", "sweep": "dense.run", "bm25": "bm25.run", "hybrid": "hybrid.run"}
        for f, run in runs.items():
            if "rerank" in f:
                k, base = int(f.split("rerank")[1].split(".")[0]), first_of[f.split("_")[0]]
            elif f.startswith("sweep_k"):
                k, base = int(f[7:-4]), "dense.run"
            else:
                continue
            for q, lst in run.items():
                fs = runs[base].get(q, [])
                check(set(lst[:k]) == set(fs[:k]) and lst[k:] == fs[k:], "%s %s: not a permutation of the first stage's top %d" % (f, q, k))
                lg = [pairs[(q, d)] for d in lst[:k]]
                check(all(lg[i] >= lg[i + 1] - 1e-4 for i in range(len(lg) - 1)), "%s %s: top %d not in logit order %s" % (f, q, k, lg))
        if "hybrid.run" in runs and "bm25.run" in runs:
            hy = res.get("hybrid") or {}
            w, rk = hy.get("dense_weight"), hy.get("rrf_k")
            check(isinstance(w, (int, float)) and 0 <= w <= 1 and rk == 60, "results.json: hybrid %s" % hy)
            w = w if isinstance(w, (int, float)) else 0.5
            for q, lst in runs["hybrid.run"].items():
                rr = {}
                for name, wt in (("dense.run", 2 * w), ("bm25.run", 2 * (1 - w))):
                    for r, d in enumerate(runs[name].get(q, []), 1):
                        rr[d] = rr.get(d, 0.0) + wt / (60 + r)
                best = sorted(rr.values(), reverse=True)
                bad = [i for i, d in enumerate(lst) if abs(rr.get(d, -1) - best[i]) > 1e-9]
                check(not bad, "hybrid %s: rank %s is not the RRF order" % (q, bad[:3]))

    for f in fails:
        print("check_demo_collection: " + f)
    if not fails:
        print("check_demo_collection: ok (%d runs, %d queries)" % (len(runs), len(want)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
