#!/usr/bin/env python3
"""package_rerank.py CKPT OUT A - turns a `winnow train ce` checkpoint into the bundled
cross-encoder directory: config.json with "winnow": {"rerank_interpolate": A} (the
re-ranker's own interpolation with the first stage, which wn_pipeline uses unless told
otherwise), model.safetensors cast to F16, the tokenizer files. Files are written to
OUT.tmp and renamed into place."""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_tensors  # noqa: E402

ckpt, out, a = sys.argv[1], sys.argv[2], float(sys.argv[3])
tmp = out.rstrip("/") + ".tmp"
shutil.rmtree(tmp, ignore_errors=True)
os.makedirs(tmp)
cfg = json.load(open(os.path.join(ckpt, "config.json")))
cfg["winnow"] = {"rerank_interpolate": a}
cfg["torch_dtype"] = "float16"
json.dump(cfg, open(os.path.join(tmp, "config.json"), "w"), indent=2)
st_tensors.save(os.path.join(tmp, "model.safetensors"), st_tensors.load(os.path.join(ckpt, "model.safetensors")), "F16")
for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
    if os.path.exists(os.path.join(ckpt, f)):
        shutil.copy(os.path.join(ckpt, f), tmp)
shutil.rmtree(out, ignore_errors=True)
os.replace(tmp, out)
print("package_rerank: %s (%.1f MB)" % (out, os.path.getsize(os.path.join(out, "model.safetensors")) / 1e6))
