#!/usr/bin/python3
"""Print a model's initializers as the onnx package reads them, as JSON:
{name: {"dtype": int, "storage": "raw"|"typed"|"external",
        "values": [float64, ...] or null}}.

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


def main():
    path = sys.argv[1]
    model = onnx.load(path, load_external_data=False)
    base = os.path.dirname(path)
    out = {t.name: {"dtype": t.data_type, "storage": storage(t),
                    "values": values(t, base)}
           for t in model.graph.initializer}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
