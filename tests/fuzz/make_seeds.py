#!/usr/bin/python3
"""Remake the fuzz targets' seed corpora in seeds/: small models of every
layout the library reads (layers, normalizations, patterns, Constant
nodes, If and Loop bodies, float16 behind Cast, recurrent layers,
quantized forms),
models whose external data names every entry of fuzz_file's folder, and
zip archives of them.

    /usr/bin/python3 tests/fuzz/make_seeds.py

The seeds only guide the fuzzer: what the targets check is that nothing
crashes, leaks or trips a sanitizer on any input.
"""
import os
import shutil
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")
rng = np.random.default_rng(13)


def w(name, *shape, dtype=np.float32):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(dtype), name)


def model(nodes, inits, opset=17, inputs=("x",), outputs=("y",)):
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(i, TensorProto.FLOAT, None) for i in inputs],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def n(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, **attrs)


def as_constants(m):
    """Every initializer of m's main graph as a Constant node, as paddle2onnx and spox write them."""
    consts = [n("Constant", [], [t.name], value=t) for t in m.graph.initializer]
    del m.graph.initializer[:]
    nodes = consts + list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    return m


def body(nodes, inits, inputs, outputs):
    return helper.make_graph(
        nodes, "body", [helper.make_tensor_value_info(i, TensorProto.FLOAT, None) for i in inputs],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        initializer=inits)


def models():
    mlp = lambda: model([n("MatMul", ["x", "w1"], ["h"]), n("Add", ["h", "b1"], ["a"]),
                         n("Relu", ["a"], ["r"]), n("Gemm", ["r", "w2", "b2"], ["g"], transB=1),
                         n("Tanh", ["g"], ["y"])],
                        [w("w1", 4, 6), w("b1", 6), w("w2", 3, 6), w("b2", 3)])
    yield "mlp", mlp()
    yield "conv_bn_relu", model(
        [n("Conv", ["x", "cw", "cb"], ["c"], group=2, pads=[1, 1, 1, 1]),
         n("BatchNormalization", ["c", "s", "bb", "mu", "var"], ["bn"]),
         n("Relu", ["bn"], ["p"]), n("GlobalAveragePool", ["p"], ["gp"]),
         n("Flatten", ["gp"], ["f"]), n("MatMul", ["f", "fc"], ["y"])],
        [w("cw", 4, 1, 3, 3), w("cb", 4), w("s", 4), w("bb", 4), w("mu", 4), w("var", 4),
         w("fc", 4, 2)])
    yield "convtranspose_sigmoid", model(
        [n("ConvTranspose", ["x", "tw"], ["t"], group=1), n("Sigmoid", ["t"], ["y"])],
        [w("tw", 2, 3, 2, 2)])
    yield "patterns", model(
        [n("MatMul", ["x", "w1"], ["h"]), n("Div", ["h", "sq2"], ["d"]), n("Erf", ["d"], ["e"]),
         n("Add", ["e", "one"], ["e1"]), n("Mul", ["h", "e1"], ["g"]), n("Mul", ["g", "half"], ["gl"]),
         n("MatMul", ["gl", "w2"], ["k"]), n("Sigmoid", ["k"], ["sg"]), n("Mul", ["k", "sg"], ["si"]),
         n("MatMul", ["si", "w3"], ["c"]), n("Clip", ["c", "zero", "six"], ["y"])],
        [w("w1", 4, 4), w("w2", 4, 4), w("w3", 4, 4),
         *(numpy_helper.from_array(np.array(v, np.float32), k) for k, v in
           (("sq2", 1.4142135), ("one", 1.0), ("half", 0.5), ("zero", 0.0), ("six", 6.0)))])
    yield "layernorm_transpose", model(
        [n("Transpose", ["wt"], ["wtt"], perm=[1, 0]), n("MatMul", ["x", "wtt"], ["h"]),
         n("LayerNormalization", ["h", "ls", "lb"], ["l"]), n("LeakyRelu", ["l"], ["y"], alpha=0.2)],
        [w("wt", 5, 4), w("ls", 5), w("lb", 5)])
    yield "constants", as_constants(mlp())
    yield "fp16_cast", model(
        [n("Cast", ["wh"], ["wf"], to=TensorProto.FLOAT), n("MatMul", ["x", "wf"], ["y"])],
        [w("wh", 4, 4, dtype=np.float16)])
    yield "unsqueeze_conv1d", model(
        [n("Unsqueeze", ["w2d", "ax"], ["w3d"]), n("Conv", ["x", "w3d"], ["y"])],
        [w("w2d", 4, 3), numpy_helper.from_array(np.array([2], np.int64), "ax")])
    branch = lambda tag: body([n("Conv", ["x", "bw" + tag], ["o" + tag]),
                               n("Relu", ["o" + tag], ["r" + tag])],
                              [w("bw" + tag, 2, 2, 1, 1)], [], ["r" + tag])
    yield "if_bodies", model(
        [n("If", ["cond"], ["y"], then_branch=branch("t"), else_branch=branch("e"))],
        [], inputs=("x", "cond"))
    outer = body([n("MatMul", ["x", "ow"], ["o"]), n("Tanh", ["o"], ["t"])], [], [], ["t"])
    yield "if_outer_scope", model(
        [n("If", ["cond"], ["y"], then_branch=outer, else_branch=outer)],
        [w("ow", 3, 3)], inputs=("x", "cond"))
    loop = body([n("MatMul", ["s", "lw"], ["m"]), n("Relu", ["m"], ["s2"]),
                 n("Identity", ["c"], ["c2"])],
                [w("lw", 3, 3)], ["i", "c", "s"], ["c2", "s2"])
    yield "loop_body", model(
        [n("Loop", ["trip", "cond", "x"], ["y"], body=loop)], [], inputs=("x", "trip", "cond"))
    # a Loop inside an If branch: its body reads the branch's value 'bt'
    # and the main graph's initializer 'nw' and input 'x' (two levels up)
    inner = body([n("MatMul", ["bt", "nw"], ["m"]), n("Add", ["m", "x"], ["s2"]),
                  n("Identity", ["c"], ["c2"])], [], ["i", "c", "s"], ["c2", "s2"])
    outer_branch = body([n("Relu", ["x"], ["bt"]),
                         n("Loop", ["trip", "cond", "x"], ["lo"], body=inner)], [], [], ["lo"])
    yield "nested_bodies", model(
        [n("If", ["cond"], ["y"], then_branch=outer_branch, else_branch=outer_branch)],
        [w("nw", 3, 3)], inputs=("x", "trip", "cond"))
    yield "lstm", model(
        [n("LSTM", ["x", "W", "R", "B"], ["y"], hidden_size=2)],
        [w("W", 1, 8, 3), w("R", 1, 8, 2), w("B", 1, 16)])
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
    yield "lstm_sliced", model(  # PyTorch's unfolded layout: gates cut and reordered
        [n("Slice", ["wih", "s0", "e0", "ax"], ["p0"]), n("Slice", ["wih", "s1", "e1", "ax"], ["p1"]),
         n("Concat", ["p1", "p0"], ["wc"], axis=0), n("Unsqueeze", ["wc", "ax"], ["W"]),
         n("Concat", ["bih", "bhh"], ["bc"], axis=0), n("Unsqueeze", ["bc", "ax"], ["B"]),
         n("Unsqueeze", ["whh", "ax"], ["R"]),
         n("LSTM", ["x", "W", "R", "B"], ["y"], hidden_size=2)],
        [w("wih", 8, 3), w("whh", 8, 2), w("bih", 8), w("bhh", 8), i64("s0", [0]),
         i64("e0", [4]), i64("s1", [4]), i64("e1", [8]), i64("ax", [0])])
    yield "structural_roles", model(  # class token, positions, RMSNorm, layer scale, PRelu
        [n("Conv", ["x", "wp"], ["p"], strides=[4, 4]), n("Flatten", ["p"], ["pf"], axis=2),
         n("Transpose", ["pf"], ["pt"], perm=[0, 2, 1]), n("Expand", ["cls", "one3"], ["ce"]),
         n("Concat", ["ce", "pt"], ["seq"], axis=1), n("Add", ["seq", "pos"], ["h"]),
         n("Mul", ["h", "h"], ["h2"]), n("ReduceMean", ["h2"], ["ms"], axes=[-1]),
         n("Sqrt", ["ms"], ["rms"]), n("Div", ["h", "rms"], ["hn"]), n("Mul", ["hn", "g"], ["hg"]),
         n("MatMul", ["hg", "wl"], ["l"]), n("Mul", ["l", "gamma"], ["ls"]),
         n("PRelu", ["ls", "slope"], ["y"])],
        [w("wp", 4, 1, 4, 4), w("cls", 1, 1, 4), numpy_helper.from_array(
            np.array([1, 1, 4], np.int64), "one3"), w("pos", 1, 5, 4), w("g", 4), w("wl", 4, 4),
         w("gamma", 4), w("slope", 4)])
    yield "gather_embedding", model(
        [n("Gather", ["emb", "x"], ["e"]), n("Add", ["e", "pos"], ["y"])],
        [w("emb", 10, 4), w("pos", 1, 3, 4)])


def external(loc, offset=0, length=64, dims=(16,)):
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=list(dims))
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", loc), ("offset", str(offset)), ("length", str(length))):
        t.external_data.add(key=k, value=v)
    return model([n("MatMul", ["x", "w"], ["h"]), n("Relu", ["h"], ["y"])], [t])


def regressions():
    """Inputs that once crashed or hung a target, kept under regressions/."""
    # Clip's min from a cycle of Identity nodes: the scalar lookup recursed
    # without end (a loop forever, once compiled with tail calls).
    yield "model", "identity_cycle_scalar.onnx", model(
        [n("MatMul", ["x", "w"], ["h"]), n("Identity", ["b"], ["a"]), n("Identity", ["a"], ["b"]),
         n("Clip", ["h", "a"], ["y"])],
        [numpy_helper.from_array(np.full((4, 4), 0.5, np.float32), "w")])


def write(folder, name, data):
    os.makedirs(os.path.join(SEEDS, folder), exist_ok=True)
    with open(os.path.join(SEEDS, folder, name), "wb") as f:
        f.write(data)


def quantized():
    """Small quantized models of each form (tests/py/quant_models.py)."""
    import sys
    sys.path.insert(0, os.path.join(HERE, "..", "py"))
    from quant_models import hand_models
    keep = {"matmul_integer", "dynamic_quantize_matmul", "nbits8_b16", "nbits4_b32_float",
            "gather_uint8_4bit", "gather_int4", "dequantize_blocked_int4", "shared_scale"}
    return [("q_" + name, m) for name, m, _ in hand_models() if name in keep]


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    built = dict(models())
    for name, m in list(built.items()) + quantized():
        write("model", name + ".onnx", m.SerializeToString())
    for loc in ("w.bin", "sub/w.bin", "fifo", "link", "hard", "dir", "../w.bin", "missing"):
        write("file", loc.replace("/", "_").replace(".", "_") + ".onnx",
              external(loc).SerializeToString())
    write("file", "offset.onnx", external("w.bin", offset=8, length=16, dims=(2, 2)).SerializeToString())
    write("file", "mlp.onnx", built["mlp"].SerializeToString())
    for name, entries, method in (
            ("one.zip", {"a.onnx": "mlp"}, zipfile.ZIP_STORED),
            ("two_deflated.zip", {"a.onnx": "mlp", "sub/b.onnx": "conv_bn_relu"}, zipfile.ZIP_DEFLATED),
            ("traversal.zip", {"../evil.onnx": "mlp", "ok.onnx": "lstm"}, zipfile.ZIP_DEFLATED)):
        path = os.path.join(SEEDS, "zip", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with zipfile.ZipFile(path, "w", method) as z:
            for entry, m in entries.items():
                info = zipfile.ZipInfo(entry, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = method
                z.writestr(info, built[m].SerializeToString())
    write("rules", "every_key.rules",
          b"op=Conv,Gemm activation=Relu role=weight name=*conv* => he_uniform(gain=relu, mode=fan_out)\n"
          b"role=bias => zeros\nop=MatMul => normal(0, 0.02)\nname=fc* => keep\n"
          b"activation=Tanh => xavier_normal(gain=tanh)\nop=Conv => kaiming_normal(fans=pytorch)\n")
    for target, name, m in regressions():
        with open(os.path.join(HERE, "regressions", target, name), "wb") as f:
            f.write(m.SerializeToString())


if __name__ == "__main__":
    main()
