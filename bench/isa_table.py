#!/usr/bin/env python3
# isa_table.py - the encoder timings of an ISA_AB run of bench/encoders_drive.py (its JSON lines
# on stdout, saved to a file) as a table: best round per engine, then per-round ratios; the
# columns and ratios of the engines and precisions present (ISA_AB, BASE_BIN, PRECS).
#   python3 bench/isa_table.py results.jsonl [more.jsonl ...]   (several runs: rounds pooled)
import json, sys, statistics as st
R = {}
for fi, path in enumerate(sys.argv[1:]):  # several runs: their rounds pooled
    for l in open(path):
        r = json.loads(l) if l.startswith("{") else {}
        if r.get("what") not in ("bi", "lat", "ce"): continue
        key = (r["what"], r["len"])
        R.setdefault(key, {}).setdefault((r["engine"], r["prec"]), {})[(fi, r["round"])] = r["value"]
def best(d, lat):  # best round
    return min(d.values()) if lat else max(d.values())
# the ISA_AB engine: winnow-<WN_FORCE_ISA> (winnow-avx2; winnow-avx512 on an AMX machine:
# AVX-512 without AMX against the default, whose bf16 and int8 run on AMX tiles)
ab = next((e for d in R.values() for e, _ in d
           if e.startswith("winnow-") and e != "winnow-base" and not e.startswith("winnow-bf16-")), "winnow-avx2")
# the BF16_AB engine: winnow-bf16-<WN_BF16_KERNEL> (fma, dpbf16, fp16), bf16 only
bab = next((e for d in R.values() for e, _ in d if e.startswith("winnow-bf16-")), "winnow-bf16-fma")
isa = ab[len("winnow-"):]
cols = [("winnow","fp32"),("winnow","bf16"),("winnow","int8"),(ab,"fp32"),(ab,"bf16"),(ab,"int8"),("ort","fp32"),("ort","int8")]
ratios = [("fp32/ORT", ("winnow","fp32"), ("ort","fp32")), ("bf16/ORT", ("winnow","bf16"), ("ort","fp32")),
          ("int8/ORTi8", ("winnow","int8"), ("ort","int8")), ("%s fp32/ORT" % isa, (ab,"fp32"), ("ort","fp32")),
          ("%s i8/ORTi8" % isa, (ab,"int8"), ("ort","int8")),
          ("512/avx2 fp32" if isa == "avx2" else "wn/%s fp32" % isa, ("winnow","fp32"), (ab,"fp32"))]
if isa != "avx2":  # e.g. AMX against AVX-512: the precisions the tiles run
    ratios += [("wn/%s bf16" % isa, ("winnow","bf16"), (ab,"bf16")), ("wn/%s int8" % isa, ("winnow","int8"), (ab,"int8"))]
cols += [(bab, "bf16")]
ratios += [("%s/ORT" % bab[len("winnow-"):], (bab, "bf16"), ("ort", "fp32")),
           ("bf16/%s" % bab[len("winnow-"):], ("winnow", "bf16"), (bab, "bf16"))]
cols += [("winnow-base","fp32"),("winnow-base","bf16"),("winnow-base","int8")]
ratios += [("base i8/ORTi8", ("winnow-base","int8"), ("ort","int8")), ("int8/base", ("winnow","int8"), ("winnow-base","int8")),
           ("fp32/base", ("winnow","fp32"), ("winnow-base","fp32"))]
present = {c for d in R.values() for c in d}
cols = [c for c in cols if c in present]  # engines and precisions the run had
ratios = [x for x in ratios if x[1] in present and x[2] in present]
names = {"bi": "bi seq/s B=32 T=%d", "lat": "latency ms B=1 T=%d", "ce": "cross pairs/s T=%d"}
def label(e):
    return e.replace(bab, bab[len("winnow-"):]).replace(ab, isa).replace("winnow-base", "base").replace("winnow", "wn512")
print("%-22s" % "" + "".join("%12s" % ("%s %s" % (label(e), p)) for e, p in cols))
for key in sorted(R, key=lambda k: (["bi","lat","ce"].index(k[0]), k[1])):
    lat = key[0] == "lat"
    d = R[key]
    print("%-22s" % (names[key[0]] % key[1]) + "".join("%12.1f" % best(d[c], lat) if c in d else "%12s" % "-" for c in cols))
print()
print("per-round ratios (median [min max] over rounds; >1 = winnow faster)")
print("%-22s" % "" + "".join("%22s" % n for n, _, _ in ratios))
for key in sorted(R, key=lambda k: (["bi","lat","ce"].index(k[0]), k[1])):
    lat = key[0] == "lat"
    d = R[key]
    out = []
    for n, a, b in ratios:
        if a not in d or b not in d: out.append("%22s" % "-"); continue
        rs = [(d[b][r] / d[a][r]) if lat else (d[a][r] / d[b][r]) for r in d[a] if r in d[b]]
        out.append("%22s" % ("%.2f [%.2f %.2f]" % (st.median(rs), min(rs), max(rs))))
    print("%-22s" % (names[key[0]] % key[1]) + "".join(out))
