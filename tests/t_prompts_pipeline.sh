#!/bin/sh
# t_prompts_pipeline.sh - prompts and Matryoshka dimensions in the pipeline (issue 14):
# a tiny random bi-encoder (tests/fixtures/model/tiny-bi, dimension 64) given a
# config_sentence_transformers.json with E5-style prompts. `winnow index --dense
# --dimensions 16` must store exactly what `winnow embed --prompt-name document
# --dimensions 16` gives each document (the vectors read back from dense.idx, WNIX
# format, docs/FORMAT.md) and record the prompt and size in the index's metadata;
# `winnow search` must score with the query prompt and the same cut: each dense
# score equals the dot product of `embed --prompt-name query --dimensions 16` and the
# document's vector. --prompt / --query-prompt override the model's prompts.
: "${BUILD:=build}"
W="$BUILD/winnow"
[ -x "$W" ] || { echo "t_prompts_pipeline: $W is not built"; exit 1; }
. "${0%/*}/lib.sh"
command -v python3 >/dev/null || skip_or_fail "python3 is needed to read dense.idx"
t_tmp prompts

M="$T/model"
cp -r tests/fixtures/model/tiny-bi "$M" || fail "copy tiny-bi"
printf '%s\n' '{"prompts": {"query": "query: ", "document": "passage: ", "other": "search_document: "}, "default_prompt_name": null}' \
    >"$M/config_sentence_transformers.json"
cat >"$T/corpus.jsonl" <<'JSONL'
{"_id": "d1", "title": "", "text": "the cat sat on the mat"}
{"_id": "d2", "title": "", "text": "dogs are loyal animals"}
{"_id": "d3", "title": "", "text": "a quick brown fox jumps over the lazy dog"}
{"_id": "d4", "title": "", "text": "retrieval with two stages"}
JSONL
sed 's/.*"text": "\(.*\)"}/\1/' "$T/corpus.jsonl" >"$T/docs.txt"

# dense.idx (flat, fp32) -> one JSON line per vector, by external id; and a meta key
vectors() {
    python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:4] == b"WNIX", "not a WNIX file"
dim, nsec = struct.unpack_from("<I", b, 20)[0], struct.unpack_from("<I", b, 28)[0]
n = struct.unpack_from("<q", b, 32)[0]
sec = {}
for i in range(nsec):
    sid, _, off, size, _, _ = struct.unpack_from("<IIQQII", b, 128 + 32 * i)
    sec[sid] = (off, size)
vec = struct.unpack_from("<%df" % (n * dim), b, sec[1][0])
ids = struct.unpack_from("<%dq" % n, b, sec[4][0])
for i in sorted(range(n), key=lambda k: ids[k]):
    print('{"embedding":[' + ",".join("%.9g" % x for x in vec[i * dim:(i + 1) * dim]) + "]}")
PY
}
meta() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select value from meta where key=?', (sys.argv[2],)).fetchone()[0])" "$1/docs.sqlite" "$2"; }

"$W" index --corpus "$T/corpus.jsonl" --out "$T/ix" --dense "$M" --dimensions 16 >/dev/null 2>"$T/err" ||
    fail "index: exit $? ($(cat "$T/err"))"
vectors "$T/ix/dense.idx" >"$T/v_index" || fail "read dense.idx"
"$W" embed --model "$M" --prompt-name document --dimensions 16 "$T/docs.txt" >"$T/v_embed" 2>"$T/err" || fail "embed: $(cat "$T/err")"
cmp_floats "$T/v_index" "$T/v_embed" 1e-6 "indexed vectors vs embed --prompt-name document --dimensions 16" ||
    fail "indexed vectors"
"$W" embed --model "$M" --prompt "" --dimensions 16 "$T/docs.txt" >"$T/v_plain" 2>/dev/null
cmp_floats "$T/v_index" "$T/v_plain" 1e-3 "indexed vs no prompt (must differ)" >/dev/null && fail "the document prompt was not applied"
[ "$(meta "$T/ix" dense.doc_prompt)" = "passage: " ] || fail "dense.doc_prompt: '$(meta "$T/ix" dense.doc_prompt)'"
[ "$(meta "$T/ix" dense.doc_prompt_name)" = "document" ] || fail "dense.doc_prompt_name: '$(meta "$T/ix" dense.doc_prompt_name)'"
[ "$(meta "$T/ix" dense.dimensions)" = 16 ] || fail "dense.dimensions: '$(meta "$T/ix" dense.dimensions)'"
[ "$(meta "$T/ix" dense.model_dim)" = 64 ] || fail "dense.model_dim: '$(meta "$T/ix" dense.model_dim)'"

# search: the query prompt and the index's 16 dimensions; scores = <query, document>
dots() { # query vectors file, doc vectors file -> best-first "id score" lines for query 1
    python3 - "$1" "$2" <<'PY'
import json, sys
q = json.loads(open(sys.argv[1]).readline())["embedding"]
docs = [json.loads(l)["embedding"] for l in open(sys.argv[2])]
s = sorted(((sum(a * b for a, b in zip(q, d)), "d%d" % (i + 1)) for i, d in enumerate(docs)), reverse=True)
for v, i in s: print(i, "%.5f" % v)
PY
}
hits() { python3 -c "
import json, sys
for l in sys.stdin:
    for h in json.loads(l)['stages']['dense']['hits']: print(h['id'], '%.5f' % h['score'])"; }
echo "a fox and a dog" >"$T/q.txt"
"$W" search --index "$T/ix" --first-stage dense --k 4 --json "a fox and a dog" >"$T/s1" 2>"$T/err" || fail "search: $(cat "$T/err")"
"$W" embed --model "$M" --prompt-name query --dimensions 16 "$T/q.txt" >"$T/q1" 2>/dev/null
hits <"$T/s1" >"$T/h1" || fail "search --json output: $(head -c 300 "$T/s1")"
dots "$T/q1" "$T/v_embed" >"$T/x1"
cmp_floats "$T/h1" "$T/x1" 2e-5 "search scores vs <embed query, embed document>" || fail "search with the query prompt"
# --query-prompt "" (no prompt) and --query-prompt-name other
"$W" search --index "$T/ix" --first-stage dense --k 4 --json --query-prompt "" "a fox and a dog" 2>/dev/null | hits >"$T/h2"
"$W" embed --model "$M" --prompt "" --dimensions 16 "$T/q.txt" >"$T/q2" 2>/dev/null
dots "$T/q2" "$T/v_embed" >"$T/x2"
cmp_floats "$T/h2" "$T/x2" 2e-5 "search --query-prompt ''" || fail "--query-prompt ''"
"$W" search --index "$T/ix" --first-stage dense --k 4 --json --query-prompt-name other "a fox and a dog" 2>/dev/null | hits >"$T/h3"
"$W" embed --model "$M" --prompt-name other --dimensions 16 "$T/q.txt" >"$T/q3" 2>/dev/null
dots "$T/q3" "$T/v_embed" >"$T/x3"
cmp_floats "$T/h3" "$T/x3" 2e-5 "search --query-prompt-name other" || fail "--query-prompt-name"
"$W" search --index "$T/ix" --first-stage dense --query-prompt-name nope "x" >/dev/null 2>"$T/err" && fail "an unknown query prompt must fail"
grep -q "no prompt named 'nope'" "$T/err" || fail "unknown query prompt message: $(cat "$T/err")"
"$W" search --index "$T/ix" --first-stage dense --dimensions 32 "x" >/dev/null 2>"$T/err" && fail "--dimensions 32 on a 16-d index must fail"

# index overrides: --prompt-name other, --prompt "", and the full size without --dimensions
"$W" index --corpus "$T/corpus.jsonl" --out "$T/ix2" --dense "$M" --prompt-name other >/dev/null 2>"$T/err" ||
    fail "index --prompt-name: $(cat "$T/err")"
vectors "$T/ix2/dense.idx" >"$T/v2"
"$W" embed --model "$M" --prompt-name other "$T/docs.txt" >"$T/v2e" 2>/dev/null
cmp_floats "$T/v2" "$T/v2e" 1e-6 "index --prompt-name other (64 dimensions)" || fail "index --prompt-name"
"$W" index --corpus "$T/corpus.jsonl" --out "$T/ix3" --dense "$M" --prompt "" >/dev/null 2>"$T/err" || fail "index --prompt ''"
vectors "$T/ix3/dense.idx" >"$T/v3"
"$W" embed --model "$M" --prompt "" "$T/docs.txt" >"$T/v3e" 2>/dev/null
cmp_floats "$T/v3" "$T/v3e" 1e-6 "index --prompt ''" || fail "index --prompt ''"
"$W" index --corpus "$T/corpus.jsonl" --out "$T/ix4" --dense "$M" --dimensions 65 >/dev/null 2>"$T/err" && fail "--dimensions 65 > 64 must fail"
grep -q "dimensions 65" "$T/err" || fail "--dimensions message: $(cat "$T/err")"
cmp -s "$T/h1" "$T/h2" && fail "the query prompt changed nothing (scores with and without it are equal)"
[ "$fails" -eq 0 ] || exit 1
echo "t_prompts_pipeline: ok"
