#!/usr/bin/python3
"""A synthetic model with GIB gibibytes of float32 weights in one external
data file: a chain of 8192 x 8192 MatMul layers (256 MiB each) with ReLU,
weights N(0, 0.01) written in slices (never the whole model in memory).

    /usr/bin/python3 bench/make_big.py DIR [GIB]     (default 4)
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, save

WIDTH = 8192


def main():
    out, gib = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4
    os.makedirs(out, exist_ok=True)
    layers = gib * 4  # 256 MiB each
    data = os.path.join(out, "big.data")
    rng = np.random.default_rng(0)
    inits, nodes, x = [], [], "input"
    with open(data, "wb") as f:
        for i in range(layers):
            offset = f.tell()
            for _ in range(8):  # 32 MiB slices
                f.write(rng.normal(0, 0.01, (WIDTH // 8, WIDTH)).astype(np.float32).tobytes())
            t = TensorProto(name=f"layer{i}.weight", data_type=TensorProto.FLOAT,
                            dims=[WIDTH, WIDTH], data_location=TensorProto.EXTERNAL)
            for k, v in (("location", "big.data"), ("offset", str(offset)),
                         ("length", str(WIDTH * WIDTH * 4))):
                t.external_data.add(key=k, value=v)
            inits.append(t)
            y = "output" if i == layers - 1 else f"h{i}"
            nodes.append(helper.make_node("MatMul", [x, t.name], [f"z{i}"]))
            nodes.append(helper.make_node("Relu", [f"z{i}"], [y]))
            x = y
    g = helper.make_graph(nodes, "big", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, WIDTH])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, WIDTH])],
                          initializer=inits)
    save(helper.make_model(g), os.path.join(out, "big.onnx"))
    print(f"{layers} layers, {os.path.getsize(data) / 2**30:.2f} GiB in {data}")


if __name__ == "__main__":
    main()
