#!/usr/bin/python3
"""Fixed transforms kept, trained layers still re-initialized. PyTorch
modules whose front ends compute audio features in the graph, exported at
opset 13 (constant folding on: buffers become initializers) and 17
(folding off), and hand-built float16 graphs:

- STFT as a Conv1d over a registered buffer: the real and imaginary
  bases stacked (Silero VAD's layout) or as two Convs (openWakeWord's),
  built with numpy as torch.stft builds them (n_fft 128 to 1024, the
  window torch.hann_window / torch.hamming_window, a window shorter than
  n_fft padded about the centre), and as a MatMul by [n_fft, 2 bins];
- mel filter banks from torchaudio (HTK and Slaney scales, with and
  without Slaney's area normalization) as a MatMul, then a DCT matrix
  (torchaudio.functional.create_dct, orthonormal and not);
- a Gaussian smoothing kernel on the input before any layer (kept) and
  another after a trained layer (re-initialized: weak evidence alone).

For each: plan names what each fixed tensor is and keeps it; after apply
its bytes are the input's while every trained weight has changed; ONNX
Runtime runs the output. A rule naming the role re-initializes it.

    check_fixed_transforms.py ONNX_REINIT
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from needs_torch import nn, torch  # noqa: E402
from ort_inputs import run_ort  # noqa: E402
from results import finish, report  # noqa: E402
from tensor_values import tensors  # noqa: E402

try:
    import torchaudio.functional as AF
except ImportError:  # python3-torchaudio is installed by .ci/install-deps
    print("torchaudio is missing (apt-get install python3-torchaudio)", file=sys.stderr)
    sys.exit(77)


def stft_basis(n_fft, window, win_length=None):
    """The real and imaginary DFT bases torch.stft applies ([bins, n_fft]
    each): the window (win_length long) padded about the centre."""
    w = window(win_length or n_fft, periodic=True).double().numpy()
    left = (n_fft - len(w)) // 2
    w = np.pad(w, (left, n_fft - len(w) - left))
    t = np.arange(n_fft)
    f = np.arange(n_fft // 2 + 1)[:, None]
    return np.cos(2 * np.pi * f * t / n_fft) * w, -np.sin(2 * np.pi * f * t / n_fft) * w


class StftFrontEnd(nn.Module):
    """Silero-like: a Conv1d STFT (stacked, or two Convs), magnitude, then
    trained Conv1d layers."""

    def __init__(self, n_fft, window, win_length=None, split=False):
        super().__init__()
        re, im = stft_basis(n_fft, window, win_length)
        self.split = split
        if split:
            self.register_buffer("stft_real", torch.tensor(re[:, None, :], dtype=torch.float32))
            self.register_buffer("stft_imag", torch.tensor(im[:, None, :], dtype=torch.float32))
        else:
            self.register_buffer("stft_basis", torch.tensor(
                np.concatenate([re, im])[:, None, :], dtype=torch.float32))
        self.bins, self.hop = n_fft // 2 + 1, n_fft // 4
        self.enc = nn.Conv1d(self.bins, 16, 3, padding=1)
        self.out = nn.Conv1d(16, 1, 1)

    def forward(self, x):
        if self.split:
            re = nn.functional.conv1d(x, self.stft_real, stride=self.hop)
            im = nn.functional.conv1d(x, self.stft_imag, stride=self.hop)
        else:
            s = nn.functional.conv1d(x, self.stft_basis, stride=self.hop)
            re, im = s[:, :self.bins], s[:, self.bins:]
        mag = torch.sqrt(re * re + im * im + 1e-6)
        return torch.sigmoid(self.out(torch.relu(self.enc(mag))))


class MelMfcc(nn.Module):
    """openWakeWord-like: STFT as a MatMul by [n_fft, 2 bins], a mel filter
    bank, log, a DCT, then a trained Linear."""

    def __init__(self, n_fft, n_mels, norm, mel_scale, dct_norm):
        super().__init__()
        re, im = stft_basis(n_fft, torch.hann_window)
        bins = n_fft // 2 + 1
        self.bins = bins
        self.register_buffer("dft", torch.tensor(np.concatenate([re, im]).T, dtype=torch.float32))
        self.register_buffer("mel", AF.melscale_fbanks(bins, 0.0, 8000.0, n_mels, 16000,
                                                       norm=norm, mel_scale=mel_scale).float())
        self.register_buffer("dct", AF.create_dct(13, n_mels, dct_norm).float())
        self.head = nn.Linear(13, 8)

    def forward(self, frames):  # [batch, frames, n_fft]
        s = frames @ self.dft
        power = s[..., :self.bins] ** 2 + s[..., self.bins:] ** 2
        mfcc = torch.log(power @ self.mel + 1e-6) @ self.dct
        return torch.tanh(self.head(mfcc))


class Smoothed(nn.Module):
    """A Gaussian kernel on the input (before any layer), and another
    after a trained Conv1d."""

    def __init__(self):
        super().__init__()
        g = torch.exp(-torch.arange(-2.0, 3.0) ** 2 / 2)
        h = torch.exp(-torch.arange(-2.0, 3.0) ** 2 / 4.5)  # its own values:
        # PyTorch's export merges equal tensors
        self.register_buffer("smooth_in", (g / g.sum()).reshape(1, 1, 5))
        self.register_buffer("smooth_mid", (h / h.sum()).reshape(1, 1, 5))
        self.conv = nn.Conv1d(1, 1, 7, padding=3)
        self.conv2 = nn.Conv1d(1, 4, 3)

    def forward(self, x):
        x = nn.functional.conv1d(x, self.smooth_in, padding=2)
        x = torch.relu(self.conv(x))
        x = nn.functional.conv1d(x, self.smooth_mid, padding=2)
        return self.conv2(x)


def trained_looking(module):
    """Parameters set to values no initializer gives, so that any left
    unchanged shows."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.37 + 0.11 * torch.randn(p.shape, generator=g))
    return module


def export(module, shape, path, opset):
    torch.onnx.export(trained_looking(module).eval(), torch.randn(*shape), path,
                      opset_version=opset, do_constant_folding=opset == 13)
    return path


def tool(exe, *args):
    r = subprocess.run([exe, *args], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise RuntimeError(r.stderr.strip())
    return r.stdout


def by_value(model):
    """{qualified name: bytes} of every tensor."""
    return {n: numpy_helper.to_array(t).tobytes() for n, t in tensors(model.graph, "")}


def find_name(model, like):
    """The qualified name of the tensor whose values are like's."""
    for n, t in tensors(model.graph, ""):
        a = numpy_helper.to_array(t)
        if a.shape == like.shape and np.allclose(a.astype(np.float64), like, atol=1e-3):
            return n
    return None


def check_case(exe, path, fixed, tmp, rules=None):
    """fixed: {values: expected words of the reason}. Problems."""
    problems = []
    model = onnx.load(path)
    names = {}
    for values, words in fixed:
        n = find_name(model, values)
        if n is None:
            problems.append(f"no tensor holds the {words} here")
        names[n] = words
    args = ["--rules", rules] if rules else []
    plan = json.loads(tool(exe, "plan", path, "--json", *args))
    skipped = {s["name"]: s["reason"] for s in plan["skipped"]}
    for n, words in names.items():
        if rules:
            continue
        if n not in skipped or words not in skipped[n] or "kept by" not in skipped[n]:
            problems.append(f"{n}: {skipped.get(n, 'planned')}, want '{words}', kept")
    out = os.path.join(tmp, "out.onnx")
    tool(exe, "apply", path, "-o", out, "--seed", "5", *args)
    before, after = by_value(model), by_value(onnx.load(out))
    for item in plan["tensors"]:
        if item["role"] in ("weight", "fixed_transform") and before[item["name"]] == after[item["name"]]:
            problems.append(f"{item['name']}: planned {item['scheme']}, unchanged")
    for n in names:
        if n and not rules and before[n] != after[n]:
            problems.append(f"{n}: the fixed transform changed")
    try:
        if not all(v["finite"] for v in run_ort(out).values()):
            problems.append("ONNX Runtime: outputs not finite")
    except RuntimeError as e:
        problems.append(f"ONNX Runtime: {str(e)[:160]}")
    return problems, plan


def stft_cases(exe, tmp):
    windows = {"Hann": torch.hann_window, "Hamming": torch.hamming_window}
    for n_fft, win, win_length, split, opset in (
            (256, "Hann", None, False, 13), (128, "Hann", None, False, 17),
            (512, "Hann", None, True, 13), (400, "Hann", 320, False, 17),
            (1024, "Hamming", None, False, 13), (512, "Hamming", None, True, 17)):
        m = StftFrontEnd(n_fft, windows[win], win_length, split)
        path = export(m, (1, 1, 4 * n_fft), os.path.join(tmp, f"stft{n_fft}.onnx"), opset)
        re, im = stft_basis(n_fft, windows[win], win_length)
        name = f"{win} window" + (f" of {win_length} points" if win_length else "")
        fixed = ([(re[:, None, :], name), (im[:, None, :], name)] if split
                 else [(np.concatenate([re, im])[:, None, :], name)])
        problems, _ = check_case(exe, path, fixed, tmp)
        report(f"STFT as Conv, n_fft {n_fft}, {name}, {'two Convs' if split else 'stacked'}, "
               f"opset {opset}: kept, named, the rest re-initialized", problems)


def mel_cases(exe, tmp):
    for n_fft, n_mels, norm, scale, dct_norm, opset in (
            (512, 32, None, "htk", "ortho", 13), (400, 40, "slaney", "slaney", None, 17),
            (256, 24, None, "slaney", "ortho", 17)):
        m = MelMfcc(n_fft, n_mels, norm, scale, dct_norm)
        path = export(m, (1, 5, n_fft), os.path.join(tmp, f"mel{n_fft}.onnx"), opset)
        re, im = stft_basis(n_fft, torch.hann_window)
        fixed = [(np.concatenate([re, im]).T, "DFT basis"),
                 (m.mel.double().numpy(), "triangular filters"),
                 (m.dct.double().numpy(), "DCT-II matrix")]
        problems, _ = check_case(exe, path, fixed, tmp)
        report(f"STFT as MatMul, {n_mels} {scale} mel filters (norm {norm}), DCT ({dct_norm}), "
               f"opset {opset}: all three kept, the head re-initialized", problems)


def smoothing_case(exe, tmp):
    m = Smoothed()
    path = export(m, (1, 1, 64), os.path.join(tmp, "smooth.onnx"), 17)
    k = m.smooth_in.double().numpy()
    problems, plan = check_case(exe, path, [(k, "smoothing kernel of 5 taps")], tmp)
    mid = [t for t in plan["tensors"] if t["name"].endswith("smooth_mid")]
    if not mid:
        problems.append("the kernel after a trained layer was not planned as a weight")
    report("a smoothing kernel before any layer kept; one after a layer re-initialized",
           problems)


def float16_case(exe, tmp):
    re, im = stft_basis(256, torch.hann_window)
    w = numpy_helper.from_array(np.concatenate([re, im])[:, None, :].astype(np.float16), "basis")
    k = numpy_helper.from_array(np.random.default_rng(1).normal(
        0.3, 0.1, (8, 129, 3)).astype(np.float16), "enc")
    nodes = [helper.make_node("Conv", ["x", "basis"], ["s"], strides=[64]),
             helper.make_node("Slice", ["s", "b0", "b1", "ax"], ["re"]),
             helper.make_node("Conv", ["re", "enc"], ["c"]),
             helper.make_node("Relu", ["c"], ["y"])]
    consts = [numpy_helper.from_array(np.array(v, np.int64), n)
              for n, v in (("b0", [0]), ("b1", [129]), ("ax", [1]))]
    g = helper.make_graph(nodes, "f16", [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [1, 1, 1024])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT16, None)], [w, k] + consts)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(tmp, "f16.onnx")
    onnx.save(model, path)
    problems, _ = check_case(exe, path, [(np.concatenate([re, im])[:, None, :], "Hann window")], tmp)
    report("a float16 STFT basis kept, the float16 layer after it re-initialized", problems)
    rules = os.path.join(tmp, "ft.rules")
    with open(rules, "w") as f:
        f.write("role=fixed_transform name=basis => he_normal\n")
    problems, plan = check_case(exe, path, [(np.concatenate([re, im])[:, None, :], "")], tmp, rules)
    item = [t for t in plan["tensors"] if t["name"] == "basis"]
    if not item or item[0]["role"] != "fixed_transform" or "DFT basis" not in item[0].get("found", ""):
        problems.append(f"basis: {item}")
    report("a rule naming role=fixed_transform re-initializes the basis (role and found in JSON)",
           problems)


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        stft_cases(exe, tmp)
        mel_cases(exe, tmp)
        smoothing_case(exe, tmp)
        float16_case(exe, tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
