// families.js - ONNX Runtime's side of bench/families.py: one bi-encoder export
// (DIR/model.onnx: input_ids, attention_mask -> normalised mean-pooled embeddings),
// checked against PyTorch's float64 embeddings of DIR/ids_bi_16.txt
// (DIR/ref_bi16.f32), then timings on request: "bi LEN REPS" lines on stdin, one
// JSON line each (sequences/s at batch 32, the median of REPS runs after a warm-up).
// Usage: node bench/ort/families.js DIR THREADS
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const [dir, threads] = [process.argv[2], parseInt(process.argv[3] || '2')];

function feeds(name) {
  const rows = fs.readFileSync(path.join(dir, name), 'utf8').split('\n').filter((l) => l.trim())
    .map((l) => l.trim().split(/\s+/).map(Number));
  const B = rows.length, T = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(B * T), mask = new BigInt64Array(B * T);
  rows.forEach((r, b) => r.forEach((v, t) => { ids[b * T + t] = BigInt(v); mask[b * T + t] = 1n; }));
  return {B, f: {input_ids: new ort.Tensor('int64', ids, [B, T]), attention_mask: new ort.Tensor('int64', mask, [B, T])}};
}

async function main() {
  const opt = {intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all'};
  const s = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), opt);
  const c = feeds('ids_bi_16.txt');
  const out = (await s.run(c.f)).out.data;
  const buf = fs.readFileSync(path.join(dir, 'ref_bi16.f32'));
  const ref = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(out[i] - ref[i]));
  console.log(JSON.stringify({engine: 'ort', prec: 'fp32', what: 'check', max_abs_diff: worst, n: ref.length}));
  console.log(JSON.stringify({engine: 'ort', what: 'ready'}));
  const rl = require('readline').createInterface({input: process.stdin});
  for await (const line of rl) {
    const [what, L, n] = line.trim().split(/\s+/);
    if (what !== 'bi') break;
    const w = feeds(`ids_bi_${L}.txt`);
    await s.run(w.f);
    const ts = [];
    for (let i = 0; i < parseInt(n); i++) {
      const t = process.hrtime.bigint();
      await s.run(w.f);
      ts.push(Number(process.hrtime.bigint() - t) / 1e9);
    }
    ts.sort((a, b) => a - b);
    console.log(JSON.stringify({engine: 'ort', prec: 'fp32', what: 'bi', len: parseInt(L), value: w.B / ts[Math.floor(ts.length / 2)], unit: 'seq/s'}));
  }
  rl.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
