#!/usr/bin/env bash
# Remake samples/plot_deep_mlp.svg and .png and samples/plot_signal.svg
# and .png, the pictures in the README: the broken sample before and
# after `apply`, rendered by headless Chromium (Debian's chromium package).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build >/dev/null && cmake --build build -j2 >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build/onnx-reinit apply samples/deep_mlp_bad_init.onnx -o "$tmp/fixed.onnx" >/dev/null
build/onnx-reinit plot samples/deep_mlp_bad_init.onnx --after "$tmp/fixed.onnx" \
  --layers 'layers.[3-5].weight' -o samples/plot_deep_mlp.svg
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$tmp/chrome" --hide-scrollbars --window-size=960,270 \
  --screenshot=samples/plot_deep_mlp.png "file://$PWD/samples/plot_deep_mlp.svg" 2>/dev/null
build/onnx-reinit plot samples/deep_mlp_bad_init.onnx --after "$tmp/fixed.onnx" \
  --signal -o samples/plot_signal.svg
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$tmp/chrome" --hide-scrollbars --window-size=520,340 \
  --screenshot=samples/plot_signal.png "file://$PWD/samples/plot_signal.svg" 2>/dev/null
echo "wrote samples/plot_deep_mlp.* and samples/plot_signal.*"
