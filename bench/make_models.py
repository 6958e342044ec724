#!/usr/bin/python3
"""Export ResNet-50 and ViT-B/16 from torchvision (random weights, nothing
downloaded) for bench/e2e.sh; models already there are kept.

    /usr/bin/python3 bench/make_models.py DIR
"""
import os
import sys
import warnings

import torch
import torchvision

warnings.filterwarnings("ignore")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name in ("resnet50", "vit_b_16"):
        path = os.path.join(out, name + ".onnx")
        if os.path.exists(path):
            continue
        model = getattr(torchvision.models, name)().eval()
        torch.onnx.export(model, torch.randn(1, 3, 224, 224), path + ".tmp",
                          opset_version=17, do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE)
        os.replace(path + ".tmp", path)
        print(f"{name}: {os.path.getsize(path) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
