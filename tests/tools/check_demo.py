#!/usr/bin/env python3
"""check_demo.py OUTPUT EXPECTED.json [--models DIR...] - checks what `winnow demo` printed against the
PyTorch reference written by scripts/make_demo_reference.py (stdlib only).

Scores are printed with 4 decimals: each must be within 2e-4 of the reference.
Rankings must be the reference's, except that documents whose reference scores are
within 5e-5 of each other (float32 vs float64 near-ties) may trade places. The
evaluation's per-query ranks must be the reference's, and its P@3 / MRR must be
both the reference's and what those ranks give. The rank-shift moves must agree
with the before and after lists. Prints each failure; exits 1 on any."""
import hashlib
import json
import os
import re
import sys

TOL, TIE = 2e-4, 5e-5
HEADINGS = r"^(Stage \d|Evaluation|Rank shift|Collection|k sweep|ANN vs|BM25 and|Report)"
fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)


def section(lines, title):
    start = next((i for i, l in enumerate(lines) if l.startswith(title)), None)
    if start is None:
        fails.append("no section '%s'" % title)
        return []
    end = next((i for i in range(start + 1, len(lines)) if re.match(HEADINGS, lines[i])), len(lines))
    return lines[start:end]


def same_ranking(name, got, ref):
    """got: [(doc, printed score)], ref: [(doc, reference score)]"""
    rs = dict(ref)
    check(len(got) == len(ref), "%s: %d entries, reference %d" % (name, len(got), len(ref)))
    check(sorted(d for d, _ in got) == sorted(rs), "%s: documents %s, reference %s" % (name, [d for d, _ in got], list(rs)))
    for i, (d, s) in enumerate(got):
        if d not in rs:
            continue
        check(abs(s - rs[d]) <= TOL, "%s: %s printed %.4f, reference %.6f" % (name, d, s, rs[d]))
        if i < len(ref):
            check(abs(rs[d] - ref[i][1]) <= TIE, "%s: rank %d is %s, reference %s (%.6f vs %.6f)"
                  % (name, i + 1, d, ref[i][0], rs[d], ref[i][1]))


def from_seed(e):
    """The seed notebook's expected.json (real weights) in this script's terms; it has
    no per-query ranks, so only their consistency with P@3 and MRR is checked."""
    ev = e["evaluation_k_candidates_5_k_eval_3"]
    return {"test_query": e["bi_encoder_top5"]["query"], "bi_encoder_top": e["bi_encoder_top5"]["results"],
            "reranked": e["cross_encoder_rerank"]["results"], "P@3": ev["P@3"], "MRR": ev["MRR"],
            "shift_query": e["rank_shift"]["query"], "shift_bi": e["rank_shift"]["bi_encoder"],
            "shift_re": e["rank_shift"]["re_ranker"]}


def main():
    out = open(sys.argv[1]).read().split("\n")
    exp = json.load(open(sys.argv[2]))
    # --models DIR...: the models the reference was computed with must be these
    for d in sys.argv[4:] if sys.argv[3:4] == ["--models"] else []:
        name = os.path.basename(os.path.normpath(d))
        have = hashlib.sha256(open(os.path.join(d, "model.safetensors"), "rb").read()).hexdigest()
        if exp.get("models_sha256", {}).get(name) != have:
            print("check_demo: %s/model.safetensors is not the model %s was computed with: run "
                  "/usr/bin/python3 scripts/make_demo_reference.py" % (d, sys.argv[2]))
            return 1
    if "bi_encoder_top5" in exp:
        exp = from_seed(exp)

    s1 = section(out, "Stage 1")
    got = [(m.group(1), float(m.group(2))) for m in (re.match(r"^\s+\d+\s+(d\d+)\s+(-?\d+\.\d+)\s", l) for l in s1) if m]
    same_ranking("stage 1", got, [tuple(x) for x in exp["bi_encoder_top"]])
    check(any(exp["test_query"] in l for l in s1), "stage 1: the test query is not printed")

    s2 = section(out, "Stage 2")
    rows = [m.groups() for m in (re.match(r"^\s+\d+\s+(d\d+)\s+(-?\d+\.\d+)\s+(\d+)\s", l) for l in s2) if m]
    same_ranking("stage 2", [(d, float(s)) for d, s, _ in rows], [tuple(x) for x in exp["reranked"]])
    bi_order = [d for d, _ in got]
    for d, _, was in rows:
        check(d in bi_order and bi_order.index(d) + 1 == int(was), "stage 2: %s 'was' %s, stage 1 has it at %s"
              % (d, was, bi_order.index(d) + 1 if d in bi_order else "-"))

    ev = section(out, "Evaluation")
    per = [m.groups() for m in (re.match(r"^\s+.+?\s(d\d+)\s+(\d+|-)\s+(\d+|-)$", l) for l in ev) if m]
    check(len(per) == 5, "evaluation: %d per-query rows" % len(per))
    if "per_query" in exp:
        check([[g, int(b) if b != "-" else 0, int(r) if r != "-" else 0] for g, b, r in per] == exp["per_query"],
              "evaluation: per-query ranks %s, reference %s" % (per, exp["per_query"]))
    agg = {}
    for l in ev:
        m = re.match(r"^\s+(bi-encoder|\+ re-ranker)\s+(\d\.\d+)\s+(\d\.\d+)\s+(\d+\.\d+) ms", l)
        if m:
            agg[m.group(1)] = (float(m.group(2)), float(m.group(3)), float(m.group(4)))
    check(set(agg) == {"bi-encoder", "+ re-ranker"}, "evaluation: summary rows %s" % list(agg))
    if len(agg) == 2 and per:
        n = len(per)
        for j, key in enumerate(("bi-encoder", "+ re-ranker")):
            ranks = [int(p[1 + j]) if p[1 + j] != "-" else 0 for p in per]
            p3 = sum(0 < r <= 3 for r in ranks) / n
            mrr = sum(1 / r for r in ranks if r) / n
            check(abs(agg[key][0] - exp["P@3"][j]) < 6e-4 and abs(agg[key][0] - p3) < 6e-4,
                  "%s P@3 %.3f, reference %.3f, from the ranks %.3f" % (key, agg[key][0], exp["P@3"][j], p3))
            check(abs(agg[key][1] - exp["MRR"][j]) < 6e-4 and abs(agg[key][1] - mrr) < 6e-4,
                  "%s MRR %.3f, reference %.3f, from the ranks %.3f" % (key, agg[key][1], exp["MRR"][j], mrr))
            check(agg[key][2] > 0, "%s latency %.2f ms" % (key, agg[key][2]))

    sh = section(out, "Rank shift")
    check(any(exp["shift_query"] in l for l in sh), "rank shift: the query is not printed")
    lists = {}
    for l in sh:
        m = re.match(r"^\s+(bi-encoder|re-ranker)\s+top-\d+:\s+(.*)$", l)
        if m:
            lists[m.group(1)] = m.group(2).split()
    check(lists.get("bi-encoder") == exp["shift_bi"], "rank shift: before %s, reference %s"
          % (lists.get("bi-encoder"), exp["shift_bi"]))
    check(lists.get("re-ranker") == exp["shift_re"], "rank shift: after %s, reference %s"
          % (lists.get("re-ranker"), exp["shift_re"]))
    moves = [m.groups() for m in (re.match(r"^\s+(d\d+)\s+(\d+) -> (\d+)\s+\((=|\^\d+|v\d+)\)", l) for l in sh) if m]
    check(len(moves) == len(exp["shift_re"]), "rank shift: %d move lines" % len(moves))
    for d, before, after, mv in moves:
        b, a = int(before), int(after)
        want = "=" if a == b else ("^%d" % (b - a) if a < b else "v%d" % (a - b))
        check(mv == want, "rank shift: %s %d -> %d marked (%s), want (%s)" % (d, b, a, mv, want))
        bl, rl = lists.get("bi-encoder", []), lists.get("re-ranker", [])
        check(d in bl and bl.index(d) + 1 == b and d in rl and rl.index(d) + 1 == a,
              "rank shift: %s %d -> %d disagrees with the lists" % (d, b, a))

    for f in fails:
        print("check_demo: " + f)
    print("check_demo: %s" % ("FAILED" if fails else "ok"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
