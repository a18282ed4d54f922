#!/bin/sh
# make_scifact_fixture.sh - writes tests/fixtures/scifact/ from ../shared's BEIR SciFact
# (CC BY-NC: evaluation only; a test fixture, never installed): the corpus and the 809
# training queries xz-compressed, qrels/train.tsv as it is, and the reference run of
# Lucene 8.7 (Debian liblucene8-java, bench/LuceneBM25.java: EnglishAnalyzer,
# BM25Similarity(0.9, 0.4), Anserini's bag-of-words query) on the same documents
# (title + " " + text), top 10 per query, xz-compressed. Also prints the FNV-1a hash and
# the count of Lucene's analyzed tokens over the corpus, which tests/test_bm25_scifact.c
# holds as constants. Installs liblucene8-java and a JDK if they are missing.
set -e
cd "$(dirname "$0")/.."
SRC=${SRC:-../shared/data/collections/scifact}
OUT=tests/fixtures/scifact
W=$(mktemp -d /tmp/wn_scifact.XXXXXX)
trap 'rm -rf "$W"' EXIT
CP=/usr/share/java/lucene-core-8.7.0.jar:/usr/share/java/lucene-analyzers-common-8.7.0.jar
need=""
[ -f /usr/share/java/lucene-core-8.7.0.jar ] || need="$need liblucene8-java"
command -v javac >/dev/null || need="$need default-jdk-headless"
[ -n "$need" ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >&2
mkdir -p "$OUT/qrels"
xz -9e -c "$SRC/corpus.jsonl" >"$OUT/corpus.jsonl.xz"
xz -9e -c "$SRC/queries.jsonl" >"$OUT/queries.jsonl.xz"
cp "$SRC/qrels/train.tsv" "$OUT/qrels/train.tsv"
python3 - "$SRC" "$W" <<'PY'
import json, sys
src, w = sys.argv[1:3]
clean = lambda s: " ".join(s.split("\t")).replace("\n", " ").replace("\r", " ")
with open(w + "/docs.tsv", "w") as f, open(w + "/docs.txt", "w") as g:
    for l in open(src + "/corpus.jsonl"):
        o = json.loads(l)
        t = o.get("title", "") + " " + o.get("text", "")
        f.write(o["_id"] + "\t" + clean(t) + "\n")
        g.write(clean(t) + "\n")
judged = {l.split("\t")[0] for l in list(open(src + "/qrels/train.tsv"))[1:]}
with open(w + "/queries.tsv", "w") as f:
    for l in open(src + "/queries.jsonl"):
        o = json.loads(l)
        if o["_id"] in judged:
            f.write(o["_id"] + "\t" + clean(o["text"]) + "\n")
PY
javac -cp "$CP" -d "$W" bench/LuceneBM25.java
java -cp "$CP:$W" LuceneBM25 run "$W/docs.tsv" "$W/queries.tsv" 10 0.9 0.4 >"$W/lucene.run"
xz -9e -c "$W/lucene.run" >"$OUT/lucene-bm25-train-top10.run.xz"
java -cp "$CP:$W" LuceneBM25 analyze <"$W/docs.txt" >"$W/terms.txt"
python3 - "$W/terms.txt" <<'PY'
import sys
h, n = 0xcbf29ce484222325, 0
for line in open(sys.argv[1], "rb"):
    line = line.rstrip(b"\n")
    n += len(line.split()) if line else 0
    for c in line + b"\n":
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
print("Lucene's analyzed corpus: FNV-1a %016x, %d tokens" % (h, n))
PY
echo "queries: $(wc -l <"$W/queries.tsv"), run lines: $(wc -l <"$W/lucene.run")"
ls -l "$OUT" "$OUT/qrels"
