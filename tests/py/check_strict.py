#!/usr/bin/python3
"""No silent leftovers: a float tensor that no layer claims and no rule
rewrites or keeps is named by `plan`, warned about by `apply` (one line on
standard error), and refused by `apply --strict` and `batch --strict` (exit
2 and 1, nothing written) unless a keep rule names it; `role=other` rules
decide such tensors.

    check_strict.py ONNX_REINIT

Prints one line per case and 'N passed, N failed'; exits 1 on any.
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
from results import finish, report  # noqa: E402



def run(tool, *args):
    return subprocess.run([tool, *args], capture_output=True, text=True)


def custom_op_model():
    """A Gemm, and a float [8, 8] initializer consumed by an op of an
    unknown domain: trained values nothing claims."""
    rng = np.random.default_rng(5)
    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W"], ["h"]),
         helper.make_node("Mystery", ["h", "M"], ["y"], domain="com.example")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])],
        initializer=[numpy_helper.from_array(rng.normal(0.3, 1, (8, 8)).astype(np.float32), n)
                     for n in ("W", "M")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                               helper.make_opsetid("com.example", 1)])


def main():
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "m.onnx"), os.path.join(tmp, "out", "m.onnx")
        os.makedirs(os.path.dirname(out))
        onnx.save(custom_op_model(), src)
        before = {t.name: t.SerializeToString() for t in onnx.load(src).graph.initializer}

        r = run(tool, "plan", src, "--json")
        skipped = {s["name"]: s["reason"] for s in json.loads(r.stdout)["skipped"]}
        report("plan names the leftover and why",
               [] if skipped.get("M") == "not consumed by a weighted op or a normalization"
               else [f"skipped {skipped}"])

        r = run(tool, "apply", src, "-o", out, "--strict")
        want = (f"onnx-reinit: {src}: --strict: 1 float tensor (64 values) would keep its "
                "trained values and no keep rule names it: M; see plan\n")
        report("apply --strict refuses a model with an unclaimed trained tensor, naming it",
               [] if r.returncode == 2 and r.stderr == want and not os.listdir(
                   os.path.dirname(out)) else [f"exit {r.returncode}: {r.stderr!r}"])

        r = run(tool, "apply", src, "-o", out)
        lines = r.stderr.splitlines()
        after = {t.name: t.SerializeToString() for t in onnx.load(out).graph.initializer} \
            if r.returncode == 0 else {}
        report("apply without --strict warns in one line and keeps the tensor",
               [] if r.returncode == 0 and len(lines) == 1 and "warning: 1 float tensor (64 "
               "values) left as trained" in lines[0] and after.get("M") == before["M"] and
               after.get("W") != before["W"] else [f"exit {r.returncode}: {r.stderr!r}"])
        os.unlink(out)

        keep = os.path.join(tmp, "keep.rules")
        open(keep, "w").write("name=M => keep\n")
        r = run(tool, "apply", src, "-o", out, "--strict", "--rules", keep)
        report("a keep rule naming it lets --strict pass, with no warning",
               [] if r.returncode == 0 and not r.stderr else [f"exit {r.returncode}: {r.stderr!r}"])
        os.unlink(out)

        other = os.path.join(tmp, "other.rules")
        open(other, "w").write("role=other => normal(0, 0.02)\n")
        r = run(tool, "apply", src, "-o", out, "--strict", "--rules", other, "--json")
        m = {t.name: numpy_helper.to_array(t) for t in onnx.load(out).graph.initializer} \
            if r.returncode == 0 else {}
        planned = [t for t in json.loads(r.stdout)["tensors"] if t["name"] == "M"] \
            if r.returncode == 0 else []
        report("role=other rules decide what no layer claims",
               [] if planned and planned[0]["role"] == "other" and
               abs(float(m["M"].std()) - 0.02) < 0.01 else [f"exit {r.returncode}: {r.stderr!r}"])

        bad = os.path.join(tmp, "zoo")
        os.makedirs(bad)
        onnx.save(custom_op_model(), os.path.join(bad, "a.onnx"))
        r = run(tool, "batch", bad, "-o", os.path.join(tmp, "zoo_out"), "--strict",
                "--report", "-")
        lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
        report("batch --strict fails the model, naming the tensor",
               [] if r.returncode == 1 and lines and lines[0].get("status") == "failed" and
               "M" in json.dumps(lines[0]) and
               not os.path.exists(os.path.join(tmp, "zoo_out", "a.onnx"))
               else [f"exit {r.returncode}: {r.stdout!r} {r.stderr!r}"])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
