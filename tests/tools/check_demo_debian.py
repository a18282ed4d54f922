#!/usr/bin/env python3
"""check_demo_debian.py STATUS QUERIES_TSV COLLECTION_DIR STDOUT - checks the Debian
collection `winnow demo` wrote (cli/demo/demo_debian.c) against its sources, parsed
here independently (stdlib only):

  - corpus.jsonl: one document per installed package name ("install ok installed")
    with a non-empty long description, sorted by name; title = the synopsis, text = the
    long description with " ." lines as paragraph breaks ("\\n"), lines starting with
    two blanks on their own line, the others joined with one space;
  - queries.jsonl / qrels/test.tsv: the tsv's queries (debian-NN, NN its line number
    among the queries) that name at least one document, each document judged 1;
  - what the demo printed: "K of the demo's N known-item queries kept".
Prints each failure; exits 1 on any."""
import json
import os
import re
import sys

fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)


def stanzas(text):
    """deb822 paragraphs as lists of (field, [value lines])"""
    for block in re.split(r"\n[ \t]*\n", text):
        fields = []
        for line in block.split("\n"):
            if not line.strip() and not line[:1].isspace():
                continue
            if line[:1] in (" ", "\t"):
                if fields:
                    fields[-1][1].append(line[1:])
            elif ":" in line:
                name, value = line.split(":", 1)
                fields.append((name, [value]))
        if fields:
            yield dict((k, v) for k, v in fields)


def long_description(lines):
    paras, cur = [], []
    for l in lines:
        if l.strip() == ".":
            if cur:
                paras.append(cur)
            cur = []
        elif l.strip():
            cur.append(("\n" if l[:1] in (" ", "\t") else " ", l.strip()))
    if cur:
        paras.append(cur)
    out = []
    for p in paras:
        s = p[0][1]
        for sep, w in p[1:]:
            s += sep + w
        out.append(s)
    return "\n".join(out)


def main():
    status, tsv, coll, stdout = sys.argv[1:5]
    docs = {}
    for st in stanzas(open(status, encoding="utf-8").read()):
        if "Package" not in st or "Description" not in st:
            continue
        if st.get("Status", [""])[0].strip() != "install ok installed":
            continue
        desc = st["Description"]
        text = long_description(desc[1:])
        name = st["Package"][0].strip()
        if text and name not in docs:
            docs[name] = {"_id": name, "title": desc[0].strip(), "text": text}
    want = [docs[k] for k in sorted(docs)]
    got = [json.loads(l) for l in open(os.path.join(coll, "corpus.jsonl"), encoding="utf-8")]
    check([d["_id"] for d in got] == [d["_id"] for d in want],
          "corpus ids %s, expected %s" % ([d["_id"] for d in got][:8], [d["_id"] for d in want][:8]))
    for g, w in zip(got, want):
        check(g == w, "corpus %s: %r, expected %r" % (w["_id"], g, w))

    queries, qrels, n_all = [], [], 0
    for line in open(tsv, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        n_all += 1
        text, pkgs = line.split("\t")
        rel = [p for p in pkgs.split(",") if p in docs]
        if rel:
            qid = "debian-%02d" % n_all
            queries.append({"_id": qid, "text": text})
            qrels += [(qid, p, 1) for p in rel]
    gq = [json.loads(l) for l in open(os.path.join(coll, "queries.jsonl"), encoding="utf-8")]
    check(gq == queries, "queries.jsonl: %d queries, expected %d (%s vs %s)" % (len(gq), len(queries), gq[:2], queries[:2]))
    rows = open(os.path.join(coll, "qrels", "test.tsv"), encoding="utf-8").read().split("\n")
    check(rows[0] == "query-id\tcorpus-id\tscore", "qrels: header %r" % rows[0])
    gr = [tuple(r.split("\t")) for r in rows[1:] if r]
    check(gr == [(q, p, str(g)) for q, p, g in qrels], "qrels: %d judgments, expected %d" % (len(gr), len(qrels)))
    said = "%d of the demo's %d known-item queries kept" % (len(queries), n_all)
    check(said in open(stdout, encoding="utf-8").read(), "stdout does not say '%s'" % said)

    for f in fails:
        print("check_demo_debian: " + f)
    print("check_demo_debian: %s (%d documents, %d of %d queries)" % ("FAILED" if fails else "ok", len(want),
                                                                        len(queries), n_all))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
