#!/usr/bin/python3
"""`onnx-reinit info --json` against the same summary computed with the
onnx package, on every sample and every libonnx-testdata model.

    check_info.py ONNX_REINIT PATH...   (files or folders of *.onnx)

Prints one line per mismatch and 'N passed, N failed'; exits 1 on any.
"""
import collections
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, mapping

UINT4, INT4 = 21, 22  # TensorProto's: the onnx package here predates them
NAMES = {TensorProto.FLOAT: "float32", TensorProto.DOUBLE: "float64",
         TensorProto.FLOAT16: "float16", TensorProto.BFLOAT16: "bfloat16",
         TensorProto.INT64: "int64", TensorProto.INT32: "int32",
         TensorProto.INT8: "int8", TensorProto.UINT8: "uint8",
         TensorProto.INT16: "int16", TensorProto.UINT16: "uint16",
         TensorProto.UINT32: "uint32", TensorProto.UINT64: "uint64",
         TensorProto.BOOL: "bool", TensorProto.STRING: "string",
         TensorProto.COMPLEX64: "complex64", TensorProto.COMPLEX128: "complex128",
         UINT4: "uint4", INT4: "int4"}
BYTES = {TensorProto.FLOAT: 4, TensorProto.DOUBLE: 8, TensorProto.FLOAT16: 2,
         TensorProto.BFLOAT16: 2, TensorProto.INT64: 8, TensorProto.INT32: 4,
         TensorProto.INT8: 1, TensorProto.UINT8: 1, TensorProto.INT16: 2,
         TensorProto.UINT16: 2, TensorProto.UINT32: 4, TensorProto.UINT64: 8,
         TensorProto.BOOL: 1, TensorProto.COMPLEX64: 8, TensorProto.COMPLEX128: 16}
BITS = {UINT4: 4, INT4: 4}  # sub-byte types: two to a byte


def count_nodes(graph, ops):
    for node in graph.node:
        ops[node.op_type] += 1
        for a in node.attribute:
            if a.HasField("g"):
                count_nodes(a.g, ops)
            for g in a.graphs:
                count_nodes(g, ops)


def storage(t, n):
    if t.data_location == TensorProto.EXTERNAL:
        return "external"
    if t.HasField("raw_data"):
        return "raw_data"
    return "typed" if n > 0 else "empty"


def tensor_summary(t):
    n = int(np.prod(t.dims, dtype=np.int64)) if len(t.dims) else 1
    if t.data_type == TensorProto.STRING:
        nbytes = sum(len(s) for s in t.string_data)
    elif t.data_type in BITS:
        nbytes = (n * BITS[t.data_type] + 7) // 8
    else:
        nbytes = n * BYTES[t.data_type]
    return {"name": t.name, "dtype": NAMES[t.data_type], "shape": list(t.dims),
            "elements": n, "bytes": nbytes, "storage": storage(t, n)}


def where_tensors_live(graph, counts, body=False):
    """Constant nodes' tensors of the main graph, and the initializers and
    Constant tensors of bodies at any depth: (tensors, elements) each."""
    def add(key, t):
        counts[key][0] += 1
        counts[key][1] += int(np.prod(t.dims)) if len(t.dims) else 1
    if body:
        for t in graph.initializer:
            add("bodies", t)
    for node in graph.node:
        for a in node.attribute:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and \
                    a.name == "value" and a.type == onnx.AttributeProto.TENSOR:
                add("bodies" if body else "constants", a.t)
            for g in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
                where_tensors_live(g, counts, True)
    return counts


def reference(path):
    m = onnx.load(path, load_external_data=False)
    ops = collections.Counter()
    count_nodes(m.graph, ops)
    inits = [tensor_summary(t) for t in m.graph.initializer]
    return {
        "model": path, "ir_version": m.ir_version,
        "opsets": [{"domain": o.domain or "ai.onnx", "version": o.version}
                   for o in m.opset_import],
        "producer": {"name": m.producer_name, "version": m.producer_version},
        "graph": m.graph.name, "nodes": sum(ops.values()),
        "op_types": dict(ops),
        "parameters": sum(t["elements"] for t in inits),
        "bytes": sum(t["bytes"] for t in inits), "initializers": inits,
        **{k: {"tensors": n, "parameters": e} for k, (n, e) in where_tensors_live(
            m.graph, {"constants": [0, 0], "bodies": [0, 0]}).items()}}


def models(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in sorted(os.walk(p)):
                for f in sorted(files):
                    if f.endswith(".onnx"):
                        yield os.path.join(root, f)
        else:
            yield p


def main():
    tool, paths = sys.argv[1], sys.argv[2:]
    passed = failed = 0
    for path in models(paths):
        run = subprocess.run([tool, "info", "--json", path],
                             capture_output=True, text=True)
        if run.returncode != 0:
            print(f"{path}: exit {run.returncode}: {run.stderr.strip()}")
            failed += 1
            continue
        got, want = json.loads(run.stdout), reference(path)
        if got != want:
            keys = [k for k in want if got.get(k) != want[k]]
            print(f"{path}: differs in {keys}")
            failed += 1
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
