#!/usr/bin/python3
"""Export ResNet-50 and ViT-B/16 from torchvision (random weights, nothing
downloaded) for bench/e2e.sh; models already there are kept.

    /usr/bin/python3 bench/make_models.py DIR
"""
import os
import sys

import torch

from make_zoo import export  # the same export, beside this script


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name in ("resnet50", "vit_b_16"):
        export(out, name)


if __name__ == "__main__":
    main()
