#!/usr/bin/python3
"""check on torchvision's models as torchvision initializes them (no
weights downloaded), exported at opset 17: the findings of each, one line
per model. Too slow for the test suite (vgg11 alone is 0.5 GB); the small
ones are in tests/py/check_envelope.py.

    /usr/bin/python3 bench/check_zoo.py [ONNX_REINIT]
"""
import io
import json
import os
import subprocess
import sys
import tempfile
import time

import torch
import torchvision

ARCHS = [("resnet18", 224), ("resnet50", 224), ("densenet121", 224), ("mobilenet_v2", 224),
         ("mobilenet_v3_small", 224), ("efficientnet_b0", 224), ("regnet_y_400mf", 224),
         ("mnasnet0_5", 224), ("convnext_tiny", 224), ("shufflenet_v2_x1_0", 224),
         ("squeezenet1_1", 224), ("vgg11", 224), ("vit_b_16", 224), ("googlenet", 224),
         ("resnext50_32x4d", 224), ("r3d_18", 112)]


def main():
    tool = sys.argv[1] if len(sys.argv) > 1 else "build/onnx-reinit"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        for name, size in ARCHS:
            torch.manual_seed(0)
            video = name == "r3d_18"
            model = getattr(torchvision.models.video if video else torchvision.models, name)
            kw = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
            m = model(**kw).eval()
            x = torch.randn(1, 3, 8, size, size) if video else torch.randn(1, 3, size, size)
            f = io.BytesIO()
            torch.onnx.export(m, x, f, opset_version=17)
            open(path, "wb").write(f.getvalue())
            t = time.time()
            r = subprocess.run([tool, "check", path, "--json"], capture_output=True, text=True)
            found = json.loads(r.stdout)["findings"] if r.stdout else []
            print(f"{name:20s} exit {r.returncode}  {len(found)} findings  "
                  f"{time.time() - t:.2f} s  "
                  + "; ".join(f"{x['name']} {x['problem']} {x['ratio']:.3g}" for x in found[:3]),
                  flush=True)


if __name__ == "__main__":
    main()
