#!/usr/bin/python3
"""The peer: what a user writes today with the onnx package and numpy.
Load the model, draw He-normal (weights followed by... any) or Xavier-normal
values for every Conv/Gemm/MatMul weight initializer, save.

    /usr/bin/python3 bench/peer.py MODEL OUT
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main():
    src, dst = sys.argv[1], sys.argv[2]
    model = onnx.load(src)
    inits = {t.name: i for i, t in enumerate(model.graph.initializer)}
    rng = np.random.default_rng(0)
    for node in model.graph.node:
        if node.op_type not in ("Conv", "Gemm", "MatMul") or len(node.input) < 2:
            continue
        name = node.input[1]
        if name not in inits:
            continue
        t = model.graph.initializer[inits[name]]
        w = numpy_helper.to_array(t)
        if w.ndim < 2:
            continue
        fan_in = int(np.prod(w.shape[1:])) if node.op_type == "Conv" else w.shape[-2]
        std = np.sqrt(2.0 / fan_in)  # He normal
        new = rng.standard_normal(w.shape, dtype=np.float32) * np.float32(std)
        t.CopyFrom(numpy_helper.from_array(new.astype(w.dtype), name))
    onnx.save(model, dst)


if __name__ == "__main__":
    main()
