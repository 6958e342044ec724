#!/usr/bin/env bash
# plan, apply and check on a residual MLP of LAYERS layers (default
# 64,000: 256,000 nodes, 128,000 initializers, 28 MB; bench/make_deep.py),
# beside cp of the same file, then apply --only-flagged on the same with a
# finding in every layer: wall time and peak RSS, one run each.
#
#   [ORX_TOOL=path/to/onnx-reinit] bash bench/deep.sh [LAYERS]
set -euo pipefail
cd "$(dirname "$0")/.."
layers=${1:-64000}
tool=${ORX_TOOL:-build/onnx-reinit} # or another build, to compare
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 bench/make_deep.py "$dir/deep.onnx" "$layers"
size=$(stat -c %s "$dir/deep.onnx")
echo "model: $layers layers, $size bytes"
run() {
  /usr/bin/time -f "%e %M" -o "$dir/t" "$@" >/dev/null 2>&1 || true
  read -r secs kb < <(tail -n 1 "$dir/t")
  printf '%-8s %6.2f s  peak RSS %7.1f MB (%.1fx the file)\n' "$label" "$secs" \
    "$(echo "$kb / 1024" | bc -l)" "$(echo "$kb * 1024 / $size" | bc -l)"
}
label=cp run cp "$dir/deep.onnx" "$dir/copy.onnx"
label=plan run "$tool" plan "$dir/deep.onnx"
label=apply run "$tool" apply "$dir/deep.onnx" -o "$dir/out.onnx"
label=check run "$tool" check "$dir/deep.onnx"
# every layer four times too wide: a finding per layer
/usr/bin/python3 bench/make_deep.py "$dir/bad.onnx" "$layers" 4
label=flagged run "$tool" apply "$dir/bad.onnx" -o "$dir/out.onnx" --only-flagged
