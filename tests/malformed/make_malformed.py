#!/usr/bin/python3
"""Remake the malformed models in this folder from samples/mlp_tanh.onnx.

    /usr/bin/python3 tests/malformed/make_malformed.py

Each NAME.onnx has a NAME.err beside it, reviewed by hand and not made by
this script: the exact message `onnx-reinit info` must print after
"onnx-reinit: FILE: ".
"""
import os
import random

import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "..", "samples", "mlp_tanh.onnx")


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number, wire, payload):
    key = varint(number << 3 | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def nesting_bomb(levels):
    """graph > node > attribute > graph > ... levels deep (ModelProto.graph
    = 7, GraphProto.node = 1, NodeProto.attribute = 5, AttributeProto.g =
    6), built from the inside out."""
    inner = b""
    for i in range(levels):
        kind = i % 3
        if kind == 0:
            inner = field(6, 2, inner)  # attribute.g = graph
        elif kind == 1:
            inner = field(5, 2, inner)  # node.attribute
        else:
            inner = field(1, 2, inner)  # graph.node
    return field(1, 0, varint(8)) + field(7, 2, field(1, 2, inner))


def tensor(dims, dtype=TensorProto.FLOAT, raw=None, floats=(), int32s=()):
    """A TensorProto built field by field, so it may disagree with itself."""
    t = TensorProto(name="w", data_type=dtype)
    t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    t.float_data.extend(floats)
    t.int32_data.extend(int32s)
    return t


def model_with(tensor):
    graph = helper.make_graph([], "g", [], [], initializer=[tensor])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return m.SerializeToString()


def graph_model(nodes, inits):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 4])], [], initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return m.SerializeToString()


def weight(name, dims):
    t = tensor(dims, raw=b"\0" * (4 * dims[0] * dims[1]))
    t.name = name
    return t


def no_op_type(name):
    n = onnx.NodeProto()
    n.input.append(name)
    n.output.append(name + "_out")
    return n


def write(name, data):
    with open(os.path.join(HERE, name + ".onnx"), "wb") as f:
        f.write(data)


def main():
    good = open(SAMPLE, "rb").read()
    write("empty", b"")
    write("truncated", good[: len(good) // 2])
    # The model's first field is ir_version (key 0x08); the graph field
    # (key 0x3a) length is a varint: set its continuation bit.
    flipped = bytearray(good)
    at = flipped.index(b"\x3a")
    flipped[at + 1] |= 0x80
    flipped[at + 2] = 0xFF
    flipped[at + 3] = 0xFF
    write("flipped", bytes(flipped))
    rng = random.Random(20261129)
    write("random", bytes(rng.randrange(256) for _ in range(4096)))
    write("nesting_bomb", nesting_bomb(20000))
    write("text", b"This is a text file that someone named model.onnx.\n" * 8)
    write("no_graph", field(1, 0, varint(8)))
    write("group_wire_type", good[:2] + field(99, 3, b"") + good[2:])
    write("dims_mismatch", model_with(tensor([64, 32], raw=b"\0" * (64 * 32 * 4 - 4))))
    write("dims_overflow", model_with(tensor([1 << 40, 1 << 40, 4], raw=b"")))
    write("negative_dim", model_with(tensor([4, -2], raw=b"")))
    write("typed_count_mismatch", model_with(tensor([4], floats=[1.0, 2.0, 3.0])))
    write("raw_and_typed", model_with(tensor([2], raw=b"\0" * 8, floats=[1.0, 2.0])))
    write("wrong_typed_field",
          model_with(tensor([3], TensorProto.FLOAT16, floats=[1.0, 2.0, 3.0])))
    write("missing_data", model_with(tensor([16, 16])))
    # Found by fuzzing: each crashed plan, apply and check (SIGSEGV).
    conv = helper.make_node("Conv", ["x", "w"], [])
    write("crash_layer_without_output", graph_model([conv], [weight("w", [4, 1])]))
    mm = helper.make_node("MatMul", ["x", "w"], ["y"])
    add = helper.make_node("Add", ["y", "b"], [])
    write("crash_add_without_output",
          graph_model([mm, add], [weight("w", [4, 4]), weight("b", [1, 4])]))
    write("crash_nodes_without_op_type",
          graph_model([mm, no_op_type("y"), no_op_type("y")], [weight("w", [4, 4])]))
    # A segment declaring 2^28 elements and holding none: check allocated
    # 2 GiB before the tensor was refused.
    seg = tensor([16384, 16384])
    seg.segment.begin = 0
    seg.segment.end = 16384 * 16384
    write("crash_segment_without_data", graph_model([mm], [seg]))
    seg = tensor([8, 8], raw=b"\0" * 4 * 80)
    seg.segment.begin = 0
    seg.segment.end = 80
    write("segment_out_of_range", model_with(seg))
    # An If whose branch reads a name neither it nor the main graph defines
    # ('x' is the main graph's input: visible in the body).
    branch = helper.make_graph([helper.make_node("MatMul", ["x", "nowhere"], ["o"])], "then",
                               [], [helper.make_tensor_value_info("o", TensorProto.FLOAT, None)])
    cond = helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)
    g = helper.make_graph([cond], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
                                        helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    write("body_name_defined_nowhere",
          helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    # A Constant node whose tensor disagrees with its dims.
    bad = tensor([8, 8], raw=b"\0" * 60)
    write("constant_dims_mismatch",
          graph_model([helper.make_node("Constant", [], ["w"], value=bad), mm], []))
    # A name of one branch read by the other: siblings do not see each other.
    then = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [],
                             [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)])
    other = helper.make_graph([helper.make_node("Relu", ["t"], ["e"])], "else", [],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)])
    g.node[0].CopyFrom(helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other))
    write("body_name_of_its_sibling",
          helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())

if __name__ == "__main__":
    main()
