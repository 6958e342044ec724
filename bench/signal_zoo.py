#!/usr/bin/python3
"""The signal through depth, measured: each model re-initialized by each
build (apply --seed 3), run in ONNX Runtime (tests/ort, onnxruntime-node)
on N(0, 1) inputs, the std of every activation's output (Relu,
LeakyRelu, Sigmoid, Tanh, Clip, HardSwish, Selu, Elu, Gelu) in node
order: the last one's over the first one's, per build. Models with a
normalization op are marked: their branches are left as they were.

    /usr/bin/python3 bench/signal_zoo.py OLD_BUILD NEW_BUILD DIR_OR_MODEL...
"""
import os
import subprocess
import sys
import tempfile

import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "py"))
from ort_inputs import run_ort  # noqa: E402

ACTS = {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "HardSwish", "Selu", "Elu", "Gelu"}


def activations(path, tmp):
    m = onnx.load(path)
    names = [n.output[0] for n in m.graph.node if n.op_type in ACTS]
    have = {o.name for o in m.graph.output}
    for name in names:
        if name not in have:
            m.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    p = os.path.join(tmp, "acts.onnx")
    onnx.save(m, p)
    got = run_ort(p)
    return [got[n]["std"] for n in names]


def ratio(tool, src, tmp):
    out = os.path.join(tmp, "out.onnx")
    subprocess.run([tool, "apply", src, "-o", out, "--seed", "3"], check=True,
                   capture_output=True)
    s = activations(out, tmp)
    return s[-1] / s[0] if s and s[0] > 0 else float("nan")


def models(args):
    for a in args:
        if os.path.isdir(a):
            yield from sorted(os.path.join(a, f) for f in os.listdir(a) if f.endswith(".onnx"))
        else:
            yield a


def main():
    old, new = sys.argv[1], sys.argv[2]
    print(f"{'model':44} {'norm':5} {'old':>10} {'new':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for src in models(sys.argv[3:]):
            m = onnx.load(src, load_external_data=False)
            norm = any("Norm" in n.op_type for n in m.graph.node)
            try:
                a, b = ratio(old, src, tmp), ratio(new, src, tmp)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                print(f"{os.path.basename(src):44} {str(e)[:60]}")
                continue
            ok = "" if norm else ("  in [0.5, 2]" if 0.5 <= b <= 2 else "  out")
            print(f"{os.path.basename(src):44} {'yes' if norm else 'no':5} {a:10.3g} {b:10.3g}{ok}")


if __name__ == "__main__":
    main()
