#!/usr/bin/python3
"""Every trained parameter re-initialized, nothing else touched. PyTorch
exports (constant folding off, so that names are the state_dict's; opset
13 and 17) whose every parameter holds values no initializer gives:
torchvision's ResNet-18, MobileNetV3-small, EfficientNet-B0 and
ConvNeXt-tiny, a small ConvNeXt and a small VisionTransformer; a TransformerEncoder language
model with learned positions and a head tied to its embedding; Embedding
plus LSTM, GRU and RNN text models; a Conv1d, GroupNorm, GRU audio model
with a registered window buffer. After `apply --strict`:

- every element of every parameter has changed;
- every buffer but BatchNorm's running statistics is byte for byte the
  input's (the audio model's window);
- ONNX Runtime runs the output, its outputs finite.

And a few hand-built graphs check each structural role on its own (PRelu's
slope, RMSNorm written out, an attention mask kept).

    check_params.py ONNX_REINIT

Prints one line per case and 'N passed, N failed'; exits 1 on any.
"""
import io
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import finish, report  # noqa: E402
from ort_inputs import ort_available, run_ort  # noqa: E402
from needs_torch import torch, torchvision, nn  # noqa: E402



class TextLM(nn.Module):
    def __init__(self, vocab=40, dim=16, length=12):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.zeros(1, length, dim))
        layer = nn.TransformerEncoderLayer(dim, 2, 32, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.emb.weight  # tied

    def forward(self, tokens):
        x = self.emb(tokens) + self.pos[:, :tokens.shape[1]]
        return self.head(self.enc(x))


class TextRNN(nn.Module):
    def __init__(self, cell, vocab=30, dim=8, hidden=6):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.rnn = getattr(nn, cell)(dim, hidden, num_layers=2, bidirectional=True,
                                     batch_first=True)
        self.out = nn.Linear(2 * hidden, 3)

    def forward(self, tokens):
        return self.out(self.rnn(self.emb(tokens))[0][:, -1])


class Audio(nn.Module):
    def __init__(self, samples=64):
        super().__init__()
        self.register_buffer("window", torch.hann_window(samples))
        self.conv = nn.Conv1d(1, 8, 5, padding=2)
        self.norm = nn.GroupNorm(2, 8)
        self.gru = nn.GRU(8, 8, batch_first=True)

    def forward(self, x):
        x = torch.relu(self.norm(self.conv((x * self.window).unsqueeze(1))))
        return self.gru(x.transpose(1, 2))[0]


def small_convnext():
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt
    return ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 1)], num_classes=5)


def small_vit():
    from torchvision.models.vision_transformer import VisionTransformer
    return VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                             hidden_dim=16, mlp_dim=32, num_classes=5)


MODELS = [
    ("ResNet-18", lambda: torchvision.models.resnet18(num_classes=10), (1, 3, 64, 64)),
    ("MobileNetV3-small", lambda: torchvision.models.mobilenet_v3_small(num_classes=10),
     (1, 3, 64, 64)),
    ("EfficientNet-B0", lambda: torchvision.models.efficientnet_b0(num_classes=10),
     (1, 3, 64, 64)),
    ("ConvNeXt (small)", small_convnext, (1, 3, 32, 32)),
    ("ConvNeXt-tiny", lambda: torchvision.models.convnext_tiny(num_classes=10), (1, 3, 32, 32)),
    ("VisionTransformer (small)", small_vit, (1, 3, 32, 32)),
    ("TransformerEncoder LM, learned positions, tied head", TextLM, ("tokens", 2, 8, 40)),
    ("Embedding + LSTM", lambda: TextRNN("LSTM"), ("tokens", 2, 7, 30)),
    ("Embedding + GRU", lambda: TextRNN("GRU"), ("tokens", 2, 7, 30)),
    ("Embedding + RNN", lambda: TextRNN("RNN"), ("tokens", 2, 7, 30)),
    ("Conv1d, GroupNorm, GRU audio model with a window buffer", Audio, (2, 64)),
]

RUNNING = ("running_mean", "running_var", "num_batches_tracked")


def trained(module, seed=0):
    """Every parameter and running statistic set to values no initializer
    gives; other buffers (the window) stay as registered."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3 + 0.2)
        for name, b in module.named_buffers():
            if name.endswith(("running_mean", "running_var")):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
    return module.eval()


def export(module, shape, opset):
    if shape[0] == "tokens":
        x = torch.randint(0, shape[3], shape[1:3])
    else:
        x = torch.randn(*shape)
    f = io.BytesIO()
    torch.onnx.export(module, x, f, opset_version=opset, do_constant_folding=False,
                      input_names=["x"], output_names=["y"])
    return onnx.load_from_string(f.getvalue())


def check_export(tool, title, make, shape, opset, tmp):
    module = trained(make())
    params = {n for n, _ in module.named_parameters()}
    buffers = {n for n, _ in module.named_buffers() if not n.endswith(RUNNING)}
    m = export(module, shape, opset)
    src, out = os.path.join(tmp, "in.onnx"), os.path.join(tmp, "out.onnx")
    onnx.save(m, src)
    r = subprocess.run([tool, "apply", src, "-o", out, "--strict", "--seed", "4"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return [f"apply --strict: exit {r.returncode}: {r.stderr.strip()}"]
    before = {t.name: t for t in m.graph.initializer}
    after = {t.name: t for t in onnx.load(out).graph.initializer}
    problems = []
    # in eval mode the exporter folds BatchNorm into the Conv before it:
    # those weights are parameters under names of its own
    params |= {name for name, t in before.items()
               if name.startswith("onnx::") and t.data_type == TensorProto.FLOAT and
               numpy_helper.to_array(t).size > 1}
    if len(params & set(before)) < len(list(module.parameters())) // 2:
        problems.append("the export does not keep the state_dict's names")
    for name in params & set(before):
        x, y = numpy_helper.to_array(before[name]), numpy_helper.to_array(after[name])
        if np.any(x == y):
            problems.append(f"{name}: {int(np.sum(x == y))} of {x.size} values kept")
    for name in buffers & set(before):
        if before[name].SerializeToString() != after[name].SerializeToString():
            problems.append(f"buffer {name} changed")
    if ort_available():
        try:
            res = run_ort(out)
            if not all(v["finite"] for v in res.values()):
                problems.append("ONNX Runtime: outputs not finite")
        except RuntimeError as e:
            problems.append(f"ONNX Runtime: {e}")
    return problems


def plan_of(tool, m, tmp):
    path = os.path.join(tmp, "hand.onnx")
    onnx.save(m, path)
    r = subprocess.run([tool, "plan", path, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    j = json.loads(r.stdout)
    return {t["name"]: t for t in j["tensors"]}, {s["name"]: s["reason"] for s in j["skipped"]}


def hand_built(tool, tmp):
    rng = np.random.default_rng(2)
    f32 = lambda name, *shape: numpy_helper.from_array(
        rng.normal(0.2, 0.3, shape).astype(np.float32), name)
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
    vi = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    def model(nodes, inits, inputs=(("x", [2, 4, 8]),)):
        g = helper.make_graph(nodes, "g", [vi(n, s) for n, s in inputs], [vi("y", None)],
                              initializer=inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])

    n = helper.make_node
    cases = [
        ("PRelu's slope", model(
            [n("MatMul", ["x", "W"], ["h"]), n("PRelu", ["h", "slope"], ["y"])],
            [f32("W", 8, 8), f32("slope", 8)]),
         {"slope": ("prelu_slope", "constant", 0.25)}),
        ("RMSNorm written out: its scale", model(
            [n("Pow", ["x", "two"], ["sq"]), n("ReduceMean", ["sq"], ["ms"], axes=[-1]),
             n("Add", ["ms", "eps"], ["mse"]), n("Sqrt", ["mse"], ["rms"]),
             n("Div", ["x", "rms"], ["xn"]), n("Mul", ["xn", "g"], ["y"])],
            [numpy_helper.from_array(np.array(2, np.float32), "two"),
             numpy_helper.from_array(np.array(1e-6, np.float32), "eps"), f32("g", 8)]),
         {"g": ("norm_scale", "ones", 1)}),
        ("an attention mask added to Q K^T is kept", model(
            [n("MatMul", ["x", "Wq"], ["q"]), n("MatMul", ["x", "Wk"], ["k"]),
             n("Transpose", ["k"], ["kt"], perm=[0, 2, 1]), n("MatMul", ["q", "kt"], ["s"]),
             n("Add", ["s", "mask"], ["sm"]), n("Softmax", ["sm"], ["y"], axis=-1)],
            [f32("Wq", 8, 8), f32("Wk", 8, 8),
             numpy_helper.from_array(np.triu(np.full((4, 4), -1e9, np.float32), 1), "mask")]),
         {"mask": ("buffer", None, None)}),
        ("a layer scale on a residual branch", model(
            [n("MatMul", ["x", "W"], ["h"]), n("Mul", ["h", "gamma"], ["hs"]),
             n("Add", ["x", "hs"], ["y"])],
            [f32("W", 8, 8), f32("gamma", 8)]),
         {"gamma": ("scale", "constant", 1e-6)}),
    ]
    for title, m, want in cases:
        planned, skipped = plan_of(tool, m, tmp)
        problems = []
        for name, (role, scheme, value) in want.items():
            t = planned.get(name)
            if scheme is None:
                if not skipped.get(name, "").startswith("kept by"):
                    problems.append(f"{name}: {skipped.get(name)!r}, want kept")
            elif not t or t["role"] != role or t["scheme"] != scheme:
                problems.append(f"{name}: {t and (t['role'], t['scheme'])}, want {role} "
                                f"{scheme} ({skipped.get(name)})")
        report(f"hand-built: {title}", problems)


def main():
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        hand_built(tool, tmp)
        for title, make, shape in MODELS:
            for opset in (13, 17):
                report(f"{title}, opset {opset}",
                       check_export(tool, title, make, shape, opset, tmp))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
