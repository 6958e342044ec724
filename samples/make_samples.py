#!/usr/bin/python3
"""Remake the sample models in this folder.

Run with Debian's interpreter (python3-torch, python3-onnx, python3-numpy):
    /usr/bin/python3 samples/make_samples.py [OUTDIR]

PyTorch exports five small real architectures with random weights (seed 0);
the onnx package then derives the float16, bfloat16, double, typed-storage
and external-data variants. Every model is checked with onnx.checker.
"""
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper, TensorProto, helper
from torch import nn

OPSET = 17


class MlpTanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.fc2 = nn.Linear(64, 64)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return self.head(torch.tanh(self.fc2(torch.tanh(self.fc1(x)))))


class CnnBnRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2))
        self.classifier = nn.Linear(32 * 8 * 8, 10)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class DepthwiseSeparable(nn.Module):
    """MobileNet's block: depthwise 3x3, BN, ReLU6, pointwise 1x1, BN, ReLU."""

    def __init__(self, cin=16, cout=32):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.bn1 = nn.BatchNorm2d(cin)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = nn.functional.relu6(self.bn1(self.depthwise(x)))
        return torch.relu(self.bn2(self.pointwise(x)))


class ConvTransposeDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 32 * 4 * 4)
        self.up1 = nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.up2 = nn.ConvTranspose2d(16, 3, 4, stride=2, padding=1)

    def forward(self, z):
        x = torch.relu(self.fc(z)).reshape(-1, 32, 4, 4)
        x = torch.relu(self.bn(self.up1(x)))
        return torch.sigmoid(self.up2(x))


def look_trained(module):
    """Give batch norms the statistics of a trained network. Fresh ones
    have weight == running_var == 1 and bias == running_mean == 0, and the
    exporter then shares one initializer between them through Identity
    nodes (convtranspose_decoder keeps that case on purpose)."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return module


class DeepMlp(nn.Module):
    """Ten ReLU layers, badly initialized the way tutorials sometimes do:
    N(0, 0.01) everywhere (the signal vanishes), and one layer all zeros."""

    def __init__(self, width=128, depth=10):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        with torch.no_grad():
            for layer in self.layers:
                nn.init.normal_(layer.weight, std=0.01)
                nn.init.zeros_(layer.bias)
            nn.init.zeros_(self.layers[4].weight)

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


def export(module, example, path, **kw):
    module.eval()
    torch.onnx.export(module, example, path, opset_version=OPSET,
                      input_names=["input"], output_names=["output"],
                      training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False, **kw)


def export_all(out):
    torch.manual_seed(0)
    export(MlpTanh(), torch.randn(1, 32), f"{out}/mlp_tanh.onnx")
    export(look_trained(CnnBnRelu()), torch.randn(1, 3, 16, 16), f"{out}/cnn_bn_relu.onnx")
    export(look_trained(DepthwiseSeparable()), torch.randn(1, 16, 8, 8),
           f"{out}/depthwise_separable.onnx")
    layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128,
                                       dropout=0.0, activation="gelu",
                                       batch_first=True)
    export(layer, torch.randn(1, 8, 64), f"{out}/transformer_encoder.onnx")
    export(ConvTransposeDecoder(), torch.randn(1, 16),
           f"{out}/convtranspose_decoder.onnx")
    export(DeepMlp(), torch.randn(4, 128), f"{out}/deep_mlp_bad_init.onnx")


# Variants made with the onnx package.

def retype_values(graph, old, new):
    """Change the element type of every graph value typed old."""
    for vi in list(graph.input) + list(graph.output) + list(graph.value_info):
        if vi.type.tensor_type.elem_type == old:
            vi.type.tensor_type.elem_type = new


def float_to(model, dtype, typed):
    """All float initializers and values become dtype; the graph keeps
    float32 at its boundary with a Cast in and a Cast out, as float16
    converters do. typed: store 16-bit patterns in int32_data."""
    g = model.graph
    for t in g.initializer:
        if t.data_type != TensorProto.FLOAT:
            continue
        a = numpy_helper.to_array(t).astype(np.float32)
        if dtype == TensorProto.FLOAT16:
            bits = a.astype(np.float16).view(np.uint16)
        else:  # bfloat16: round to nearest even from float32
            u = a.view(np.uint32).astype(np.uint64)
            bits = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
        t.ClearField("raw_data")
        t.data_type = dtype
        if typed:
            t.int32_data.extend(int(b) for b in bits.ravel())
        else:
            t.raw_data = bits.tobytes()
    for node in g.node:
        for attr in node.attribute:
            if attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = dtype
    retype_values(g, TensorProto.FLOAT, dtype)
    inp, outp = g.input[0], g.output[0]
    cast_in = helper.make_node("Cast", ["input_f32"], [inp.name], to=dtype,
                               name="cast_input")
    cast_out = helper.make_node("Cast", [outp.name], ["output_f32"],
                                to=TensorProto.FLOAT, name="cast_output")
    inp.name, outp.name = "input_f32", "output_f32"
    g.node.insert(0, cast_in)
    g.node.append(cast_out)
    inp.type.tensor_type.elem_type = TensorProto.FLOAT
    outp.type.tensor_type.elem_type = TensorProto.FLOAT
    return model


def to_double(model):
    """Everything float64, weights in the typed double_data field."""
    g = model.graph
    for t in g.initializer:
        if t.data_type == TensorProto.FLOAT:
            a = numpy_helper.to_array(t).astype(np.float64)
            t.ClearField("raw_data")
            t.data_type = TensorProto.DOUBLE
            t.double_data.extend(a.ravel().tolist())
    retype_values(g, TensorProto.FLOAT, TensorProto.DOUBLE)
    return model


def to_typed_float(model):
    """float32 weights in the typed float_data field instead of raw_data."""
    for t in model.graph.initializer:
        if t.data_type == TensorProto.FLOAT and t.HasField("raw_data"):
            a = numpy_helper.to_array(t)
            t.ClearField("raw_data")
            t.float_data.extend(a.ravel().tolist())
    return model


def variants(out):
    load = lambda name: onnx.load(f"{out}/{name}.onnx")
    onnx.save(float_to(load("mlp_tanh"), TensorProto.FLOAT16, False),
              f"{out}/mlp_tanh_fp16.onnx")
    onnx.save(float_to(load("mlp_tanh"), TensorProto.FLOAT16, True),
              f"{out}/mlp_tanh_fp16_typed.onnx")
    onnx.save(float_to(load("mlp_tanh"), TensorProto.BFLOAT16, False),
              f"{out}/mlp_tanh_bf16.onnx")
    onnx.save(to_double(load("mlp_tanh")), f"{out}/mlp_tanh_double.onnx")
    onnx.save(to_typed_float(load("cnn_bn_relu")),
              f"{out}/cnn_bn_relu_typed.onnx")
    ext = f"{out}/external"
    os.makedirs(ext, exist_ok=True)
    if os.path.exists(f"{ext}/cnn_bn_relu.data"):  # onnx appends to it
        os.remove(f"{ext}/cnn_bn_relu.data")
    onnx.save(load("cnn_bn_relu"), f"{ext}/cnn_bn_relu.onnx",
              save_as_external_data=True, all_tensors_to_one_file=True,
              location="cnn_bn_relu.data", size_threshold=0)


def check_all(out):
    for root, _, files in os.walk(out):
        for f in sorted(files):
            if f.endswith(".onnx"):
                path = os.path.join(root, f)
                onnx.checker.check_model(path)
                size = os.path.getsize(path)
                assert size < 2 << 20, f"{path} is {size} bytes"
                print(f"{path}: {size} bytes, checker ok")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.abspath(__file__))
    export_all(out)
    variants(out)
    check_all(out)


if __name__ == "__main__":
    main()
