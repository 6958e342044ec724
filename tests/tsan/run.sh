#!/usr/bin/env bash
# batch -j2 under ThreadSanitizer, five times: over models with If and
# Loop bodies (make_models.py) and the samples, applying into a folder and
# into a zip archive, and checking. Any report fails the run.
#   tests/tsan/run.sh TSAN_BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tool=$build/onnx-reinit
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

/usr/bin/python3 "$src/tests/tsan/make_models.py" "$src/samples" "$tmp/bodies" >/dev/null
cp "$src"/samples/*.onnx "$tmp/bodies/"
n=$(ls "$tmp/bodies" | wc -l)
[ "$n" -ge 40 ] || fail "only $n models"
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 report_signal_unsafe=0"
run() { # what, then the batch arguments
	local what=$1 rc=0
	shift
	"$tool" batch "$@" -j 2 >"$tmp/out.log" 2>"$tmp/err.log" || rc=$?
	if grep -q "ThreadSanitizer" "$tmp/err.log"; then
		cat "$tmp/err.log" >&2
		fail "$what: ThreadSanitizer reported"
	fi
	[ "$rc" -eq 0 ] || fail "$what: exit $rc: $(tail -n 3 "$tmp/err.log")"
}
for round in 1 2 3 4 5; do
	rm -rf "$tmp/out" "$tmp/out.zip"
	run "round $round: apply" "$tmp/bodies" -o "$tmp/out" --seed "$round"
	[ "$(find "$tmp/out" -name '*.onnx' | wc -l)" -eq "$n" ] ||
		fail "round $round: not every model written"
	run "round $round: apply into a zip" "$tmp/bodies" -o "$tmp/out.zip"
	run "round $round: check" "$tmp/out" --check
done
echo "ok: batch -j2 over $n models (bodies and samples), 5 rounds, no ThreadSanitizer report"
