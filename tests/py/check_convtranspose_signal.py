#!/usr/bin/python3
"""Strided transposed convolutions keep the signal: a stack of five
ConvTranspose (64 channels, kernel 4, stride 2, padding 1, as DCGAN's
generator and decoders have them), each followed by ReLU, re-initialized
by apply and run in ONNX Runtime on N(0, 1) input: the std of each
layer's output stays within [0.8, 1.25] of the one before (an output
receives 4 of the kernel's 16 taps; fan_in counts those), and within
[0.5, 2] after five layers. With PyTorch's count (fans=pytorch, every
tap) the same stack halves the std at every layer, as it did before.

    check_convtranspose_signal.py ONNX_REINIT
"""
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

LAYERS, C = 5, 64


def stack(path):
    rng = np.random.default_rng(0)
    nodes, inits, outs, x = [], [], [], "x"
    for i in range(LAYERS):
        w = numpy_helper.from_array(rng.normal(0.3, 0.1, (C, C, 4, 4)).astype(np.float32),
                                    f"up{i}.weight")
        inits.append(w)
        nodes += [helper.make_node("ConvTranspose", [x, w.name], [f"c{i}"], kernel_shape=[4, 4],
                                   strides=[2, 2], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        x = f"r{i}"
        outs.append(helper.make_tensor_value_info(x, TensorProto.FLOAT, None))
    g = helper.make_graph(nodes, "up", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                      [1, C, 4, 4])],
                          outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)


def stds(tool, src, out, *args):
    subprocess.run([tool, "apply", src, "-o", out, "--seed", "3", *args], check=True,
                   capture_output=True)
    got = run_ort(out)
    return [got[f"r{i}"]["std"] for i in range(LAYERS)]


def main():
    tool = sys.argv[1]
    if not ort_available():
        print("ONNX Runtime (tests/ort) is missing", file=sys.stderr)
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "up.onnx"), os.path.join(tmp, "out.onnx")
        stack(src)
        s = stds(tool, src, out)
        per = [b / a for a, b in zip(s, s[1:])]
        report(f"default: std per layer x{', x'.join(f'{r:.2f}' for r in per)}, "
               f"{s[-1] / s[0]:.2f} over the stack",
               [] if all(0.8 <= r <= 1.25 for r in per) and 0.5 <= s[-1] / s[0] <= 2
               else ["the signal does not keep its scale"])
        rules = os.path.join(tmp, "pt.rules")
        with open(rules, "w") as f:
            f.write("op=ConvTranspose role=weight => he_normal(gain=relu, fans=pytorch)\n")
        s = stds(tool, src, out, "--rules", rules)
        per = [b / a for a, b in zip(s, s[1:])]
        report(f"fans=pytorch: std per layer x{', x'.join(f'{r:.2f}' for r in per)} "
               "(every tap counted: halves)",
               [] if all(0.4 <= r <= 0.6 for r in per) else ["not the halving PyTorch's count gives"])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
