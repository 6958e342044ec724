#!/usr/bin/python3
"""Quantized models (tests/py/quant_models.py): PyTorch's qnnpack QDQ
exports (a CNN and an MLP with ReLU, Tanh and Sigmoid, at opsets 13 and
17; torchvision's quantizable ResNet-18 and MobileNetV2), what ONNX Runtime's optimizer
makes of them at level extended (QLinearConv, QGemm, QLinearSigmoid ...),
and graphs built after ONNX Runtime's operator docs (MatMulInteger,
DynamicQuantizeMatMul, MatMulNBits at 4 and 8 bits, blocks of 32, 128 and
16, packed, float and absent zero points, K not a multiple of the block,
GatherBlockQuantized as uint8 and int4, DequantizeLinear in int4 blocks
at opset 21):

- the plan gives every weight the scheme, fans and activation of the
  float model it came from (the PyTorch module exported unquantized), or
  of the hand-written expectation;
- every dequantized weight of the output, read here with numpy, is
  within half a step (its group's scale / 2) of its float twin's draw,
  made here by the independent generator (tests/py/rng_reference.py)
  from the stream the plan names, and that draw passes the exact test of
  its variance (tests/py/stats.py); int32 biases are zeros;
- ONNX Runtime runs the output, and every byte but the weights' codes,
  scales, zero points and biases is the input's;
- check flags a quantized weight made zero, constant, 10x narrow, 10x wide
  and one whose codes saturate, in the QDQ and the QLinear forms, and
  passes the healthy ones;
- bad input (scales of the wrong shape, a zero point out of range, a
  packed length that does not fit K, N, bits and block_size, bits 3):
  one line, exit 2, nothing written.

    check_quantized.py ONNX_REINIT

Skipped (77) without PyTorch or onnxruntime-node.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from needs_torch import nn, torch, torchvision  # noqa: E402
from ort_inputs import ort_available, ort_optimize, run_ort  # noqa: E402
from quant_models import INT4, export, hand_models, torch_models  # noqa: E402
from results import finish, report  # noqa: E402
from rng_reference import stream  # noqa: E402
from stats import variance_problem  # noqa: E402
from tensor_values import tensors  # noqa: E402

SEED = 5
DRAWN_MAX = 140000  # elements drawn again here per weight (pure Python)
UINT4 = 21


def tool_json(tool, *args):
    r = subprocess.run([tool, *args, "--json"], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise RuntimeError(r.stderr.strip())
    return json.loads(r.stdout)


def tensors_of(model):
    """{qualified name: TensorProto}: initializers and Constant nodes'
    values, in the main graph and in bodies, as onnx-reinit names them."""
    return dict(tensors(model.graph, ""))


def unpack(t, bits, signed):
    """The codes of a raw packed tensor, low bits first."""
    b = np.frombuffer(t.raw_data, np.uint8)
    per = 8 // bits
    c = np.stack([(b >> (k * bits)) & ((1 << bits) - 1) for k in range(per)], 1).ravel()
    c = c.astype(np.int64)
    if signed:
        c = np.where(c >= 1 << (bits - 1), c - (1 << bits), c)
    return c


def array(t):
    if t.data_type in (INT4, UINT4):
        n = int(np.prod(t.dims)) if t.dims else 1
        return unpack(t, 4, t.data_type == INT4)[:n].reshape(list(t.dims))
    return numpy_helper.to_array(t).astype(np.float64)


def per_element(a, shape, q):
    """Group values a (scales, zero points) spread over the twin's shape."""
    if q["granularity"] == "per_tensor":
        return np.full(shape, float(np.ravel(a)[0]))
    axis = q["axis"]
    if q["granularity"] == "per_axis":
        s = [1] * len(shape)
        s[axis] = shape[axis]
        return np.broadcast_to(np.reshape(a, s), shape)
    a = np.reshape(a, [-1 if i == axis else shape[i] for i in range(len(shape))])
    return np.repeat(a, q["block_size"], axis)[tuple(
        slice(0, shape[i]) for i in range(len(shape)))]


def dequantized(consts, item):
    """(values, step) of a quantized item, as numpy sees the tensors."""
    q, shape = item["quantized"], item["shape"]
    codes_t, bits = consts[item["name"]], q["bits"]
    scale = array(consts[q["scale"]])
    zt = consts.get(q["zero_point"]) if q["zero_point"] else None
    if item["op"].endswith("MatMulNBits"):
        k, n = shape
        bs = q["block_size"]
        kb = -(-k // bs)
        codes = unpack(codes_t, bits, False).reshape(n, kb * bs)[:, :k].T
        sc = scale.reshape(n, kb)
        if zt is None:
            zp = np.full((n, kb), 2.0 ** (bits - 1))
        elif zt.data_type == onnx.TensorProto.UINT8:
            zp = unpack(zt, bits, False).reshape(n, -1)[:, :kb]
        else:
            zp = array(zt).reshape(n, kb)
        step = np.repeat(sc, bs, 1)[:, :k].T
        return (codes - np.repeat(zp, bs, 1)[:, :k].T) * step, step
    if codes_t.data_type == onnx.TensorProto.UINT8 and bits < 8:  # packed rows
        codes = unpack(codes_t, bits, False).reshape(shape)
        zp = (unpack(zt, bits, False).reshape(shape[0], -1)
              if zt is not None else np.array(2.0 ** (bits - 1)))
    else:
        codes = array(codes_t).reshape(shape)
        default = 0.0 if item["op"].endswith("GatherBlockQuantized") and bits == 4 else (
            2.0 ** (bits - 1) if item["op"].endswith("GatherBlockQuantized") else 0.0)
        zp = array(zt) if zt is not None else np.array(default)
    step = per_element(scale, shape, q)
    zp = per_element(zp, shape, q) if np.size(zp) > 1 else np.full(shape, float(np.ravel(zp)[0]))
    return (codes - zp) * step, step


def twin(item, seed):
    """The float twin's draw, made here, rounded to float32."""
    n = int(np.prod(item["shape"]))
    scheme, name = item["scheme"], item["quantized"]["stream"]
    if scheme.endswith("uniform"):
        u = np.array(stream(seed, name, "uniform", n, 0))
        v = -item["bound"] + (2 * item["bound"]) * u
    else:
        v = 0.0 + item["std"] * np.array(stream(seed, name, "normal", n, 0))
    return v.astype(np.float32).astype(np.float64).reshape(item["shape"])


def rounding_errors(values, step, w):
    """How many codes (values / step, about the zero point) are not w /
    step rounded half to even, exactly (k + 1/2 times a float32 step is
    exact in float64, and the sign of w minus it too), among the codes
    the quantizer's clamp left alone."""
    c = values / step
    q = w / step
    h = np.floor(q) + 0.5
    r = w - h * step
    want = np.where(r > 0, h + 0.5, np.where(r < 0, h - 0.5, np.round(h)))
    inside = np.abs(values - w) <= step / 2 * (1 + 1e-6)
    return int(np.sum((c != want) & inside))


def weights(plan):
    return [t for t in plan["tensors"] if t["role"] in ("weight", "embedding")]


def summary(t):
    return (t["scheme"], t["fan_in"], t["fan_out"], t["activation"])


def as_float(t):
    """summary(t), where the quantizer's own clamp at 0 (an output zero
    point at its type's minimum: calibration saw no negative value) made
    a ReLU of what the float model leaves linear, read as the float
    model's: he_normal for ReLU, xavier_uniform for none."""
    if t["activation"] == "Relu" and (
            t.get("activation_from") == "output_zero_point"
            or (t["path"] and t["path"][-1] in ("QuantizeLinear", "QLinearAdd",
                                                "QLinearConcat", "QLinearAveragePool",
                                                "QLinearGlobalAveragePool"))):
        return ("xavier_uniform", t["fan_in"], t["fan_out"], "none"), summary(t)
    return summary(t), summary(t)


def stripped(model, names):
    """The model's bytes with the named tensors' data removed."""
    m = copy.deepcopy(model)
    for name, t in tensors_of(m).items():
        if name in names or t.name == "":
            t.ClearField("raw_data")
            for f in ("float_data", "int32_data", "int64_data", "double_data"):
                t.ClearField(f)
    return m.SerializeToString()


def constant_names(model):
    """Constant nodes' values are named after their outputs."""
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    a.t.name = n.output[0]
    return model


def check_output(src, out, plan, expect, exact=True):
    """The problems of out (apply's output of src) against plan."""
    problems = []
    a, b = constant_names(onnx.load(src)), constant_names(onnx.load(out))
    consts = tensors_of(b)
    items = {t["name"]: t for t in plan["tensors"]}
    changed = set()
    for name, want in expect.items():
        t = items.get(name)
        if t is None:
            problems.append(f"{name}: not planned")
            continue
        if want and summary(t)[:len(want)] != tuple(want) and want[1] is not None:
            problems.append(f"{name}: {summary(t)}, want {want}")
        if not t.get("quantized"):
            problems.append(f"{name}: not quantized in the plan")
    for t in plan["tensors"]:
        changed.add(t["name"])
        q = t.get("quantized")
        if not q:
            continue
        changed.update(x for x in (q["scale"], q["zero_point"]) if x)
        if q["dtype"] == "int32":
            if np.any(array(consts[t["name"]]) != 0):
                problems.append(f"{t['name']}: a bias not zeros")
            continue
        values, step = dequantized(consts, t)
        if exact and values.size <= DRAWN_MAX:
            w = twin(t, SEED)
            worst = np.max(np.abs(values - w) - step / 2 * (1 + 1e-6) - 1e-12)
            if worst > 0:
                problems.append(f"{t['name']}: {np.sum(np.abs(values - w) > step / 2 * 1.000001)}"
                                f" elements farther than half a step from the draw")
            wrong = rounding_errors(values, step, w)
            if wrong:
                problems.append(f"{t['name']}: {wrong} codes not w / scale rounded half to even")
            p = variance_problem(w.ravel().tolist(), t["std"])
            if p:
                problems.append(f"{t['name']}: the float draw: {p}")
    if stripped(a, changed) != stripped(b, changed):
        problems.append("bytes other than the weights', scales' and zero points' changed")
    try:
        if not all(v["finite"] for v in run_ort(out).values()):
            problems.append("ONNX Runtime: outputs not finite")
    except RuntimeError as e:
        problems.append(f"ONNX Runtime: {str(e)[:160]}")
    return problems


def torch_cases(tool, tmp):
    for name, f, q, shape in torch_models(torch, torchvision, nn, big=True):
        fpath, qpath = os.path.join(tmp, name + "_float.onnx"), os.path.join(tmp, name + "_qdq.onnx")
        export(torch, f, shape, fpath)
        export(torch, q, shape, qpath)
        want = sorted(summary(t) for t in weights(tool_json(tool, "plan", fpath)))
        forms = [("QDQ", qpath),
                 ("QLinear", ort_optimize(qpath, os.path.join(tmp, name + "_ext.onnx")))]
        if name in ("cnn", "mlp"):  # the same at opset 17
            export(torch, q, shape, qpath[:-5] + "17.onnx", opset=17)
            forms.append(("QDQ opset 17", qpath[:-5] + "17.onnx"))
        for form, path in forms:
            out = path[:-5] + "_out.onnx"
            plan = tool_json(tool, "apply", path, "-o", out, "--seed", str(SEED))
            both = [as_float(t) for t in weights(plan)]
            got = sorted(b[1] for b in both)
            if got != want:  # a quantizer's clamp at 0 read as the float's none
                got = sorted(b[0] if b[0] in want else b[1] for b in both)
            problems = [] if got == want else [
                f"plan has {sorted(set(got) - set(want))[:3]}, the float model "
                f"{sorted(set(want) - set(got))[:3]}"]
            expect = {t["name"]: None for t in weights(plan)}
            problems += check_output(path, out, plan, expect, exact=name in ("cnn", "mlp"))
            report(f"{name} ({form}): {len(got)} weights planned as the float model's, "
                   f"quantized as their twins' draws, outputs run", problems)
            yield name, form, path, out


def hand_cases(tool, tmp):
    for name, model, expect in hand_models():
        path, out = os.path.join(tmp, name + ".onnx"), os.path.join(tmp, name + "_out.onnx")
        onnx.save(model, path)
        try:
            plan = tool_json(tool, "apply", path, "-o", out, "--seed", str(SEED))
        except RuntimeError as e:
            report(f"{name}: apply", [str(e)])
            continue
        want = {k: (v if v[1] is not None else None) for k, v in expect.items()}
        problems = check_output(path, out, plan, want)
        for k, v in expect.items():
            t = {t["name"]: t for t in plan["tensors"]}.get(k)
            if t and v[1] is None and t["scheme"] != v[0]:
                problems.append(f"{k}: scheme {t['scheme']}, want {v[0]}")
        report(f"{name}: planned as written, within half a step of the draw, runs", problems)


def set_tensor(model, name, fn):
    for t in tensors_of(model).values():
        if t.name == name:
            a = numpy_helper.to_array(t)
            new = numpy_helper.from_array(fn(a.copy()).astype(a.dtype), name)
            t.CopyFrom(new)
            return
    raise KeyError(name)


def check_cases(tool, tmp, form, path):
    """A healthy quantized model passes; one weight broken five ways."""
    plan = tool_json(tool, "plan", path)
    w = [t for t in weights(plan) if t.get("quantized")][1]
    q = w["quantized"]
    r = tool_json(tool, "check", path)
    report(f"check passes the healthy {form} model", [str(f) for f in r["findings"]])
    zp = 0
    breaks = {
        "zeros": (w["name"], lambda a: a * 0 + zp),
        "constant": (w["name"], lambda a: a * 0 + zp + 3),
        "vanishing": (q["scale"], lambda a: a * 0.1),
        "exploding": (q["scale"], lambda a: a * 10),
        "saturated": (w["name"], lambda a: np.where(
            np.arange(a.size).reshape(a.shape) % 20 == 0, np.iinfo(a.dtype).max, a)),
    }
    for problem, (name, fn) in breaks.items():
        m = constant_names(onnx.load(path))
        set_tensor(m, name, fn)
        broken = os.path.join(tmp, f"broken_{problem}.onnx")
        onnx.save(m, broken)
        r = tool_json(tool, "check", broken)
        found = {f["name"]: f["problem"] for f in r["findings"]}
        report(f"check flags a quantized weight {problem} ({form})",
               [] if found.get(w["name"]) == problem else [f"found {found}"])


def bad_cases(tool, tmp):
    from quant_models import blocked_dequantize, matmul_nbits
    rng = np.random.default_rng(1)
    cases = []
    m = matmul_nbits(rng, bits=4)
    for n in m.graph.node:
        if n.op_type == "MatMulNBits":
            for a in n.attribute:
                if a.name == "bits":
                    a.i = 3
    cases.append(("bits 3", m))
    m = matmul_nbits(rng)
    t = [t for t in m.graph.initializer if t.name == "B_Q4"][0]
    t.dims[2] -= 1
    t.raw_data = t.raw_data[:len(t.raw_data) * t.dims[2] // (t.dims[2] + 1)]
    cases.append(("a packed length that does not fit", m))
    m = matmul_nbits(rng, zero="float")
    t = [t for t in m.graph.initializer if t.name == "zp"][0]
    t.CopyFrom(numpy_helper.from_array(np.full(list(t.dims), 20, np.float32), "zp"))
    cases.append(("a zero point out of range", m))
    m = blocked_dequantize(rng)
    t = [t for t in m.graph.initializer if t.name == "W_scale"][0]
    t.CopyFrom(numpy_helper.from_array(np.full([3, 24], 0.1, np.float32), "W_scale"))
    cases.append(("scales of the wrong shape", m))
    for title, model in cases:
        path, out = os.path.join(tmp, "bad.onnx"), os.path.join(tmp, "bad_out.onnx")
        onnx.save(model, path)
        r = subprocess.run([tool, "apply", path, "-o", out], capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        problems = [] if r.returncode == 2 else [f"exit {r.returncode}"]
        problems += [] if len(lines) == 1 else [f"stderr {lines}"]
        problems += [] if not os.path.exists(out) else ["an output was written"]
        report(f"bad input, {title}: {lines[0] if lines else ''}", problems)


def main():
    tool = sys.argv[1]
    if not ort_available():
        print("skipped: onnxruntime-node is not installed")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        outs = list(torch_cases(tool, tmp))
        hand_cases(tool, tmp)
        for name, form, path, out in outs:
            if name == "cnn":
                check_cases(tool, tmp, form, out)
        bad_cases(tool, tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
