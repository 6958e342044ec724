#!/usr/bin/env bash
# info, plan and check on bench/make_hostile.py's files (1.3 to 1.5 MB
# each): wall time and peak RSS, one run each.
#
#   bash bench/hostile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 bench/make_hostile.py "$dir"
for f in "$dir"/*.onnx; do
  for cmd in info plan check; do
    /usr/bin/time -f "%e %M" -o "$dir/t" build/onnx-reinit "$cmd" "$f" >/dev/null 2>&1 || true
    read -r secs kb < <(tail -n 1 "$dir/t")
    printf '%-18s %-6s %6.2f s  peak RSS %6.1f MB\n' "$(basename "$f")" "$cmd" "$secs" \
      "$(echo "$kb / 1024" | bc -l)"
  done
done
