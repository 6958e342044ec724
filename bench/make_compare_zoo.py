#!/usr/bin/python3
"""Export thirty torchvision models (random weights, nothing downloaded)
the ways real pipelines do: opsets 13 and 17, constant folding on and
off, eval mode (BatchNorm folded) and training mode (kept). bench/compare.sh
runs two builds of onnx-reinit on them and compares every output. Models
already there are kept.

    /usr/bin/python3 bench/make_compare_zoo.py DIR
"""
import os
import sys
import warnings

import torch
import torchvision

warnings.filterwarnings("ignore")

PRESERVE = torch.onnx.TrainingMode.PRESERVE
EVAL = torch.onnx.TrainingMode.EVAL
# (architecture, opset, constant folding, training mode, input size)
MODELS = [
    ("resnet18", 17, False, PRESERVE, 224),
    ("resnet18", 13, True, EVAL, 224),
    ("resnet34", 13, False, PRESERVE, 224),
    ("resnet50", 17, True, EVAL, 224),
    ("resnext50_32x4d", 13, True, PRESERVE, 224),
    ("mobilenet_v2", 17, False, PRESERVE, 224),
    ("mobilenet_v2", 13, True, EVAL, 224),
    ("mobilenet_v3_small", 13, False, PRESERVE, 224),
    ("mobilenet_v3_large", 17, True, EVAL, 224),
    ("efficientnet_b0", 17, False, PRESERVE, 224),
    ("efficientnet_b1", 13, True, EVAL, 224),
    ("efficientnet_v2_s", 17, True, PRESERVE, 224),
    ("squeezenet1_0", 13, False, EVAL, 224),
    ("squeezenet1_1", 17, True, PRESERVE, 224),
    ("shufflenet_v2_x0_5", 13, True, PRESERVE, 224),
    ("shufflenet_v2_x1_0", 17, False, EVAL, 224),
    ("mnasnet0_5", 17, True, EVAL, 224),
    ("mnasnet1_0", 13, False, PRESERVE, 224),
    ("regnet_x_400mf", 13, True, PRESERVE, 224),
    ("regnet_y_400mf", 17, False, EVAL, 224),
    ("regnet_y_800mf", 13, True, EVAL, 224),
    ("densenet121", 17, True, PRESERVE, 224),
    ("googlenet", 13, False, EVAL, 224),
    ("inception_v3", 17, True, EVAL, 299),
    ("convnext_tiny", 17, False, PRESERVE, 224),
    ("convnext_tiny", 13, True, EVAL, 224),
    ("vit_b_32", 13, True, EVAL, 224),
    ("vit_b_32", 17, False, PRESERVE, 224),
    ("swin_t", 17, True, EVAL, 224),
    ("alexnet", 13, False, EVAL, 224),
]

KWARGS = {"googlenet": {"aux_logits": False, "init_weights": True},
          "inception_v3": {"aux_logits": False, "init_weights": True}}


def export(out, arch, opset, fold, mode, size):
    name = "%s_op%d_%s_%s" % (arch, opset, "fold" if fold else "nofold",
                              "train" if mode == PRESERVE else "eval")
    path = os.path.join(out, name + ".onnx")
    if os.path.exists(path):
        return
    model = getattr(torchvision.models, arch)(**KWARGS.get(arch, {})).eval()
    torch.onnx.export(model, torch.randn(1, 3, size, size), path + ".tmp",
                      opset_version=opset, do_constant_folding=fold,
                      training=mode)
    os.replace(path + ".tmp", path)
    print(f"{name}: {os.path.getsize(path) / 1e6:.1f} MB", flush=True)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for m in MODELS:
        try:
            export(out, *m)
        except Exception as e:  # an architecture this torch cannot export
            print(f"{m[0]}: not exported: {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
