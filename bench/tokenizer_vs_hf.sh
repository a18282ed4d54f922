#!/bin/sh
# tokenizer_vs_hf.sh - winnow's tokenizer against HuggingFace tokenizers (the Rust
# library, through its Node binding) on the same documents, one thread each, same run.
#   npm install --prefix /tmp/hftok tokenizers@0.23.2     (once; needs node and npm)
#   HFTOK=/tmp/hftok/node_modules sh bench/tokenizer_vs_hf.sh [CORPUS_JSONL]
# (NOMAKE=1 BUILD=DIR: use DIR/bench/bench_tokenizer as it is, without make)
# Prints both sides' MB/s, pieces/s and MB per CPU second, for full tokenization and
# truncation to 256; the piece counts and the hash of all ids must be equal. The time of HF excludes Node's
# start and file reading: encodeBatch over all documents, best of 3.
set -e
: "${BUILD:=build}" "${HFTOK:=/tmp/hftok/node_modules}"
CORPUS=${1:-../shared/data/collections/scifact/corpus.jsonl}
MODEL=../shared/models/all-MiniLM-L6-v2
[ -d "$HFTOK/tokenizers" ] || { echo "tokenizer_vs_hf: no $HFTOK/tokenizers (npm install tokenizers@0.23.2)"; exit 77; }
[ -n "$NOMAKE" ] || make -s "$BUILD/bench/bench_tokenizer"
echo "== winnow (1 thread for full, enc256; 2 for the last line)"
"$BUILD/bench/bench_tokenizer" "$MODEL" "$CORPUS" 3
echo "== HuggingFace tokenizers 0.23 (Rust via Node), RAYON_NUM_THREADS=1"
RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false NODE_PATH="$HFTOK" node - "$MODEL/tokenizer.json" "$CORPUS" <<'JS'
const fs = require('fs');
const { Tokenizer } = require('tokenizers');
const [tj, corpus] = process.argv.slice(2);
const docs = fs.readFileSync(corpus, 'utf8').split('\n').filter(Boolean)
  .map((l) => { const o = JSON.parse(l); return (o.title || '') + ' ' + o.text; });
const mb = docs.reduce((s, d) => s + Buffer.byteLength(d) + 1, 0) / 1e6;
(async () => {
  const tok = Tokenizer.fromFile(tj);
  tok.disablePadding();
  for (const [name, max] of [['full', 0], ['enc256', 256]]) {
    if (max) tok.setTruncation(max); else tok.disableTruncation();
    let best = 1e30, bestCpu = 1e30, pieces = 0;
    for (let r = 0; r < 3; r++) {
      const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
      const enc = await tok.encodeBatch(docs);
      const dt = Number(process.hrtime.bigint() - t0) / 1e9, c = process.cpuUsage(c0), dc = (c.user + c.system) / 1e6;
      pieces = enc.reduce((s, e) => s + e.getLength() - 2, 0) + (max ? 2 * docs.length : 0);
      if (!max && r === 0) { // the same FNV-1a over the pieces as bench_tokenizer
        let h = 2166136261;
        for (const e of enc) {
          const ids = e.getIds();
          for (let k = 1; k < ids.length - 1; k++) h = Math.imul(h ^ ids[k], 16777619) >>> 0;
          h = Math.imul(h ^ 0xFFFFFFFF, 16777619) >>> 0;
        }
        console.log('ids hash (FNV-1a over all ids, full): ' + h.toString(16).padStart(8, '0'));
      }
      if (dt < best) best = dt;
      if (dc < bestCpu) bestCpu = dc;
    }
    console.log(`${name.padEnd(10)} ${'1'.padStart(7)} ${String(pieces).padStart(12)} ${(mb / best).toFixed(2).padStart(9)} ${(pieces / best).toFixed(0).padStart(12)} ${''.padStart(8)} ${(mb / bestCpu).toFixed(2).padStart(11)}`);
  }
})();
JS
