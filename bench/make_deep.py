#!/usr/bin/python3
"""A residual MLP of LAYERS layers (default 64,000) of width 8, each
MatMul, Add (bias), Relu and Add (residual): 4 nodes and 2 initializers a
layer (64,000 layers: 256,000 nodes, 128,000 initializers, about 28 MB),
for bench/deep.sh: how plan, apply and check scale with depth. SCALE
multiplies the weights (4: every layer far too wide, for check and
apply --only-flagged with a finding per layer).

    /usr/bin/python3 bench/make_deep.py OUT.onnx [LAYERS [SCALE]]
"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def main():
    out, layers = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 64000
    scale = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    rng = np.random.default_rng(0)
    nodes, inits, x = [], [], "x"
    for i in range(layers):
        w = numpy_helper.from_array((scale * rng.standard_normal((8, 8))).astype(np.float32), f"l{i}.weight")
        b = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), f"l{i}.bias")
        inits += [w, b]
        nodes += [helper.make_node("MatMul", [x, w.name], [f"m{i}"]),
                  helper.make_node("Add", [f"m{i}", b.name], [f"a{i}"]),
                  helper.make_node("Relu", [f"a{i}"], [f"r{i}"]),
                  helper.make_node("Add", [x, f"r{i}"], [f"s{i}"])]
        x = f"s{i}"
    g = helper.make_graph(nodes, "deep", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 8])], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    with open(out, "wb") as f:
        f.write(m.SerializeToString())


if __name__ == "__main__":
    main()
