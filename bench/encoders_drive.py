#!/usr/bin/python3
"""encoders_drive.py - the timing part of bench/encoders.sh, interleaved.

Every engine runs as a worker process that loads its models once and times one
workload on request (bench_encoder serve, bench/ort/run.js ... serve,
bench/ref_torch.py serve). This driver asks them in turn, workload by workload,
for ROUNDS rounds, rotating the order of the engines each round: on a shared
machine whose speed drifts by tens of per cent over minutes, engines compared
seconds apart see the same machine, where engines compared in separate passes
minutes apart do not. Each answer is the median of REPS timed runs; the report
(bench/report.py) takes each engine's best round and also prints the spread of
the per-round ratios.

Usage: encoders_drive.py DIR THREADS REPS ROUNDS >> DIR/results.jsonl
Precisions that failed their check (a "refused" line already in
DIR/results.jsonl) are not timed. CISI (whole corpus, slow) is timed in the
first CISI_ROUNDS rounds only (default 1; 0 skips it), winnow fp32/bf16/int8
and ORT fp32 back to back."""
import json
import os
import subprocess
import sys
import time

if len(sys.argv) != 5:
    sys.exit("usage: encoders_drive.py DIR THREADS REPS ROUNDS")
d, threads, reps, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cisi_rounds = int(os.environ.get("CISI_ROUNDS", "1"))
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
refused = set()
try:
    for line in open(os.path.join(d, "results.jsonl")):
        r = json.loads(line) if line.startswith("{") else {}
        if r.get("what") == "refused":
            refused.add((r["engine"], r.get("prec", "fp32")))
except FileNotFoundError:
    pass


class Worker:
    def __init__(self, engine, prec, argv, prefix="", env=None):
        self.engine, self.prec, self.prefix = engine, prec, prefix
        self.p = subprocess.Popen(argv, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                  env=env)
        while True:  # lines before "ready" (the ORT int8 check) go to the results as they are
            line = self.p.stdout.readline()
            if not line:
                sys.exit("encoders_drive: %s %s worker ended before it was ready" % (engine, prec))
            r = json.loads(line)
            if r.get("what") == "ready":
                break
            print(line.strip(), flush=True)
            if r.get("what") == "refused":
                refused.add((r["engine"], r.get("prec", "fp32")))

    def ask(self, what, length, n):
        self.p.stdin.write("%s%s %d %d\n" % (self.prefix, what, length, n))
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            sys.exit("encoders_drive: %s %s worker died on %s %d" % (self.engine, self.prec, what, length))
        return json.loads(line)

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        self.p.wait()


# PRECS=int8 (a comma list) times only those precisions, of every engine; JOBS=bi
# only the bi-encoder lengths (for a quick interleaved A/B of one precision)
precs = os.environ.get("PRECS", "fp32,bf16,int8").split(",")
workers = []
for prec in ("fp32", "bf16", "int8"):
    if ("winnow", prec) not in refused and prec in precs:
        workers.append(Worker("winnow", prec, ["build/bench/bench_encoder", "serve", d, threads, prec]))
# ISA_AB=avx2: winnow once more with its kernels forced to that ISA (engine "winnow-avx2"),
# to compare ISAs in the same run (ISA_AB=avx512 on an AMX machine: AVX-512 without AMX,
# engine "winnow-avx512", against the default whose bf16/int8 run on AMX tiles; each
# worker's first line names its kernels); NO_TORCH=1 leaves PyTorch out (slow on a busy machine)
ab = os.environ.get("ISA_AB")
if ab:
    for prec in [p for p in ("fp32", "bf16", "int8") if p in precs]:
        workers.append(Worker("winnow-" + ab, prec, ["build/bench/bench_encoder", "serve", d, threads, prec],
                              env=dict(os.environ, WN_FORCE_ISA=ab)))
# BF16_AB=fma (or dpbf16, fp16): winnow's bf16 once more with that bf16 kernel
# (WN_BF16_KERNEL; engine "winnow-bf16-fma"), against the one chosen for this CPU
bab = os.environ.get("BF16_AB")
if bab and "bf16" in precs:
    workers.append(Worker("winnow-bf16-" + bab, "bf16", ["build/bench/bench_encoder", "serve", d, threads, "bf16"],
                          env=dict(os.environ, WN_BF16_KERNEL=bab)))
# BASE_BIN=path: another build's bench_encoder as engine "winnow-base" (a before/after A/B)
base = os.environ.get("BASE_BIN")
if base:
    for prec in [p for p in ("fp32", "bf16", "int8") if p in precs]:
        workers.append(Worker("winnow-base", prec, [base, "serve", d, threads, prec]))
ort = Worker("ort", "fp32", ["node", "bench/ort/run.js", d, threads, str(reps), "serve"], "fp32 ")
if "fp32" in precs:
    workers.append(ort)
if ("ort", "int8") not in refused and "int8" in precs:
    # the same process, its int8 sessions: a second handle that prefixes "int8"
    o8 = Worker.__new__(Worker)
    o8.engine, o8.prec, o8.prefix, o8.p = "ort", "int8", "int8 ", ort.p
    workers.append(o8)
if os.environ.get("NO_TORCH") != "1":
    workers.append(Worker("pytorch", "fp32", ["/usr/bin/python3", "bench/ref_torch.py", "serve", d, threads]))

jobs = [("bi", L, reps if L < 128 else (reps + 1) // 2) for L in (16, 32, 64, 128, 256)]
if os.environ.get("JOBS") != "bi":
    jobs += [("lat", 16, 10 * reps), ("ce", 128, (reps + 1) // 2)]
t0 = time.time()
for rnd in range(rounds):
    order = workers[rnd % len(workers):] + workers[:rnd % len(workers)]
    todo = list(jobs) + ([("cisi", 0, 1)] if rnd < cisi_rounds else [])
    for what, length, n in todo:
        for w in order:
            if what == "cisi" and (w.engine == "pytorch" or (w.engine == "ort" and w.prec != "fp32")):
                continue
            time.sleep(0.05)  # let the previous engine's spinning threads go idle
            r = w.ask(what, length, n)
            r["round"] = rnd + 1
            r["engine"] = w.engine
            print(json.dumps(r), flush=True)
    print("encoders_drive: round %d of %d done (%.0f s)" % (rnd + 1, rounds, time.time() - t0), file=sys.stderr)
for w in workers:
    if w.prec != "int8" or w.engine != "ort":
        w.close()
if ort not in workers:
    ort.close()
