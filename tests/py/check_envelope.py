#!/usr/bin/python3
"""`check` judges a layer against the envelope of the accepted schemes for
its fans, by an exact test on the sample variance:

- torchvision's models as torchvision initializes them (Kaiming normal in
  fan_out mode, N(0, 0.01) classifiers, trunc_normal(0.02) everywhere in
  ConvNeXt, a zero ViT head) and PyTorch's and Keras's defaults on MLPs:
  no finding (EfficientNet exported with its BatchNorms);
- over 100 seeds, in tensors of 8 to 32 elements every weight 30 times too
  wide, and in tensors of 64 or more every weight 10 times too wide or too
  narrow, is flagged, and correct draws of the same shapes give no
  finding.

    check_envelope.py ONNX_REINIT

Prints one line per case and 'N passed, N failed'; exits 1 on any.
"""
import io
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
from needs_torch import torch, torchvision, nn  # noqa: E402



def check(tool, path):
    r = subprocess.run([tool, "check", path, "--json"], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise RuntimeError(r.stderr.strip())
    return r.returncode, json.loads(r.stdout)["findings"]


def small_vit():
    from torchvision.models.vision_transformer import VisionTransformer
    return VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                             hidden_dim=32, mlp_dim=64, num_classes=10)


ZOO = [
    ("resnet18", lambda: torchvision.models.resnet18(), 64),
    ("mobilenet_v2", lambda: torchvision.models.mobilenet_v2(), 64),
    ("mobilenet_v3_small", lambda: torchvision.models.mobilenet_v3_small(), 64),
    # exported with its BatchNorms (training mode): folded with their
    # default statistics they are gone, and the squeeze-and-excite gates
    # then halve the signal at every block, which check sees (googlenet
    # likewise, README)
    ("efficientnet_b0", lambda: torchvision.models.efficientnet_b0(), 64, True),
    ("regnet_y_400mf", lambda: torchvision.models.regnet_y_400mf(), 64),
    ("mnasnet0_5", lambda: torchvision.models.mnasnet0_5(), 64),
    ("shufflenet_v2_x0_5", lambda: torchvision.models.shufflenet_v2_x0_5(), 64),
    ("squeezenet1_1", lambda: torchvision.models.squeezenet1_1(), 64),
    ("convnext_tiny", lambda: torchvision.models.convnext_tiny(), 32),
    ("vision transformer (small, zero head)", small_vit, 32),
]


def zoo(tool, tmp):
    for name, make, size, *training in ZOO:
        torch.manual_seed(0)
        m = make().eval()
        f = io.BytesIO()
        mode = torch.onnx.TrainingMode.PRESERVE if training else torch.onnx.TrainingMode.EVAL
        torch.onnx.export(m, torch.randn(1, 3, size, size), f, opset_version=17,
                          training=mode)
        path = os.path.join(tmp, "zoo.onnx")
        open(path, "wb").write(f.getvalue())
        code, found = check(tool, path)
        report(f"{name} as torchvision initializes it: no finding",
               [] if code == 0 else [f"{x['name']} {x['problem']} ratio {x['ratio']}"
                                     for x in found])


def mlp(rng, widths, draw):
    nodes, inits, x = [], [], "input"
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        inits.append(numpy_helper.from_array(draw(a, b).astype(np.float32), f"w{i}"))
        nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [f"z{i}"]))
        last = i == len(widths) - 2
        nodes.append(helper.make_node("Identity" if last else "Relu", [f"z{i}"],
                                      ["output" if last else f"h{i}"]))
        x = f"h{i}"
    g = helper.make_graph(nodes, "mlp",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, widths[0]])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)],
                          initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def defaults(tool, tmp):
    rng = np.random.default_rng(1)
    draws = {
        "PyTorch's default (kaiming_uniform, a = sqrt 5)":
            lambda a, b: rng.uniform(-1 / np.sqrt(a), 1 / np.sqrt(a), (a, b)),
        "Keras's glorot_uniform":
            lambda a, b: rng.uniform(-np.sqrt(6 / (a + b)), np.sqrt(6 / (a + b)), (a, b)),
    }
    for title, draw in draws.items():
        path = os.path.join(tmp, "mlp.onnx")
        problems = []
        for widths in ([64] * 9, [32, 512, 16, 256, 8, 10]):
            onnx.save(mlp(rng, widths, draw), path)
            code, found = check(tool, path)
            if code:
                problems.append(f"{widths}: {[(x['name'], x['problem']) for x in found]}")
        report(f"{title} on MLPs up to 8 layers: no finding", problems)


def one_layer(w, conv):
    """A layer of weight w, then Relu and a second layer, so that the
    first is not the last (the logits, judged more leniently)."""
    out = w.shape[0]
    inits = [numpy_helper.from_array(w.astype(np.float32), "w"),
             numpy_helper.from_array(np.full((4, out) if not conv else (4, out, 1, 1), 0.1,
                                             np.float32) * np.arange(1, 5).reshape(
                 (4, 1) if not conv else (4, 1, 1, 1)), "w2")]
    if conv:
        nodes = [helper.make_node("Conv", ["input", "w"], ["z"]),
                 helper.make_node("Relu", ["z"], ["h"]),
                 helper.make_node("Conv", ["h", "w2"], ["output"])]
        shape = [1, w.shape[1], 4, 4]
    else:
        nodes = [helper.make_node("Gemm", ["input", "w"], ["z"], transB=1),
                 helper.make_node("Relu", ["z"], ["h"]),
                 helper.make_node("Gemm", ["h", "w2"], ["output"], transB=1)]
        shape = [1, w.shape[1]]
    g = helper.make_graph(nodes, "one", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                       shape)],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)],
                          initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def small_tensors(tool, tmp):
    # shape, fan_in, conv?; He normal is what the plan chooses (Relu follows)
    shapes = [((4, 2, 1, 1), 2, True), ((4, 4), 4, False), ((4, 8), 8, False),
              ((8, 8), 8, False), ((16, 16), 16, False), ((8, 4, 3, 3), 36, True)]
    path = os.path.join(tmp, "one.onnx")
    for shape, fan_in, conv in shapes:
        n = int(np.prod(shape))
        he = np.sqrt(2 / fan_in)
        off = 30 if n <= 32 else 10
        sides = ("wide",) if n <= 32 else ("wide", "narrow")
        missed, false_alarms = {s: 0 for s in sides}, 0
        for seed in range(100):
            rng = np.random.default_rng(seed)
            z = rng.standard_normal(shape)
            onnx.save(one_layer(z * he, conv), path)
            false_alarms += check(tool, path)[0] != 0
            for side in sides:
                onnx.save(one_layer(z * he * (off if side == "wide" else 1 / off), conv), path)
                code, found = check(tool, path)
                missed[side] += not any(f["name"] == "w" for f in found)
        problems = [f"{k} missed {v} times" for k, v in missed.items() if v] + \
            ([f"{false_alarms} false alarms"] if false_alarms else [])
        report(f"{shape} ({n} elements): {off}x too {' or '.join(sides)} flagged over 100 "
               "seeds, correct draws never", problems)


def main():
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        small_tensors(tool, tmp)
        defaults(tool, tmp)
        zoo(tool, tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
