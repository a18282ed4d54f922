// run.js - ONNX Runtime's side of bench/encoders.sh: runs the ONNX exports of
// bench/ref_torch.py (fp32 and int8) on the workloads bench_encoder wrote, with
// the given number of intra-op threads; checks int8 against fp32 before timing
// it; prints JSON lines. CISI: batches of 32 in input order, each padded to its
// longest document (what a plain ORT pipeline does).
// Usage: node bench/ort/run.js DIR THREADS REPS [serve]
// serve: after the output check, timings on request for bench/encoders_drive.py:
// reads "PREC WHAT LEN REPS" lines (bi 16..256, lat 16, ce 128, cisi 0) from stdin
// and answers each with one JSON line.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const [dir, threads, reps] = [process.argv[2], parseInt(process.argv[3] || '2'), parseInt(process.argv[4] || '5')];
const serveMode = process.argv[5] === 'serve';

function readIds(name) {
  return fs.readFileSync(path.join(dir, name), 'utf8').split('\n').filter((l) => l.trim())
    .map((l) => l.trim().split(/\s+/).map(Number));
}

function feeds(rows, types) {
  const B = rows.length, T = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(B * T), typ = new BigInt64Array(B * T), mask = new BigInt64Array(B * T);
  rows.forEach((r, b) => r.forEach((v, t) => {
    ids[b * T + t] = BigInt(v);
    mask[b * T + t] = 1n;
    if (types) typ[b * T + t] = BigInt(types[b][t]);
  }));
  return {
    input_ids: new ort.Tensor('int64', ids, [B, T]),
    token_type_ids: new ort.Tensor('int64', typ, [B, T]),
    attention_mask: new ort.Tensor('int64', mask, [B, T]),
  };
}

async function medianTime(fn, n) {
  await fn();
  const ts = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    ts.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(n / 2)];
}

function emit(prec, what, len, value, unit) {
  console.log(JSON.stringify({engine: 'ort', prec, what, len, value, unit}));
}

function cosMin(a, b, d) {
  let mn = 1;
  for (let i = 0; i < a.length / d; i++) {
    let ab = 0, aa = 0, bb = 0;
    for (let j = 0; j < d; j++) {
      const x = a[i * d + j], y = b[i * d + j];
      ab += x * y; aa += x * x; bb += y * y;
    }
    mn = Math.min(mn, ab / Math.sqrt(aa * bb));
  }
  return mn;
}

async function main() {
  const opt = {intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all'};
  const sess = {};
  for (const k of ['bi', 'ce', 'bi_int8', 'ce_int8']) sess[k] = await ort.InferenceSession.create(path.join(dir, k + '.onnx'), opt);
  const run = async (s, f) => (await s.run(f)).out.data;
  const b16 = feeds(readIds('ids_bi_16.txt'));
  const ceIds = readIds('ids_ce.txt'), ceTypes = readIds('types_ce.txt');
  const ceChunks = [];
  for (let i = 0; i < ceIds.length; i += 32) ceChunks.push(feeds(ceIds.slice(i, i + 32), ceTypes.slice(i, i + 32)));
  const outs = {};
  for (const p of ['fp32', 'int8']) {
    const sfx = p === 'int8' ? '_int8' : '';
    const e = await run(sess['bi' + sfx], b16);
    const c = [];
    for (const f of ceChunks) c.push(...(await run(sess['ce' + sfx], f)));
    outs[p] = {e, c: Float32Array.from(c)};
    fs.writeFileSync(path.join(dir, `out_ort_${p}_bi16.f32`), Buffer.from(e.buffer, e.byteOffset, e.byteLength));
    fs.writeFileSync(path.join(dir, `out_ort_${p}_ce.f32`), Buffer.from(outs[p].c.buffer));
  }
  const mc = cosMin(outs.int8.e, outs.fp32.e, 384);
  console.log(JSON.stringify({engine: 'ort', prec: 'int8', what: 'quality', min_cos: mc}));
  const int8ok = mc >= 0.8;
  if (!int8ok) {
    console.log(JSON.stringify({engine: 'ort', prec: 'int8', what: 'refused', why: `min cosine ${mc} to fp32 (a working int8 model stays above 0.8 on these random weights)`}));
  }
  const fl = feeds(readIds('ids_lat.txt'));
  const docs = readIds('ids_cisi.txt');
  // one measurement: the median of n timed runs after a warm-up (cisi: one pass)
  async function measure(p, what, L, n) {
    const sfx = p === 'int8' ? '_int8' : '';
    if (what === 'bi') {
      const f = feeds(readIds(`ids_bi_${L}.txt`));
      emit(p, 'bi', L, 32 / (await medianTime(() => sess['bi' + sfx].run(f), n)), 'seq/s');
    } else if (what === 'lat') {
      emit(p, 'lat', 16, (await medianTime(() => sess['bi' + sfx].run(fl), n)) * 1e3, 'ms');
    } else if (what === 'ce') {
      const t = await medianTime(async () => { for (const f of ceChunks) await sess['ce' + sfx].run(f); }, n);
      emit(p, 'ce', 128, ceIds.length / t, 'pairs/s');
    } else if (what === 'cisi') { // naive padding: batches of 32 in input order
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < docs.length; i += 32) await sess['bi' + sfx].run(feeds(docs.slice(i, i + 32)));
      emit(p, 'cisi', 0, docs.length / (Number(process.hrtime.bigint() - t0) / 1e9), 'docs/s');
    } else {
      console.log(JSON.stringify({engine: 'ort', prec: p, what: 'error', why: `unknown command ${what}`}));
    }
  }
  if (serveMode) {
    console.log(JSON.stringify({engine: 'ort', what: 'ready'}));
    const rl = require('readline').createInterface({input: process.stdin});
    for await (const line of rl) {
      const [p, what, L, n] = line.trim().split(/\s+/);
      if (!what || p === 'quit') break;
      if (p === 'int8' && !int8ok) {
        console.log(JSON.stringify({engine: 'ort', prec: p, what: 'refused'}));
        continue;
      }
      await measure(p, what, parseInt(L), parseInt(n));
    }
    rl.close();
    return;
  }
  for (const p of ['fp32', 'int8']) {
    if (p === 'int8' && !int8ok) continue;
    for (const L of [16, 32, 64, 128, 256]) await measure(p, 'bi', L, L >= 128 ? Math.ceil(reps / 2) : reps);
    await measure(p, 'lat', 16, 10 * reps);
    await measure(p, 'ce', 128, Math.ceil(reps / 2));
  }
  await measure('fp32', 'cisi', 0, 1);
}

main().catch((e) => { console.error(e); process.exit(1); });
