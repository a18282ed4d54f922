"""st_tensors.py - reads and writes safetensors files with numpy only (the format: u64
header length, a JSON header of {name: {dtype, shape, data_offsets}}, the raw tensors).
For the maintainer scripts that build winnow's bundled models."""
import json
import os
import struct

import numpy as np

DT = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        base = 8 + n
        buf = f.read()
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(buf[a:b], dtype=DT[v["dtype"]]).reshape(v["shape"]).copy()
    return out


def save(path, tensors, dtype=None):
    """Writes tensors (name -> array) atomically; dtype "F16" casts float arrays."""
    head, blobs, off = {}, [], 0
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k])
        if dtype == "F16" and a.dtype.kind == "f":
            a = a.astype(np.float16)
        name = {np.dtype(t): n for n, t in DT.items()}[a.dtype]
        raw = a.tobytes()
        head[k] = {"dtype": name, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(head, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
