"""Quantized models made the way pipelines make them, for the tests and
bench/: PyTorch's eager static quantization (qnnpack) exported as QDQ,
and graphs built after ONNX Runtime's operator documentation for the
forms PyTorch does not export (MatMulInteger, DynamicQuantizeMatMul,
MatMulNBits, GatherBlockQuantized, DequantizeLinear in blocks at opset
21, written with the protobuf fields: the onnx package here stops at
opset 17 and has no int4).

    from quant_models import torch_models, hand_models
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

MS = "com.microsoft"
INT4 = 22  # TensorProto.INT4: the onnx package here predates it


def torch_models(torch, torchvision, nn, big=False):
    """[(name, float module, quantized module, input shape)]: a CNN with
    ReLU, Tanh and Sigmoid, an MLP, and with big torchvision's quantizable
    ResNet-18 and MobileNetV2."""
    from torch.ao.quantization import (DeQuantStub, QuantStub, convert,
                                       get_default_qconfig, prepare)
    torch.backends.quantized.engine = "qnnpack"
    torch.manual_seed(0)

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.dq = QuantStub(), DeQuantStub()
            self.q2, self.dq2 = QuantStub(), DeQuantStub()
            self.q3, self.dq3 = QuantStub(), DeQuantStub()
            self.c1, self.r1 = nn.Conv2d(3, 16, 3, padding=1), nn.ReLU()
            self.c2 = nn.Conv2d(16, 16, 3, padding=1)
            self.c3 = nn.Conv2d(16, 8, 3)
            self.fc = nn.Linear(8 * 6 * 6, 10)

        def forward(self, x):
            x = self.r1(self.c1(self.q(x)))
            x = self.q2(torch.tanh(self.dq(self.c2(x))))
            x = self.q3(torch.sigmoid(self.dq2(self.c3(x))))
            return self.dq3(self.fc(torch.flatten(x, 1)))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.dq = QuantStub(), DeQuantStub()
            self.q2, self.dq2 = QuantStub(), DeQuantStub()
            self.l1, self.r1 = nn.Linear(64, 128), nn.ReLU()
            self.l2, self.l3 = nn.Linear(128, 96), nn.Linear(96, 10)

        def forward(self, x):
            x = self.r1(self.l1(self.q(x)))
            x = self.q2(torch.tanh(self.dq(self.l2(x))))
            return self.dq2(self.l3(x))

    def quantized(make, fuse, shape):
        f = make().eval()
        q = make().eval()
        q.load_state_dict(f.state_dict())
        fuse(q)
        q.qconfig = get_default_qconfig("qnnpack")
        prepare(q, inplace=True)
        for _ in range(4):
            q(torch.randn(*shape) * 2)
        convert(q, inplace=True)
        return f, q

    out = []
    for name, make, fuse, shape in (
            ("cnn", CNN, lambda m: torch.ao.quantization.fuse_modules(
                m, [["c1", "r1"]], inplace=True), (2, 3, 8, 8)),
            # a fused linear_relu does not export: the ReLU stays a node
            ("mlp", MLP, lambda m: None, (2, 64))):
        f, q = quantized(make, fuse, shape)
        out.append((name, f, q, (1,) + shape[1:]))
    if big:
        qm = torchvision.models.quantization
        for name, make in (("resnet18", qm.resnet18), ("mobilenet_v2", qm.mobilenet_v2)):
            f, q = quantized(lambda: make(weights=None, quantize=False),
                             lambda m: m.fuse_model(), (2, 3, 64, 64))
            out.append((name, f, q, (1, 3, 64, 64)))
    return out


def export(torch, module, shape, path, opset=13):
    torch.onnx.export(module, torch.randn(*shape), path, opset_version=opset)


def _pack(codes, bits):
    """Codes (unsigned, a flat array) packed low bits first."""
    per = 8 // bits
    codes = np.asarray(codes, np.uint8).reshape(-1, per)
    out = np.zeros(len(codes), np.uint8)
    for k in range(per):
        out |= (codes[:, k] & ((1 << bits) - 1)) << (k * bits)
    return out


def _raw(name, dtype, dims, data):
    t = TensorProto()
    t.name, t.data_type = name, dtype
    t.dims.extend(dims)
    t.raw_data = np.asarray(data).tobytes()
    return t


def _float(name, a):
    return numpy_helper.from_array(np.asarray(a, np.float32), name)


def _model(nodes, inits, inputs, outputs, opsets=(("", 17), (MS, 1)), ir=8):
    g = helper.make_graph(nodes, "q", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    m.ir_version = ir
    return m


def _io(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def matmul_integer_mlp(rng):
    """A dynamically quantized MLP as ONNX Runtime's quantize_dynamic
    writes it: DynamicQuantizeLinear, MatMulInteger with uint8 weights and
    zero points, Cast, Mul by x_scale * w_scale, Add of a float bias."""
    nodes, inits, x = [], [], "X"
    for i, (k, n, act) in enumerate(((32, 48, "Relu"), (48, 16, None))):
        w = rng.integers(0, 256, (k, n)).astype(np.uint8)
        inits += [numpy_helper.from_array(w, f"fc{i}.weight_quantized"),
                  _float(f"fc{i}.weight_scale", 0.01),
                  numpy_helper.from_array(np.array(121, np.uint8), f"fc{i}.weight_zero_point"),
                  _float(f"fc{i}.bias", rng.normal(0, 0.5, n))]
        nodes += [helper.make_node("DynamicQuantizeLinear", [x], [f"q{i}", f"s{i}", f"z{i}"]),
                  helper.make_node("MatMulInteger", [f"q{i}", f"fc{i}.weight_quantized",
                                                     f"z{i}", f"fc{i}.weight_zero_point"],
                                   [f"mi{i}"]),
                  helper.make_node("Cast", [f"mi{i}"], [f"c{i}"], to=TensorProto.FLOAT),
                  helper.make_node("Mul", [f"s{i}", f"fc{i}.weight_scale"], [f"sc{i}"]),
                  helper.make_node("Mul", [f"c{i}", f"sc{i}"], [f"m{i}"]),
                  helper.make_node("Add", [f"m{i}", f"fc{i}.bias"], [f"a{i}"])]
        x = f"a{i}"
        if act:
            nodes.append(helper.make_node(act, [x], [f"r{i}"]))
            x = f"r{i}"
    nodes.append(helper.make_node("Identity", [x], ["Y"]))
    return _model(nodes, inits, [_io("X", [2, 32])], [_io("Y", [2, 16])])


def dynamic_quantize_matmul(rng):
    """com.microsoft DynamicQuantizeMatMul: int8 B per column, a float
    bias, then Tanh."""
    w = rng.integers(-127, 128, (24, 40)).astype(np.int8)
    inits = [numpy_helper.from_array(w, "B"), _float("B_scale", rng.uniform(0.005, 0.02, 40)),
             numpy_helper.from_array(np.zeros(40, np.int8), "B_zp"),
             _float("bias", rng.normal(0, 0.3, 40))]
    nodes = [helper.make_node("DynamicQuantizeMatMul", ["X", "B", "B_scale", "B_zp", "bias"],
                              ["h"], domain=MS),
             helper.make_node("Tanh", ["h"], ["Y"])]
    return _model(nodes, inits, [_io("X", [2, 24])], [_io("Y", [2, 40])])


def matmul_nbits(rng, k=200, n=48, bits=4, block=32, zero="packed", act="Relu"):
    """com.microsoft MatMulNBits: B [K, N] in blocks of block along K, codes
    packed; zero points packed uint8, in float, or absent."""
    blocks = (k + block - 1) // block
    codes = rng.integers(0, 1 << bits, (n, blocks * block))
    inits = [_raw("B_Q4", TensorProto.UINT8, [n, blocks, block * bits // 8], _pack(codes, bits)),
             _float("scales", rng.uniform(0.01, 0.03, (n, blocks)))]
    ins = ["A", "B_Q4", "scales"]
    if zero == "packed":
        per_row = (blocks * bits + 7) // 8
        zp = rng.integers(0, 1 << bits, (n, per_row * 8 // bits))
        inits.append(_raw("zp", TensorProto.UINT8, [n, per_row], _pack(zp, bits)))
        ins.append("zp")
    elif zero == "float":
        inits.append(_float("zp", rng.integers(0, 1 << bits, (n, blocks)).astype(np.float32)))
        ins.append("zp")
    nodes = [helper.make_node("MatMulNBits", ins, ["h"], domain=MS, K=k, N=n, bits=bits,
                              block_size=block)]
    nodes.append(helper.make_node(act or "Identity", ["h"], ["Y"]))
    return _model(nodes, inits, [_io("A", [2, k])], [_io("Y", [2, n])])


def gather_block_quantized(rng, dtype="uint8", bits=4, v=64, d=64, block=32, zero=True):
    """com.microsoft GatherBlockQuantized: an embedding table [V, D] in
    blocks along D, as uint8 packing 8 / bits codes or as int4."""
    codes = rng.integers(0, 1 << bits, (v, d))
    blocks = d // block
    if dtype == "uint8":
        data = _raw("emb_Q4", TensorProto.UINT8, [v, d * bits // 8], _pack(codes, bits))
        zp = _raw("emb_zp", TensorProto.UINT8, [v, blocks * bits // 8],
                  _pack(rng.integers(0, 1 << bits, (v, blocks)), bits))
    else:
        data = _raw("emb_Q4", INT4, [v, d], _pack(codes, 4))
        zp = _raw("emb_zp", INT4, [v, blocks], _pack(np.zeros((v, blocks)), 4))
    inits = [data, _float("emb_scales", rng.uniform(0.01, 0.03, (v, blocks)))]
    if zero:
        inits.append(zp)
    nodes = [helper.make_node("GatherBlockQuantized",
                              ["emb_Q4", "ids", "emb_scales"] + (["emb_zp"] if zero else []),
                              ["e"], domain=MS, bits=bits, block_size=block,
                              quantize_axis=1, gather_axis=0),
             helper.make_node("MatMul", ["e", "proj"], ["Y"])]
    inits.append(_float("proj", rng.normal(0, 0.1, (d, 8))))
    return _model(nodes, inits, [_io("ids", [2, 3], TensorProto.INT64)],
                  [_io("Y", [2, 3, 8])])


def blocked_dequantize(rng, k=64, n=24, block=16):
    """DequantizeLinear at opset 21: int4 codes [K, N] in blocks of 16
    along K, int4 zero points, feeding a MatMul and a ReLU."""
    codes = rng.integers(-8, 8, (k, n))
    zp = np.zeros((k // block, n))
    inits = [_raw("W_q", INT4, [k, n], _pack(codes & 15, 4)),
             _float("W_scale", rng.uniform(0.02, 0.05, (k // block, n))),
             _raw("W_zp", INT4, [k // block, n], _pack(zp, 4))]
    nodes = [helper.make_node("DequantizeLinear", ["W_q", "W_scale", "W_zp"], ["W"], axis=0,
                              block_size=block),
             helper.make_node("MatMul", ["X", "W"], ["h"]),
             helper.make_node("Relu", ["h"], ["Y"])]
    return _model(nodes, inits, [_io("X", [2, k])], [_io("Y", [2, n])],
                  opsets=(("", 21),), ir=10)


def shared_scale(rng):
    """Two int8 weights behind DequantizeLinear sharing one scale and one
    zero point (as ONNX Runtime's optimizer dedups equal constants)."""
    inits = [numpy_helper.from_array(rng.integers(-127, 128, (24, 16)).astype(np.int8), "W1"),
             numpy_helper.from_array(rng.integers(-127, 128, (16, 8)).astype(np.int8), "W2"),
             _float("s", 0.02), numpy_helper.from_array(np.array(0, np.int8), "z")]
    nodes = [helper.make_node("DequantizeLinear", ["W1", "s", "z"], ["w1"]),
             helper.make_node("DequantizeLinear", ["W2", "s", "z"], ["w2"]),
             helper.make_node("MatMul", ["X", "w1"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["Y"])]
    return _model(nodes, inits, [_io("X", [2, 24])], [_io("Y", [2, 8])])


def quantized_bodies(rng):
    """Quantized weights inside an If's branches: a Constant node's int8
    codes (per tensor) before a ReLU in one, a body initializer's uint8
    codes per output channel before a Sigmoid in the other."""
    wt = numpy_helper.from_array(rng.integers(-127, 128, (24, 16)).astype(np.int8), "Wt")
    then = helper.make_graph(
        [helper.make_node("Constant", [], ["Wt_c"], value=wt),
         helper.make_node("DequantizeLinear", ["Wt_c", "st", "zt"], ["wt"]),
         helper.make_node("MatMul", ["X", "wt"], ["ht"]),
         helper.make_node("Relu", ["ht"], ["yt"])],
        "then", [], [_io("yt", [2, 16])],
        [_float("st", 0.01), numpy_helper.from_array(np.array(0, np.int8), "zt")])
    other = helper.make_graph(
        [helper.make_node("DequantizeLinear", ["We", "se", "ze"], ["we"], axis=1),
         helper.make_node("MatMul", ["X", "we"], ["he"]),
         helper.make_node("Sigmoid", ["he"], ["ye"])],
        "else", [], [_io("ye", [2, 16])],
        [numpy_helper.from_array(rng.integers(0, 256, (24, 16)).astype(np.uint8), "We"),
         _float("se", rng.uniform(0.005, 0.02, 16)),
         numpy_helper.from_array(rng.integers(100, 156, 16).astype(np.uint8), "ze")])
    nodes = [helper.make_node("If", ["c"], ["Y"], then_branch=then, else_branch=other)]
    cond = numpy_helper.from_array(np.array(True), "c")
    return _model(nodes, [cond], [_io("X", [2, 24])], [_io("Y", [2, 16])])


def hand_models(seed=0):
    """[(name, model, {weight: (scheme, fan_in, fan_out, activation)})]"""
    rng = np.random.default_rng(seed)
    return [
        ("matmul_integer", matmul_integer_mlp(rng),
         {"fc0.weight_quantized": ("he_normal", 32, 48, "Relu"),
          "fc1.weight_quantized": ("xavier_uniform", 48, 16, "none")}),
        ("dynamic_quantize_matmul", dynamic_quantize_matmul(rng),
         {"B": ("xavier_uniform", 24, 40, "Tanh")}),
        ("nbits4_b32_packed", matmul_nbits(rng), {"B_Q4": ("he_normal", 200, 48, "Relu")}),
        ("nbits4_b128_none", matmul_nbits(rng, k=256, block=128, zero=None, act=None),
         {"B_Q4": ("xavier_uniform", 256, 48, "none")}),
        ("nbits4_b32_float", matmul_nbits(rng, k=96, zero="float", act="Sigmoid"),
         {"B_Q4": ("xavier_uniform", 96, 48, "Sigmoid")}),
        ("nbits8_b16", matmul_nbits(rng, k=40, n=16, bits=8, block=16),
         {"B_Q4": ("he_normal", 40, 16, "Relu")}),
        ("gather_uint8_4bit", gather_block_quantized(rng), {"emb_Q4": ("normal", None, None, None)}),
        ("gather_int4", gather_block_quantized(rng, dtype="int4"),
         {"emb_Q4": ("normal", None, None, None)}),
        ("dequantize_blocked_int4", blocked_dequantize(rng),
         {"W_q": ("he_normal", 64, 24, "Relu")}),
        ("shared_scale", shared_scale(rng),
         {"W1": ("he_normal", 24, 16, "Relu"), "W2": ("xavier_uniform", 16, 8, "none")}),
        ("quantized_bodies", quantized_bodies(rng),
         {"If_0.then_branch/Wt_c": ("he_normal", 24, 16, "Relu"),
          "If_0.else_branch/We": ("xavier_uniform", 24, 16, "Sigmoid")}),
        # over 2^16 elements: quantized on several threads
        ("nbits4_threads", matmul_nbits(rng, k=1000, n=136),
         {"B_Q4": ("he_normal", 1000, 136, "Relu")}),
        ("dequantize_blocked_int4_threads", blocked_dequantize(rng, k=512, n=136),
         {"W_q": ("he_normal", 512, 136, "Relu")}),
    ]
