#!/usr/bin/env bash
# apply on a synthetic model with GIB GiB of float32 weights in external
# data (bench/make_big.py, cached), beside cp of the same data, in one run:
# wall time, MB/s and peak resident memory (/usr/bin/time -v).
#   bench/external.sh [GIB]     (default 4)
set -euo pipefail
cd "$(dirname "$0")/.."
gib=${1:-4}
cache=${ORX_BENCH_CACHE:-$HOME/.cache/onnx-reinit-bench}/big$gib
[ -f "$cache/big.onnx" ] || /usr/bin/python3 bench/make_big.py "$cache" "$gib" >&2
cmake -S . -B build >/dev/null && cmake --build build -j2 >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bytes=$(stat -c %s "$cache/big.data")
measure() { # label command...
  local label=$1; shift
  /usr/bin/time -v "$@" >/dev/null 2>"$out/time.txt"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out/time.txt" |
         awk -F: '{ if (NF == 3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time.txt")
  printf '| %s | %.2f | %.0f | %.0f |\n' "$label" "$wall" \
    "$(echo "$bytes / 1000000 / $wall" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}
sync
printf '%.2f GiB of weights, largest tensor 256 MiB\n\n' "$(echo "$bytes / 2^30" | bc -l)"
printf '| run | seconds | MB/s | peak RSS (MiB) |\n|---|---|---|---|\n'
measure "onnx-reinit apply" build/onnx-reinit apply "$cache/big.onnx" -o "$out/big.onnx"
rm -f "$out"/big.*
measure "cp of the data" cp "$cache/big.data" "$out/big.data"
