#!/usr/bin/python3
"""Print a model's tensors as the onnx package reads them, as JSON:
{name: {"dtype": int, "storage": "raw"|"typed"|"external",
        "values": [float64, ...] or null}}: the main graph's
initializers by their names, then its Constant nodes' values by their
outputs' names, then those of If/Loop/Scan bodies by BODY/NAME, BODY the
body's path (its node's name, or OP_INDEX, a dot and the attribute;
nested ones joined by '/'), as onnx-reinit numbers and names them.

An independent reader for the tests: onnx.numpy_helper, not onnx-reinit.
"""
import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper, TensorProto

FLOATISH = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE,
            TensorProto.BFLOAT16, TensorProto.INT8, TensorProto.UINT8,
            TensorProto.INT16, TensorProto.UINT16, TensorProto.INT32,
            TensorProto.INT64, TensorProto.UINT32, TensorProto.UINT64,
            TensorProto.BOOL}


def storage(t):
    if t.data_location == TensorProto.EXTERNAL:
        return "external"
    return "raw" if t.HasField("raw_data") else "typed"


def values(t, base):
    if t.data_type not in FLOATISH:
        return None
    a = numpy_helper.to_array(t, base).astype(np.float64).ravel()
    return [None if not math.isfinite(v) else v for v in a.tolist()]


def constant_value(node):
    """A Constant node's tensor (its `value`), or None."""
    if node.op_type != "Constant" or node.domain not in ("", "ai.onnx"):
        return None
    for a in node.attribute:
        if a.name == "value":
            return a.t
    return None


def tensors(graph, prefix):
    """(qualified name, tensor) of graph: initializers, then Constants,
    then every body's, depth first."""
    q = (lambda n: prefix + "/" + n) if prefix else (lambda n: n)
    for t in graph.initializer:
        yield q(t.name), t
    for node in graph.node:
        t = constant_value(node)
        if t is not None:
            yield q(node.output[0]), t
    for k, node in enumerate(graph.node):
        for a in node.attribute:
            bodies = [a.g] if a.type == onnx.AttributeProto.GRAPH else \
                list(a.graphs) if a.type == onnx.AttributeProto.GRAPHS else []
            for body in bodies:
                label = node.name or f"{node.op_type}_{k}"
                path = f"{label}.{a.name}"
                yield from tensors(body, prefix + "/" + path if prefix else path)


def main():
    path = sys.argv[1]
    model = onnx.load(path, load_external_data=False)
    base = os.path.dirname(path)
    out = {name: {"dtype": t.data_type, "storage": storage(t),
                  "values": values(t, base)}
           for name, t in tensors(model.graph, "")}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
