#!/usr/bin/env bash
# batch throughput with -j1 and -j2 on a zoo of 12 torchvision exports
# (made once by bench/make_zoo.py, cached in $ORX_BENCH_CACHE or
# ~/.cache/onnx-reinit-bench), side by side with cp of the same files, in
# one run: median of REPS runs each.
#   bench/batch.sh [REPS]      (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
cache=${ORX_BENCH_CACHE:-$HOME/.cache/onnx-reinit-bench}
zoo=$cache/zoo
/usr/bin/python3 bench/make_zoo.py "$zoo" >&2
cmake -S . -B build >/dev/null && cmake --build build -j2 >/dev/null
bytes=$(du -cb "$zoo"/*.onnx | tail -1 | cut -f1)
models=$(ls "$zoo"/*.onnx | wc -l)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit() { # command... -> seconds of each of $reps runs, one a line
  for _ in $(seq "$reps"); do
    rm -rf "$out"/*
    local t0 t1
    t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
  done
}
j1=$(timeit build/onnx-reinit batch "$zoo" -o "$out/o" -j 1 | median)
j2=$(timeit build/onnx-reinit batch "$zoo" -o "$out/o" -j 2 | median)
cp=$(timeit cp -r "$zoo" "$out/o" | median)
mb=$(echo "$bytes / 1000000" | bc -l)
printf '%d models, %.1f MB; median of %d runs\n\n' "$models" "$mb" "$reps"
printf '| run | seconds | MB/s |\n|---|---|---|\n'
printf '| onnx-reinit batch -j1 | %.3f | %.0f |\n' "$j1" "$(echo "$mb / $j1" | bc -l)"
printf '| onnx-reinit batch -j2 | %.3f | %.0f |\n' "$j2" "$(echo "$mb / $j2" | bc -l)"
printf '| cp -r (the floor) | %.3f | %.0f |\n' "$cp" "$(echo "$mb / $cp" | bc -l)"
printf '\nscaling -j2 / -j1: %.2fx (target >= 1.8x)\n' "$(echo "$j1 / $j2" | bc -l)"
