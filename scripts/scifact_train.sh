#!/bin/sh
# scifact_train.sh - fine-tunes a small randomly initialised bi-encoder (2 layers,
# hidden 128, MiniLM's vocabulary) on SciFact's training queries with BM25-mined
# hard negatives, and reports nDCG@10 (dense retrieval over the whole corpus) on
# those queries before and after, with the loss curve. Same seed, same result.
#   1. rows {"query", "positive": title + " " + text} from qrels/train.tsv
#   2. winnow index --bm25; winnow mine --per-query 1 --skip-top 3 (the top hits
#      may be unlabelled positives)
#   3. winnow train bi --config (HF's initialisation from --seed); the same with
#      --lr 0 gives the untrained baseline
#   4. winnow index --dense + winnow eval --first-stage dense for both
# Usage: sh scripts/scifact_train.sh [WORKDIR] [EPOCHS] [THREADS]   (after make)
set -e
: "${BUILD:=build}"
W="$PWD/$BUILD/winnow"
D=${1:-/tmp/wn_scifact_train}
EP=${2:-3}
TH=${3:-2}
SF=../shared/data/collections/scifact
MINI=../shared/models/all-MiniLM-L6-v2
mkdir -p "$D/init"
cat >"$D/init/config.json" <<'J'
{"architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu", "hidden_size": 128,
 "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 512, "max_position_embeddings": 512,
 "type_vocab_size": 2, "vocab_size": 30522, "layer_norm_eps": 1e-12, "initializer_range": 0.02,
 "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "pad_token_id": 0}
J
cp "$MINI/vocab.txt" "$D/init/"
for f in tokenizer_config.json special_tokens_map.json; do [ -f "$MINI/$f" ] && cp "$MINI/$f" "$D/init/"; done
python3 - "$SF" "$D/rows.jsonl" <<'PY'
import json, sys
sf, out = sys.argv[1], sys.argv[2]
q = {j["_id"]: j["text"] for j in map(json.loads, open(sf + "/queries.jsonl"))}
c = {j["_id"]: (j.get("title", "") + " " + j["text"]).strip() for j in map(json.loads, open(sf + "/corpus.jsonl"))}
with open(out, "w") as f:
    for line in list(open(sf + "/qrels/train.tsv"))[1:]:
        qid, did, score = line.split("\t")
        if int(score) > 0 and qid in q and did in c:
            f.write(json.dumps({"query": q[qid], "positive": c[did]}) + "\n")
PY
[ -d "$D/bm25" ] || "$W" index --corpus "$SF/corpus.jsonl" --out "$D/bm25" --bm25 >/dev/null
"$W" mine --index "$D/bm25" --data "$D/rows.jsonl" --out "$D/mined.jsonl" --per-query 1 --depth 20 --skip-top 3 \
    --first-stage bm25
common="--config $D/init/config.json --data $D/mined.jsonl --batch 32 --max-length 128 --seed 1 --threads $TH"
"$W" train bi $common --out "$D/m0" --steps 1 --lr 0
"$W" train bi $common --out "$D/m1" --epochs "$EP" --lr 5e-4 --warmup 10 --log "$D/train.log"
for m in m0 m1; do
    rm -rf "$D/ix_$m"
    "$W" index --corpus "$SF/corpus.jsonl" --out "$D/ix_$m" --dense "$D/$m" --threads "$TH" >/dev/null
    "$W" eval --index "$D/ix_$m" --queries "$SF/queries.jsonl" --qrels "$SF/qrels/train.tsv" --first-stage dense \
        --json "$D/eval_$m.json" >/dev/null
done
python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]
def ndcg(m):
    j = json.load(open("%s/eval_%s.json" % (d, m)))
    for k in ("ndcg@10", "nDCG@10", "ndcg_cut_10"):
        if k in json.dumps(j):
            break
    def find(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k.lower() in ("ndcg@10", "ndcg_cut_10") and isinstance(v, (int, float)):
                    return v
                r = find(v)
                if r is not None:
                    return r
        if isinstance(o, list):
            for v in o:
                r = find(v)
                if r is not None:
                    return r
    return find(j)
log = [json.loads(l) for l in open(d + "/train.log") if '"loss"' in l]
print("loss curve (every 10th update): " + ", ".join("%d:%.3f" % (r["step"], r["loss"]) for r in log if r["step"] % 10 == 1 or r is log[-1]))
print("nDCG@10 on the SciFact training queries (dense, whole corpus): untrained %s, trained %s" % (ndcg("m0"), ndcg("m1")))
PY
