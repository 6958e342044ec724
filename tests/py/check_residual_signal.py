#!/usr/bin/python3
"""Residual branches without normalization keep the signal: apply's
outputs run in ONNX Runtime on N(0, 1) inputs.

- A residual MLP of 50 blocks x + W2 relu(W1 x) (no normalization, as
  norm-free nets and BatchNorm folded into the layers leave them): the
  std of the last sum within [0.5, 2] of the first's; every W2 (the
  branch's last layer) marked one of 50 sums, drawn at std
  1/sqrt(fan_in * 50) (its sample std by the exact chi-square test), the
  W1 not marked. Without the scaling (a rule branch=residual without
  residual=sqrt_depth) the same model's signal grows past 2: the test
  sees what the scaling changes.
- ResNet-style blocks relu(x + conv(relu(conv(x)))) with a projection
  (1x1 conv) on the skip at each change of width: the last sum's output
  within [0.5, 2] of the first activation's; the projections keep He.
- The same network rewritten by ONNX Runtime's optimizer (FusedConv with
  the sum in its Z input): the same layers marked, the same sums.
- Branches with a normalization (pre-LN: x + W2 relu(W1 LN(x))) and sums
  a normalization follows (post-LN: LN(x + F(x))): nothing marked, the
  plan as the rules decide without the scaling.
- check on apply's outputs: no finding (the scaled layers are in its
  envelope); the rules: branch=residual matches those layers,
  branch=none the others, residual= only on variance-scaling schemes.

    check_residual_signal.py ONNX_REINIT
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_inputs import ort_available, ort_optimize, run_ort  # noqa: E402
from results import finish, report  # noqa: E402
from stats import variance_problem  # noqa: E402

TOOL = sys.argv[1]
RNG = np.random.default_rng(5)


def trained(*shape):
    """Trained-looking values: not zero-mean, not the scheme's std."""
    return (RNG.normal(0.02, 0.3, shape)).astype(np.float32)


def save(path, nodes, inits, x_shape, outs, opset=17):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.save(m, path)


def residual_mlp(path, blocks, width=64, norm=None):
    """x + W2 relu(W1 x) per block; norm: 'pre' (LN in the branch) or
    'post' (LN after the sum)."""
    nodes, inits, outs, x = [], {}, [], "x"
    for i in range(blocks):
        inits.update({f"W1_{i}": trained(width, width), f"B1_{i}": trained(width),
                      f"W2_{i}": trained(width, width), f"B2_{i}": trained(width)})
        h = x
        if norm == "pre":
            inits.update({f"g{i}": np.ones(width, np.float32), f"b{i}": np.zeros(width, np.float32)})
            nodes.append(helper.make_node("LayerNormalization", [x, f"g{i}", f"b{i}"], [f"n{i}"]))
            h = f"n{i}"
        nodes += [helper.make_node("Gemm", [h, f"W1_{i}", f"B1_{i}"], [f"h{i}"]),
                  helper.make_node("Relu", [f"h{i}"], [f"r{i}"]),
                  helper.make_node("Gemm", [f"r{i}", f"W2_{i}", f"B2_{i}"], [f"f{i}"]),
                  helper.make_node("Add", [x, f"f{i}"], [f"s{i}"])]
        x = f"s{i}"
        if norm == "post":
            inits.update({f"g{i}": np.ones(width, np.float32), f"b{i}": np.zeros(width, np.float32)})
            nodes.append(helper.make_node("LayerNormalization", [x, f"g{i}", f"b{i}"], [f"p{i}"]))
            x = f"p{i}"
        outs.append(x)
    save(path, nodes, inits, [16, width], outs)


def resnet(path, widths=(16, 32, 64), blocks=3, fused=False):
    """Conv stem, then per width `blocks` blocks relu(s + conv(relu(conv(x)))),
    s the input or, where the width changes, a 1x1 conv of it. fused: the
    second conv, the sum and the ReLU as one com.microsoft FusedConv (the
    sum in its input Z), as ONNX Runtime fuses them."""
    nodes, inits, outs = [], {}, []
    inits["stem"] = trained(widths[0], 3, 3, 3)
    nodes += [helper.make_node("Conv", ["x", "stem"], ["c0"], pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["c0"], ["a0"])]
    x, c_in, k = "a0", widths[0], 0
    outs.append("a0")
    for w in widths:
        for b in range(blocks):
            k += 1
            inits[f"conv{k}a"] = trained(w, c_in, 3, 3)
            inits[f"conv{k}b"] = trained(w, w, 3, 3)
            nodes += [helper.make_node("Conv", [x, f"conv{k}a"], [f"u{k}"], pads=[1, 1, 1, 1]),
                      helper.make_node("Relu", [f"u{k}"], [f"v{k}"])]
            skip = x
            if c_in != w:
                inits[f"proj{k}"] = trained(w, c_in, 1, 1)
                nodes.append(helper.make_node("Conv", [x, f"proj{k}"], [f"q{k}"]))
                skip = f"q{k}"
            if fused:
                inits[f"bias{k}"] = trained(w)
                nodes.append(helper.make_node("FusedConv", [f"v{k}", f"conv{k}b", f"bias{k}", skip],
                                              [f"a{k}"], domain="com.microsoft",
                                              activation="Relu", pads=[1, 1, 1, 1]))
            else:
                nodes += [helper.make_node("Conv", [f"v{k}", f"conv{k}b"], [f"f{k}"],
                                           pads=[1, 1, 1, 1]),
                          helper.make_node("Add", [skip, f"f{k}"], [f"s{k}"]),
                          helper.make_node("Relu", [f"s{k}"], [f"a{k}"])]
            x, c_in = f"a{k}", w
            outs.append(x)
    save(path, nodes, inits, [2, 3, 16, 16], outs)
    if fused:
        m = onnx.load(path)
        m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
        onnx.save(m, path)
    return outs


def plan(path, *args):
    r = subprocess.run([TOOL, "plan", path, "--json", *args], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(r.stderr)
    return {t["name"]: t for t in json.loads(r.stdout)["tensors"]}


def apply(src, dst, *args):
    subprocess.run([TOOL, "apply", src, "-o", dst, "--seed", "11", *args], check=True,
                   capture_output=True)
    return dst


def marked(p):
    return {n: t["residual"]["sums"] for n, t in p.items() if "residual" in t}


def mlp_cases(tmp):
    src = os.path.join(tmp, "mlp.onnx")
    residual_mlp(src, 50)
    p = plan(src)
    want = {f"W2_{i}": 50 for i in range(50)}
    report("residual MLP: every W2 (and no W1) the last layer of one of 50 sums",
           [] if marked(p) == want else [str(sorted(marked(p).items())[:3])])
    out = apply(src, os.path.join(tmp, "mlp_out.onnx"))
    m = onnx.load(out)
    vals = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    problems = []
    for i in (0, 24, 49):
        w = vals[f"W2_{i}"].astype(np.float64).ravel()
        want_std = 1 / np.sqrt(64 * 50)
        if abs(p[f"W2_{i}"]["std"] - want_std) > 1e-8 * want_std:  # 9 digits
            problems.append(f"W2_{i}: plan std {p[f'W2_{i}']['std']}, want {want_std}")
        bad = variance_problem(list(w), want_std, alpha=1e-4)
        if bad:
            problems.append(f"W2_{i}: {bad}")
    report("W2 drawn at std 1/sqrt(fan_in * 50) (exact variance test)", problems)
    got = run_ort(out)
    s = [got[f"s{i}"]["std"] for i in range(50)]
    report(f"50 blocks: last sum's std {s[-1] / s[0]:.3f} x the first's, within [0.5, 2]",
           [] if 0.5 <= s[-1] / s[0] <= 2 else [" ".join(f"{v:.2f}" for v in s[::7])])
    rules = os.path.join(tmp, "unscaled.rules")
    with open(rules, "w") as f:
        f.write("role=weight branch=residual => xavier_uniform\n")
    got = run_ort(apply(src, os.path.join(tmp, "mlp_unscaled.onnx"), "--rules", rules))
    u = [got[f"s{i}"]["std"] for i in range(50)]
    report(f"without the scaling the signal grows: x{u[-1] / u[0]:.1f} after 50 sums",
           [] if u[-1] / u[0] > 2 else [f"{u[-1] / u[0]:.2f}"])
    r = subprocess.run([TOOL, "check", out], capture_output=True, text=True)
    report("check on apply's output: no finding", [] if r.returncode == 0 else [r.stdout[-300:]])
    return src


def resnet_cases(tmp):
    src = os.path.join(tmp, "resnet.onnx")
    outs = resnet(src)
    p = plan(src)
    want = {f"conv{k}b": 9 for k in range(1, 10)}
    proj = [n for n in p if n.startswith("proj")]
    report("ResNet-style: each block's second conv marked one of 9 sums, projections not",
           [] if marked(p) == want and proj and all(p[n]["scheme"] == "he_normal"
                                                    and "residual" not in p[n] for n in proj)
           else [str(marked(p))])
    out = apply(src, os.path.join(tmp, "resnet_out.onnx"))
    got = run_ort(out)
    s = [got[o]["std"] for o in outs]
    report(f"ResNet-style: last activation {s[-1] / s[0]:.3f} x the first, within [0.5, 2]",
           [] if 0.5 <= s[-1] / s[0] <= 2 else [" ".join(f"{v:.2f}" for v in s)])
    opt = ort_optimize(src, os.path.join(tmp, "resnet_ort.onnx"))
    fused = {n.op_type for n in onnx.load(opt).graph.node}
    q = plan(opt)
    report("ONNX Runtime's rewrite (FusedConv): the same layers marked",
           [] if marked(q) == want and "FusedConv" in fused else [str(sorted(fused)), str(marked(q))])
    zsrc = os.path.join(tmp, "resnet_z.onnx")
    zouts = resnet(zsrc, fused=True)
    z = plan(zsrc)
    got = run_ort(apply(zsrc, os.path.join(tmp, "resnet_z_out.onnx")))
    zs = [got[o]["std"] for o in zouts]
    report(f"FusedConv adding the skip in Z: the same layers marked, x{zs[-1] / zs[0]:.3f}",
           [] if marked(z) == want and 0.5 <= zs[-1] / zs[0] <= 2 else [str(marked(z))])
    r = subprocess.run([TOOL, "check", out], capture_output=True, text=True)
    report("check on its output: no finding", [] if r.returncode == 0 else [r.stdout[-300:]])


def normalized_cases(tmp):
    problems = []
    for norm in ("pre", "post"):
        src = os.path.join(tmp, f"{norm}.onnx")
        residual_mlp(src, 6, norm=norm)
        p = plan(src)
        if marked(p):
            problems.append(f"{norm}-LN: {marked(p)}")
        xavier = np.sqrt(2 / (64 + 64))  # W2: no activation after it
        if any(abs(p[f"W2_{i}"]["std"] - xavier) > 1e-8 * xavier for i in range(6)):
            problems.append(f"{norm}-LN: W2 not drawn as Xavier's {xavier}")
    report("pre-LN and post-LN blocks: nothing marked, W2 drawn as Xavier's", problems)


def rules_cases(tmp, src):
    problems = []
    rules = os.path.join(tmp, "r.rules")
    for text, check in (
            ("branch=residual => zeros\n",
             lambda p: all(p[f"W2_{i}"]["scheme"] == "zeros" for i in range(50))
             and p["W1_0"]["scheme"] == "he_normal"),
            ("branch=none role=weight => lecun_normal\n",
             lambda p: p["W1_3"]["scheme"] == "lecun_normal" and "residual" in p["W2_3"]
             and p["W2_3"]["scheme"] != "lecun_normal")):
        with open(rules, "w") as f:
            f.write(text)
        if not check(plan(src, "--rules", rules)):
            problems.append(text.strip())
    for text, want in (("branch=sideways => zeros\n", "unknown branch 'sideways'"),
                       ("role=weight => orthogonal(residual=sqrt_depth)\n",
                        "orthogonal does not take 'residual'")):
        with open(rules, "w") as f:
            f.write(text)
        r = subprocess.run([TOOL, "plan", src, "--rules", rules], capture_output=True, text=True)
        if r.returncode != 2 or want not in r.stderr:
            problems.append(f"{text.strip()}: {r.returncode} {r.stderr.strip()}")
    report("rules: branch=residual and branch=none match; bad values refused", problems)


def main():
    if not ort_available():
        print("ONNX Runtime (tests/ort) is missing", file=sys.stderr)
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        src = mlp_cases(tmp)
        resnet_cases(tmp)
        normalized_cases(tmp)
        rules_cases(tmp, src)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
