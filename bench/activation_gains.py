#!/usr/bin/python3
"""The gain that keeps the second moment through each activation: G with
E[f(G z)^2] = 1 for z ~ N(0, 1), f at its default parameters (ELU and
CELU alpha 1, PReLU's slopes 0.25 as PyTorch starts them, Relu6 at 6,
ThresholdedRelu theta 1). The trapezoid rule on [-30, 30] in 2,000,000
steps (GELU: 200,000, its erf evaluated one by one), bisection to 1e-12;
the values in src/lib/ops.c's activation table come from this.

    /usr/bin/python3 bench/activation_gains.py
"""
import math

import numpy as np

ERF = np.frompyfunc(math.erf, 1, 1)
ACTIVATIONS = {
    "Relu": lambda x: np.maximum(x, 0),
    "Relu6": lambda x: np.clip(x, 0, 6),
    "Elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "PRelu": lambda x: np.where(x > 0, x, 0.25 * x),
    "Gelu": lambda x: x * 0.5 * (1 + ERF(x / math.sqrt(2)).astype(float)),
    "Silu": lambda x: x / (1 + np.exp(-x)),
    "HardSwish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "Mish": lambda x: x * np.tanh(np.logaddexp(0, x)),
    "Softplus": lambda x: np.logaddexp(0, x),
    "ThresholdedRelu": lambda x: np.where(x > 1, x, 0),
}


def keep_gain(f, steps):
    z = np.linspace(-30, 30, steps + 1)
    w = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    lo, hi = 0.1, 10.0
    while hi - lo > 1e-12:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.trapz(f(mid * z) ** 2 * w, z) < 1 else (lo, mid)
    return (lo + hi) / 2


for name, f in ACTIVATIONS.items():
    print(f"{name:16} {keep_gain(f, 200_000 if name == 'Gelu' else 2_000_000):.9f}")
