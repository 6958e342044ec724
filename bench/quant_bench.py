#!/usr/bin/python3
"""apply on quantized models against their float twins, one build,
alternating runs, medians (a shared machine: compare as ratios).

    /usr/bin/python3 bench/quant_bench.py ONNX_REINIT [WORK] [RUNS] [MILLIONS]

- torchvision's quantizable ResNet-50, exported float and as PyTorch's
  qnnpack QDQ (per-tensor int8): apply on each;
- a stack of MatMulNBits layers (4 bits, blocks of 32, packed zero
  points) of MILLIONS (default 256) million weights against the same
  stack of float MatMul weights: seconds per million weights.
"""
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "py"))


def timed(tool, model, out):
    start = time.perf_counter()
    subprocess.run([tool, "apply", model, "-o", out, "--seed", "1"], check=True,
                   stdout=subprocess.DEVNULL)
    took = time.perf_counter() - start
    os.remove(out)
    return took


def ab(tool, a, b, runs, work):
    ta, tb = [], []
    for _ in range(runs):
        ta.append(timed(tool, a, os.path.join(work, "a_out.onnx")))
        tb.append(timed(tool, b, os.path.join(work, "b_out.onnx")))
    return statistics.median(ta), statistics.median(tb)


def resnet50(work):
    from needs_torch import torch, torchvision
    from torch.ao.quantization import convert, get_default_qconfig, prepare
    torch.backends.quantized.engine = "qnnpack"
    fpath, qpath = os.path.join(work, "rn50_float.onnx"), os.path.join(work, "rn50_qdq.onnx")
    if not os.path.exists(qpath):
        qm = torchvision.models.quantization
        f = qm.resnet50(weights=None, quantize=False).eval()
        x = torch.randn(1, 3, 64, 64)
        torch.onnx.export(f, x, fpath, opset_version=13)
        f.fuse_model()
        f.qconfig = get_default_qconfig("qnnpack")
        prepare(f, inplace=True)
        f(torch.randn(2, 3, 64, 64))
        convert(f, inplace=True)
        torch.onnx.export(f, x, qpath, opset_version=13)
    return fpath, qpath


def nbits_pair(work, millions):
    """Layers of K = N = 4096 (16.8 M weights each) as MatMulNBits and as
    float MatMul, in external data."""
    k = n = 4096
    layers = max(1, round(millions * 1e6 / (k * n)))
    fpath, qpath = (os.path.join(work, f"nbits_{layers}_float.onnx"),
                    os.path.join(work, f"nbits_{layers}_q4.onnx"))
    if os.path.exists(qpath):
        return fpath, qpath, layers * k * n
    rng = np.random.default_rng(0)
    blocks = k // 32
    for path, quant in ((fpath, False), (qpath, True)):
        nodes, inits, x = [], [], "X"
        for i in range(layers):
            if quant:
                b = rng.integers(0, 256, (n, blocks, 16), dtype=np.uint8)
                inits += [helper.make_tensor(f"w{i}_Q4", TensorProto.UINT8, b.shape,
                                             b.tobytes(), raw=True),
                          helper.make_tensor(f"s{i}", TensorProto.FLOAT, (n, blocks),
                                             np.full(n * blocks, 0.01, np.float32).tobytes(),
                                             raw=True),
                          helper.make_tensor(f"z{i}", TensorProto.UINT8, (n, blocks // 2),
                                             np.full(n * blocks // 2, 0x88, np.uint8).tobytes(),
                                             raw=True)]
                nodes.append(helper.make_node("MatMulNBits", [x, f"w{i}_Q4", f"s{i}", f"z{i}"],
                                              [f"h{i}"], domain="com.microsoft", K=k, N=n,
                                              bits=4, block_size=32))
            else:
                w = rng.standard_normal((k, n), dtype=np.float32) * 0.02
                inits.append(helper.make_tensor(f"w{i}", TensorProto.FLOAT, w.shape,
                                                w.tobytes(), raw=True))
                nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [f"h{i}"]))
            nodes.append(helper.make_node("Relu", [f"h{i}"], [f"r{i}"]))
            x = f"r{i}"
        g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", 1, [1, k])],
                              [helper.make_tensor_value_info(x, 1, [1, n])], inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                                helper.make_opsetid("com.microsoft", 1)])
        onnx.save(m, path, save_as_external_data=True, location=os.path.basename(path) + ".data")
    return fpath, qpath, layers * k * n


def main():
    tool = sys.argv[1]
    work = sys.argv[2] if len(sys.argv) > 2 else "/tmp/quant_bench"
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    millions = float(sys.argv[4]) if len(sys.argv) > 4 else 256
    os.makedirs(work, exist_ok=True)
    f, q = resnet50(work)
    tf, tq = ab(tool, f, q, runs, work)
    print(f"ResNet-50 apply: float {tf:.3f} s, QDQ int8 {tq:.3f} s, QDQ/float {tq / tf:.2f}")
    f, q, n = nbits_pair(work, millions)
    tf, tq = ab(tool, f, q, runs, work)
    m = n / 1e6
    print(f"{m:.0f} M weights apply: float MatMul {tf:.2f} s ({tf / m * 1e3:.2f} ms/M), "
          f"MatMulNBits 4-bit {tq:.2f} s ({tq / m * 1e3:.2f} ms/M), ratio {tq / tf:.2f}")


if __name__ == "__main__":
    main()
