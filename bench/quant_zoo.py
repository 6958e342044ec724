#!/usr/bin/python3
"""Coverage of quantized models: torchvision's quantizable models
(ResNet-18, ResNet-50, MobileNetV2, GoogLeNet) quantized by PyTorch
(qnnpack) and exported as QDQ, and ONNX Runtime's extended rewrites of
them (QLinearConv, QGemm, QLinearAdd ...): the share of weight codes
(integer tensors of more than 16 elements) that apply rewrites by a
rule, the plans' schemes against the float models', ONNX Runtime running
every output.

    /usr/bin/python3 bench/quant_zoo.py ONNX_REINIT [WORK]
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "py"))
from needs_torch import torch, torchvision  # noqa: E402
from ort_inputs import ort_optimize, run_ort  # noqa: E402



def quantized(make, shape):
    from torch.ao.quantization import convert, get_default_qconfig, prepare
    torch.backends.quantized.engine = "qnnpack"
    f = make(weights=None, quantize=False).eval()
    q = make(weights=None, quantize=False).eval()
    q.load_state_dict(f.state_dict())
    q.fuse_model()
    q.qconfig = get_default_qconfig("qnnpack")
    prepare(q, inplace=True)
    for _ in range(4):
        q(torch.randn(*shape))
    convert(q, inplace=True)
    return f, q


def codes(path):
    """{name: elements} of the integer tensors of more than 16 elements."""
    m = onnx.load(path)
    out = {}
    tensors = list(m.graph.initializer) + [a.t for n in m.graph.node if n.op_type == "Constant"
                                          for a in n.attribute if a.name == "value"]
    names = [t.name for t in m.graph.initializer] + [n.output[0] for n in m.graph.node
                                                     if n.op_type == "Constant"]
    for name, t in zip(names, tensors):
        n = int(np.prod(t.dims)) if t.dims else 1
        if t.data_type in (2, 3, 21, 22) and n > 16:
            out[name] = n
    return out


def main():
    tool = sys.argv[1]
    work = sys.argv[2] if len(sys.argv) > 2 else "/tmp/quant_zoo"
    os.makedirs(work, exist_ok=True)
    qm = torchvision.models.quantization
    total = [0, 0, 0, 0]
    for name, make in (("resnet18", qm.resnet18), ("resnet50", qm.resnet50),
                       ("mobilenet_v2", qm.mobilenet_v2), ("googlenet", qm.googlenet)):
        shape = (2, 3, 96, 96)
        f, q = quantized(make, shape)
        fpath, qpath = os.path.join(work, name + "_float.onnx"), os.path.join(work, name + "_qdq.onnx")
        torch.onnx.export(f, torch.randn(1, 3, 96, 96), fpath, opset_version=13)
        torch.onnx.export(q, torch.randn(1, 3, 96, 96), qpath, opset_version=13)
        ext = os.path.join(work, name + "_ext.onnx")
        ort_optimize(qpath, ext)
        for form, path in (("QDQ", qpath), ("QLinear", ext)):
            out = path[:-5] + "_out.onnx"
            r = subprocess.run([tool, "apply", path, "-o", out, "--json"], capture_output=True,
                               text=True)
            plan = json.loads(r.stdout)
            have = codes(path)
            done = sum(have.get(t["name"], 0) for t in plan["tensors"]
                       if t.get("quantized") and t["role"] != "bias")
            runs = all(v["finite"] for v in run_ort(out).values())
            total[0] += done
            total[1] += sum(have.values())
            total[2] += runs
            total[3] += 1
            print(f"{name:14s} {form:8s} codes rewritten {done}/{sum(have.values())} "
                  f"({100 * done / max(1, sum(have.values())):.3f}%) runs {'ok' if runs else 'NO'}",
                  flush=True)
    print(f"all: {total[0]}/{total[1]} weight codes rewritten "
          f"({100 * total[0] / max(1, total[1]):.3f}%), {total[2]}/{total[3]} outputs run")


if __name__ == "__main__":
    main()
