#!/usr/bin/env bash
# The Python package as users install it: the library installed by cmake
# into a venv (made with --system-site-packages, for onnx and pytest), the
# package installed offline by pip, and its tests run against the
# command line with no ONNX_REINIT_LIBRARY: it must find the library
# where cmake put it. Then the same tests from the source tree, the
# library named by ONNX_REINIT_LIBRARY.
#   tests/python/run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
if ! $py -c "import pytest, setuptools, venv" 2>/dev/null; then
	echo "skip: python3-pytest, python3-setuptools or python3-venv missing" >&2
	exit 77
fi
export ONNX_REINIT_CLI=$build/onnx-reinit

# 1. installed: cmake's install into the venv's prefix, pip's from a copy
# (so that the source tree gets no build/ or egg-info)
$py -m venv --system-site-packages "$tmp/venv"
cmake --install "$build" --prefix "$tmp/venv" >/dev/null
cp -r "$src/python" "$tmp/python"
"$tmp/venv/bin/pip" install -q --no-index --no-build-isolation "$tmp/python"
rm -rf "$tmp/python"
(cd "$tmp" && env -u ONNX_REINIT_LIBRARY "$tmp/venv/bin/python" - "$tmp/venv" <<'PY'
import os, sys
import onnx_reinit
from onnx_reinit import _lib
venv = sys.argv[1]
assert onnx_reinit.__file__.startswith(venv), onnx_reinit.__file__
assert os.path.realpath(_lib.lib._name).startswith(venv) or \
    _lib.lib._name == _lib.SONAME, _lib.lib._name
print("ok: onnx_reinit", onnx_reinit.__version__, "from", os.path.dirname(onnx_reinit.__file__))
PY
)
(cd "$tmp" && env -u ONNX_REINIT_LIBRARY "$tmp/venv/bin/python" -m pytest -q \
	-p no:cacheprovider "$src/python/tests")

# 2. from the source tree, the build's library named in the environment
(cd "$tmp" && ONNX_REINIT_LIBRARY=$build/libonnx-reinit.so.1 \
	PYTHONPATH=$src/python $py -m pytest -q -p no:cacheprovider "$src/python/tests")
