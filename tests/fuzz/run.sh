#!/usr/bin/env bash
# Build the fuzz targets with clang (libFuzzer, AddressSanitizer, UBSan)
# and run each for SECONDS (default 60) from its seeds. Any crash, leak,
# sanitizer report, input slower than 10 s, single allocation above 256
# MiB or RSS above 2 GiB fails the run; the input that did it is printed
# in base64, to be kept in tests/fuzz/regressions/TARGET/.
#
#   bash tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# FUZZ_MAX_LEN sets the largest input tried (default 65536 bytes).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(model file rules zip)

CC=clang cmake -S . -B build-fuzz -DORX_FUZZ=ON -DORX_TESTS=OFF >/dev/null
cmake --build build-fuzz -j2 --target "${targets[@]/#/fuzz_}" >/dev/null

seeds_of() {
  case $1 in
    model) echo tests/fuzz/seeds/model tests/malformed samples/mlp_tanh*.onnx \
                samples/depthwise_separable.onnx samples/external/cnn_bn_relu.onnx ;;
    file) echo tests/fuzz/seeds/file tests/fuzz/seeds/model ;;
    rules) echo tests/fuzz/seeds/rules rules tests/rules ;;
    zip) echo tests/fuzz/seeds/zip ;;
  esac
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for t in "${targets[@]}"; do
  corpus=$work/$t/corpus
  mkdir -p "$corpus" "$work/$t/artifacts"
  for s in $(seeds_of "$t") "tests/fuzz/regressions/$t"; do
    if [ -d "$s" ]; then
      find "$s" -maxdepth 1 -type f ! -name README -exec cp {} "$corpus/" \;
    else
      cp "$s" "$corpus/"
    fi
  done
  if "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 \
      -malloc_limit_mb=256 -rss_limit_mb=2048 -max_len="${FUZZ_MAX_LEN:-65536}" \
      -print_final_stats=1 -artifact_prefix="$work/$t/artifacts/" \
      "$corpus" >"$work/$t/log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t/log" | grep -o '[0-9]*$')
    echo "fuzz_$t: ${runs:-?} inputs in ${secs} s, no finding"
  else
    failed=$((failed + 1))
    echo "fuzz_$t: FINDING"
    grep -E 'ERROR|SUMMARY|==[0-9]+==|#[0-9]+ 0x' "$work/$t/log" | head -40 || true
    for a in "$work/$t/artifacts"/*; do
      [ -f "$a" ] || continue
      echo "input $(basename "$a") ($(stat -c %s "$a") bytes), base64:"
      base64 -w 0 "$a"; echo
    done
  fi
done
echo "$(( ${#targets[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
