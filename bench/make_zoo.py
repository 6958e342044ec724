#!/usr/bin/python3
"""Export a zoo of torchvision architectures (random weights, nothing
downloaded) for the batch benchmark. Models already there are kept.

    /usr/bin/python3 bench/make_zoo.py DIR
"""
import os
import sys
import warnings

import torch
import torchvision

warnings.filterwarnings("ignore")
ARCHS = ["resnet18", "resnet34", "mobilenet_v2", "mobilenet_v3_small",
         "mobilenet_v3_large", "efficientnet_b0", "squeezenet1_1",
         "shufflenet_v2_x1_0", "mnasnet1_0", "regnet_y_400mf", "densenet121",
         "googlenet"]


def export(out, name, **kw):
    """torchvision's NAME (random weights) as OUT/NAME.onnx, unless there."""
    path = os.path.join(out, name + ".onnx")
    if os.path.exists(path):
        return
    model = getattr(torchvision.models, name)(**kw).eval()
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), path + ".tmp",
                      opset_version=17, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE)
    os.replace(path + ".tmp", path)
    print(f"{name}: {os.path.getsize(path) / 1e6:.1f} MB")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name in ARCHS:
        export(out, name, **({"aux_logits": False, "init_weights": True}
                             if name == "googlenet" else {}))


if __name__ == "__main__":
    main()
