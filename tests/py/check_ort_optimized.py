#!/usr/bin/python3
"""Models as ONNX Runtime's optimizer saves them (levels basic and
extended: BatchNorm folded, FusedConv, FusedGemm, FusedMatMul, Gelu,
QuickGelu, SkipLayerNormalization, SimplifiedLayerNormalization):

- PyTorch exports at opsets 13 and 17, in eval mode (BatchNorm folded by
  the export) and training mode (kept), with trained-looking parameters:
  CNNs with ReLU, LeakyReLU, SiLU, HardSwish, Sigmoid and Tanh and a
  residual block, an MLP, a transformer encoder layer with GELU, a small
  ConvNeXt (torchvision's blocks);
- the plan of the optimized model gives every layer weight of the
  exported one (matched by name, ONNX Runtime's folded ones through its
  ConvBnFusion_ prefixes) the same role, scheme, fans and activation;
- apply --strict passes on it, changes every element of every tensor it
  re-initializes and keeps every other byte, and ONNX Runtime runs the
  output with finite outputs;
- of the optimized models' layer weight elements, all are re-initialized;
- check finds on the optimized model what it finds on the exported one
  for a layer drawn zero, constant, 10x narrow and 10x wide.

    check_ort_optimized.py ONNX_REINIT

Skipped (77) without PyTorch or onnxruntime-node.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from needs_torch import nn, torch  # noqa: E402
from ort_inputs import ort_available, ort_optimize, run_ort  # noqa: E402
from results import finish, report  # noqa: E402

PREFIXES = ("ConvBnFusion_W_", "ConvBnFusion_BN_B_")
FIELDS = ("role", "scheme", "fan_in", "fan_out", "activation")
ACTS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.1),
        "silu": nn.SiLU, "hardswish": nn.Hardswish, "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh}


class CNN(nn.Module):
    """Conv-BN-act, a residual block (Conv-BN-act, Conv-BN, + x, act),
    pooling, a linear head."""

    def __init__(self, act):
        super().__init__()
        a = ACTS[act]
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), a())
        self.c1 = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), a())
        self.c2 = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16))
        self.act = a()
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        y = self.stem(x)
        y = self.act(self.c2(self.c1(y)) + y)
        return self.head(y.mean((2, 3)))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh(),
                                 nn.Linear(64, 64), nn.Sigmoid(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation="gelu",
                                                batch_first=True)
        self.head = nn.Linear(32, 5)

    def forward(self, x):
        return self.head(self.layer(x))


def convnext():
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt
    return ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 1)], num_classes=10)


def models():
    """(name, module, input, opset, training mode)."""
    img = torch.randn(1, 3, 16, 16)
    for act in ACTS:
        yield f"cnn_{act}_op17_eval", CNN(act), img, 17, False
        yield f"cnn_{act}_op13_train", CNN(act), img, 13, True
    for opset in (13, 17):
        yield f"mlp_op{opset}", MLP(), torch.randn(2, 32), opset, False
        yield f"encoder_op{opset}", Encoder(), torch.randn(1, 6, 32), opset, False
        yield f"convnext_op{opset}", convnext(), torch.randn(1, 3, 32, 32), opset, False


def export(module, x, path, opset, train, weight=None):
    """module exported with trained-looking values (weight: one layer's
    weight replaced by it)."""
    module.eval()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.3 + 0.05)
        for b in module.buffers():
            if b.dtype.is_floating_point:
                b.copy_(torch.rand_like(b) + 0.5)
        if weight is not None:
            weight[0].copy_(weight[1](weight[0]))
    mode = torch.onnx.TrainingMode.PRESERVE if train else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(module, x, path, opset_version=opset, training=mode)


def plan(tool, path):
    r = subprocess.run([tool, "plan", path, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return json.loads(r.stdout)


def exported_name(name):
    for p in PREFIXES:
        if name.startswith(p):
            return name[len(p):]
    return name


def plan_problems(before, after):
    """Every layer weight planned in the export, planned alike after."""
    after = {exported_name(t["name"]): t for t in after["tensors"]}
    problems = []
    for t in before["tensors"]:
        if t["role"] != "weight":
            continue
        u = after.get(t["name"])
        if u is None:
            problems.append(f"{t['name']}: not planned after the optimizer")
            continue
        problems += [f"{t['name']}: {f} {t[f]} -> {u[f]}" for f in FIELDS if t[f] != u[f]]
    return problems


def tensors(path):
    m = onnx.load(path)
    return {t.name: t for t in m.graph.initializer}


def apply_problems(tool, path, out):
    """apply --strict: every element of the re-initialized tensors new,
    every other tensor the same; (problems, weight elements, changed)."""
    r = subprocess.run([tool, "apply", path, "-o", out, "--strict", "--seed", "5", "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return [f"apply --strict: {r.stderr.strip()}"], 0, 0
    items = {t["name"]: t for t in json.loads(r.stdout)["tensors"]}
    old, new = tensors(path), tensors(out)
    problems, total, changed = [], 0, 0
    for name, t in old.items():
        a = numpy_helper.to_array(t)
        b = numpy_helper.to_array(new[name])
        if name not in items:
            if t.SerializeToString() != new[name].SerializeToString():
                problems.append(f"{name}: changed, not in the plan")
            continue
        same = int(np.sum(a == b))
        if same:
            problems.append(f"{name}: {same} of {a.size} elements kept")
        if items[name]["role"] == "weight":
            total += a.size
            changed += a.size - same
    if ort_available():
        try:
            problems += [f"ONNX Runtime: {o} not finite"
                         for o, v in run_ort(out).items() if not v["finite"]]
        except RuntimeError as e:
            problems.append(f"ONNX Runtime: {e}")
    return problems, total, changed


def findings(tool, path):
    r = subprocess.run([tool, "check", path, "--json"], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise RuntimeError(r.stderr.strip())
    return {(exported_name(f["name"]), f["problem"]) for f in json.loads(r.stdout)["findings"]}


BAD = {"zeros": lambda w: torch.zeros_like(w), "constant": lambda w: torch.full_like(w, 0.05),
       "narrow": lambda w: torch.randn_like(w) * 0.1 * (2 / w[0].numel()) ** 0.5,
       "wide": lambda w: torch.randn_like(w) * 10 * (2 / w[0].numel()) ** 0.5}


def check_cases(tool, tmp):
    """A CNN (FusedConv after the optimizer) and an MLP (FusedGemm) with
    one hidden layer drawn badly: the same findings before and after."""
    for bad, make in BAD.items():
        for name, build, x, layer in (
                ("cnn", lambda: CNN("relu"), torch.randn(1, 3, 16, 16), lambda m: m.c1[0].weight),
                ("mlp", MLP, torch.randn(2, 32), lambda m: m.net[2].weight)):
            m = build()
            path = os.path.join(tmp, f"bad_{name}_{bad}.onnx")
            export(m, x, path, 13, False, weight=(layer(m), make))
            opt = path[:-5] + "_ext.onnx"
            try:
                ort_optimize(path, opt, "extended")
                want, got = findings(tool, path), findings(tool, opt)
                problems = [] if want == got else [f"before {sorted(want)}, after {sorted(got)}"]
                if not want:
                    problems.append("nothing found before the optimizer")
            except RuntimeError as e:
                problems = [str(e)]
            report(f"check: {name} with a {bad} layer, before and after the optimizer", problems)


def main():
    tool = sys.argv[1]
    if not ort_available():
        print("skip: onnxruntime-node is not installed (tests/ort)")
        return 77
    torch.manual_seed(0)
    totals = [0, 0]
    with tempfile.TemporaryDirectory() as tmp:
        for name, module, x, opset, train in models():
            path = os.path.join(tmp, name + ".onnx")
            export(module, x, path, opset, train)
            for level in ("basic", "extended"):
                opt = os.path.join(tmp, f"{name}_{level}.onnx")
                try:
                    ort_optimize(path, opt, level)
                    problems = plan_problems(plan(tool, path), plan(tool, opt))
                    more, total, changed = apply_problems(tool, opt, opt[:-5] + "_out.onnx")
                    problems += more
                    totals[0] += total
                    totals[1] += changed
                except RuntimeError as e:
                    problems = [str(e)]
                report(f"{name}, optimizer level {level}", problems)
        share = totals[1] / totals[0] if totals[0] else 0
        report(f"{totals[1]} of {totals[0]} layer weight elements re-initialized "
               f"({100 * share:.2f}%)", [] if share >= 0.999 else ["below 99.9%"])
        check_cases(tool, tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
