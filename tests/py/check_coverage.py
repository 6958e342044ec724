#!/usr/bin/python3
"""How much of a real export's layer weights `apply` re-initializes: for
every Conv, ConvTranspose, Gemm and MatMul node whose weight comes from a
constant (an initializer or a Constant node, through the ops exporters put
between), the share of those elements that `apply` changed. PyTorch
exports with constant folding on and off, at opset 13 and 17, and the
same exports with their initializers turned into Constant nodes (as
paddle2onnx and spox write them), of small torchvision networks and of a
module with Conv1d, ConvTranspose1d, Linear, MultiheadAttention and
LayerNorm. Each must reach 99% and run in ONNX Runtime.

    check_coverage.py ONNX_REINIT

Needs python3-torch and python3-torchvision. Prints one line per export
and 'N passed, N failed'; exits 1 on any.
"""
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from needs_torch import nn, torch, torchvision  # noqa: E402
from check_apply import as_constants, ort_problems  # noqa: E402

warnings.filterwarnings("ignore")
PLUMBING = {"Identity", "Transpose", "Cast", "Reshape", "Squeeze", "Unsqueeze", "Flatten"}
WEIGHT_INPUTS = {"Conv": (1,), "ConvTranspose": (1,), "Gemm": (1, 0), "MatMul": (1, 0)}


class Mixed(nn.Module):
    """Conv1d, ConvTranspose1d, Linear, attention and LayerNorm."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 16, 5, padding=2)
        self.up = nn.ConvTranspose1d(16, 8, 4, stride=2, padding=1)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.norm = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        h = torch.tanh(self.up(h)).transpose(1, 2)
        a, _ = self.attn(h, h, h)
        return self.fc(torch.nn.functional.gelu(self.norm(a + h)))


def constants_of(g):
    out = {t.name: t for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            out[n.output[0]] = n.attribute[0].t
    return out


def weight_tensors(m):
    """{constant name: elements} of the layer weights of m's main graph."""
    g = m.graph
    consts, producer = constants_of(g), {o: n for n in g.node for o in n.output}
    found = {}
    for n in g.node:
        for slot in WEIGHT_INPUTS.get(n.op_type, ()):
            if slot >= len(n.input):
                continue
            name = n.input[slot]
            while name not in consts and name in producer and \
                    producer[name].op_type in PLUMBING:
                name = producer[name].input[0]
            if name in consts and consts[name].data_type == onnx.TensorProto.FLOAT:
                found[name] = int(np.prod(consts[name].dims))
                break
    return found


def coverage(tool, path, tmp):
    out = os.path.join(tmp, "out.onnx")
    r = subprocess.run([tool, "apply", path, "-o", out], capture_output=True, text=True)
    if r.returncode != 0:
        return None, [f"apply: {r.stderr.strip()}"]
    before, after = onnx.load(path), onnx.load(out)
    weights = weight_tensors(before)
    b, a = constants_of(before.graph), constants_of(after.graph)
    total = sum(weights.values())
    changed = sum(int(np.sum(numpy_helper.to_array(a[k]) != numpy_helper.to_array(b[k])))
                  for k in weights)
    share = changed / total if total else 0.0
    problems = [] if share >= 0.99 else [f"{share:.1%} of {total} weight elements changed"]
    return share, problems + ort_problems(out, os.path.basename(path))


def exports(tmp):
    torch.manual_seed(0)
    nets = [("mixed", Mixed().eval(), torch.randn(1, 4, 12)),
            ("mobilenet_v3_small", torchvision.models.mobilenet_v3_small().eval(),
             torch.randn(1, 3, 64, 64)),
            ("resnet18", torchvision.models.resnet18().eval(), torch.randn(1, 3, 64, 64))]
    for name, net, x in nets:
        for opset in (13, 17):
            for fold in (False, True):
                path = os.path.join(tmp, f"{name}_{opset}_{'fold' if fold else 'nofold'}.onnx")
                torch.onnx.export(net, x, path, opset_version=opset, do_constant_folding=fold)
                yield path
                cpath = path.replace(".onnx", "_constants.onnx")
                onnx.save(as_constants(onnx.load(path)), cpath)
                yield cpath


def main():
    tool = sys.argv[1]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in exports(tmp):
            share, problems = coverage(tool, path, tmp)
            results.append(not problems)
            print(f"{'FAIL' if problems else 'ok  '} {os.path.basename(path)}: "
                  + (f"{share:.2%} re-initialized" if share is not None else "")
                  + ("; " + "; ".join(problems) if problems else ""))
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
