#!/usr/bin/python3
"""Check a model written by test_tensor.c: every float initializer holds
pattern(k) rounded to its dtype by this script's own rules, its storage is
the one named, and the model passes onnx.checker. Prints 'ok N' (tensors
checked) or the first mismatch, and exits 1 on a mismatch.

    check_written.py MODEL raw|typed
"""
import math
import sys
from fractions import Fraction

import numpy as np
import onnx
from onnx import numpy_helper, TensorProto


def pattern(k):
    """The values test_tensor.c writes: the same double operations."""
    return math.ldexp((((k * 7919) % 2001) - 1000) * 0.731, (k % 40) - 20)


def bf16(x):
    """Nearest bfloat16 to the double x, ties to even, by exact arithmetic."""
    if x == 0 or not math.isfinite(x):
        return x
    e = max(math.frexp(abs(x))[1] - 1, -126)  # exponent of x, floored
    ulp = Fraction(2) ** (e - 7)
    q = round(Fraction(x) / ulp)  # round() on a Fraction: ties to even
    v = q * ulp
    if abs(v) >= Fraction(2) ** 128:
        return math.copysign(math.inf, x)
    return float(v)


def expected(n, dtype):
    x = np.array([pattern(k) for k in range(n)], dtype=np.float64)
    if dtype == TensorProto.FLOAT:
        return x.astype(np.float32).astype(np.float64)
    if dtype == TensorProto.FLOAT16:
        with np.errstate(over="ignore"):  # overflow to inf is expected
            return x.astype(np.float16).astype(np.float64)
    if dtype == TensorProto.BFLOAT16:
        return np.array([bf16(v) for v in x])
    return x


def main():
    path, want_storage = sys.argv[1], sys.argv[2]
    model = onnx.load(path)
    onnx.checker.check_model(model)
    checked = 0
    for t in model.graph.initializer:
        if t.data_type not in (TensorProto.FLOAT, TensorProto.FLOAT16,
                               TensorProto.BFLOAT16, TensorProto.DOUBLE):
            continue
        storage = "raw" if t.HasField("raw_data") else "typed"
        if storage != want_storage:
            print(f"{t.name}: storage {storage}, expected {want_storage}")
            return 1
        got = numpy_helper.to_array(t).astype(np.float64).ravel()
        want = expected(got.size, t.data_type)
        if not np.array_equal(got, want):
            i = int(np.nonzero(got != want)[0][0])
            print(f"{t.name}[{i}]: got {got[i]!r}, expected {want[i]!r}")
            return 1
        checked += 1
    print(f"ok {checked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
