#!/usr/bin/env bash
# The program builds where Criterion is not installed: pkg-config sees
# every package but criterion, cmake says in one line that the tests are
# not built, and the program builds and runs.
#   tests/install/without_criterion.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir "$tmp/pc"
IFS=: read -ra dirs <<<"$(pkg-config --variable pc_path pkg-config)"
for d in "${dirs[@]}"; do
	for pc in "$d"/*.pc; do
		[ -e "$pc" ] || continue
		case "$(basename "$pc")" in criterion.pc) continue ;; esac
		ln -sf "$pc" "$tmp/pc/"
	done
done
PKG_CONFIG_LIBDIR=$tmp/pc PKG_CONFIG_PATH= cmake -S "$src" -B "$tmp/build" \
	>"$tmp/configure.log" 2>&1 || fail "configure: $(tail -n 5 "$tmp/configure.log")"
grep -q "Criterion not found: the program is built, not the tests" "$tmp/configure.log" ||
	fail "no note about the tests: $(cat "$tmp/configure.log")"
[ ! -e "$tmp/build/tests" ] || fail "the tests were configured"
cmake --build "$tmp/build" --target onnx-reinit -j2 >"$tmp/build.log" 2>&1 ||
	fail "build: $(tail -n 20 "$tmp/build.log")"
"$tmp/build/onnx-reinit" apply "$src/samples/cnn_bn_relu.onnx" -o "$tmp/out.onnx" >/dev/null ||
	fail "the program does not run"
echo "ok: configured without Criterion (tests off, one note), built and ran"
