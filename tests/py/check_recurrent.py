#!/usr/bin/python3
"""Recurrent layers, gate block by gate block. PyTorch exports of LSTM, GRU
and RNN modules (one and two layers, one and two directions, batch_first,
opset 13 and 17, constant folding on and off: then PyTorch's weight_ih_l0
and kin are cut into ONNX's gate order with Slice and Concat), hand-built
ONNX LSTM/GRU/RNN graphs (with and without B, with P) and an LSTM inside
both branches of an If, every parameter holding trained-looking values.
After `apply`:

- no element of a parameter keeps its input value, and every other tensor
  is byte for byte the input's;
- the W, R and B each layer sees (read back by ONNX Runtime through
  Identity outputs) hold, gate block by gate block: W Xavier uniform (every
  value within the bound; the pooled second moment within 5 standard
  errors of bound^2 / 3), each H x H block of R orthogonal (Q Q^T = I within
  1e-5), the LSTM forget gate's input bias 1 and its recurrent bias 0, all
  other biases and peepholes 0;
- ONNX Runtime runs the output, and the folded and the unfolded export of
  one module re-initialized with the same seed give the same outputs.

    check_recurrent.py ONNX_REINIT

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
from ort_inputs import ort_available, run_ort  # noqa: E402
from needs_torch import torch, nn  # noqa: E402

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
FORGET = 2  # ONNX's LSTM gate order: i, o, f, c


def trained(module, seed):
    """Parameters that look trained: nothing like a fresh initialization."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3 + 0.2)
    return module


class Seq(nn.Module):
    def __init__(self, cell, layers, bi):
        super().__init__()
        self.rnn = getattr(nn, cell)(6, 5, num_layers=layers, bidirectional=bi,
                                     batch_first=True)

    def forward(self, x):
        return self.rnn(x)[0]


def export(module, opset, fold):
    f = io.BytesIO()
    torch.onnx.export(module, torch.randn(2, 4, 6), f, opset_version=opset,
                      do_constant_folding=fold, input_names=["x"], output_names=["y"])
    return onnx.load_from_string(f.getvalue())


def all_tensors(g, prefix=""):
    """Every initializer and Constant value of g and its bodies, by name."""
    out = {prefix + t.name: t for t in g.initializer}
    for i, n in enumerate(g.node):
        for a in n.attribute:
            if n.op_type == "Constant" and a.name == "value":
                out[prefix + n.output[0]] = a.t
            if a.type == onnx.AttributeProto.GRAPH:
                out.update(all_tensors(a.g, f"{prefix}{n.name or n.op_type + '_' + str(i)}"
                                             f".{a.name}/"))
    return out


def recurrent_nodes(g, path=()):
    """(node, graph path) of every LSTM/GRU/RNN, bodies included."""
    for n in g.node:
        if n.op_type in GATES:
            yield n, path
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from recurrent_nodes(a.g, path + (a.name,))


def probe(m, path):
    """m with every main-graph recurrent node's W, R, B, P as outputs;
    {output: (node, letter)}."""
    p = onnx.ModelProto()
    p.CopyFrom(m)
    wanted = {}
    for k, n in enumerate(x for x in p.graph.node if x.op_type in GATES):
        for slot, letter in ((1, "W"), (2, "R"), (3, "B"), (7, "P")):
            if slot < len(n.input) and n.input[slot]:
                name = f"probe_{k}_{letter}"
                p.graph.node.append(helper.make_node("Identity", [n.input[slot]], [name]))
                p.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                                                    None))
                wanted[name] = (n, letter)
    onnx.save(p, path)
    return wanted


def attrs(n):
    return {a.name: helper.get_attribute_value(a) for a in n.attribute}


def judge(node, letter, v, moments):
    """Problems of the values v a recurrent node sees as input letter."""
    a = attrs(node)
    d = 2 if a.get("direction", b"forward") == b"bidirectional" else 1
    g = GATES[node.op_type]
    problems = []
    if letter in ("W", "R"):
        h = a["hidden_size"]
        blocks = v.reshape(d, g, h, -1)
        for di in range(d):
            for gi in range(g):
                blk = blocks[di, gi].astype(np.float64)
                if letter == "W":
                    bound = np.sqrt(6 / (blk.shape[1] + h))
                    if np.abs(blk).max() > bound * (1 + 1e-6):
                        problems.append(f"{node.name} W[{di},{gi}] beyond Xavier's bound")
                    moments.append((blk.ravel() ** 2, bound))
                elif np.abs(blk @ blk.T - np.eye(h)).max() > 1e-5:
                    problems.append(f"{node.name} R[{di},{gi}] is not orthogonal")
    elif letter == "B":
        want = np.zeros_like(v).reshape(d, 2, g, -1)
        if node.op_type == "LSTM":
            want[:, 0, FORGET] = 1
        if not np.array_equal(v.reshape(want.shape), want):
            problems.append(f"{node.name} B is not the forget-gate bias and zeros")
    elif np.any(v != 0):
        problems.append(f"{node.name} P is not zeros")
    return problems


def second_moment(moments):
    """Pooled over the W blocks: mean of x^2 / bound^2 against 1/3, its
    standard error from U(-b, b)'s fourth moment (Var(x^2) = 4 b^4 / 45)."""
    if not moments:
        return []
    z = np.concatenate([x / b ** 2 for x, b in moments])
    se = np.sqrt(4 / 45 / len(z))
    if abs(z.mean() - 1 / 3) > 5 * se:
        return [f"W's second moment {z.mean():.4f} x bound^2, want 1/3 +- {5 * se:.4f}"]
    return []


def apply(tool, src, out, seed=7, extra=()):
    r = subprocess.run([tool, "apply", src, "-o", out, "--seed", str(seed), "--json", *extra],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"apply: {r.stderr.strip()}")
    return json.loads(r.stdout)


def check_model(tool, m, tmp, tag, runnable=True):
    """apply on m; the problems, and the output's path."""
    src, out = os.path.join(tmp, f"{tag}.onnx"), os.path.join(tmp, f"{tag}_out.onnx")
    onnx.save(m, src)
    try:
        plan = apply(tool, src, out)
    except RuntimeError as e:
        return [str(e)], None
    planned = {t["name"] for t in plan["tensors"]}
    problems = []
    before, after = all_tensors(m.graph), all_tensors(onnx.load(out).graph)
    for name, t in before.items():
        x, y = numpy_helper.to_array(t), numpy_helper.to_array(after[name])
        if name in planned:
            if np.any(x == y):
                problems.append(f"{name}: {int(np.sum(x == y))} elements kept")
        elif t.SerializeToString() != after[name].SerializeToString():
            problems.append(f"{name}: changed but not planned")
    params = {name for name, t in before.items()
              if t.data_type == TensorProto.FLOAT and len(t.dims) >= 1 and
              numpy_helper.to_array(t).size > 1 and
              not name.startswith("onnx::Shape") and "Constant" not in name}
    if params - planned:
        problems.append(f"not re-initialized: {sorted(params - planned)}")
    try:
        onnx.checker.check_model(out, full_check=True)
    except Exception as e:  # the checker's own exception types vary
        problems.append(f"checker: {e}")
    if runnable and ort_available():
        moments = []
        try:
            wanted = probe(onnx.load(out), os.path.join(tmp, f"{tag}_probe.onnx"))
            res = run_ort(os.path.join(tmp, f"{tag}_probe.onnx"), values=True)
            for name, (node, letter) in wanted.items():
                problems += judge(node, letter, np.array(res[name]["values"], np.float32),
                                  moments)
            if not all(r["finite"] for r in res.values()):
                problems.append("ONNX Runtime: outputs not finite")
        except RuntimeError as e:
            problems.append(f"ONNX Runtime: {e}")
        problems += second_moment(moments)
    return problems, out


def torch_cases(tool, tmp):
    results = []
    configs = [(1, False), (2, True)]
    for cell in ("LSTM", "GRU", "RNN"):
        for layers, bi in configs + ([(1, True), (2, False)] if cell == "LSTM" else []):
            module = trained(Seq(cell, layers, bi), seed=layers + 2 * bi)
            for opset in (13, 17):
                outs = {}
                for fold in (True, False):
                    tag = f"{cell}_{layers}l_{'bi' if bi else 'uni'}_op{opset}_" \
                          f"{'folded' if fold else 'unfolded'}"
                    problems, outs[fold] = check_model(tool, export(module, opset, fold), tmp,
                                                       tag)
                    results.append(report(tag, problems))
                if ort_available() and outs[True] and outs[False]:
                    a, b = (run_ort(outs[f], values=True)["y"]["values"] for f in (True, False))
                    same = np.allclose(a, b, atol=1e-5)
                    results.append(report(f"{cell}_{layers}l_{'bi' if bi else 'uni'}_op{opset}"
                                          " folded and unfolded give the same outputs",
                                          [] if same else ["outputs differ"]))
    return results


def hand_built(op, d, hidden, inp, with_b, with_p, rng):
    g = GATES[op]
    direction = "bidirectional" if d == 2 else "forward"
    inits = [numpy_helper.from_array((rng.standard_normal((d, g * hidden, inp)) * 0.4 + 0.1)
                                     .astype(np.float32), "W"),
             numpy_helper.from_array((rng.standard_normal((d, g * hidden, hidden)) * 0.4)
                                     .astype(np.float32), "R")]
    ins = ["x", "W", "R"]
    if with_b or with_p:
        inits.append(numpy_helper.from_array(
            (rng.standard_normal((d, 2 * g * hidden)) * 0.3 + 0.5).astype(np.float32), "B"))
        ins.append("B")
    if with_p:
        inits.append(numpy_helper.from_array(
            (rng.standard_normal((d, 3 * hidden)) * 0.3 + 0.5).astype(np.float32), "P"))
        ins += ["", "", "", "P"]
    node = helper.make_node(op, ins, ["y"], name=f"{op.lower()}0", hidden_size=hidden,
                            direction=direction)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 2, inp])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, d, 2, hidden])],
        initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def in_if(rng):
    """An LSTM in each branch of an If, its weights the body's own."""
    branches = []
    for k in range(2):
        m = hand_built("LSTM", 1, 4 + k, 3, True, False, rng)
        body = m.graph
        body.input.pop()
        body.node[0].input[0] = "x"
        body.output[0].CopyFrom(helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                                              [3, 1, 2, None]))
        branches.append(body)
    cond = helper.make_node("Constant", [], ["c"],
                            value=helper.make_tensor("c", TensorProto.BOOL, [], [True]))
    node = helper.make_node("If", ["c"], ["y"], name="vad", then_branch=branches[0],
                            else_branch=branches[1])
    graph = helper.make_graph(
        [cond, node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 1, 2, None])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def body_blocks(out):
    """The If bodies' LSTM tensors judged as the layer sees them."""
    m, problems, moments = onnx.load(out), [], []
    for n in m.graph.node:
        for a in n.attribute:
            if a.type != onnx.AttributeProto.GRAPH:
                continue
            inits = {t.name: numpy_helper.to_array(t) for t in a.g.initializer}
            for node in a.g.node:
                for slot, letter in ((1, "W"), (2, "R"), (3, "B")):
                    problems += judge(node, letter, inits[node.input[slot]], moments)
    return problems + second_moment(moments)


def rule_cases(tool, tmp, rng):
    """Rules on a hand-built bidirectional LSTM (H 5, input 3)."""
    src = os.path.join(tmp, "rules_lstm.onnx")
    onnx.save(hand_built("LSTM", 2, 5, 3, True, True, rng), src)
    before = {t.name: numpy_helper.to_array(t) for t in onnx.load(src).graph.initializer}

    def run(text, tag):
        rules, out = os.path.join(tmp, f"{tag}.rules"), os.path.join(tmp, f"{tag}.onnx")
        open(rules, "w").write(text)
        plan = apply(tool, src, out, extra=("--rules", rules))
        got = {t.name: numpy_helper.to_array(t) for t in onnx.load(out).graph.initializer}
        return plan, got

    results = []
    plan, got = run("op=LSTM => pytorch_recurrent\n", "pytorch")
    bound = 1 / np.sqrt(5)
    z = np.concatenate([got[n].ravel() for n in ("W", "R", "B", "P")]).astype(np.float64)
    se = np.sqrt(4 / 45 / len(z))
    problems = [] if np.abs(z).max() <= bound * (1 + 1e-6) else ["a value beyond 1/sqrt(H)"]
    if abs((z ** 2).mean() / bound ** 2 - 1 / 3) > 5 * se:
        problems.append(f"second moment {(z ** 2).mean() / bound ** 2:.4f} x bound^2")
    if any(np.any(got[n] == before[n]) for n in got):
        problems.append("values kept")
    results.append(report("pytorch_recurrent draws U(+-1/sqrt(H)) on every tensor", problems))

    plan, got = run("gate=f => keep\n", "keep_f")
    w_b, w_a = before["W"].reshape(2, 4, 5, 3), got["W"].reshape(2, 4, 5, 3)
    b_b, b_a = before["B"].reshape(2, 2, 4, 5), got["B"].reshape(2, 2, 4, 5)
    problems = []
    if not (np.array_equal(w_a[:, FORGET], w_b[:, FORGET]) and
            np.array_equal(b_a[:, :, FORGET], b_b[:, :, FORGET])):
        problems.append("the f blocks changed")
    if np.any(np.delete(w_a, FORGET, axis=1) == np.delete(w_b, FORGET, axis=1)):
        problems.append("other gates kept")
    results.append(report("gate=f => keep keeps the forget gate's blocks only", problems))

    plan, got = run("role=bias gate=f => forget_bias(2)\n", "forget2")
    b = got["B"].reshape(2, 2, 4, 5)
    ok = np.all(b[:, 0, FORGET] == 2) and np.all(b[:, 1, FORGET] == 0) and \
        np.all(np.delete(b, FORGET, axis=2) == 0)
    results.append(report("forget_bias(2): Wb's f rows 2, Rb's 0, other gates 0",
                          [] if ok else [f"B {b.tolist()}"]))

    gemm = os.path.join(tmp, "gemm.onnx")
    onnx.save(helper.make_model(helper.make_graph(
        [helper.make_node("Gemm", ["x", "W"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        initializer=[numpy_helper.from_array(np.ones((4, 4), np.float32), "W")])), gemm)
    rules = os.path.join(tmp, "misused.rules")
    open(rules, "w").write("role=weight => forget_bias\n")
    r = subprocess.run([tool, "plan", gemm, "--json", "--rules", rules], capture_output=True,
                       text=True)
    reasons = {x["name"]: x["reason"] for x in json.loads(r.stdout)["skipped"]} \
        if r.returncode == 0 else {}
    want = f"forget_bias ({rules}:1) is for the tensors of LSTM, GRU and RNN"
    results.append(report("forget_bias on a Gemm weight is refused with its reason",
                          [] if reasons.get("W") == want else [f"{reasons} {r.stderr}"]))
    return results


def check_cases(tool, tmp, rng):
    """check on recurrent layers: PyTorch's and this tool's (Keras's)
    initializations pass; R scaled by 10 or by 0.01 is flagged."""
    results = []
    fresh = os.path.join(tmp, "fresh_lstm.onnx")
    torch.manual_seed(0)
    onnx.save(export(Seq("LSTM", 2, True), 13, False), fresh)
    src = os.path.join(tmp, "check_lstm.onnx")
    onnx.save(hand_built("LSTM", 2, 16, 8, True, False, rng), src)
    keras = os.path.join(tmp, "check_lstm_keras.onnx")
    apply(tool, src, keras)

    def check(path):
        r = subprocess.run([tool, "check", path, "--json"], capture_output=True, text=True)
        found = {f["name"]: f for f in json.loads(r.stdout)["findings"]} if r.stdout else {}
        return r.returncode, found

    for title, path in (("PyTorch's own initialization", fresh),
                        ("the default policy's (Keras's)", keras)):
        code, found = check(path)
        results.append(report(f"check passes an LSTM with {title}",
                              [] if code == 0 and not found else [f"exit {code}: {found}"]))
    for factor, problem in ((10, "exploding"), (0.01, "vanishing")):
        m = onnx.load(keras)
        r = next(t for t in m.graph.initializer if t.name == "R")
        r.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(r) * np.float32(factor), "R"))
        path = os.path.join(tmp, f"scaled_{factor}.onnx")
        onnx.save(m, path)
        code, found = check(path)
        f = found.get("R", {})
        ok = code == 1 and f.get("problem") == problem and \
            abs(f.get("ratio", 0) - factor) < 1e-3 * factor
        results.append(report(f"check flags R x {factor} as {problem} (largest singular "
                              f"value {factor})", [] if ok else [f"exit {code}: {found}"]))
    return results


def report(title, problems):
    print(f"{'FAIL' if problems else 'ok  '} {title}"
          + (": " + "; ".join(problems[:4]) if problems else ""))
    return not problems


def external_cases(tool, tmp, rng):
    """Recurrent tensors in external data: re-initialized block by block as
    when inline, the same values from the same seed, written to the
    output's data file; the input's data file untouched."""
    results = []
    module = trained(Seq("LSTM", 1, True), seed=11)
    cases = [("hand-built LSTM", hand_built("LSTM", 2, 5, 3, True, True, rng)),
             ("PyTorch LSTM, unfolded", export(module, 17, False)),
             ("PyTorch LSTM, folded", export(module, 17, True))]
    for title, m in cases:
        tag = title.replace(" ", "_").replace(",", "")
        inline_src = os.path.join(tmp, f"{tag}_inline.onnx")
        onnx.save(m, inline_src)
        inline_out = os.path.join(tmp, f"{tag}_inline_out.onnx")
        apply(tool, inline_src, inline_out)
        folder = os.path.join(tmp, f"{tag}_ext")
        os.makedirs(os.path.join(folder, "out"))
        src = os.path.join(folder, "model.onnx")
        onnx.save(m, src, save_as_external_data=True, all_tensors_to_one_file=True,
                  location="weights.bin", size_threshold=0)
        data_before = open(os.path.join(folder, "weights.bin"), "rb").read()
        out = os.path.join(folder, "out", "model.onnx")
        problems = []
        try:
            plan = apply(tool, src, out)
        except RuntimeError as e:
            results.append(report(f"{title} in external data", [str(e)]))
            continue
        skipped = [s for s in plan["skipped"] if "external" in s["reason"]]
        if skipped:
            problems.append(f"skipped: {skipped}")
        want = {k: numpy_helper.to_array(v) for k, v in all_tensors(onnx.load(inline_out).graph).items()}
        got = {k: numpy_helper.to_array(v) for k, v in all_tensors(onnx.load(out).graph).items()}
        for name, w in want.items():
            if name not in got or not np.array_equal(w, got[name]):
                problems.append(f"{name}: differs from the inline model's")
        if not os.path.exists(os.path.join(folder, "out", "weights.bin")):
            problems.append("no data file beside the output")
        if open(os.path.join(folder, "weights.bin"), "rb").read() != data_before:
            problems.append("the input's data file changed")
        results.append(report(f"{title} in external data: the same values as inline, "
                              "input's data file untouched", problems))
    return results


def main():
    tool = sys.argv[1]
    rng = np.random.default_rng(3)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for op, d, with_b, with_p in (("LSTM", 2, True, True), ("LSTM", 1, False, False),
                                      ("GRU", 2, True, False), ("GRU", 1, False, False),
                                      ("RNN", 1, True, False), ("RNN", 2, False, False)):
            tag = f"hand-built {op}, {d} direction(s), {'B' if with_b else 'no B'}" \
                  f"{', P' if with_p else ''}"
            problems, _ = check_model(tool, hand_built(op, d, 5, 3, with_b, with_p, rng), tmp,
                                      tag.replace(" ", "_").replace(",", ""))
            results.append(report(tag, problems))
        problems, out = check_model(tool, in_if(rng), tmp, "lstm_in_if", runnable=False)
        if out:
            problems += body_blocks(out)
        results.append(report("an LSTM in each branch of an If", problems))
        results += rule_cases(tool, tmp, rng)
        results += check_cases(tool, tmp, rng)
        results += external_cases(tool, tmp, rng)
        results += torch_cases(tool, tmp)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
