#!/usr/bin/python3
"""ONNX Runtime's contrib operators its session optimizer does not write,
in graphs built here after its docs/ContribOperators.md: Attention (its
packed Q, K, V weight, with and without qkv_hidden_sizes),
MultiHeadAttention, EmbedLayerNormalization, SkipSimplifiedLayer-
Normalization, GroupQueryAttention with rotary caches and RotaryEmbedding,
FastGelu, BiasGelu, QuickGelu, FusedConv with a sum input and its
activations, and NCHWc's Conv (level all). For each:

- the plan gives every tensor the role and scheme written here by hand;
- ONNX Runtime runs the model before and after apply, with finite outputs;
- every re-initialized tensor, and each block of a packed one (its
  columns), has its scheme's variance (the exact chi-square test of
  tests/py/stats.py) or its constant; caches, masks and every tensor left
  alone are byte for byte the input's.

    check_contrib_ops.py ONNX_REINIT
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_inputs import ort_available, run_ort  # noqa: E402
from results import finish, report  # noqa: E402
from stats import variance_problem  # noqa: E402

RNG = np.random.default_rng(7)
MS = "com.microsoft"


def f32(name, shape, scale=0.5):
    """A trained-looking float tensor."""
    return numpy_helper.from_array(
        (RNG.standard_normal(shape) * scale + 0.1).astype(np.float32), name)


def ints(name, values, dtype=np.int32):
    return numpy_helper.from_array(np.array(values, dtype=dtype), name)


def node(op, inputs, outputs, domain="", **attrs):
    return helper.make_node(op, list(inputs), list(outputs), domain=domain, **attrs)


def model(nodes, inits, inputs, output="Y", domains=(MS,)):
    g = helper.make_graph(nodes, "g", inputs,
                          [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
                          initializer=inits)
    sets = [helper.make_opsetid("", 17)] + [helper.make_opsetid(d, 1) for d in domains]
    return helper.make_model(g, opset_imports=sets)


def x_input(shape, name="X"):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


XU = lambda fi, fo: dict(role="weight", scheme="xavier_uniform", fan_in=fi, fan_out=fo)
HE = lambda act: dict(role="weight", scheme="he_normal", activation=act)
ZEROS = dict(role="bias", scheme="zeros")
KEPT = dict(kept=True)


def attention_cases():
    for sizes, width in ((None, 48), ([16, 16, 8], 40)):
        attrs = {"num_heads": 2}
        if sizes:
            attrs["qkv_hidden_sizes"] = sizes
        v = sizes[2] if sizes else 16
        yield (f"Attention, packed Q, K, V {sizes or 'a third each'}", model(
            [node("Attention", ["X", "W", "B", "", "", "abias"], ["a"], MS, **attrs),
             node("MatMul", ["a", "Wo"], ["Y"])],
            [f32("W", [16, width]), f32("B", [width]), f32("abias", [1, 2, 4, 4]),
             f32("Wo", [v, 8])], [x_input([1, 4, 16])]),
            {"W": dict(role="weight", scheme="xavier_uniform", blocks=3),
             "B": ZEROS, "abias": KEPT, "Wo": XU(v, 8)})
    yield "MultiHeadAttention: projections before it, its packed bias", model(
        [node("MatMul", ["X", "Wq"], ["q"]), node("MatMul", ["X", "Wk"], ["k"]),
         node("MatMul", ["X", "Wv"], ["v"]),
         node("MultiHeadAttention", ["q", "k", "v", "B", "", "abias"], ["a"], MS,
              num_heads=2),
         node("MatMul", ["a", "Wo"], ["Y"])],
        [f32("Wq", [16, 16]), f32("Wk", [16, 16]), f32("Wv", [16, 16]), f32("B", [48]),
         f32("abias", [1, 2, 4, 4]), f32("Wo", [16, 8])], [x_input([1, 4, 16])]), \
        {"Wq": XU(16, 16), "Wk": XU(16, 16), "Wv": XU(16, 16), "B": dict(role="bias",
                                                                          scheme="zeros"),
         "abias": KEPT, "Wo": XU(16, 8)}


def norm_cases():
    ids = lambda n: helper.make_tensor_value_info(n, TensorProto.INT32, [1, 4])
    yield "EmbedLayerNormalization: word, position and segment tables", model(
        [node("EmbedLayerNormalization", ["ids", "seg", "word", "pos", "segemb", "gamma",
                                          "beta"], ["e", "mask_index"], MS, epsilon=1e-5),
         node("MatMul", ["e", "W"], ["Y"])],
        [f32("word", [30, 16]), f32("pos", [8, 16]), f32("segemb", [2, 16]),
         f32("gamma", [16]), f32("beta", [16]), f32("W", [16, 8])], [ids("ids"), ids("seg")]), \
        {"word": dict(role="embedding", scheme="normal"),
         "pos": dict(role="position", scheme="trunc_normal"),
         "segemb": dict(role="embedding", scheme="normal"),
         "gamma": dict(role="norm_scale", scheme="ones"),
         "beta": dict(role="norm_bias", scheme="zeros"), "W": XU(16, 8)}
    yield "SkipSimplifiedLayerNormalization: the layer's bias folded in", model(
        [node("MatMul", ["X", "W1"], ["m"]),
         node("SkipSimplifiedLayerNormalization", ["m", "X", "gamma", "b1"], ["n"], MS),
         node("MatMul", ["n", "W2"], ["Y"])],
        [f32("W1", [16, 16]), f32("gamma", [16]), f32("b1", [16]), f32("W2", [16, 8])],
        [x_input([1, 4, 16])]), \
        {"W1": XU(16, 16), "b1": ZEROS, "gamma": dict(role="norm_scale", scheme="ones"),
         "W2": XU(16, 8)}


def rotary_cases():
    half = 8  # head size 16, as ONNX Runtime's kernels want
    cache = lambda n: f32(n, [8, half])
    yield "GroupQueryAttention with rotary caches", model(
        [node("MatMul", ["X", "Wq"], ["q"]), node("MatMul", ["X", "Wk"], ["k"]),
         node("MatMul", ["X", "Wv"], ["v"]),
         node("GroupQueryAttention", ["q", "k", "v", "", "", "seqlens", "total", "cos",
                                      "sin"], ["a"], MS, num_heads=2, kv_num_heads=1,
              do_rotary=1),
         node("MatMul", ["a", "Wo"], ["Y"])],
        [f32("Wq", [32, 32]), f32("Wk", [32, 16]), f32("Wv", [32, 16]), ints("seqlens", [3]),
         ints("total", 4), cache("cos"), cache("sin"), f32("Wo", [32, 8])],
        [x_input([1, 4, 32])]), \
        {"Wq": XU(32, 32), "Wk": XU(32, 16), "Wv": XU(32, 16), "cos": KEPT, "sin": KEPT,
         "Wo": XU(32, 8)}
    yield "RotaryEmbedding: its caches are buffers", model(
        [node("MatMul", ["X", "Wq"], ["q"]),
         node("RotaryEmbedding", ["q", "pos", "cos", "sin"], ["r"], MS, num_heads=2),
         node("MatMul", ["r", "Wo"], ["Y"])],
        [f32("Wq", [32, 32]), ints("pos", [[0, 1, 2, 3]], np.int64), cache("cos"),
         cache("sin"), f32("Wo", [32, 8])], [x_input([1, 4, 32])]), \
        {"Wq": XU(32, 32), "cos": KEPT, "sin": KEPT, "Wo": XU(32, 8)}


def activation_cases():
    for op in ("FastGelu", "BiasGelu"):
        yield f"{op}: GELU, the layer's bias folded in", model(
            [node("MatMul", ["X", "W"], ["m"]), node(op, ["m", "b"], ["g"], MS),
             node("MatMul", ["g", "W2"], ["Y"])],
            [f32("W", [16, 32]), f32("b", [32]), f32("W2", [32, 8])], [x_input([2, 16])]), \
            {"W": HE("Gelu"), "b": ZEROS, "W2": XU(32, 8)}
    for alpha, act in ((1.0, "Silu"), (1.702, "Gelu")):
        yield f"QuickGelu alpha {alpha}: {act}", model(
            [node("MatMul", ["X", "W"], ["m"]), node("QuickGelu", ["m"], ["g"], MS, alpha=alpha),
             node("MatMul", ["g", "W2"], ["Y"])],
            [f32("W", [16, 32]), f32("W2", [32, 8])], [x_input([2, 16])]), \
            {"W": HE(act)}


def fused_conv_cases():
    convs = [("Relu", [], "Relu"), ("LeakyRelu", [0.2], "LeakyRelu"),
             ("Clip", [0.0, 6.0], "Relu6"), ("Clip", [-1.0, 1.0], "Clip"),
             ("Sigmoid", [], "Sigmoid")]
    for act, params, name in convs:
        attrs = {"activation": act}
        if params:
            attrs["activation_params"] = params
        want = {"W": dict(role="weight", activation=name,
                          scheme="he_normal" if name not in ("Clip", "Sigmoid")
                          else "xavier_uniform", fan_in=36, fan_out=72),
                "B": ZEROS}
        if name == "LeakyRelu":
            want["W"]["gain"] = math.sqrt(2 / 1.04)
        yield f"FusedConv, activation {act} {params}, a sum input", model(
            [node("FusedConv", ["X", "W", "B", "Z"], ["Y"], MS, pads=[1, 1, 1, 1], **attrs)],
            [f32("W", [8, 4, 3, 3]), f32("B", [8])],
            [x_input([1, 4, 6, 6]), x_input([1, 8, 6, 6], "Z")]), want


def nchwc_case():
    """Level all's layout: the weight is listed as kept, never guessed
    (not run: the layout needs ONNX Runtime's own reordering)."""
    return "NCHWc Conv: a layout-specific weight is kept", model(
        [node("Conv", ["X", "W", "B"], ["Y"], "com.microsoft.nchwc")],
        [f32("W", [16, 8, 3, 3]), f32("B", [16])], [x_input([1, 8, 6, 6])],
        domains=(MS, "com.microsoft.nchwc")), \
        {"W": dict(kept=True, reason="NCHWc"), "B": dict(kept=True, reason="NCHWc")}


def block_values(array, block):
    """A block's values: rows of cols elements, stride apart."""
    flat = array.ravel()
    rows = [flat[block["first"] + r * block.get("stride", block["shape"][1]):][
        :block["shape"][1]] for r in range(block["shape"][0])]
    return np.concatenate(rows)


def value_problems(name, before, after, item):
    """The new values of a tensor (or its blocks) against its scheme."""
    if item.get("blocks"):
        parts = [(f"{name} block {b['gate']}", block_values(after, b), b)
                 for b in item["blocks"]]
    else:
        parts = [(name, after.ravel(), item)]
    problems = []
    for title, values, it in parts:
        values = values.astype(np.float64)
        if it["scheme"] in ("zeros", "ones", "constant"):
            want = {"zeros": 0.0, "ones": 1.0}.get(it["scheme"], it.get("value"))
            if not np.all(values == want):
                problems.append(f"{title}: not all {want}")
            continue
        bad = variance_problem(values.tolist(), it["std"])
        if bad:
            problems.append(f"{title}: {bad}")
        if it.get("bound") is not None and np.max(np.abs(values)) > it["bound"] * (1 + 1e-6):
            problems.append(f"{title}: beyond its bound")
    if np.all(before == after):
        problems.append(f"{name}: unchanged")
    return problems


def expect_problems(plan, expect):
    items = {t["name"]: t for t in plan["tensors"]}
    skipped = {s["name"]: s["reason"] for s in plan["skipped"]}
    problems = []
    for name, want in expect.items():
        if want.get("kept"):
            if name in items:
                problems.append(f"{name}: planned, not kept")
            elif want.get("reason") and want["reason"] not in skipped.get(name, ""):
                problems.append(f"{name}: kept for '{skipped.get(name)}'")
            continue
        got = items.get(name)
        if got is None:
            problems.append(f"{name}: not planned ({skipped.get(name)})")
            continue
        for k, v in want.items():
            have = len(got.get("blocks") or []) if k == "blocks" else got.get(k)
            if (k == "gain" and not math.isclose(have or 0, v, rel_tol=1e-9)) or \
                    (k != "gain" and have != v):
                problems.append(f"{name}: {k} {have!r}, want {v!r}")
    return problems


def run_case(tool, tmp, m, expect, runnable=True):
    path, out = os.path.join(tmp, "m.onnx"), os.path.join(tmp, "out.onnx")
    onnx.save(m, path)
    r = subprocess.run([tool, "apply", path, "-o", out, "--seed", "3", "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return [f"apply: {r.stderr.strip()}"]
    plan = json.loads(r.stdout)
    problems = expect_problems(plan, expect)
    items = {t["name"]: t for t in plan["tensors"]}
    after = {t.name: t for t in onnx.load(out).graph.initializer}
    for t in m.graph.initializer:
        if t.name in items:
            problems += value_problems(t.name, numpy_helper.to_array(t),
                                       numpy_helper.to_array(after[t.name]), items[t.name])
        elif t.SerializeToString() != after[t.name].SerializeToString():
            problems.append(f"{t.name}: changed, not in the plan")
    for p, when in ((path, "before"), (out, "after")):
        if not runnable or not ort_available():
            break
        try:
            problems += [f"ONNX Runtime {when}: {o} not finite"
                         for o, v in run_ort(p).items() if not v["finite"]]
        except RuntimeError as e:
            problems.append(f"ONNX Runtime {when}: {e}")
    return problems


def main():
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        for cases in (attention_cases, norm_cases, rotary_cases, activation_cases,
                      fused_conv_cases):
            for title, m, expect in cases():
                report(title, run_case(tool, tmp, m, expect))
        title, m, expect = nchwc_case()
        report(title, run_case(tool, tmp, m, expect, runnable=False))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
