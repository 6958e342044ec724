#!/usr/bin/env bash
# End to end: apply on ResNet-50 (102 MB) and ViT-B/16 (346 MB) exports and
# on a zoo of 12 smaller ones, beside cp of the same file (the floor) and
# the peer a user would write today (bench/peer.py: the onnx package and
# numpy), in one run: REPS repetitions each, median and range, peak RSS;
# plan and check times. Writes bench/RESULTS.md.
#   bench/e2e.sh [REPS]      (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
cache=${ORX_BENCH_CACHE:-$HOME/.cache/onnx-reinit-bench}
/usr/bin/python3 bench/make_models.py "$cache/models" >&2
/usr/bin/python3 bench/make_zoo.py "$cache/zoo" >&2
cmake -S . -B build >/dev/null && cmake --build build -j2 >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tool=build/onnx-reinit

# run LABEL command...: REPS runs; prints "median min max peak_rss_mib"
run() {
  local times=() rss=0
  for _ in $(seq "$reps"); do
    rm -rf "$out"/o.*
    local t0 t1 m
    t0=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$out/t" "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    read -r m < "$out/t"
    times+=("$(echo "scale=3; ($t1 - $t0) / 1000000000" | bc)")
    [ "$m" -gt "$rss" ] && rss=$m
  done
  printf '%s\n' "${times[@]}" | sort -g |
    awk -v rss="$rss" '{a[NR]=$1} END {printf "%s %s %s %d\n", a[int((NR+1)/2)], a[1], a[NR], rss/1024}'
}

{
  echo "# End-to-end benchmark"
  echo
  echo "Made by \`bench/e2e.sh $reps\` on $(date -u +%Y-%m-%d): $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'),"
  echo "$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r), $(df -T "$out" | awk 'NR==2 {print $2}') for the outputs."
  echo "Times are the median of $reps runs (min-max), in seconds; peak RSS in MiB."
  echo
  echo "| model | MB | onnx-reinit apply | cp | onnx + numpy peer | apply / cp | peer / apply | apply RSS / file | peer RSS / file |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for m in "$cache/models/resnet50.onnx" "$cache/models/vit_b_16.onnx"; do
    size=$(stat -c %s "$m")
    read -r a amin amax arss <<<"$(run $tool apply "$m" -o "$out/o.onnx")"
    read -r c cmin cmax _ <<<"$(run cp "$m" "$out/o.onnx")"
    read -r p pmin pmax prss <<<"$(run /usr/bin/python3 bench/peer.py "$m" "$out/o.onnx")"
    mb=$(echo "$size / 1000000" | bc -l)
    printf '| %s | %.0f | %s (%s-%s) | %s (%s-%s) | %s (%s-%s) | %.1fx | %.1fx | %.2fx | %.2fx |\n' \
      "$(basename "$m" .onnx)" "$mb" "$a" "$amin" "$amax" "$c" "$cmin" "$cmax" "$p" "$pmin" "$pmax" \
      "$(echo "$a / $c" | bc -l)" "$(echo "$p / $a" | bc -l)" \
      "$(echo "$arss * 1048576 / $size" | bc -l)" "$(echo "$prss * 1048576 / $size" | bc -l)"
  done
  echo
  zoo_mb=$(du -cb "$cache"/zoo/*.onnx | tail -1 | awk '{printf "%.0f", $1 / 1e6}')
  read -r z1 z1min z1max _ <<<"$(run $tool batch "$cache/zoo" -o "$out/o.zoo" -j 1)"
  rm -rf "$out/o.zoo"
  read -r z2 z2min z2max _ <<<"$(run $tool batch "$cache/zoo" -o "$out/o.zoo" -j 2)"
  echo "Zoo of 12 torchvision exports ($zoo_mb MB): batch -j1 $z1 s ($z1min-$z1max), -j2 $z2 s ($z2min-$z2max)."
  echo
  read -r pl _ _ _ <<<"$(run $tool plan "$cache/models/resnet50.onnx")"
  read -r ck _ _ _ <<<"$(run sh -c "$tool check $cache/models/resnet50.onnx; true")"
  echo "ResNet-50: plan $pl s, check $ck s (median of $reps)."
} | tee bench/RESULTS.md
