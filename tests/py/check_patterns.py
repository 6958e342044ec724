#!/usr/bin/python3
"""Hand-built graphs, one per pattern and transparent op, and what `plan`
must say about them. The expectations are written here by hand from the
rules in the README; the graphs are built with the onnx package.

    check_patterns.py ONNX_REINIT

Prints one line per mismatch and 'N passed, N failed'; exits 1 on any.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from onnx import TensorProto, helper, numpy_helper

RELU_GAIN = math.sqrt(2)


def keep_gain(name):
    """The gain G with E[f(G z)^2] = 1 for z ~ N(0, 1), worked out here
    by the trapezoid rule on [-12, 12] and bisection (the default policy
    draws a layer before activation f with it)."""
    erf = np.frompyfunc(math.erf, 1, 1)
    f = {"Relu": lambda x: np.maximum(x, 0), "Relu6": lambda x: np.clip(x, 0, 6),
         "Elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
         "Gelu": lambda x: x * 0.5 * (1 + erf(x / math.sqrt(2)).astype(float)),
         "Silu": lambda x: x / (1 + np.exp(-x)),
         "HardSwish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
         "Mish": lambda x: x * np.tanh(np.logaddexp(0, x)),
         "Softplus": lambda x: np.logaddexp(0, x),
         "PRelu": lambda x: np.where(x > 0, x, 0.25 * x)}[name]
    z = np.linspace(-12, 12, 120001)
    w = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    lo, hi = 0.5, 4.0
    for _ in range(45):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.trapz(f(mid * z) ** 2 * w, z) < 1 else (lo, mid)
    return (lo + hi) / 2


KEEP = {}


def he_gain(act):
    if act not in KEEP:
        KEEP[act] = keep_gain("Elu" if act == "Celu" else act)
    return KEEP[act]


def init(name, shape, dtype=np.float32, value=None):
    a = np.full(shape, value, dtype=dtype) if value is not None else \
        np.random.default_rng(0).standard_normal(shape).astype(dtype)
    return numpy_helper.from_array(a, name)


def model(nodes, inits, out="Y", opset=17):
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, None)
    y = helper.make_tensor_value_info(out, TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, "g", [x], [y], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def conv(w="W", x="X", out="c", group=1):
    return helper.make_node("Conv", [x, w], [out], group=group)


def conv_then(op_nodes, extra_inits=(), last="Y"):
    """Conv W [8, 4, 3, 3] -> op_nodes (reading 'c') -> ... -> Relu -> Y."""
    nodes = [conv()] + op_nodes + [helper.make_node("Relu", [last_of(op_nodes)], ["Y"])]
    return model(nodes, [init("W", [8, 4, 3, 3])] + list(extra_inits))


def last_of(nodes):
    return nodes[-1].output[0] if nodes else "c"


def node(op, inputs, outputs=("t",), **attrs):
    return helper.make_node(op, list(inputs), list(outputs), **attrs)


def transparent_cases():
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)
    f32 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.float32), name)
    cases = {
        "Identity": ([node("Identity", ["c"])], []),
        "Dropout": ([node("Dropout", ["c"])], []),
        "Flatten": ([node("Flatten", ["c"])], []),
        "Transpose": ([node("Transpose", ["c"], perm=[0, 2, 3, 1])], []),
        "MaxPool": ([node("MaxPool", ["c"], kernel_shape=[2, 2])], []),
        "AveragePool": ([node("AveragePool", ["c"], kernel_shape=[2, 2])], []),
        "GlobalAveragePool": ([node("GlobalAveragePool", ["c"])], []),
        "Cast": ([node("Cast", ["c"], to=TensorProto.FLOAT)], []),
        "Reshape": ([node("Reshape", ["c", "shape"])], [i64("shape", [1, -1])]),
        "Squeeze": ([node("Squeeze", ["c", "axes"])], [i64("axes", [0])]),
        "Unsqueeze": ([node("Unsqueeze", ["c", "axes"])], [i64("axes", [0])]),
        "Pad": ([node("Pad", ["c", "pads"])], [i64("pads", [0] * 8)]),
        "Slice": ([node("Slice", ["c", "s", "e"])], [i64("s", [0]), i64("e", [4])]),
        "Resize": ([node("Resize", ["c", "", "scales"])], [f32("scales", [1, 1, 2, 2])]),
        "Concat": ([node("Concat", ["c", "c"], axis=1)], []),
        "Split": ([node("Split", ["c"], ["t", "u"], axis=1)], []),
        "Add by a constant": ([node("Add", ["c", "k"])], [f32("k", [0.5])]),
        "Sub by a constant": ([node("Sub", ["c", "k"])], [f32("k", [0.5])]),
        "Mul by a constant": ([node("Mul", ["c", "k"])], [f32("k", [0.5])]),
        "Div by a constant": ([node("Div", ["c", "k"])], [f32("k", [2.0])]),
        "Add of a residual": ([node("Add", ["c", "X"])], []),
        "BatchNormalization": ([node("BatchNormalization", ["c", "s", "b", "m", "v"])],
                               [f32("s", [1.0] * 8), f32("b", [0.0] * 8),
                                f32("m", [0.0] * 8), f32("v", [1.0] * 8)]),
        "InstanceNormalization": ([node("InstanceNormalization", ["c", "s", "b"])],
                                  [f32("s", [1.0] * 8), f32("b", [0.0] * 8)]),
        "LayerNormalization": ([node("LayerNormalization", ["c", "s", "b"])],
                               [f32("s", [1.0] * 8), f32("b", [0.0] * 8)]),
        "several in a row": ([node("BatchNormalization", ["c", "s", "b", "m", "v"], ["t1"]),
                              node("Add", ["t1", "X"], ["t2"]),
                              node("MaxPool", ["t2"], kernel_shape=[2, 2])],
                             [f32("s", [1.0] * 8), f32("b", [0.0] * 8),
                              f32("m", [0.0] * 8), f32("v", [1.0] * 8)]),
    }
    for name, (nodes, inits) in cases.items():
        # W [8, 4, 3, 3]: fan_in 4*9 = 36, fan_out 8*9 = 72; X + conv(X)
        # is the one residual sum without normalization: its branch's last
        # layer at 1/sqrt(fan_in * 1), the ReLU acting on the sum
        std = 1 / 6 if name == "Add of a residual" else RELU_GAIN / 6
        yield (f"Conv > {name} > Relu", conv_then(nodes, inits),
               {"W": dict(role="weight", activation="Relu", scheme="he_normal",
                          fan_in=36, fan_out=72, std=std)})


def activation_cases():
    W = [init("W", [8, 4, 3, 3])]
    he = lambda act, g=None: dict(activation=act, scheme="he_normal",
                                  fan_in=36, fan_out=72, std=(g or he_gain(act)) / 6)
    xu = lambda act: dict(activation=act, scheme="xavier_uniform", fan_in=36,
                          fan_out=72, std=math.sqrt(2 / 108))
    one = lambda op, **a: model([conv(), node(op, ["c"], ["Y"], **a)], W)
    yield "LeakyRelu alpha 0.2", one("LeakyRelu", alpha=0.2), \
        {"W": he("LeakyRelu", math.sqrt(2 / 1.04))}
    yield "LeakyRelu default alpha", one("LeakyRelu"), \
        {"W": he("LeakyRelu", math.sqrt(2 / (1 + 0.01 ** 2)))}
    for op in ["Relu", "Elu", "Celu", "HardSwish", "Mish", "Softplus"]:
        yield op, one(op), {"W": he(op)}
    yield "PRelu", model([conv(), node("PRelu", ["c", "slope"], ["Y"])],
                         W + [init("slope", [1], value=0.25)]), {"W": he("PRelu")}
    yield "Gelu op", model([conv(), node("Gelu", ["c"], ["Y"])], W, opset=20), \
        {"W": he("Gelu")}
    for op in ["Sigmoid", "Tanh", "HardSigmoid", "Softsign"]:
        yield op, one(op), {"W": xu(op)}
    yield "Selu", one("Selu"), {"W": dict(activation="Selu", scheme="lecun_normal",
                                          fan_in=36, fan_out=72, std=1 / 6)}
    yield "Softmax", one("Softmax"), {"W": xu("none")}
    yield "graph output", model([conv(out="Y")], W), {"W": xu("none")}
    yield "another Conv first", model(
        [conv(), conv(w="W2", x="c", out="d"), node("Relu", ["d"], ["Y"])],
        # W (Xavier, no activation) passes fan_in x 2 / (fan_in + fan_out) =
        # 36 x 2 / 108 of its input's second moment to W2, drawn to undo it
        W + [init("W2", [8, 8, 1, 1])]), {"W": xu("none"), "W2": he("Relu", RELU_GAIN)
                                          | dict(fan_in=8, fan_out=8, input_gain=36 * 2 / 108,
                                                 std=RELU_GAIN / math.sqrt(8)
                                                 / math.sqrt(36 * 2 / 108))}


def pattern_cases():
    W = [init("W", [8, 4, 3, 3])]
    f32 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.float32), name)
    he = lambda act: dict(activation=act, scheme="he_normal", fan_in=36, fan_out=72,
                          std=he_gain(act) / 6)
    gelu = [conv(), node("Div", ["c", "sqrt2"], ["d"]), node("Erf", ["d"], ["e"]),
            node("Add", ["e", "one"], ["f"]), node("Mul", ["c", "f"], ["g"]),
            node("Mul", ["g", "half"], ["Y"])]
    yield "GELU as Div, Erf, Add, Mul, Mul", model(
        gelu, W + [f32("sqrt2", 1.4142135), f32("one", 1.0), f32("half", 0.5)]), {"W": he("Gelu")}
    tanh_gelu = [conv(), node("Pow", ["c", "three"], ["p"]), node("Mul", ["p", "k"], ["q"]),
                 node("Add", ["c", "q"], ["r"]), node("Mul", ["r", "s"], ["u"]),
                 node("Tanh", ["u"], ["v"]), node("Add", ["v", "one"], ["w"]),
                 node("Mul", ["c", "w"], ["z"]), node("Mul", ["z", "half"], ["Y"])]
    yield "GELU, tanh form", model(tanh_gelu, W + [
        f32("three", 3.0), f32("k", 0.044715), f32("s", 0.79788456), f32("one", 1.0),
        f32("half", 0.5)]), {"W": he("Gelu")}
    yield "SiLU as x * Sigmoid(x)", model(
        [conv(), node("Sigmoid", ["c"], ["s"]), node("Mul", ["c", "s"], ["Y"])], W), \
        {"W": he("Silu")}
    yield "SiLU, Mul operands swapped", model(
        [conv(), node("Sigmoid", ["c"], ["s"]), node("Mul", ["s", "c"], ["Y"])], W), \
        {"W": he("Silu")}
    yield "HardSwish as x * HardSigmoid(x)", model(
        [conv(), node("HardSigmoid", ["c"], ["s"]), node("Mul", ["c", "s"], ["Y"])], W), \
        {"W": he("HardSwish")}
    yield "Mish as x * Tanh(Softplus(x))", model(
        [conv(), node("Softplus", ["c"], ["s"]), node("Tanh", ["s"], ["t"]),
         node("Mul", ["c", "t"], ["Y"])], W), {"W": he("Mish")}
    yield "ReLU6 as Clip with inputs", model(
        [conv(), node("Clip", ["c", "lo", "hi"], ["Y"])], W + [f32("lo", 0.0), f32("hi", 6.0)]), \
        {"W": he("Relu6")}
    yield "ReLU6 as Clip with Constant inputs", model(
        [conv(), node("Constant", [], ["lo"], value=f32("v0", 0.0)),
         node("Constant", [], ["hi"], value=f32("v6", 6.0)),
         node("Clip", ["c", "lo", "hi"], ["Y"])], W), {"W": he("Relu6")}
    yield "ReLU6 as Clip with attributes (opset 6)", model(
        [conv(), node("Clip", ["c"], ["Y"], min=0.0, max=6.0)], W, opset=6), \
        {"W": he("Relu6")}
    yield "Clip(-1, 1) is saturating", model(
        [conv(), node("Clip", ["c", "lo", "hi"], ["Y"])], W + [f32("lo", -1.0), f32("hi", 1.0)]), \
        {"W": dict(activation="Clip", scheme="xavier_uniform", std=math.sqrt(2 / 108))}
    yield "SE gate: Sigmoid of another value", model(
        [conv(), node("Sigmoid", ["c"], ["s"]), node("Mul", ["X", "s"], ["Y"])], W), \
        {"W": dict(activation="Sigmoid", scheme="xavier_uniform")}


def layout_cases():
    g = lambda wname, shape, transB, **kw: model(
        [node("Gemm", ["X", wname, "B"], ["Y"], transB=transB)],
        [init(wname, shape), init("B", [shape[1 - transB]])])
    yield "Gemm transB 0", g("W", [128, 64], 0), \
        {"W": dict(fan_in=128, fan_out=64, std=math.sqrt(2 / 192)),
         "B": dict(role="bias", scheme="zeros")}
    yield "Gemm transB 1", g("W", [64, 128], 1), \
        {"W": dict(fan_in=128, fan_out=64), "B": dict(role="bias", scheme="zeros")}
    yield "Gemm weight through Identity", model(
        [node("Identity", ["W0"], ["W"]), node("Gemm", ["X", "W"], ["Y"], transB=1)],
        [init("W0", [64, 128])]), {"W0": dict(fan_in=128, fan_out=64)}
    yield "Gemm weight through Transpose", model(
        [node("Transpose", ["W0"], ["W"], perm=[1, 0]), node("Gemm", ["X", "W"], ["Y"])],
        [init("W0", [64, 128])]), {"W0": dict(fan_in=128, fan_out=64)}
    yield "one initializer feeds two Gemms", model(
        [node("Gemm", ["X", "W"], ["h"], transB=1), node("Relu", ["h"], ["r"]),
         node("Gemm", ["r", "W"], ["Y"], transB=1)], [init("W", [32, 32])]), \
        {"W": dict(activation="Relu", scheme="he_normal", fan_in=32, fan_out=32)}
    yield "MatMul with stacked heads", model(
        [node("MatMul", ["X", "W"], ["Y"])], [init("W", [4, 16, 8])]), \
        {"W": dict(fan_in=16, fan_out=8, scheme="xavier_uniform")}
    yield "MatMul then Add bias then GELU op", model(
        [node("MatMul", ["X", "W"], ["m"]), node("Add", ["m", "b"], ["a"]),
         node("Gelu", ["a"], ["Y"])], [init("W", [64, 256]), init("b", [256])], opset=20), \
        {"W": dict(activation="Gelu", scheme="he_normal", fan_in=64, fan_out=256),
         "b": dict(role="bias", scheme="zeros")}
    yield "MatMul, weight as input A", model(
        [node("MatMul", ["W", "X"], ["Y"])], [init("W", [10, 20])]), \
        {"W": dict(fan_in=20, fan_out=10)}
    yield "grouped Conv", model([conv(group=4)], [init("W", [64, 16, 3, 3])], out="c"), \
        {"W": dict(fan_in=144, fan_out=144)}
    yield "depthwise Conv", model([conv(group=32)], [init("W", [32, 1, 3, 3])], out="c"), \
        {"W": dict(fan_in=9, fan_out=9)}
    yield "Conv1d", model([conv()], [init("W", [16, 8, 5])], out="c"), \
        {"W": dict(fan_in=40, fan_out=80)}
    yield "Conv3d", model([conv()], [init("W", [8, 4, 3, 3, 3])], out="c"), \
        {"W": dict(fan_in=108, fan_out=216)}
    yield "ConvTranspose groups 2", model(
        [node("ConvTranspose", ["X", "W", "B"], ["Y"], group=2)],
        [init("W", [32, 8, 3, 3]), init("B", [16])]), \
        {"W": dict(fan_in=144, fan_out=72), "B": dict(role="bias", scheme="zeros")}
    yield "BatchNormalization parameters", conv_then(
        [node("BatchNormalization", ["c", "s", "b", "m", "v"])],
        [init("s", [8]), init("b", [8]), init("m", [8]), init("v", [8])]), \
        {"s": dict(role="norm_scale", scheme="ones"), "b": dict(role="norm_bias", scheme="zeros"),
         "m": dict(role="norm_mean", scheme="zeros"), "v": dict(role="norm_var", scheme="ones")}
    yield "branches to Relu and Sigmoid: nearest activation, first consumer", model(
        [conv(), node("Relu", ["c"], ["r"]), node("Sigmoid", ["c"], ["s"]),
         node("Add", ["r", "s"], ["Y"])], [init("W", [8, 4, 3, 3])]), \
        {"W": dict(activation="Relu", scheme="he_normal",
                   branches=["Relu", "Sigmoid"])}
    yield "residual branch and Relu: the activation wins over none", model(
        [conv(), node("Add", ["c", "X"], ["Y"]), node("Relu", ["c"], ["r"])],
        [init("W", [8, 4, 3, 3])], out="Y"), \
        {"W": dict(activation="Relu", branches=["Relu", "none"])}


def skip_cases():
    yield "int8 weight is skipped", model(
        [node("MatMul", ["X", "W"], ["Y"])], [init("W", [8, 8], dtype=np.int8, value=1)]), \
        {"W": dict(skipped="dtype int8: a quantized weight's layout is not known")}
    yield "LSTM: W by gate blocks of H x I, R of H x H", model(
        [node("LSTM", ["X", "W", "R"], ["Y"], hidden_size=4)],
        [init("W", [1, 16, 8]), init("R", [1, 16, 4])]), \
        {"W": dict(role="input_weight", scheme="xavier_uniform", fan_in=8, fan_out=4,
                   std=math.sqrt(2 / 12)),
         "R": dict(role="recurrent_weight", scheme="orthogonal", fan_in=4, fan_out=4)}
    yield "GRU without hidden_size: H from R's shape", model(
        [node("GRU", ["X", "W", "R", "B"], ["Y"], direction="bidirectional")],
        [init("W", [2, 15, 3]), init("R", [2, 15, 5]), init("B", [2, 30])]), \
        {"W": dict(role="input_weight", fan_in=3, fan_out=5),
         "B": dict(role="bias", scheme="zeros")}
    yield "a recurrent weight that does not fit the layer is skipped", model(
        [node("RNN", ["X", "W", "R"], ["Y"], hidden_size=4)],
        [init("W", [1, 5, 3]), init("R", [1, 4, 4])]), \
        {"W": dict(skipped="its shape does not fit RNN's W (1 directions, hidden size 4)")}
    i64r = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)
    yield "PyTorch's layout: W cut from a [2H, I] source, gates swapped back", model(
        [node("Slice", ["src", "s0", "e0", "ax"], ["lo"]),
         node("Slice", ["src", "s1", "e1", "ax"], ["hi"]),
         node("Concat", ["hi", "lo"], ["wc"], axis=0), node("Unsqueeze", ["wc", "ax"], ["W"]),
         node("RNN", ["X", "W", "R"], ["Y"], hidden_size=4, direction="bidirectional")],
        [init("src", [8, 3]), init("R", [2, 4, 4]), i64r("s0", [0]), i64r("e0", [4]),
         i64r("s1", [4]), i64r("e1", [8]), i64r("ax", [0])]), \
        {"src": dict(skipped="its shape does not fit RNN's W (2 directions, hidden size 4)")}
    yield "a Slice with a step is not followed", model(
        [node("Slice", ["src", "s0", "e0", "ax", "st"], ["wc"]),
         node("Unsqueeze", ["wc", "ax"], ["W"]),
         node("RNN", ["X", "W", "R"], ["Y"], hidden_size=4)],
        [init("src", [8, 3]), init("R", [1, 4, 4]), i64r("s0", [0]), i64r("e0", [8]),
         i64r("ax", [0]), i64r("st", [2])]), \
        {"src": dict(skipped="RNN's W: a Slice with a step, or an axis out of range")}
    yield "a source only partly used by the layer is left as it is", model(
        [node("Slice", ["src", "s0", "e0", "ax"], ["wc"]),
         node("Unsqueeze", ["wc", "ax"], ["W"]),
         node("RNN", ["X", "W", "R"], ["Y"], hidden_size=4)],
        [init("src", [8, 3]), init("R", [1, 4, 4]), i64r("s0", [2]), i64r("e0", [6]),
         i64r("ax", [0])]), \
        {"src": dict(skipped="its elements are not RNN's W gate blocks, each once"),
         "R": dict(role="recurrent_weight", scheme="orthogonal")}
    yield "a gate block cut across two pieces is not guessed", model(
        [node("Slice", ["src", "s0", "e0", "ax"], ["a"]),
         node("Slice", ["src", "s1", "e1", "ax"], ["b"]),
         node("Concat", ["a", "b"], ["wc"], axis=0), node("Unsqueeze", ["wc", "ax"], ["W"]),
         node("GRU", ["X", "W", "R"], ["Y"], hidden_size=4)],
        [init("src", [12, 3]), init("R", [1, 12, 4]), i64r("s0", [0]), i64r("e0", [6]),
         i64r("s1", [6]), i64r("e1", [12]), i64r("ax", [0])]), \
        {"src": dict(skipped="a gate block of GRU's W lies across two pieces of its "
                             "Slice/Concat")}
    yield "PyTorch's LSTM layout: the f rows of bias_ih become ONNX's f gate", model(
        [node("Slice", ["b_ih", "s_i", "e_i", "ax"], ["bi"]),
         node("Slice", ["b_ih", "s_o", "e_o", "ax"], ["bo"]),
         node("Slice", ["b_ih", "s_fc", "e_fc", "ax"], ["bfc"]),
         node("Concat", ["bi", "bo", "bfc", "b_hh"], ["bc"], axis=0),
         node("Unsqueeze", ["bc", "ax"], ["B"]),
         node("LSTM", ["X", "W", "R", "B"], ["Y"], hidden_size=2)],
        [init("W", [1, 8, 3]), init("R", [1, 8, 2]), init("b_ih", [8]), init("b_hh", [8]),
         i64r("s_i", [0]), i64r("e_i", [2]), i64r("s_o", [6]), i64r("e_o", [8]),
         i64r("s_fc", [2]), i64r("e_fc", [6]), i64r("ax", [0])]), \
        {"b_ih": dict(role="bias", scheme="per_gate"),
         "b_hh": dict(role="bias", scheme="per_gate")}
    yield "a recurrent weight behind Transpose is skipped, never guessed", model(
        [node("Transpose", ["Wt"], ["W"], perm=[0, 2, 1]),
         node("RNN", ["X", "W", "R"], ["Y"], hidden_size=4)],
        [init("Wt", [1, 3, 4]), init("R", [1, 4, 4])]), \
        {"Wt": dict(skipped="RNN's W: it comes through Transpose")}
    sparse = lambda name: helper.make_sparse_tensor(
        numpy_helper.from_array(np.ones(3, np.float32), name),
        numpy_helper.from_array(np.array([0, 5, 9], np.int64), name + "_idx"), [4, 4])
    m = model([node("Constant", [], ["Wc"], sparse_value=sparse("Wc")),
               node("MatMul", ["X", "Wc"], ["Y"])], [])
    m.graph.sparse_initializer.append(sparse("Ws"))
    yield "sparse tensors are listed as not rewritten", m, \
        {"Wc": dict(skipped="a sparse tensor is not rewritten"),
         "Ws": dict(skipped="a sparse tensor is not rewritten")}
    yield "a segment of a weight is kept", model(
        [node("MatMul", ["X", "W"], ["Y"])], [segment(init("W", [8, 8]), 16, 32)]), \
        {"W": dict(skipped="a segment of a larger tensor is kept as it is")}


def domain_cases():
    """An op of another domain is not ONNX's op of the same name; the
    default domain spelled out is the default domain."""
    W = [init("W", [8, 4, 3, 3])]
    xu = dict(activation="none", scheme="xavier_uniform", fan_in=36, fan_out=72,
              std=math.sqrt(2 / 108))

    def custom(nodes, inits):
        m = model(nodes, inits)
        m.opset_import.append(helper.make_opsetid("com.example", 1))
        return m
    yield "a custom-domain Relu is not ONNX's Relu", custom(
        [conv(), helper.make_node("Relu", ["c"], ["Y"], domain="com.example")], W), \
        {"W": xu}
    yield "a custom-domain Conv is not a layer", custom(
        [helper.make_node("Conv", ["X", "W"], ["c"], domain="com.example"),
         node("Relu", ["c"], ["Y"])], W), \
        {"W": dict(skipped="not consumed by a weighted op or a normalization")}
    yield "a custom-domain BatchNormalization is no normalization", custom(
        [conv(), helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["Y"],
                                  domain="com.example")],
        W + [init("s", [8]), init("b", [8]), init("m", [8]), init("v", [8])]), \
        {"W": xu, "s": dict(skipped="not consumed by a weighted op or a normalization")}
    yield "the ai.onnx domain spelled out is the default one", model(
        [helper.make_node("Conv", ["X", "W"], ["c"], domain="ai.onnx"),
         helper.make_node("Relu", ["c"], ["Y"], domain="ai.onnx")], W), \
        {"W": dict(activation="Relu", scheme="he_normal", fan_in=36, fan_out=72)}


def segment(t, begin, end):
    """t cut to the elements [begin, end) of its flattened data."""
    a = numpy_helper.to_array(t).reshape(-1)[begin:end]
    t.raw_data = a.tobytes()
    t.segment.begin, t.segment.end = begin, end
    return t


def run(tool, path):
    r = subprocess.run([tool, "plan", "--json", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return json.loads(r.stdout)


def plumbing_cases():
    """Weights reaching their layer through the ops exporters put between:
    fans measured on the shape the layer sees (computed by hand here)."""
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.int64), name)
    yield "float16 weight behind Cast", model(
        [node("Cast", ["Wh"], ["W"], to=TensorProto.FLOAT), node("MatMul", ["X", "W"], ["Y"])],
        [init("Wh", [64, 32], dtype=np.float16)]), \
        {"Wh": dict(fan_in=64, fan_out=32, dtype="float16", scheme="xavier_uniform")}
    yield "Conv1d weight stored 2-D, Unsqueezed (opset 13 axes input)", model(
        [node("Unsqueeze", ["W2", "ax"], ["W"]), conv(), node("Relu", ["c"], ["Y"])],
        [init("W2", [16, 8]), i64("ax", [2])], opset=13), \
        {"W2": dict(fan_in=8, fan_out=16, shape=[16, 8], scheme="he_normal")}
    yield "Unsqueeze with the axes attribute (opset 11)", model(
        [node("Unsqueeze", ["W2"], ["W"], axes=[-1]), conv(), node("Relu", ["c"], ["Y"])],
        [init("W2", [16, 8])], opset=11), \
        {"W2": dict(fan_in=8, fan_out=16)}
    yield "Conv weight stored flat, Reshaped with 0 and -1", model(
        [node("Reshape", ["Wf", "shape"], ["W"]), conv(), node("Relu", ["c"], ["Y"])],
        [init("Wf", [8, 36]), i64("shape", [0, 4, -1, 3])]), \
        {"Wf": dict(fan_in=36, fan_out=72, scheme="he_normal")}
    yield "Gemm weight through Squeeze of a leading 1", model(
        [node("Squeeze", ["W3", "ax"], ["W"]), node("Gemm", ["X", "W"], ["Y"], transB=1)],
        [init("W3", [1, 64, 128]), i64("ax", [0])]), \
        {"W3": dict(fan_in=128, fan_out=64)}
    yield "Squeeze without axes drops every 1", model(
        [node("Squeeze", ["W4"], ["W"]), node("MatMul", ["X", "W"], ["Y"])],
        [init("W4", [1, 24, 1, 12])]), \
        {"W4": dict(fan_in=24, fan_out=12)}
    yield "Flatten then Transpose then Gemm", model(
        [node("Flatten", ["W5"], ["F"], axis=1), node("Transpose", ["F"], ["W"], perm=[1, 0]),
         node("Gemm", ["X", "W"], ["Y"])],
        [init("W5", [10, 4, 5])]), \
        {"W5": dict(fan_in=20, fan_out=10)}
    yield "a Reshape that does not fit its tensor is not guessed", model(
        [node("Reshape", ["Wb", "shape"], ["W"]), node("MatMul", ["X", "W"], ["Y"])],
        [init("Wb", [8, 8]), i64("shape", [7, 9])]), \
        {"Wb": dict(skipped="not consumed by a weighted op or a normalization")}
    q = numpy_helper.from_array(np.ones((16, 8), np.int8), "Wq")
    yield "a weight behind DequantizeLinear is a quantized weight of its float shape", model(
        [node("DequantizeLinear", ["Wq", "sc", "zp"], ["W"]), node("MatMul", ["X", "W"], ["Y"]),
         node("Relu", ["Y"], ["Z"])],
        [q, init("sc", [], value=0.1), numpy_helper.from_array(np.array(0, np.int8), "zp")]), \
        {"Wq": dict(dtype="float32", shape=[16, 8], fan_in=16, fan_out=8, activation="Relu",
                    scheme="he_normal"),
         "sc": dict(skipped="rewritten with the quantized weight Wq")}
    yield "a weight behind a Transpose before DequantizeLinear is not mapped", model(
        [node("Transpose", ["Wq"], ["Wt"]), node("DequantizeLinear", ["Wt", "sc", "zp"], ["W"]),
         node("MatMul", ["X", "W"], ["Y"])],
        [numpy_helper.from_array(np.ones((8, 16), np.int8), "Wq"), init("sc", [], value=0.1),
         numpy_helper.from_array(np.array(0, np.int8), "zp")]), \
        {"Wq": dict(skipped="views between its codes and the op that dequantizes them are not "
                            "mapped")}


def check(plan, expect):
    tensors = {t["name"]: t for t in plan["tensors"]}
    skipped = {s["name"]: s["reason"] for s in plan["skipped"]}
    problems = []
    for name, want in expect.items():
        if "skipped" in want:
            if skipped.get(name) != want["skipped"]:
                problems.append(f"{name}: skipped {skipped.get(name)!r}, want {want['skipped']!r}")
            continue
        got = tensors.get(name)
        if got is None:
            problems.append(f"{name}: not planned ({skipped.get(name)})")
            continue
        want = {"role": "weight", **want}
        for key, value in want.items():
            if key == "branches":
                have = [b["activation"] for b in got.get("branches", [])]
                if have != value:
                    problems.append(f"{name}: branches {have}, want {value}")
            elif key in ("std", "input_gain"):
                if not math.isclose(got.get(key, 1), value, rel_tol=1e-6):
                    problems.append(f"{name}: {key} {got.get(key)}, want {value}")
            elif got.get(key) != value:
                problems.append(f"{name}: {key} {got.get(key)!r}, want {value!r}")
    return problems


def main():
    tool = sys.argv[1]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for cases in (transparent_cases, activation_cases, pattern_cases,
                      layout_cases, plumbing_cases, skip_cases, domain_cases):
            for title, m, expect in cases():
                path = os.path.join(tmp, "m.onnx")
                with open(path, "wb") as f:
                    f.write(m.SerializeToString())
                try:
                    problems = check(run(tool, path), expect)
                except RuntimeError as e:
                    problems = [str(e)]
                if problems:
                    failed += 1
                    print(f"FAIL {title}: " + "; ".join(problems))
                else:
                    passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
