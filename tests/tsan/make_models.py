#!/usr/bin/python3
"""Models with If and Loop bodies for the ThreadSanitizer run: each sample
(but the external-data one) put into both branches of an If (its weights
as body initializers, body Constants, or outer names the bodies read),
split between the main graph and the branches, and into a Loop body
(tests/py/check_bodies.py builds them), and an If nested in a Loop.

    make_models.py SAMPLES_DIR OUT_DIR
"""
import os
import sys

import onnx
from onnx import helper, TensorProto

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "py"))
from check_bodies import renamed, wrapped  # noqa: E402

KINDS = ("if_init", "if_const", "if_outer", "if_split", "loop")


def nested(m):
    """m's graph (an If) as the body of a Loop run once."""
    g = m.graph
    body = helper.make_graph(
        list(g.node) + [helper.make_node("Identity", ["c_in"], ["c_out"])],
        "loop_body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("c_in", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, [])]
        + [renamed(o, o.name) for o in g.output],
        initializer=list(g.initializer))
    nodes = [helper.make_node("Constant", [], ["trip"],
                              value=helper.make_tensor("n", TensorProto.INT64, [], [1])),
             helper.make_node("Constant", [], ["go"],
                              value=helper.make_tensor("t", TensorProto.BOOL, [], [True])),
             helper.make_node("Loop", ["trip", "go"], [o.name + "_all" for o in g.output],
                              body=body)]
    main = helper.make_graph(nodes, g.name, list(g.input),
                             [renamed(o, o.name + "_all", (1,)) for o in g.output])
    return helper.make_model(main, opset_imports=list(m.opset_import),
                             ir_version=m.ir_version)


def main():
    samples, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    n = 0
    for f in sorted(os.listdir(samples)):
        if not f.endswith(".onnx"):
            continue
        for kind in KINDS:
            m = wrapped(os.path.join(samples, f), kind)
            onnx.save(m, os.path.join(out, f"{f[:-5]}_{kind}.onnx"))
            n += 1
        onnx.save(nested(wrapped(os.path.join(samples, f), "if_init")),
                  os.path.join(out, f"{f[:-5]}_loop_if.onnx"))
        n += 1
    print(f"{n} models with bodies in {out}")


if __name__ == "__main__":
    main()
