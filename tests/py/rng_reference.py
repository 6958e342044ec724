#!/usr/bin/python3
"""An independent implementation of onnx-reinit's random streams, written
from the description in docs/design.md ("Randomness, exactly"), to check that it is enough to
reproduce the bytes.

    rng_reference.py SEED NAME uniform|normal COUNT [FIRST]

Prints COUNT values of the stream from element FIRST (default 0) as JSON
(doubles, exact repr).
"""
import json
import math
import sys

M64 = (1 << 64) - 1
G = 0x9E3779B97F4A7C15
BLOCK = 65536


def mix(z):
    z &= M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def key(seed, name):
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return mix(mix(seed + G) ^ h)


def block_draws(k, b):
    s = mix(k ^ ((b * 0xD1B54A32D192ED03) & M64))
    j = 0
    while True:
        yield mix(s + (j + 1) * G)
        j += 1


def unit(d):
    return (d >> 11) * 2.0 ** -53


R, V, LAYERS = 3.6541528853610088, 0.00492867323399, 256


def tables():
    x = [0.0] * (LAYERS + 1)
    f = math.exp(-0.5 * R * R)
    x[0], x[1] = V / f, R
    for i in range(1, LAYERS - 1):
        x[i + 1] = math.sqrt(-2 * math.log(V / x[i] + math.exp(-0.5 * x[i] * x[i])))
    x[LAYERS] = 0.0
    return x, [math.exp(-0.5 * v * v) for v in x]


X, F = tables()


def normal(draws):
    while True:
        u = next(draws)
        i = u & 255
        x = unit(u) * X[i]
        sign = -1.0 if u & 256 else 1.0
        if x < X[i + 1]:
            return sign * x
        if i == 0:
            while True:
                a = -math.log(1 - unit(next(draws))) / R
                b = -math.log(1 - unit(next(draws)))
                if not 2 * b < a * a:
                    return sign * (R + a)
        if F[i] + unit(next(draws)) * (F[i + 1] - F[i]) < math.exp(-0.5 * x * x):
            return sign * x


def stream(seed, name, kind, count, first):
    k = key(seed, name)
    out = []
    element = (first // BLOCK) * BLOCK
    while len(out) < count:
        draws = block_draws(k, element // BLOCK)
        for _ in range(BLOCK):
            v = unit(next(draws)) if kind == "uniform" else normal(draws)
            if element >= first:
                out.append(v)
            element += 1
            if len(out) == count:
                break
    return out


if __name__ == "__main__":
    seed, name, kind, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    first = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    json.dump(stream(seed, name, kind, count, first), sys.stdout)
