#!/usr/bin/python3
"""ref_torch.py - PyTorch's side of bench/encoders.sh.

Builds the benchmark's two random-weight MiniLM-L6 models in float32 from the
weights scripts/make_reference.py generates (the same counter-based values
tests/synth.c writes, so all three engines run identical models), from
torch.nn layers (transformers is not installed here), then:

  export DIR   ONNX files for ONNX Runtime: bi.onnx (mean-pooled, normalised
               embeddings), ce.onnx (logits), and their int8 twins
               bi_int8.onnx / ce_int8.onnx where every MatMul with a constant
               weight becomes DynamicQuantizeLinear -> MatMulInteger (per output
               channel int8 weights) -> Cast -> Mul by the scales, the pattern
               ONNX Runtime fuses at load (onnxruntime's own quantisation tools
               are not installable here, python3-onnx is).
  run DIR THREADS REPS   times PyTorch on the workloads bench_encoder wrote
               (JSON lines on stdout) and saves its outputs for the check.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-onnx).
"""
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import make_reference as mr  # noqa: E402  (the shared weight generator and BERT layers)


class Encoder(nn.Module):
    """HF BertModel + a head, float32. kind 'bi': sentence-transformers mean
    pooling + Normalize; 'ce': BertForSequenceClassification logits."""

    def __init__(self, spec):
        super().__init__()
        w, _ = mr.build_weights(spec)
        self.bert = mr.Bert(spec, w).float()
        self.ce = bool(spec["classifier"])

    def forward(self, ids, types, mask):
        b = self.bert
        T = ids.shape[1]
        x = b.word(ids) + b.typ(types)
        x = x + b.pos(torch.arange(T).unsqueeze(0))
        x = b.ln(x)
        ext = (1.0 - mask[:, None, None, :].float()) * -1e30
        for ly in b.layers:
            x = ly(x, ext)
        if self.ce:
            return b.cls(torch.tanh(b.pooler(x[:, 0])))
        m = mask.unsqueeze(-1).float()
        pooled = (x * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
        return F.normalize(pooled, p=2.0, dim=1)


def spec(kind):
    # synth_minilm(0, F32, 1) and synth_minilm(1, F32, 2) in bench_encoder.c
    return mr.spec_of(classifier=1, seed=2) if kind == "ce" else mr.spec_of(seed=1)


def export(d):
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    for kind in ("bi", "ce"):
        path = os.path.join(d, kind + ".onnx")
        if not os.path.exists(path):
            model = Encoder(spec(kind)).eval()
            ids = torch.ones(2, 8, dtype=torch.long)
            with torch.no_grad():
                torch.onnx.export(model, (ids, torch.zeros_like(ids), torch.ones_like(ids)), path,
                                  input_names=["input_ids", "token_type_ids", "attention_mask"],
                                  output_names=["out"], opset_version=14,
                                  dynamic_axes={n: {0: "batch", 1: "seq"} for n in
                                                ("input_ids", "token_type_ids", "attention_mask")})
        qpath = os.path.join(d, kind + "_int8.onnx")
        if os.path.exists(qpath):
            continue
        g = onnx.load(path)
        inits = {t.name: t for t in g.graph.initializer}
        nodes, n_q = [], 0
        for node in g.graph.node:
            if node.op_type != "MatMul" or node.input[1] not in inits:
                nodes.append(node)
                continue
            wt = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)  # (K, N)
            scale = np.maximum(np.abs(wt).max(axis=0), 1e-12) / 127.0        # per output column
            q = np.clip(np.rint(wt / scale), -127, 127).astype(np.int8)
            p = "q%d_" % n_q
            n_q += 1
            g.graph.initializer.extend([
                numpy_helper.from_array(q, p + "w"),
                numpy_helper.from_array(np.zeros(q.shape[1], np.int8), p + "wzp"),
                numpy_helper.from_array(scale.astype(np.float32), p + "ws")])
            a = node.input[0]
            nodes += [
                helper.make_node("DynamicQuantizeLinear", [a], [p + "a", p + "as", p + "azp"]),
                helper.make_node("MatMulInteger", [p + "a", p + "w", p + "azp", p + "wzp"], [p + "i32"]),
                helper.make_node("Cast", [p + "i32"], [p + "f"], to=TensorProto.FLOAT),
                helper.make_node("Mul", [p + "as", p + "ws"], [p + "s"]),
                helper.make_node("Mul", [p + "f", p + "s"], [node.output[0]])]
        del g.graph.node[:]
        g.graph.node.extend(nodes)
        used = {i for n in g.graph.node for i in n.input}
        keep = [t for t in g.graph.initializer if t.name in used]
        del g.graph.initializer[:]
        g.graph.initializer.extend(keep)
        onnx.checker.check_model(g)
        onnx.save(g, qpath)
        print("ref_torch: %s: %d MatMuls quantised" % (qpath, n_q), file=sys.stderr)


def read_ids(path):
    with open(path) as f:
        return [[int(v) for v in line.split()] for line in f if line.strip()]


def batch(rows, types=None):
    B, T = len(rows), max(len(r) for r in rows)
    ids = torch.zeros(B, T, dtype=torch.long)
    typ = torch.zeros(B, T, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.long)
    for b, r in enumerate(rows):
        ids[b, :len(r)] = torch.tensor(r)
        mask[b, :len(r)] = 1
        if types:
            typ[b, :len(r)] = torch.tensor(types[b])
    return ids, typ, mask


def median_time(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def emit(what, length, value, unit):
    print(json.dumps(dict(engine="pytorch", prec="fp32", what=what, len=length, value=value, unit=unit)), flush=True)


def run(d, threads, reps, serve=False):
    """Writes PyTorch's outputs (the cross-engine check), then times the workloads;
    serve=True: timings on request, "WHAT LEN REPS" lines on stdin (bi 16..256,
    lat 16, ce 128), one JSON line each (bench/encoders_drive.py)."""
    torch.set_num_threads(threads)
    bi, ce = Encoder(spec("bi")).eval(), Encoder(spec("ce")).eval()
    with torch.inference_mode():
        out = bi(*batch(read_ids(os.path.join(d, "ids_bi_16.txt"))))
        out.numpy().astype(np.float32).tofile(os.path.join(d, "out_pytorch_fp32_bi16.f32"))
        ce_ids, ce_types = read_ids(os.path.join(d, "ids_ce.txt")), read_ids(os.path.join(d, "types_ce.txt"))
        ce_in = batch(ce_ids, ce_types)
        ce(*ce_in).numpy().astype(np.float32).reshape(-1).tofile(os.path.join(d, "out_pytorch_fp32_ce.f32"))
        # 100 pairs in batches of 32, as the other engines run them
        chunks = [batch(ce_ids[i:i + 32], ce_types[i:i + 32]) for i in range(0, len(ce_ids), 32)]

        def measure(what, L, n):
            if what == "bi":
                x = batch(read_ids(os.path.join(d, "ids_bi_%d.txt" % L)))
                emit("bi", L, 32 / median_time(lambda: bi(*x), n), "seq/s")
            elif what == "lat":
                x = batch(read_ids(os.path.join(d, "ids_lat.txt")))
                emit("lat", 16, median_time(lambda: bi(*x), n) * 1e3, "ms")
            elif what == "ce":
                emit("ce", 128, len(ce_ids) / median_time(lambda: [ce(*c) for c in chunks], n), "pairs/s")
            else:
                print(json.dumps(dict(engine="pytorch", prec="fp32", what="error", why="unknown command")), flush=True)

        if serve:
            print(json.dumps(dict(engine="pytorch", prec="fp32", what="ready")), flush=True)
            for line in sys.stdin:
                w = line.split()
                if not w or w[0] == "quit":
                    break
                measure(w[0], int(w[1]), int(w[2]))
            return
        for L in (16, 32, 64, 128, 256):
            measure("bi", L, reps if L < 128 else max(1, (reps + 1) // 2))
        measure("lat", 16, 10 * reps)
        measure("ce", 128, max(1, (reps + 1) // 2))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("export", "run", "serve"):
        sys.exit("usage: ref_torch.py export DIR | run DIR THREADS REPS | serve DIR THREADS")
    if sys.argv[1] == "export":
        export(sys.argv[2])
    else:
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1, sys.argv[1] == "serve")
