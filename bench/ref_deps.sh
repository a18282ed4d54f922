# ref_deps.sh - sourced by bench/encoders.sh and bench/families.sh (from the project
# root, PY set): the reference engines they time winnow against, installed if
# missing: Debian's python3-torch and python3-onnx, and the npm package
# onnxruntime-node 1.30.0 in bench/ort (--ignore-scripts: the install script fetches
# GPU add-ons; the CPU library is in the package).
$PY -c 'import torch' 2>/dev/null || apt-get install -y python3-torch
$PY -c 'import onnx' 2>/dev/null || apt-get install -y python3-onnx
if [ ! -f bench/ort/node_modules/onnxruntime-node/package.json ]; then
    (cd bench/ort && npm i --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0)
fi
