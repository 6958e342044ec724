#!/usr/bin/python3
"""check --run: the signal measured by running the model in ONNX Runtime
(the library inside the onnxruntime-node package the tests install,
named by ORX_ONNXRUNTIME), beside the predicted one.

- A 30-layer ReLU MLP at N(0, 0.01): its layers flagged vanishing via
  run; the same at N(0, 1): exploding via run; apply's output of either:
  no finding via run.
- Each layer's measured std against an independent reading: the same
  model with the layers' outputs as graph outputs, run by
  onnxruntime-node (tests/ort/run.js, other N(0, 1) inputs) within 10%
  (10 layers of 512 units, 64 rows).
- Measured beside predicted within 25% per layer on plain chains (ReLU
  and LeakyReLU MLPs of 10 layers of 512 units after apply: their
  factor, 1/2 and (1 + a^2)/2, holds at any scale; tanh's 1 holds only
  near 0, and the measurement shows the decay the prediction misses).
- plot --signal --run marks each layer's measured scale beside the
  predicted line, within 25% on the same chain.
- Without ONNX Runtime (ORX_ONNXRUNTIME naming a missing file, or none
  found): one line saying how to point to it, exit 2.
- Python: check(model, run=True) gives the same measured list (not with
  a sanitized library, which Python cannot load).

    check_run.py ONNX_REINIT
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ort_inputs import ort_available, run_ort  # noqa: E402
from results import finish, report  # noqa: E402

TOOL = sys.argv[1]
ORT_LIB = os.path.join(HERE, "..", "ort", "node_modules", "onnxruntime-node", "bin", "napi-v6",
                       "linux", "x64", "libonnxruntime.so.1")
LAYERS, WIDTH = 30, 64


def mlp(path, std, act="Relu", seed=0, layers=LAYERS, width=WIDTH, batch="batch"):
    rng = np.random.default_rng(seed)
    nodes, inits, x = [], [], "x"
    for i in range(layers):
        inits += [numpy_helper.from_array(rng.normal(0, std, (width, width)).astype(np.float32),
                                          f"fc{i}.weight"),
                  numpy_helper.from_array(np.zeros(width, np.float32), f"fc{i}.bias")]
        nodes += [helper.make_node("Gemm", [x, f"fc{i}.weight", f"fc{i}.bias"], [f"h{i}"],
                                   transB=1),
                  helper.make_node(act, [f"h{i}"], [f"a{i}"])]
        x = f"a{i}"
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                       [batch, width])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)


def check(path, *args, env=None):
    r = subprocess.run([TOOL, "check", path, "--run", "--json", *args], capture_output=True,
                       text=True, env={**os.environ, "ORX_ONNXRUNTIME": ORT_LIB, **(env or {})})
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


def via_run(doc, problem):
    return [f["name"] for f in doc["findings"] if f["via"] == "run" and f["problem"] == problem]


def independent(path, tmp, layers):
    """The layers' outputs' stds as onnxruntime-node measures them (its
    own N(0, 1) inputs)."""
    m = onnx.load(path)
    for i in range(layers):
        m.graph.output.append(helper.make_tensor_value_info(f"h{i}", TensorProto.FLOAT, None))
    p = os.path.join(tmp, "outs.onnx")
    onnx.save(m, p)
    got = run_ort(p)
    return [got[f"h{i}"]["std"] for i in range(layers)]


def main():
    if not ort_available():
        print("ONNX Runtime (tests/ort) is missing", file=sys.stderr)
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        small, big = os.path.join(tmp, "small.onnx"), os.path.join(tmp, "big.onnx")
        mlp(small, 0.01)
        mlp(big, 1.0)
        r, doc = check(small)
        names = via_run(doc, "vanishing") if doc else []
        report(f"N(0, 0.01): {len(names)} layers vanishing via run, exit 1",
               [] if r.returncode == 1 and len(names) >= LAYERS - 3 else [r.stderr])
        r, doc = check(big)
        names = via_run(doc, "exploding") if doc else []
        report(f"N(0, 1): {len(names)} layers exploding via run, exit 1",
               [] if r.returncode == 1 and len(names) >= LAYERS - 3 else [r.stderr])
        problems = []
        for src in (small, big):
            out = src + ".reinit.onnx"
            subprocess.run([TOOL, "apply", src, "-o", out], check=True, capture_output=True)
            r, doc = check(out)
            if r.returncode != 0 or any(f["via"] == "run" for f in doc["findings"]):
                problems.append(f"{os.path.basename(src)}: {r.returncode} {r.stdout[-200:]}")
        report("apply's outputs: nothing via run, exit 0", problems)

        # 10 layers of 512 units, 64 rows: a layer's gain strays from its
        # expectation by about 6% in variance, so the chains stay close
        wide = os.path.join(tmp, "wide.onnx")
        mlp(wide, 0.3, layers=10, width=512, batch=64)
        subprocess.run([TOOL, "apply", wide, "-o", wide + ".out"], check=True,
                       capture_output=True)
        r, doc = check(wide + ".out")
        measured = [m["std"] for m in doc["measured"]]
        theirs = independent(wide + ".out", tmp, 10)
        off = [f"{i}: {a:.3f} vs {b:.3f}" for i, (a, b) in enumerate(zip(measured, theirs))
               if abs(a / b - 1) > 0.10]
        report("measured stds agree with onnxruntime-node's within 10%",
               off if len(measured) == 10 else [f"{len(measured)} measured"])
        problems = []
        for act in ("Relu", "LeakyRelu"):
            src = os.path.join(tmp, f"{act}.onnx")
            mlp(src, 0.3, act=act, seed=1, layers=10, width=512, batch=64)
            subprocess.run([TOOL, "apply", src, "-o", src + ".out"], check=True,
                           capture_output=True)
            r, doc = check(src + ".out")
            for m in doc["measured"]:
                if m["predicted"] is None or abs(m["std"] / m["predicted"] - 1) > 0.25:
                    problems.append(f"{act} {m['name']}: {m['std']:.3f} vs {m['predicted']}")
        report("measured within 25% of predicted per layer (ReLU and LeakyReLU chains)",
               problems)
        svg = os.path.join(tmp, "signal.svg")
        r = subprocess.run([TOOL, "plot", wide + ".out", "--signal", "--run", "-o", svg],
                           capture_output=True, text=True,
                           env={**os.environ, "ORX_ONNXRUNTIME": ORT_LIB})
        marks = re.findall(r'<rect class="measured" data-layer="[^"]*" data-depth="(\d+)" '
                           r'data-value="([^"]+)" data-predicted="([^"]+)"', open(svg).read()
                           if r.returncode == 0 else "")
        off = [f"{d}: {v} vs {p}" for d, v, p in marks
               if not 0.8 <= (float(v) / float(p)) ** 0.5 <= 1.25]
        report(f"plot --signal --run: {len(marks)} measured marks within 25% of the line",
               off if len(marks) == 10 else [r.stderr, f"{len(marks)} marks"])

        r, _ = check(small, env={"ORX_ONNXRUNTIME": os.path.join(tmp, "missing.so")})
        lines = r.stderr.strip().splitlines()
        report("ONNX Runtime missing: one line, exit 2",
               [] if r.returncode == 2 and len(lines) == 1 and "ORX_ONNXRUNTIME" not in ""
               and "missing.so" in lines[0] else [r.stderr])
        r = subprocess.run([TOOL, "check", small, "--run"], capture_output=True, text=True,
                           env={k: v for k, v in os.environ.items() if k != "ORX_ONNXRUNTIME"}
                           | {"LD_LIBRARY_PATH": ""})
        lines = r.stderr.strip().splitlines()
        report("none found: one line naming ORX_ONNXRUNTIME, exit 2",
               [] if r.returncode == 2 and len(lines) == 1 and "ORX_ONNXRUNTIME" in lines[0]
               else [r.stderr])

        library = os.path.join(os.path.dirname(TOOL), "libonnx-reinit.so")
        ldd = subprocess.run(["ldd", library], capture_output=True, text=True).stdout
        if "libasan" in ldd or "libtsan" in ldd:  # Python would need it preloaded
            return finish()
        env = {**os.environ, "ORX_ONNXRUNTIME": ORT_LIB, "ONNX_REINIT_LIBRARY": library,
               "PYTHONPATH": os.path.join(HERE, "..", "..", "python")}
        code = ("import json, sys, onnx_reinit; "
                "print(json.dumps(onnx_reinit.check(sys.argv[1], run=True)['measured']))")
        r = subprocess.run([sys.executable, "-c", code, out], capture_output=True, text=True,
                           env=env)
        _, doc = check(out)
        report("Python check(model, run=True): the same measured list",
               [] if r.returncode == 0 and json.loads(r.stdout) == doc["measured"]
               else [r.stderr[-300:]])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
