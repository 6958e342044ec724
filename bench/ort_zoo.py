#!/usr/bin/python3
"""ONNX Runtime's optimizer on a zoo (bench/make_compare_zoo.py's thirty
torchvision exports, or any folder of models): for each model and level
(basic, extended), the share of the optimized model's layer weight
elements apply re-initializes (the tensors that are the export's layer
weights), how many of the export's layer weights get the same scheme,
fans and activation after the optimizer, whether apply --strict passes
and whether ONNX Runtime runs the output. A weight is matched by name,
through ONNX Runtime's ConvBnFusion_ prefixes, or else by its values (a
weight ONNX Runtime transposed ahead of time has a new name and the same
values, in another order).

    /usr/bin/python3 bench/ort_zoo.py ONNX_REINIT DIR [WORK]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "py"))
from ort_inputs import ort_optimize, run_ort  # noqa: E402

PREFIXES = ("ConvBnFusion_W_", "ConvBnFusion_BN_B_")


def plan(tool, path):
    r = subprocess.run([tool, "plan", path, "--json"], capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else None


def exported(name):
    for p in PREFIXES:
        if name.startswith(p):
            return name[len(p):]
    return name


def fingerprint(t):
    """The multiset of a tensor's values: the same through a transpose."""
    a = numpy_helper.to_array(t)
    return a.dtype.kind == "f" and a.size > 1 and hash(np.sort(a.ravel()).tobytes())


def matches(before_path, before, after_path):
    """{optimized tensor name: the export's weight it is}."""
    weights = {t["name"] for t in before["tensors"] if t["role"] == "weight"}
    prints = {fingerprint(t): t.name for t in onnx.load(before_path).graph.initializer
              if t.name in weights}
    out = {}
    for t in onnx.load(after_path).graph.initializer:
        name = exported(t.name)
        if name in weights:
            out[t.name] = name
        elif fingerprint(t) in prints:
            out[t.name] = prints[fingerprint(t)]
    return out


def agree(before, after, match):
    after = {match[t["name"]]: t for t in after["tensors"] if t["name"] in match}
    n = same = 0
    for t in before["tensors"]:
        if t["role"] != "weight":
            continue
        n += 1
        u = after.get(t["name"])
        same += bool(u) and all(t[f] == u[f] for f in
                                ("scheme", "fan_in", "fan_out", "activation"))
    return same, n


def coverage(tool, path, out, match):
    r = subprocess.run([tool, "apply", path, "-o", out, "--json", "--seed", "1"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return 0, 0, False
    strict = subprocess.run([tool, "apply", path, "-o", out + ".strict.onnx", "--strict"],
                            capture_output=True).returncode == 0
    weights = {t["name"] for t in json.loads(r.stdout)["tensors"] if t["role"] == "weight"}
    new = {t.name: t for t in onnx.load(out).graph.initializer}
    total = changed = 0
    for t in onnx.load(path).graph.initializer:
        if t.name not in weights and t.name not in match:
            continue
        a = numpy_helper.to_array(t)
        total += a.size
        if t.name in weights:
            changed += int(np.sum(a != numpy_helper.to_array(new[t.name])))
    return changed, total, strict


def main():
    tool, src = sys.argv[1], sys.argv[2]
    work = sys.argv[3] if len(sys.argv) > 3 else tempfile.mkdtemp()
    sums = {}
    for f in sorted(os.listdir(src)):
        if not f.endswith(".onnx"):
            continue
        path = os.path.join(src, f)
        before = plan(tool, path)
        for level in ("basic", "extended"):
            opt = os.path.join(work, f"{f[:-5]}_{level}.onnx")
            try:
                ort_optimize(path, opt, level)
            except RuntimeError as e:
                print(f"{f} {level}: not optimized: {str(e)[:120]}")
                continue
            match = matches(path, before, opt)
            same, n = agree(before, plan(tool, opt), match)
            changed, total, strict = coverage(tool, opt, opt[:-5] + "_out.onnx", match)
            try:
                runs = all(v["finite"] for v in run_ort(opt[:-5] + "_out.onnx").values())
            except RuntimeError:
                runs = False
            s = sums.setdefault(level, [0, 0, 0, 0, 0, 0])
            for k, v in enumerate((changed, total, same, n, strict, runs)):
                s[k] += v
            print(f"{f[:-5]:44s} {level:8s} weights {100 * changed / max(total, 1):7.3f}% "
                  f"same plan {same}/{n} strict {'ok' if strict else 'NO'} "
                  f"runs {'ok' if runs else 'NO'}", flush=True)
            for p in (opt, opt[:-5] + "_out.onnx", opt[:-5] + "_out.onnx.strict.onnx"):
                if os.path.exists(p):
                    os.remove(p)
    for level, (changed, total, same, n, strict, runs) in sums.items():
        print(f"{level}: {changed} of {total} layer weight elements re-initialized "
              f"({100 * changed / max(total, 1):.3f}%), {same} of {n} weights planned "
              f"as before, strict passes {strict}, runs {runs}")


if __name__ == "__main__":
    main()
