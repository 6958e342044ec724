#!/usr/bin/env bash
# plan --json (and check --json, info --json) on the residual MLP of LAYERS
# layers (default 64,000: 128,000 tensors, 28-30 MB; bench/make_deep.py),
# for each build given, runs alternating between the builds: the median
# wall time and peak RSS of RUNS runs (default 5), the RSS as a multiple of
# the file's size, and whether the builds' outputs are the same bytes.
#
#   bash bench/json_report.sh OLD_BUILD NEW_BUILD [LAYERS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 layers=${3:-64000} runs=${4:-5}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 bench/make_deep.py "$dir/deep.onnx" "$layers"
size=$(stat -c %s "$dir/deep.onnx")
echo "model: $layers layers, $size bytes; median of $runs runs"
for cmd in "plan --json" "check --json" "info --json"; do
  for r in $(seq "$runs"); do
    for b in old new; do
      tool=$old
      [ "$b" = new ] && tool=$new
      # shellcheck disable=SC2086
      /usr/bin/time -f "%e %M" -o "$dir/t" "$tool" $cmd "$dir/deep.onnx" \
        >"$dir/$b.out" 2>/dev/null || true
      tail -n 1 "$dir/t" >>"$dir/$b.times"
    done
  done
  same=differ
  cmp -s "$dir/old.out" "$dir/new.out" && same="same bytes"
  for b in old new; do
    read -r secs kb < <(sort -n "$dir/$b.times" | awk '{t[NR]=$1} END {print t[int((NR+1)/2)]}' | paste - <(sort -n -k2 "$dir/$b.times" | awk '{m[NR]=$2} END {print m[int((NR+1)/2)]}'))
    printf '%-13s %-4s %6.2f s  peak RSS %7.1f MB (%.1fx the file)\n' "$cmd" "$b" \
      "$secs" "$(echo "$kb / 1024" | bc -l)" "$(echo "$kb * 1024 / $size" | bc -l)"
  done
  echo "$cmd: outputs $same"
  rm -f "$dir"/*.times
done
