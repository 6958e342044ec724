#!/usr/bin/python3
"""Real architectures from torchvision (random weights, nothing downloaded),
exported to ONNX: what `plan` chooses for every Conv and Linear weight must
agree with what the PyTorch module structure says follows that layer. The
expectation comes from torch.fx, walking the traced module graph (not the
ONNX graph) from each layer to the first activation module or function.
Then `apply` on each export must load and run in ONNX Runtime with finite
outputs.

    check_architectures.py ONNX_REINIT

Needs Debian's python3-torch and python3-torchvision.
Prints one line per problem and 'N passed, N failed'; exits 1 on any.
"""
import json
import operator
import os
import subprocess
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from needs_torch import nn, torch, torchvision  # noqa: E402
import torch.fx  # noqa: E402
from ort_inputs import ort_available, run_ort  # noqa: E402

warnings.filterwarnings("ignore")

# Module types and functions that pass the signal through unchanged in
# kind (the README's transparent ops), and the activations, by family.
PASS_MODULES = (nn.BatchNorm2d, nn.Dropout, nn.Identity, nn.AdaptiveAvgPool2d,
                nn.MaxPool2d, nn.Flatten, torchvision.ops.StochasticDepth)
PASS_FUNCTIONS = {operator.add, torch.add, torch.flatten, torch.cat}
ACTIVATIONS = {nn.ReLU: "relu", nn.ReLU6: "relu", nn.Hardswish: "relu",
               nn.SiLU: "relu", nn.GELU: "relu", nn.Hardsigmoid: "sigmoid",
               nn.Sigmoid: "sigmoid", nn.Tanh: "sigmoid"}
LAYERS = (nn.Conv2d, nn.Linear)
SCHEME = {"relu": "he_normal", "sigmoid": "xavier_uniform", "none": "xavier_uniform"}


def expected(model):
    """{param name of each Conv2d/Linear weight: activation family}."""
    gm = torch.fx.symbolic_trace(model)
    mods = dict(gm.named_modules())
    out = {}
    for n in gm.graph.nodes:
        if n.op == "call_module" and isinstance(mods[n.target], LAYERS):
            out[n.target + ".weight"] = follow(n, mods)
    return out


def follow(start, mods):
    """Breadth first from a layer's node to the nearest activation."""
    queue, seen, found_none = list(start.users), set(), False
    while queue:
        n = queue.pop(0)
        if n in seen:
            continue
        seen.add(n)
        if n.op == "call_module":
            m = mods[n.target]
            family = next((f for t, f in ACTIVATIONS.items() if isinstance(m, t)), None)
            if family:
                return family
            if isinstance(m, LAYERS):
                found_none = True
                continue
            if isinstance(m, PASS_MODULES):
                queue += list(n.users)
                continue
        if n.op == "call_function" and n.target in PASS_FUNCTIONS:
            queue += list(n.users)
            continue
        if n.op == "call_function" and n.target in (operator.mul, torch.mul):
            continue  # a gate (squeeze-excitation): the signal is scaled
        found_none = True  # output, or an op that ends the walk
    return "none"


ARCHS = {
    "resnet18": lambda: torchvision.models.resnet18(),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(),
    "mobilenet_v3_small": lambda: torchvision.models.mobilenet_v3_small(),
    "efficientnet_b0": lambda: torchvision.models.efficientnet_b0(),
}


def export(model, path):
    model.eval()
    torch.onnx.export(model, torch.randn(1, 3, 64, 64), path, opset_version=17,
                      input_names=["input"], output_names=["output"],
                      training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False)


def check(tool, name, tmp):
    torch.manual_seed(0)
    model = ARCHS[name]()
    want = expected(model)
    path = os.path.join(tmp, name + ".onnx")
    export(model, path)
    r = subprocess.run([tool, "plan", "--json", path], capture_output=True, text=True)
    if r.returncode != 0:
        return [f"plan failed: {r.stderr.strip()}"]
    plan = {t["name"]: t for t in json.loads(r.stdout)["tensors"]}
    problems = []
    for param, family in want.items():
        t = plan.get(param)
        if t is None:
            problems.append(f"{param}: not in the plan")
        elif t["scheme"] != SCHEME[family]:
            problems.append(f"{param}: {t['scheme']} ({t['activation']} via "
                            f"{' > '.join(t['path'])}), module structure says {family}")
    out = os.path.join(tmp, name + ".reinit.onnx")
    r = subprocess.run([tool, "apply", path, "-o", out], capture_output=True, text=True)
    if r.returncode != 0:
        problems.append(f"apply failed: {r.stderr.strip()}")
    elif ort_available():
        try:
            for oname, o in run_ort(out).items():
                if not o["finite"]:
                    problems.append(f"ONNX Runtime: {oname} not finite")
        except RuntimeError as e:
            problems.append(f"ONNX Runtime: {e}")
    counts = {f: sum(1 for v in want.values() if v == f) for f in SCHEME}
    print(f"{name}: {len(want)} layers ({counts['relu']} He, "
          f"{counts['sigmoid'] + counts['none']} Xavier)")
    return problems


def main():
    tool = sys.argv[1]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in ARCHS:
            problems = check(tool, name, tmp)
            for p in problems:
                print(f"FAIL {name}: {p}")
            failed += bool(problems)
            passed += not problems
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
