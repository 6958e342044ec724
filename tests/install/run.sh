#!/usr/bin/env bash
# The installed library as its users meet it: `cmake --install` to a
# temporary prefix; the exported symbols; a program built against it with
# pkg-config and with find_package, whose output must equal the command
# line's; the man page's lint; the .deb, unpacked and run.
#   tests/install/run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sample=$src/samples/cnn_bn_relu.onnx
fail() { echo "FAIL: $*" >&2; exit 1; }

"$build/onnx-reinit" apply "$sample" -o "$tmp/cli.onnx" --seed 7 >/dev/null

# 1. install, and what the shared library exports
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
lib=$(ls "$tmp"/prefix/lib*/libonnx-reinit.so.1 2>/dev/null || true)
[ -n "$lib" ] || fail "no libonnx-reinit.so.1 installed"
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
[ "$soname" = libonnx-reinit.so.1 ] || fail "soname is '$soname'"
others=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^orx_' || true)
[ -z "$others" ] || fail "exported beyond orx_*: $others"
# exactly the header's functions (GCC's ifunc resolvers aside)
nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "i" {print $3}' |
	grep -v '\.resolver$' | sort -u >"$tmp/exported"
# (the header's functions: its declarations, comments stripped)
cc -fpreprocessed -dD -E -P "$src/include/onnx_reinit.h" |
	grep -oE '\borx_[a-z0-9_]+\(' | tr -d '(' | sort -u >"$tmp/declared"
diff "$tmp/declared" "$tmp/exported" >"$tmp/abi.diff" ||
	fail "exports differ from the header's functions: $(tr '\n' ' ' <"$tmp/abi.diff")"
for f in include/onnx_reinit.h share/man/man1/onnx-reinit.1 \
	share/onnx-reinit/default.rules bin/onnx-reinit; do
	[ -f "$tmp/prefix/$f" ] || fail "not installed: $f"
done
libdir=$(dirname "$lib")
echo "ok: installed; $(nm -D --defined-only "$lib" | wc -l) symbols, all orx_*"

# 2. built with pkg-config
export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046
cc -o "$tmp/embed_pc" "$src/tests/install/embed.c" \
	$(pkg-config --cflags --libs onnx-reinit) -Wl,-rpath,"$libdir"
"$tmp/embed_pc" "$sample" "$tmp/pc.onnx" 7 >/dev/null
cmp "$tmp/pc.onnx" "$tmp/cli.onnx" || fail "pkg-config build: not the CLI's bytes"
echo "ok: pkg-config build writes the CLI's bytes"

# 3. built with find_package
cmake -S "$src/tests/install/consumer" -B "$tmp/consumer" \
	-DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
"$tmp/consumer/embed" "$sample" "$tmp/cm.onnx" 7 >/dev/null
cmp "$tmp/cm.onnx" "$tmp/cli.onnx" || fail "find_package build: not the CLI's bytes"
echo "ok: find_package build writes the CLI's bytes"

# 4. the man page
if command -v mandoc >/dev/null; then
	mandoc -T lint -W warning "$src/man/onnx-reinit.1" || fail "mandoc lint"
	echo "ok: man page lints clean"
else
	echo "skip: mandoc not installed" >&2
fi

# 5. the Debian package
if command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps >/dev/null; then
	(cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" \
		-B "$tmp/deb" >/dev/null)
	deb=$(ls "$tmp"/deb/*.deb)
	depends=$(dpkg-deb -f "$deb" Depends)
	for need in libprotobuf-c libjansson liblapack libssl; do
		case "$depends" in *"$need"*) ;; *) fail "Depends lacks $need: $depends" ;; esac
	done
	dpkg-deb -x "$deb" "$tmp/root"
	for f in usr/bin/onnx-reinit usr/include/onnx_reinit.h \
		usr/share/man/man1/onnx-reinit.1 usr/share/onnx-reinit/default.rules; do
		[ -f "$tmp/root/$f" ] || fail "not in the .deb: $f"
	done
	debpc=$(ls "$tmp"/root/usr/lib*/pkgconfig/onnx-reinit.pc)
	ls "$tmp"/root/usr/lib*/cmake/onnx-reinit/onnx-reinitConfig.cmake >/dev/null
	"$tmp/root/usr/bin/onnx-reinit" apply "$sample" -o "$tmp/deb.onnx" --seed 7 >/dev/null
	cmp "$tmp/deb.onnx" "$tmp/cli.onnx" || fail ".deb binary: not the build's bytes"
	deblib=$(dirname "$(dirname "$debpc")")
	# shellcheck disable=SC2046
	cc -o "$tmp/embed_deb" "$src/tests/install/embed.c" \
		$(PKG_CONFIG_PATH=$(dirname "$debpc") pkg-config --cflags --libs onnx-reinit)
	LD_LIBRARY_PATH=$deblib "$tmp/embed_deb" "$sample" "$tmp/debembed.onnx" 7 >/dev/null
	cmp "$tmp/debembed.onnx" "$tmp/cli.onnx" || fail ".deb library: not the CLI's bytes"
	echo "ok: $(basename "$deb") (Depends: $depends) unpacks; its binary and library run"
else
	echo "skip: dpkg-deb or dpkg-shlibdeps missing" >&2
fi
