#!/usr/bin/python3
"""Max pools and gates between layers, undone by the next layer's draw
(gains=undo in the default policy), measured in ONNX Runtime.

- The factor a max pool of rectified values puts on the second moment,
  against an independent computation: k independent values (after a 1x1
  convolution) by numerical integration; correlated ones (after a 3x3
  convolution of stride 1: correlation (2/3)^2 between any two) by Monte
  Carlo over 4 million draws of the equicorrelated model.
- A squeeze-and-excite gate (x times sigmoid(conv(pool(x)))): the layer
  after it drawn for 1/4.
- A layer a normalization follows, and the logits: not changed.
- A VGG-style CNN without normalization (conv, ReLU, conv, ReLU, 3x3 max
  pool of stride 2, three times): after apply, the last activation's std within
  [0.5, 2] of the first's in ONNX Runtime; with gains=none the pools'
  growth shows (past 2).

    check_gains_signal.py ONNX_REINIT
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

TOOL = sys.argv[1]
RNG = np.random.default_rng(3)


def trained(*shape):
    return RNG.normal(0.01, 0.2, shape).astype(np.float32)


def save(path, nodes, inits, x_shape, outs):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)


def plan(path, *args):
    r = subprocess.run([TOOL, "plan", path, "--json", *args], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(r.stderr)
    return {t["name"]: t for t in json.loads(r.stdout)["tensors"]}


def pool_model(path, kernel, pool, norm=False):
    """conv (kernel) > ReLU > max pool > conv > ReLU > conv (logits)."""
    inits = {"a": trained(16, 8, kernel, kernel), "b": trained(16, 16, 3, 3),
             "c": trained(4, 16, 1, 1)}
    pad = (kernel - 1) // 2
    nodes = [helper.make_node("Conv", ["x", "a"], ["ca"], pads=[pad] * 4),
             helper.make_node("Relu", ["ca"], ["ra"]),
             helper.make_node("MaxPool", ["ra"], ["p"], kernel_shape=[pool, pool],
                              strides=[pool, pool]),
             helper.make_node("Conv", ["p", "b"], ["cb"], pads=[1, 1, 1, 1])]
    x = "cb"
    if norm:
        inits.update({"s": np.ones(16, np.float32), "o": np.zeros(16, np.float32),
                      "m": np.zeros(16, np.float32), "v": np.ones(16, np.float32)})
        nodes.append(helper.make_node("BatchNormalization", ["cb", "s", "o", "m", "v"], ["nb"]))
        x = "nb"
    nodes += [helper.make_node("Relu", [x], ["rb"]),
              helper.make_node("MaxPool", ["rb"], ["q"], kernel_shape=[2, 2], strides=[2, 2]),
              helper.make_node("Conv", ["q", "c"], ["y"])]
    save(path, nodes, inits, [1, 8, 16, 16], ["y"])


def independent_gain(k):
    """E[max(0, max of k iid N(0, 1))^2] / (1/2) by the trapezoid rule."""
    m = np.linspace(0, 12, 200001)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(m / math.sqrt(2)))
    return np.trapz(2 * m * (1 - cdf ** k), m) / 0.5


def monte_carlo_gain(k, rho, n=4_000_000):
    rng = np.random.default_rng(11)
    z0 = rng.standard_normal(n)
    best = np.full(n, -np.inf)
    for _ in range(k):
        best = np.maximum(best, rng.standard_normal(n))
    top = math.sqrt(rho) * z0 + math.sqrt(1 - rho) * best
    return float(np.mean(np.maximum(top, 0) ** 2) / 0.5)


def factor_cases(tmp):
    problems = []
    for kernel, pool, want in ((1, 3, lambda: independent_gain(9)),
                               (1, 2, lambda: independent_gain(4)),
                               (3, 2, lambda: monte_carlo_gain(4, (2 / 3) ** 2))):
        path = os.path.join(tmp, f"pool{kernel}{pool}.onnx")
        pool_model(path, kernel, pool)
        p = plan(path)
        got, w = p["b"].get("input_gain"), want()
        if got is None or abs(got / w - 1) > 0.01:
            problems.append(f"conv {kernel}x{kernel}, pool {pool}x{pool}: {got} vs {w:.4f}")
        he = math.sqrt(2 / (16 * 9))
        if got and abs(p["b"]["std"] - he / math.sqrt(got)) > 1e-6 * he:
            problems.append(f"std {p['b']['std']} vs {he / math.sqrt(got)}")
        if "input_gain" in p["c"]:
            problems.append("the logits changed")
    report("a max pool's factor: by integration (independent) and Monte Carlo (rho 4/9)",
           problems)
    path = os.path.join(tmp, "pool_norm.onnx")
    pool_model(path, 1, 3, norm=True)
    p = plan(path)
    report("a layer a normalization follows: not changed",
           [] if "input_gain" not in p["b"] else [str(p["b"])])


def gate_case(tmp):
    inits = {"a": trained(16, 8, 3, 3), "s1": trained(4, 16, 1, 1), "s2": trained(16, 4, 1, 1),
             "b": trained(16, 16, 1, 1), "c": trained(4, 16, 1, 1)}
    nodes = [helper.make_node("Conv", ["x", "a"], ["ca"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["ca"], ["ra"]),
             helper.make_node("GlobalAveragePool", ["ra"], ["g"]),
             helper.make_node("Conv", ["g", "s1"], ["g1"]),
             helper.make_node("Relu", ["g1"], ["g2"]),
             helper.make_node("Conv", ["g2", "s2"], ["g3"]),
             helper.make_node("Sigmoid", ["g3"], ["gate"]),
             helper.make_node("Mul", ["ra", "gate"], ["se"]),
             helper.make_node("Conv", ["se", "b"], ["cb"]),
             helper.make_node("Relu", ["cb"], ["rb"]),
             helper.make_node("Conv", ["rb", "c"], ["y"])]
    path = os.path.join(tmp, "se.onnx")
    save(path, nodes, inits, [1, 8, 8, 8], ["y"])
    p = plan(path)
    report("a squeeze-and-excite gate: the layer after it drawn for 1/4",
           [] if p["b"].get("input_gain") == 0.25 and "input_gain" not in p["s1"]
           else [str({k: p[k].get("input_gain") for k in p})])


def vgg(path):
    nodes, inits, outs, x, c = [], {}, [], "x", 3
    for stage, w in enumerate((16, 32, 64)):
        for j in range(2):
            name = f"conv{stage}{j}"
            inits[name] = trained(w, c, 3, 3)
            nodes += [helper.make_node("Conv", [x, name], [f"{name}_o"], pads=[1, 1, 1, 1]),
                      helper.make_node("Relu", [f"{name}_o"], [f"{name}_r"])]
            x, c = f"{name}_r", w
            outs.append(x)
        nodes.append(helper.make_node("MaxPool", [x], [f"pool{stage}"], kernel_shape=[3, 3],
                                      strides=[2, 2], pads=[1, 1, 1, 1]))
        x = f"pool{stage}"
    save(path, nodes, inits, [2, 3, 32, 32], outs)
    return outs


def vgg_case(tmp):
    src = os.path.join(tmp, "vgg.onnx")
    outs = vgg(src)
    ratios = {}
    rules = os.path.join(tmp, "none.rules")
    with open(rules, "w") as f:
        f.write("role=weight activation=Relu => he_normal(gain=relu)\n")
    for label, args in (("undo", []), ("none", ["--rules", rules])):
        out = os.path.join(tmp, f"vgg_{label}.onnx")
        subprocess.run([TOOL, "apply", src, "-o", out, "--seed", "5", *args], check=True,
                       capture_output=True)
        got = run_ort(out)
        s = [got[o]["std"] for o in outs]
        ratios[label] = s[-1] / s[0]
    report(f"VGG-style CNN: x{ratios['undo']:.2f} end to end (x{ratios['none']:.2f} "
           "without undoing the pools)",
           [] if 0.5 <= ratios["undo"] <= 2 and ratios["none"] > 2 else [str(ratios)])


def main():
    if not ort_available():
        print("ONNX Runtime (tests/ort) is missing", file=sys.stderr)
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        factor_cases(tmp)
        gate_case(tmp)
        vgg_case(tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
