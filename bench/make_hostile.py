#!/usr/bin/python3
"""Small files shaped to make the tool do the most work per byte, for
bench/hostile.sh: each should take well under a second.

    /usr/bin/python3 bench/make_hostile.py DIR

- empty_inits.onnx: 150,000 empty initializers (the planner once kept
  1.8 KB for each);
- fan.onnx: 15,000 MatMul layers read by one Concat that 30,000 nodes read
  (every layer's downstream walk crosses all of them);
- optypes.onnx: 60,000 nodes of distinct op types (info once scanned them
  all per node).
"""
import os
import sys

from onnx import TensorProto, helper


def save(path, nodes, inits):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          initializer=inits)
    with open(path, "wb") as f:
        f.write(helper.make_model(g).SerializeToString())


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    save(os.path.join(out, "empty_inits.onnx"), [],
         [TensorProto(name=f"i{i}") for i in range(150000)])
    layers = 15000
    nodes = [helper.make_node("MatMul", ["x", f"w{i}"], [f"h{i}"]) for i in range(layers)]
    inits = [TensorProto(name=f"w{i}", data_type=1, dims=[1, 1], float_data=[0.5])
             for i in range(layers)]
    nodes.append(helper.make_node("Concat", [f"h{i}" for i in range(layers)], ["c"], axis=0))
    nodes += [helper.make_node("Identity", ["c"], [f"o{i}"]) for i in range(30000)]
    save(os.path.join(out, "fan.onnx"), nodes, inits)
    save(os.path.join(out, "optypes.onnx"),
         [helper.make_node(f"Op{i}", ["x"], [f"y{i}"]) for i in range(60000)], [])


if __name__ == "__main__":
    main()
