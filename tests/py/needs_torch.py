"""Shared by the tests that export PyTorch modules: torch, torchvision and
torch.nn, or exit 77 (ctest's skip) where Debian's python3-torch and
python3-torchvision are not installed; in CI their absence is an error.

    from needs_torch import torch, torchvision, nn
"""
import os
import sys

try:
    import torch
    import torchvision
    from torch import nn
except ImportError:
    if os.environ.get("CI"):
        raise
    print("skipped: python3-torch and python3-torchvision are not installed")
    sys.exit(77)

__all__ = ["torch", "torchvision", "nn"]
