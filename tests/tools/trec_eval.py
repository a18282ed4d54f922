#!/usr/bin/env python3
"""trec_eval.py - an independent re-implementation, in plain Python, of the trec_eval
9.x measures winnow reports, used by the tests to check winnow's metric code.

Written from trec_eval's documented behaviour, not from winnow's C:
  - the run's ranks are ignored; each query's list is sorted by score descending,
    ties broken by docno descending (trec_eval's comp_sim_docno);
  - relevant = grade >= 1; nDCG gain = grade (0 if negative or unjudged), discount
    log2(rank + 1), ideal from all judged docs of the query (ndcg_cut);
  - P@k divides by k, recall@k and AP by the number of relevant docs;
  - queries are those of the qrels; missing from the run -> 0 (trec_eval -c).

usage: trec_eval.py QRELS RUN MEASURE...   (MEASURE like ndcg@10, p@3, map, mrr@10)
prints "measure<TAB>qid<TAB>value" per query and "measure<TAB>all<TAB>mean".
"""
import math
import sys


def read_qrels(path):
    qrels = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            cols = line.split()
            if not cols:
                continue
            if len(cols) == 3:
                qid, doc, rel = cols
            elif len(cols) == 4:
                qid, _, doc, rel = cols
            else:
                sys.exit(f"{path}:{n}: bad line")
            try:
                rel = int(float(rel))
            except ValueError:
                if n == 1:
                    continue  # BEIR header
                raise
            qrels.setdefault(qid, {})[doc] = rel
    return qrels


def read_run(path):
    run = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.split()
            if not cols:
                continue
            qid, _, doc, _, score, _ = cols
            run.setdefault(qid, []).append((float(score), doc))
    return run


def ranked(lst):
    # descending score, then descending docno: sort twice (stable)
    lst = sorted(lst, key=lambda t: t[1], reverse=True)
    return [d for s, d in sorted(lst, key=lambda t: t[0], reverse=True)]


def measure(name, docs, judged):
    kind, _, k = name.partition("@")
    k = int(k) if k else len(docs)
    top = docs[:k]
    rels = [judged.get(d, 0) for d in top]
    R = sum(1 for g in judged.values() if g >= 1)
    if kind == "p":
        return sum(1 for g in rels if g >= 1) / k
    if kind == "recall":
        return sum(1 for g in rels if g >= 1) / R if R else 0.0
    if kind == "mrr":
        for i, g in enumerate(rels):
            if g >= 1:
                return 1.0 / (i + 1)
        return 0.0
    if kind == "ndcg":
        dcg = sum(max(g, 0) / math.log2(i + 2) for i, g in enumerate(rels))
        ideal = sorted(judged.values(), reverse=True)[:k]
        idcg = sum(max(g, 0) / math.log2(i + 2) for i, g in enumerate(ideal))
        return dcg / idcg if idcg > 0 else 0.0
    if kind == "map":
        hits, s = 0, 0.0
        for i, g in enumerate(rels):
            if g >= 1:
                hits += 1
                s += hits / (i + 1)
        return s / R if R else 0.0
    sys.exit("unknown measure " + name)


def main():
    qrels, run = read_qrels(sys.argv[1]), read_run(sys.argv[2])
    for m in sys.argv[3:]:
        vals = []
        for qid in qrels:
            v = measure(m.lower(), ranked(run.get(qid, [])), qrels[qid])
            vals.append(v)
            print(f"{m}\t{qid}\t{v:.17g}")
        print(f"{m}\tall\t{sum(vals) / len(vals):.17g}")


if __name__ == "__main__":
    main()
