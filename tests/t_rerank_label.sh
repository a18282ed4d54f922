#!/bin/sh
# t_rerank_label.sh - the one logit rule of re-ranking (winnow.h, "Re-ranking"): with a
# cross-encoder of two labels the pipeline ranks by the LAST label. The model is the
# tiny fixture with its one-row classifier made two rows: label 0 = -logit (it would
# reverse the order), label 1 = logit + 0.5. `winnow search --rerank` must give, for
# each re-ranked document, `winnow score`'s label 1 of the same (query, title + " " +
# text) pair, in descending order; and the order of the one-label original.
set -u
: "${BUILD:=build}"
W="$BUILD/winnow"
CE=tests/fixtures/model/tiny-ce
[ -x "$W" ] || { echo "SKIPPED: $W not built"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIPPED: python3 is not installed"; exit 77; }
[ -f "$CE/model.safetensors" ] || { echo "SKIPPED: no tiny-ce fixture in $CE"; exit 77; }
T=$(mktemp -d /tmp/wn_t_rerank_label.XXXXXX)
trap 'rm -rf "$T"' EXIT

python3 - "$CE" "$T/ce2" <<'PY' || { echo "FAIL: could not make the two-label model"; exit 1; }
import json, os, shutil, struct, sys
src, dst = sys.argv[1:3]
shutil.copytree(src, dst)
raw = open(os.path.join(src, "model.safetensors"), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n]); data = raw[8 + n:]
tensors = {}
for k, v in hdr.items():
    if k == "__metadata__": continue
    assert v["dtype"] == "F32", v
    a, b = v["data_offsets"]
    tensors[k] = (v["shape"], list(struct.unpack("<%df" % ((b - a) // 4), data[a:b])))
w_shape, w = tensors["classifier.weight"]; b_shape, b = tensors["classifier.bias"]
assert w_shape[0] == 1 and b_shape == [1], (w_shape, b_shape)
tensors["classifier.weight"] = ([2, w_shape[1]], [-x for x in w] + w)
tensors["classifier.bias"] = ([2], [-b[0], b[0] + 0.5])
out, meta, off = b"", {}, 0
for k, (shape, vals) in tensors.items():
    blob = struct.pack("<%df" % len(vals), *vals)
    meta[k] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(blob)]}
    out += blob; off += len(blob)
h = json.dumps(meta).encode(); h += b" " * (-len(h) % 8)
open(os.path.join(dst, "model.safetensors"), "wb").write(struct.pack("<Q", len(h)) + h + out)
cfg = json.load(open(os.path.join(src, "config.json")))
cfg["id2label"] = {"0": "irrelevant", "1": "relevant"}; cfg["label2id"] = {"irrelevant": 0, "relevant": 1}
json.dump(cfg, open(os.path.join(dst, "config.json"), "w"))
PY

cat >"$T/corpus.jsonl" <<'J'
{"_id": "d1", "title": "Cats", "text": "the cat sat on the warm mat near the window"}
{"_id": "d2", "title": "Dogs", "text": "dogs are loyal companions and enjoy long walks in the park"}
{"_id": "d3", "title": "Mats", "text": "a mat for the door and a mat for the cat"}
{"_id": "d4", "title": "Cooking", "text": "a good risotto needs patience, stock and constant stirring"}
{"_id": "d5", "title": "Kittens", "text": "a kitten chases the cat toy across the mat"}
{"_id": "d6", "title": "Parks", "text": "city parks give dogs and cats room to walk"}
J
"$W" index --corpus "$T/corpus.jsonl" --out "$T/ix" --bm25 2>"$T/err" || { echo "FAIL: index"; cat "$T/err"; exit 1; }
Q="the cat and the mat"
for m in ce2 ce1; do
    model="$T/ce2"; [ $m = ce1 ] && model="$CE"
    "$W" search --index "$T/ix" --rerank "$model" --k 5 --k-candidates 5 --threads 1 --json "$Q" >"$T/$m.json" 2>"$T/err" ||
        { echo "FAIL: search --rerank $m"; cat "$T/err"; exit 1; }
done
python3 - "$T" "$W" "$Q" <<'PY'
import json, subprocess, sys
T, W, q = sys.argv[1:4]
docs = {d["_id"]: d for d in map(json.loads, open(T + "/corpus.jsonl"))}
two = json.loads(open(T + "/ce2.json").read())["stages"]["rerank"]["hits"]
one = json.loads(open(T + "/ce1.json").read())["stages"]["rerank"]["hits"]
assert len(two) == len(one) >= 4, (len(two), len(one))
pairs = "".join("%s\t%s %s\n" % (q, docs[h["id"]]["title"], docs[h["id"]]["text"]) for h in two)
out = subprocess.run([W, "score", "--model", T + "/ce2", "--threads", "1"], input=pairs, capture_output=True, text=True, check=True).stdout
logits = [json.loads(l)["scores"] for l in out.splitlines()]
for h, l in zip(two, logits):
    assert abs(h["score"] - l[1]) < 1e-5, ("re-rank score is not the last label's logit", h, l)
    assert abs(l[0] + l[1] - 0.5) < 1e-4, ("the two labels are not -x and x + 0.5", l)
assert all(a["score"] >= b["score"] for a, b in zip(two, two[1:])), "not in descending order of the last label"
assert [h["id"] for h in two] == [h["id"] for h in one], ("order differs from the one-label model", two, one)
assert any(abs(l[0] - l[1]) > 1e-3 for l in logits), "labels indistinguishable: the test would prove nothing"
print("t_rerank_label: re-ranking uses the last label (%d documents)" % len(two))
PY
