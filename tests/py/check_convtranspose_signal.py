#!/usr/bin/python3
"""Strided transposed convolutions keep the signal: a stack of five
ConvTranspose (64 channels, kernel 4, stride 2, padding 1, as DCGAN's
generator and decoders have them), each followed by ReLU, re-initialized
by apply and run in ONNX Runtime on N(0, 1) input: the std of each
layer's output stays within [0.8, 1.25] of the one before (an output
receives 4 of the kernel's 16 taps; fan_in counts those), and within
[0.5, 2] after five layers. With PyTorch's count (fans=pytorch, every
tap) the same stack halves the std at every layer, as it did before. A
U-Net with transposed-convolution upsampling and concatenated skips, and
an FCN head (scores upsampled twice, a skip's scores added), stay within
[0.5, 2] of their first activation.

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
RNG = np.random.default_rng(0)


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


def trained(*shape):
    return RNG.normal(0.05, 0.3, shape).astype(np.float32)


class Net:
    """Nodes, initializers and the activations' names of a test network."""

    def __init__(self):
        self.nodes, self.inits, self.acts = [], {}, []

    def conv(self, x, name, cin, cout, k=3):
        self.inits[name] = trained(cout, cin, k, k)
        self.nodes += [helper.make_node("Conv", [x, name], [name + "_o"],
                                        pads=[(k - 1) // 2] * 4),
                       helper.make_node("Relu", [name + "_o"], [name + "_r"])]
        self.acts.append(name + "_r")
        return name + "_r"

    def up(self, x, name, cin, cout, k, out):
        self.inits[name] = trained(cin, cout, k, k)
        self.nodes.append(helper.make_node("ConvTranspose", [x, name], [out], kernel_shape=[k, k],
                                           strides=[2, 2], pads=[(k - 2) // 2] * 4))
        return out

    def node(self, *args, **kw):
        self.nodes.append(helper.make_node(*args, **kw))

    def save(self, path, outs):
        g = helper.make_graph(
            self.nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                              [2, 3, 32, 32])],
            [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
            [numpy_helper.from_array(v, k) for k, v in self.inits.items()])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        onnx.save(m, path)
        return outs


def unet(path):
    n = Net()
    x1 = n.conv(n.conv("x", "e1a", 3, 16), "e1b", 16, 16)
    n.node("MaxPool", [x1], ["p1"], kernel_shape=[2, 2], strides=[2, 2])
    x2 = n.conv(n.conv("p1", "e2a", 16, 32), "e2b", 32, 32)
    n.node("MaxPool", [x2], ["p2"], kernel_shape=[2, 2], strides=[2, 2])
    xb = n.conv(n.conv("p2", "b1", 32, 64), "b2", 64, 64)
    n.node("Concat", [n.up(xb, "up2", 64, 32, 2, "u2"), x2], ["c2"], axis=1)
    x = n.conv(n.conv("c2", "d2a", 64, 32), "d2b", 32, 32)
    n.node("Concat", [n.up(x, "up1", 32, 16, 2, "u1"), x1], ["c1"], axis=1)
    n.conv(n.conv("c1", "d1a", 32, 16), "d1b", 16, 16)
    return n.save(path, list(n.acts))


def fcn(path):
    n = Net()
    n.node("MaxPool", [n.conv("x", "c1", 3, 16)], ["p1"], kernel_shape=[2, 2], strides=[2, 2])
    n.node("MaxPool", [n.conv("p1", "c2", 16, 32)], ["p2"], kernel_shape=[2, 2], strides=[2, 2])
    x = n.conv("p2", "c3", 32, 64)
    n.inits.update({"score": trained(8, 64, 1, 1), "score_p1": trained(8, 16, 1, 1)})
    n.node("Conv", [x, "score"], ["s3"])
    n.node("Conv", ["p1", "score_p1"], ["sp1"])
    n.node("Add", [n.up("s3", "up_a", 8, 8, 4, "ua"), "sp1"], ["f"])
    n.up("f", "up_b", 8, 8, 4, "y")
    return n.save(path, n.acts + ["y"])


def stds_of(tool, src, out, outs):
    subprocess.run([tool, "apply", src, "-o", out, "--seed", "2"], check=True,
                   capture_output=True)
    got = run_ort(out)
    return [got[o]["std"] for o in outs]


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
        for name, make in (("U-Net (two levels, ConvTranspose 2x2 up, concatenated skips)",
                            unet),
                           ("FCN head (1x1 scores, ConvTranspose 4x4 stride 2 up twice, "
                            "a skip's scores added)", fcn)):
            src = os.path.join(tmp, "net.onnx")
            outs = make(src)
            s = [v for v in stds_of(tool, src, os.path.join(tmp, "net_out.onnx"), outs)]
            report(f"{name}: x{s[-1] / s[0]:.2f} from the first activation to the output",
                   [] if 0.5 <= s[-1] / s[0] <= 2 else [" ".join(f"{v:.2f}" for v in s)])
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
