#!/usr/bin/python3
"""--profile against the frameworks it imitates. PyTorch modules (an MLP, a
CNN with BatchNorm, a ConvTranspose decoder, a TransformerEncoderLayer, an
LSTM, a GRU and an RNN, an Embedding model), their parameters set to
trained-looking values, exported at opset 13 with constant folding off
(the state_dict's names kept):

- pytorch: every re-initialized tensor of 64 elements or more against the
  same tensor of a freshly constructed module (two-sample
  Kolmogorov-Smirnov, 1e-3 Bonferroni-corrected over the tensors tested),
  no value outside PyTorch's own bound, constants exactly equal;
- transformers: Linear weights and embeddings N(0, 0.02) by the exact
  variance test, biases and norms exactly 0 and 1;
- keras: kernels glorot_uniform over Keras's fans (the variance test and
  the bound), recurrent kernels orthogonal over every gate of a direction
  (R's columns orthonormal), the LSTM forget gate's bias 1, embeddings
  U(-0.05, 0.05);
- --rules before --profile: the user's rule decides first.

    check_profiles.py ONNX_REINIT
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from needs_torch import nn, torch  # noqa: E402
from results import finish, report  # noqa: E402
from stats import variance_problem  # noqa: E402


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, groups=4)
        self.fc = nn.Linear(32 * 6 * 6, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv1(x)))
        return self.fc(torch.relu(self.conv2(x)).flatten(1))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.up1 = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1)

    def forward(self, x):
        return torch.tanh(self.up2(torch.relu(self.up1(x))))


class Recurrent(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc(self.rnn(x)[0])


class Embedder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.fc = nn.Linear(16, 8)

    def forward(self, ids):
        return self.fc(self.emb(ids))


def models():
    """(name, constructor, example input)"""
    return [
        ("mlp", lambda: nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10)),
         torch.randn(2, 32)),
        ("cnn", Cnn, torch.randn(1, 3, 8, 8)),
        ("decoder", Decoder, torch.randn(1, 16, 4, 4)),
        ("transformer", lambda: nn.TransformerEncoderLayer(32, 4, 64, batch_first=True),
         torch.randn(1, 5, 32)),
        ("lstm", lambda: Recurrent(nn.LSTM), torch.randn(1, 5, 8)),
        ("gru", lambda: Recurrent(nn.GRU), torch.randn(1, 5, 8)),
        ("rnn", lambda: Recurrent(nn.RNN), torch.randn(1, 5, 8)),
        ("embedding", Embedder, torch.randint(0, 50, (2, 6))),
    ]


def export(make, x, path):
    m = make().eval()
    g = torch.Generator().manual_seed(9)
    with torch.no_grad():  # trained-looking: no initializer gives these
        for p in m.parameters():
            p.copy_(0.31 + 0.07 * torch.randn(p.shape, generator=g))
        for b in m.buffers():
            if b.dtype.is_floating_point:
                b.copy_(0.5 + 0.1 * torch.rand(b.shape, generator=g))
    torch.onnx.export(m, x, path, opset_version=13, do_constant_folding=False)
    return path


def tool(exe, *args):
    r = subprocess.run([exe, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return r.stdout


def tensors(path):
    return {t.name: numpy_helper.to_array(t).astype(np.float64)
            for t in onnx.load(path).graph.initializer}


def ks_p(a, b):
    """Two-sample Kolmogorov-Smirnov: the asymptotic P of the largest
    distance between the empirical distributions (Stephens' correction)."""
    a, b = np.sort(np.ravel(a)), np.sort(np.ravel(b))
    both = np.concatenate([a, b])
    d = np.max(np.abs(np.searchsorted(a, both, "right") / len(a)
                      - np.searchsorted(b, both, "right") / len(b)))
    en = math.sqrt(len(a) * len(b) / (len(a) + len(b)))
    lam = (en + 0.12 + 0.11 / en) * d
    if lam < 0.3:
        return 1.0
    return max(0.0, min(1.0, 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam)
                                      for k in range(1, 101))))


def pytorch_bound(module, name):
    """PyTorch's own bound for parameter name of a fresh module, or None
    (a normal draw or a constant)."""
    owner, _, leaf = name.rpartition(".")
    mod = module.get_submodule(owner) if owner else module
    if isinstance(mod, (nn.LSTM, nn.GRU, nn.RNN)):
        return 1 / math.sqrt(mod.hidden_size)
    if leaf == "in_proj_weight":
        e = mod.embed_dim
        return math.sqrt(6 / (e + 3 * e))
    if isinstance(mod, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)) and leaf in ("weight", "bias"):
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(mod.weight)
        return 1 / math.sqrt(fan_in)
    return None


def pytorch_case(exe, name, make, x, tmp, tested):
    path = export(make, x, os.path.join(tmp, name + ".onnx"))
    out = os.path.join(tmp, name + "_pt.onnx")
    plan = json.loads(tool(exe, "apply", path, "-o", out, "--seed", "17", "--profile", "pytorch",
                           "--json"))
    torch.manual_seed(123)
    fresh = make()
    ref = {k: v.detach().double().numpy() for k, v in fresh.state_dict().items()}
    rnn_pool = np.concatenate([v.ravel() for k, v in ref.items() if k.startswith("rnn.")]) \
        if any(k.startswith("rnn.") for k in ref) else None
    got, problems = tensors(out), []
    for t in plan["tensors"]:
        n = t["name"]
        ours = got[n]
        # a Conv with its BatchNorm folded in (PyTorch's eval export) has
        # a name of its own: the fresh tensor of its shape and role
        same = [k for k in ref if ref[k].shape == ours.shape and k.endswith("." + t["role"])]
        if n in ref:
            theirs, bound = ref[n], pytorch_bound(fresh, n)
        elif t["op"] in ("LSTM", "GRU", "RNN"):
            theirs, bound = rnn_pool, 1 / math.sqrt(16)
        elif same:
            theirs, bound = ref[same[0]], pytorch_bound(fresh, same[0])
        else:
            problems.append(f"{n}: no PyTorch tensor to compare")
            continue
        if np.all(theirs == theirs.ravel()[0]):  # a constant: exactly
            if not np.all(ours == theirs.ravel()[0]):
                problems.append(f"{n}: not the constant {theirs.ravel()[0]}")
            continue
        if bound is not None and np.max(np.abs(ours)) > bound * (1 + 1e-6):
            problems.append(f"{n}: {np.max(np.abs(ours)):.4g} outside +-{bound:.4g}")
        if ours.size >= 64:
            tested.append((f"{name}: {n}", ks_p(ours, theirs)))
    report(f"pytorch profile, {name}: bounds and constants as a fresh module's", problems)
    return path


def transformers_case(exe, path, name, tmp):
    out = os.path.join(tmp, name + "_hf.onnx")
    plan = json.loads(tool(exe, "apply", path, "-o", out, "--seed", "3", "--profile",
                           "transformers", "--json"))
    got, problems = tensors(out), []
    for t in plan["tensors"]:
        v = got[t["name"]].ravel()
        if t["role"] in ("weight", "embedding") and t["op"] in ("Gemm", "MatMul", "Conv", "Gather"):
            p = variance_problem(v.tolist(), 0.02)
            if p or abs(np.mean(v)) > 0.02 * 6 / math.sqrt(len(v)):
                problems.append(f"{t['name']}: {p or 'mean'}")
        elif t["role"] in ("bias", "norm_bias", "norm_mean") and t["op"] not in ("LSTM", "GRU", "RNN"):
            if np.any(v != 0):
                problems.append(f"{t['name']}: not 0")
        elif t["role"] in ("norm_scale", "norm_var") and np.any(v != 1):
            problems.append(f"{t['name']}: not 1")
    report(f"transformers profile, {name}: N(0, 0.02) by the exact variance test, 0 and 1",
           problems)


def keras_case(exe, path, name, tmp):
    out = os.path.join(tmp, name + "_k.onnx")
    plan = json.loads(tool(exe, "apply", path, "-o", out, "--seed", "5", "--profile", "keras",
                           "--json"))
    got, problems = tensors(out), []
    for t in plan["tensors"]:
        v = got[t["name"]]
        if t["role"] == "weight":
            b = math.sqrt(6 / (t["fan_in"] + t["fan_out"]))
            p = variance_problem(v.ravel().tolist(), b / math.sqrt(3))
            if p or np.max(np.abs(v)) > b * (1 + 1e-6):
                problems.append(f"{t['name']}: {p or 'outside the bound'}")
        elif t["role"] == "input_weight":  # [(dirs,) gates H, I]: fans I and gates H
            b = math.sqrt(6 / (v.shape[-1] + v.shape[-2]))
            p = variance_problem(v.ravel().tolist(), b / math.sqrt(3))
            if p or np.max(np.abs(v)) > b * (1 + 1e-6):
                problems.append(f"{t['name']}: {p or 'outside the bound'}")
        elif t["role"] == "recurrent_weight":
            for r in v.reshape(-1, v.shape[-2], v.shape[-1]):  # a direction's [gates H, H]
                if np.max(np.abs(r.T @ r - np.eye(r.shape[1]))) > 1e-5:
                    problems.append(f"{t['name']}: R's columns not orthonormal")
        elif t["role"] == "bias" and t["op"] == "LSTM":
            v = v.ravel()
            want = np.zeros(v.size)
            if t["name"].endswith("bias_ih_l0"):  # PyTorch's i, f, g, o
                want[v.size // 4:v.size // 2] = 1
            elif not t["name"].endswith("bias_hh_l0"):  # ONNX's Wb i, o, f, c; Rb
                want[v.size // 4:3 * v.size // 8] = 1
            if np.any(v != want):
                problems.append(f"{t['name']}: not the forget gate's 1")
        elif t["role"] == "embedding":
            p = variance_problem(v.ravel().tolist(), 0.1 / math.sqrt(12))
            if p or np.max(np.abs(v)) > 0.05:
                problems.append(f"{t['name']}: {p or 'outside +-0.05'}")
    report(f"keras profile, {name}: glorot over Keras's fans, whole orthogonal R, forget bias",
           problems)


def rules_first_case(exe, path, tmp):
    rules = os.path.join(tmp, "mine.rules")
    with open(rules, "w") as f:
        f.write("role=weight => zeros\n")
    plan = json.loads(tool(exe, "plan", path, "--rules", rules, "--profile", "pytorch", "--json"))
    schemes = {t["scheme"] for t in plan["tensors"] if t["role"] == "weight"}
    biases = {t["scheme"] for t in plan["tensors"] if t["role"] == "bias"}
    report("--rules come before the profile's rules, the profile before the defaults",
           [] if schemes == {"zeros"} and biases == {"pytorch_bias"}
           else [f"weights {schemes}, biases {biases}"])


def main():
    exe = sys.argv[1]
    tested = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, make, x in models():
            paths[name] = pytorch_case(exe, name, make, x, tmp, tested)
        alpha = 1e-3 / len(tested)
        failing = [f"{n}: P = {p:.2g}" for n, p in tested if p < alpha]
        report(f"pytorch profile: {len(tested)} tensors against a fresh module's, "
               f"Kolmogorov-Smirnov at {alpha:.2g}", failing)
        for name in ("mlp", "transformer", "embedding", "cnn"):
            transformers_case(exe, paths[name], name, tmp)
        for name in ("mlp", "cnn", "lstm", "gru", "embedding"):
            keras_case(exe, paths[name], name, tmp)
        rules_first_case(exe, paths["mlp"], tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
