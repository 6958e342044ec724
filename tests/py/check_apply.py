#!/usr/bin/python3
"""Every `apply` output of the samples: passes the onnx package's checker,
holds what the plan says (each re-initialized tensor's std within 5
standard errors of the plan's, inside its bounds; every other initializer
byte for byte the input's), and loads and runs in ONNX Runtime with finite
outputs.

    check_apply.py ONNX_REINIT SAMPLES_DIR

Prints one line per problem and 'N passed, N failed'; exits 1 on any.
"""
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_inputs import ort_available, run_ort  # noqa: E402

# ONNX Runtime's CPU provider has no bfloat16 Gemm.
NOT_RUNNABLE = {"mlp_tanh_bf16.onnx": "no bfloat16 Gemm in ONNX Runtime's CPU provider"}
KURT = {"normal": 3.0, "uniform": 1.8, "trunc": 2.3655}


def shape_of(scheme):
    return "uniform" if scheme.endswith("uniform") else \
        "trunc" if "trunc" in scheme else "normal"


def check_tensor(t_in, t_out, item):
    a = numpy_helper.to_array(t_out).astype(np.float64).ravel()
    problems = []
    std = item["std"]
    if item["scheme"] in ("zeros", "ones"):
        want = 0.0 if item["scheme"] == "zeros" else 1.0
        if not np.all(a == want):
            problems.append(f"{item['name']}: not all {want}")
        return problems
    n = a.size
    # the bound rounded to the tensor's dtype may be a little above it
    slack = {"bfloat16": 2 ** -8, "float16": 2 ** -11}.get(item["dtype"], 1e-6)
    if item["bound"] is not None and np.max(np.abs(a)) > item["bound"] * (1 + slack):
        problems.append(f"{item['name']}: |x| up to {np.max(np.abs(a))} beyond {item['bound']}")
    if n >= 50:
        se_var = std * std * math.sqrt((KURT[shape_of(item["scheme"])] - 1) / n)
        var = float(np.mean(a * a))  # mean 0 by the scheme
        if abs(var - std * std) > 5 * se_var + 5 * std * std / math.sqrt(n):
            problems.append(f"{item['name']}: variance {var:.3g}, plan std {std:.3g}")
    return problems


def ort_problems(out, name):
    """Run out in ONNX Runtime (unless sample name cannot be run there, or
    onnxruntime-node is missing): a problem for each output that is not
    finite, or for ONNX Runtime's refusal."""
    if name in NOT_RUNNABLE or not ort_available():
        return []
    try:
        return [f"ONNX Runtime: output {o} not finite"
                for o, r in run_ort(out).items() if not r["finite"]]
    except RuntimeError as e:
        return [f"ONNX Runtime: {e}"]


def check_sample(tool, path, tmp):
    out = os.path.join(tmp, "out.onnx")
    r = subprocess.run([tool, "apply", path, "-o", out, "--seed", "3", "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return [f"apply failed: {r.stderr.strip()}"]
    plan = {t["name"]: t for t in json.loads(r.stdout)["tensors"]}
    problems = []
    try:
        onnx.checker.check_model(out, full_check=True)
    except Exception as e:  # the checker's own exception types vary
        problems.append(f"checker: {e}")
    before = {t.name: t for t in onnx.load(path).graph.initializer}
    for t in onnx.load(out).graph.initializer:
        if t.name in plan:
            problems += check_tensor(before[t.name], t, plan[t.name])
        elif t.SerializeToString() != before[t.name].SerializeToString():
            problems.append(f"{t.name}: changed but not in the plan")
    name = os.path.basename(path)
    if name in NOT_RUNNABLE or not ort_available():
        print(f"note: {name} not run in ONNX Runtime: "
              f"{NOT_RUNNABLE.get(name, 'onnxruntime-node not installed')}")
    return problems + ort_problems(out, name)


def plumbing_model(path):
    """Weights behind the ops exporters put between a weight and its layer:
    a Conv1d weight stored flat and Reshaped, one stored 2-D and
    Unsqueezed (axes as an input, opset 13), and a float16 Gemm weight
    with a leading 1 Squeezed away and Cast to float."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(5)
    f = lambda name, *shape, dt=np.float32: numpy_helper.from_array(
        rng.standard_normal(shape).astype(dt), name)
    i = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
    n = helper.make_node
    nodes = [n("Reshape", ["W1f", "s1"], ["W1"]), n("Conv", ["X", "W1", "b1"], ["c1"], pads=[1, 1]),
             n("Relu", ["c1"], ["r1"]),
             n("Unsqueeze", ["W2s", "ax2"], ["W2"]), n("Conv", ["r1", "W2"], ["c2"]),
             n("Sigmoid", ["c2"], ["s2"]), n("GlobalAveragePool", ["s2"], ["p"]),
             n("Flatten", ["p"], ["fl"]),
             n("Squeeze", ["W3h", "ax3"], ["W3q"]), n("Cast", ["W3q"], ["W3"], to=TensorProto.FLOAT),
             n("Gemm", ["fl", "W3", "b3"], ["g"], transB=1), n("Tanh", ["g"], ["Y"])]
    inits = [f("W1f", 8, 12), i("s1", [8, 4, 3]), f("b1", 8), f("W2s", 8, 8), i("ax2", [2]),
             f("W3h", 1, 8, 8, dt=np.float16), i("ax3", [0]), f("b3", 8)]
    g = helper.make_graph(nodes, "plumbing",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4, 16])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 8])],
                          initializer=inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def check_plumbing(tool, tmp):
    path = os.path.join(tmp, "plumbing.onnx")
    plumbing_model(path)
    r = subprocess.run([tool, "plan", path, "--json"], capture_output=True, text=True)
    plan = {t["name"]: t for t in json.loads(r.stdout)["tensors"]}
    want = {"W1f": ("he_normal", 12, 24), "W2s": ("xavier_uniform", 8, 8),
            "W3h": ("xavier_uniform", 8, 8)}
    problems = [f"{k}: {plan.get(k, {}).get('scheme')} {plan.get(k, {}).get('fan_in')}/"
                f"{plan.get(k, {}).get('fan_out')}, want {v}" for k, v in want.items()
                if (plan.get(k, {}).get("scheme"), plan.get(k, {}).get("fan_in"),
                    plan.get(k, {}).get("fan_out")) != v]
    return problems + check_sample(tool, path, tmp)


def as_constants(m):
    """Model m with every initializer of its main graph turned into a
    Constant node (the tensor its `value`, the output its name), as
    paddle2onnx and spox write weights."""
    from onnx import helper
    consts = [helper.make_node("Constant", [], [t.name], value=t) for t in m.graph.initializer]
    nodes = consts + list(m.graph.node)
    del m.graph.initializer[:]
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    return m


PLAN_FIELDS = ("op", "role", "activation", "path", "scheme", "fan_in", "fan_out", "gain",
               "std", "bound", "dtype", "shape")


def constant_values(path):
    return {n.output[0]: n.attribute[0].t for n in onnx.load(path).graph.node
            if n.op_type == "Constant"}


def check_constants(tool, path, tmp):
    """The sample with Constant nodes for initializers: the same plan
    (only the storage differs), the same values from the same seed, every
    other Constant byte for byte, checker and ONNX Runtime as for the
    sample."""
    const = os.path.join(tmp, "const_" + os.path.basename(path))
    onnx.save(as_constants(onnx.load(path)), const)
    plans = [json.loads(subprocess.run([tool, "plan", p, "--json"], capture_output=True,
                                       text=True, check=True).stdout) for p in (path, const)]
    items = [{t["name"]: {k: t.get(k) for k in PLAN_FIELDS} for t in p["tensors"]}
             for p in plans]
    problems = [] if items[0] == items[1] and items[0] else \
        [f"plans differ: {sorted(set(items[0]) ^ set(items[1])) or 'in their fields'}"]
    for p, storage in zip(plans, ("initializer", "constant")):
        if any((t["graph"], t["storage"]) != ("main", storage) for t in p["tensors"]):
            problems.append(f"not all tensors say graph main, storage {storage}")
    outs = [os.path.join(tmp, "plain_out.onnx"), os.path.join(tmp, "const_out.onnx")]
    for src, out in zip((path, const), outs):
        r = subprocess.run([tool, "apply", src, "-o", out, "--seed", "3"], capture_output=True,
                           text=True)
        if r.returncode != 0:
            return problems + [f"apply {src}: {r.stderr.strip()}"]
    plain = {t.name: t for t in onnx.load(outs[0]).graph.initializer}
    before, after = constant_values(const), constant_values(outs[1])
    for name, t in after.items():
        if name in items[1]:
            if not np.array_equal(numpy_helper.to_array(t), numpy_helper.to_array(plain[name])):
                problems.append(f"{name}: other values than the initializer's from the same seed")
        elif t.SerializeToString() != before[name].SerializeToString():
            problems.append(f"{name}: changed but not in the plan")
    try:
        onnx.checker.check_model(outs[1], full_check=True)
    except Exception as e:  # the checker's own exception types vary
        problems.append(f"checker: {e}")
    return problems + ort_problems(outs[1], os.path.basename(path))


BUS_LINE = ("onnx-reinit: a file in use was truncated or could not be read or written "
            "(SIGBUS); the output in progress was discarded\n")


def bus_error(tool, tmp):
    """Files are mapped, so an input truncated under apply raises SIGBUS:
    one line, exit 2, nothing written. The signal is sent while apply waits
    on its standard input (a truncation is a race to provoke)."""
    out = os.path.join(tmp, "bus", "out.onnx")
    os.makedirs(os.path.dirname(out))
    p = subprocess.Popen([tool, "apply", "-", "-o", out], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.3)
    p.send_signal(signal.SIGBUS)
    _, err = p.communicate(timeout=30)
    problems = []
    if p.returncode != 2:
        problems.append(f"exit status {p.returncode}, not 2")
    if err.decode() != BUS_LINE:
        problems.append(f"stderr {err.decode()!r}")
    if os.listdir(os.path.dirname(out)):
        problems.append(f"left {os.listdir(os.path.dirname(out))}")
    return problems


def main():
    tool, samples = sys.argv[1], sys.argv[2]
    if os.environ.get("CI") and not ort_available():
        print("FAIL: onnxruntime-node is not installed in tests/ort (run .ci/install-deps)")
        return 1
    results = []  # (what, problems)
    with tempfile.TemporaryDirectory() as tmp:
        for f in sorted(os.listdir(samples)):
            if f.endswith(".onnx"):
                results.append((f, check_sample(tool, os.path.join(samples, f), tmp)))
                results.append((f + " with Constant nodes for initializers",
                                check_constants(tool, os.path.join(samples, f), tmp)))
        results.append(("weights behind Reshape, Unsqueeze, Squeeze and Cast",
                        check_plumbing(tool, tmp)))
        results.append(("SIGBUS under apply", bus_error(tool, tmp)))
    failed = [(what, problems) for what, problems in results if problems]
    for what, problems in failed:
        print(f"FAIL {what}: " + "; ".join(problems))
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed or len(results) < 2 else 0


if __name__ == "__main__":
    sys.exit(main())
