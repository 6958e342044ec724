"""Shared by the Python tests: the inputs a model declares, for
tests/ort/run.js (dynamic dimensions become 1), and running it."""
import json
import os
import subprocess
import tempfile

import onnx
from onnx import TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_JS = os.path.join(HERE, "..", "ort", "run.js")
OPTIMIZE_JS = os.path.join(HERE, "..", "ort", "optimize.js")
TYPES = {TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16",
         TensorProto.DOUBLE: "float64", TensorProto.INT64: "int64",
         TensorProto.INT32: "int32"}


def input_specs(model):
    inits = {t.name for t in model.graph.initializer}
    specs = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        t = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1
                for d in t.shape.dim]
        specs.append({"name": vi.name, "type": TYPES[t.elem_type], "dims": dims})
    return specs


def ort_available():
    return os.path.isdir(os.path.join(HERE, "..", "ort", "node_modules",
                                      "onnxruntime-node"))


def run_ort(path, specs=None, values=False):
    """Run the model at path in ONNX Runtime; {output: {elements, finite,
    std}} (and the float32 outputs' values with values). Raises
    RuntimeError with ORT's message on failure."""
    if specs is None:
        specs = input_specs(onnx.load(path, load_external_data=False))
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(specs, f)
    try:
        r = subprocess.run(["node", RUN_JS, path, f.name], capture_output=True,
                           text=True, timeout=300,
                           env={**os.environ, "ORT_VALUES": "1" if values else "0"})
    finally:
        os.unlink(f.name)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return json.loads(r.stdout)


def ort_optimize(src, dst, level="extended"):
    """Save what ONNX Runtime's optimizer at level makes of src as dst
    (tests/ort/optimize.js); dst. Raises RuntimeError with its message."""
    r = subprocess.run(["node", OPTIMIZE_JS, src, dst, level], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ONNX Runtime ({level}): {r.stderr.strip()}")
    return dst
