#!/usr/bin/python3
"""Weights inside control flow: each sample's network put into both
branches of an If (its weights as body initializers, as body Constant
nodes, and as main-graph initializers the bodies read by name) and into a
Loop body; and split, the first layer in the main graph and its
activation in the branches. For each: the plan gives the plain model's scheme, fans,
activation and std for every tensor (only names and storage differ);
`apply`'s output passes the onnx checker, every re-initialized tensor has
its scheme's statistics, every other tensor is byte for byte the input's,
and ONNX Runtime runs it with finite outputs. The same with the tensors
(bodies' and Constants' too) in a data file beside the model.

    check_bodies.py ONNX_REINIT SAMPLES_DIR

Prints one line per case and 'N passed, N failed'; exits 1 on any.
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
from check_apply import check_tensor, ort_problems  # noqa: E402

FIELDS = ("op", "role", "activation", "scheme", "fan_in", "fan_out", "gain", "std", "bound",
          "dtype", "shape")


def renamed(vi, name, lead=()):
    """A copy of ValueInfo vi called name, its shape with dims lead first."""
    t = vi.type.tensor_type
    dims = list(lead) + [d.dim_value if d.HasField("dim_value") else d.dim_param
                         for d in t.shape.dim]
    return helper.make_tensor_value_info(name, t.elem_type, dims)


WEIGHTED = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def body_of(m, inits, as_constants, inputs=(), extra_outputs=(), skip=0):
    """The sample's nodes (but the first skip) as a body; its outputs
    renamed NAME_b (Identity)."""
    g = m.graph
    nodes = [helper.make_node("Constant", [], [t.name], value=t) for t in inits] \
        if as_constants else []
    nodes += list(g.node)[skip:]
    nodes += [helper.make_node("Identity", [o.name], [o.name + "_b"]) for o in g.output]
    outs = list(extra_outputs) + [renamed(o, o.name + "_b") for o in g.output]
    return helper.make_graph(nodes, "body", list(inputs), outs,
                             initializer=[] if as_constants else list(inits))


def wrapped(src, kind):
    """src's network inside an If (kind 'if_init', 'if_const', 'if_outer')
    or a Loop ('loop'); or split ('if_split'): its nodes up to the first
    layer in the main graph, the rest in both branches, which read that
    layer's output by name (so its activation is inside the bodies)."""
    m = onnx.load(src)
    g = m.graph
    inits = list(g.initializer)
    t = helper.make_tensor("c", TensorProto.BOOL, [], [True])
    nodes = [helper.make_node("Constant", [], ["cond"], value=t)]
    outer = []
    if kind == "loop":
        nodes.append(helper.make_node("Constant", [], ["trip"],
                                      value=helper.make_tensor("n", TensorProto.INT64, [], [1])))
        b = body_of(m, inits, False,
                    inputs=[helper.make_tensor_value_info("i", TensorProto.INT64, []),
                            helper.make_tensor_value_info("c_in", TensorProto.BOOL, [])],
                    extra_outputs=[helper.make_tensor_value_info("c_out", TensorProto.BOOL, [])])
        b.node.append(helper.make_node("Identity", ["c_in"], ["c_out"]))
        nodes.append(helper.make_node("Loop", ["trip", "cond"],
                                      [o.name + "_all" for o in g.output], body=b))
    else:
        split = 0
        if kind == "if_split":
            split = 1 + next(i for i, n in enumerate(g.node) if n.op_type in WEIGHTED)
            nodes += list(g.node)[:split]
        if kind in ("if_outer", "if_split"):
            outer = inits
        branch = lambda: body_of(m, [] if outer else inits, kind == "if_const", skip=split)
        nodes.append(helper.make_node("If", ["cond"], [o.name for o in g.output],
                                      then_branch=branch(), else_branch=branch()))
    outs = [renamed(o, o.name + "_all", (1,)) if kind == "loop" else renamed(o, o.name)
            for o in g.output]
    main = helper.make_graph(nodes, g.name, list(g.input), outs, initializer=outer)
    out = helper.make_model(main, opset_imports=list(m.opset_import), ir_version=m.ir_version)
    return out


def tensors_by_name(m):
    """Every initializer and Constant tensor, by the tool's documented
    qualified name: main-graph initializers and Constants by their own
    names, a body's as BODY/NAME with BODY the node (name or OP_INDEX) and
    the attribute, nested bodies joined by '/'."""
    out = {}

    def walk(g, path):
        prefix = path + "/" if path else ""
        for t in g.initializer:
            out[prefix + t.name] = t
        for i, n in enumerate(g.node):
            for a in n.attribute:
                if n.op_type == "Constant" and a.name == "value":
                    out[prefix + n.output[0]] = a.t
                node = n.name or f"{n.op_type}_{i}"
                for sub in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
                    walk(sub, prefix + f"{node}.{a.name}")
    walk(m.graph, "")
    return out


def plan_of(tool, path):
    r = subprocess.run([tool, "plan", path, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return json.loads(r.stdout)["tensors"]


def check_case(tool, sample, kind, tmp, external=False):
    """With external, the model's tensors (bodies' initializers and
    Constants' values included) are in a data file beside it, and the
    output is written to another folder."""
    path = os.path.join(tmp, f"{kind}.onnx")
    if external:
        os.makedirs(os.path.join(tmp, "in"), exist_ok=True)
        path = os.path.join(tmp, "in", f"{kind}.onnx")
        onnx.save(wrapped(sample, kind), path, save_as_external_data=True,
                  all_tensors_to_one_file=True, location=f"{kind}.data", size_threshold=0,
                  convert_attribute=True)
        stored = onnx.load(path, load_external_data=False)
        if not any(t.data_location == TensorProto.EXTERNAL
                   for t in tensors_by_name(stored).values()):
            return ["the test model has no external data"]
        input_data = open(os.path.join(tmp, "in", f"{kind}.data"), "rb").read()
    else:
        onnx.save(wrapped(sample, kind), path)
    plain = {t["name"]: {k: t.get(k) for k in FIELDS} for t in plan_of(tool, sample)}
    got = {}
    for t in plan_of(tool, path):
        own = t["name"] if t["graph"] == "main" else t["name"][len(t["graph"]) + 1:]
        got.setdefault(own, []).append(t)
    copies = 2 if kind in ("if_init", "if_const") else 1
    storage = "constant" if kind == "if_const" else "initializer"
    problems = []
    for name, want in plain.items():
        have = got.get(name, [])
        if len(have) != copies:
            problems.append(f"{name}: planned {len(have)} times, want {copies}")
            continue
        for t in have:
            if {k: t.get(k) for k in FIELDS} != want:
                diff = [k for k in FIELDS if t.get(k) != want[k]]
                problems.append(f"{t['name']}: {diff} differ from the plain model's")
            if t["storage"] != storage or \
                    (t["graph"] == "main") != (kind in ("if_outer", "if_split")):
                problems.append(f"{t['name']}: graph {t['graph']}, storage {t['storage']}")
    if sorted(got) != sorted(plain):
        problems.append(f"other tensors planned: {sorted(set(got) - set(plain))}")
    out = os.path.join(tmp, f"{kind}_out.onnx")
    if external:
        os.makedirs(os.path.join(tmp, "out"), exist_ok=True)
        out = os.path.join(tmp, "out", f"{kind}.onnx")
    r = subprocess.run([tool, "apply", path, "-o", out, "--seed", "5", "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return problems + [f"apply: {r.stderr.strip()}"]
    items = {t["name"]: t for t in json.loads(r.stdout)["tensors"]}
    try:
        before, after = tensors_by_name(onnx.load(path)), tensors_by_name(onnx.load(out))
    except OSError as e:  # a data file the output names is missing
        return problems + [f"the output does not load: {e}"]
    if sorted(before) != sorted(after) or not set(items) <= set(after):
        problems.append("the output's tensors are not the input's")
    for name, t in after.items():
        if name in items:
            problems += check_tensor(before[name], t, items[name])
        elif t.SerializeToString() != before[name].SerializeToString():
            problems.append(f"{name}: changed but not in the plan")
    if external:
        if open(os.path.join(tmp, "in", f"{kind}.data"), "rb").read() != input_data:
            problems.append("the input's data file changed")
        written = tensors_by_name(onnx.load(out, load_external_data=False))
        if not any(t.data_location == TensorProto.EXTERNAL for t in written.values()):
            problems.append("the output keeps no tensor in a data file")
        embedded = os.path.join(tmp, "embedded.onnx")
        r = subprocess.run([tool, "apply", path, "-o", embedded, "--seed", "5", "--embed"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"apply --embed: {r.stderr.strip()}")
        else:
            inline = tensors_by_name(onnx.load(embedded, load_external_data=False))
            if any(t.data_location == TensorProto.EXTERNAL for t in inline.values()):
                problems.append("--embed left tensors in a data file")
            elif any(numpy_helper.to_array(inline[n]).tobytes()
                     != numpy_helper.to_array(t).tobytes() for n, t in after.items()):
                problems.append("--embed made other values than apply")
    try:
        onnx.checker.check_model(out, full_check=True)
    except Exception as e:  # the checker's own exception types vary
        problems.append(f"checker: {e}")
    return problems + ort_problems(out, os.path.basename(sample))


def graph_rule(tool, sample, tmp):
    """graph=GLOB targets one body: a keep rule for the then branch keeps
    its tensors and no others."""
    path, rules = os.path.join(tmp, "rule.onnx"), os.path.join(tmp, "then.rules")
    onnx.save(wrapped(sample, "if_init"), path)
    with open(rules, "w") as f:
        f.write("graph=*.then_branch => keep\n")
    r = subprocess.run([tool, "plan", path, "--json", "--rules", rules], capture_output=True,
                       text=True)
    if r.returncode != 0:
        return [r.stderr.strip()]
    plan = json.loads(r.stdout)
    kept = [s["name"] for s in plan["skipped"] if s["reason"].startswith("kept by then.rules:1")
            or s["reason"].startswith(f"kept by {rules}:1")]
    problems = []
    if not kept or not all(".then_branch/" in n for n in kept):
        problems.append(f"kept: {kept}")
    if not plan["tensors"] or any(".then_branch/" in t["name"] for t in plan["tensors"]):
        problems.append(f"planned: {[t['name'] for t in plan['tensors']]}")
    return problems


def main():
    tool, samples = sys.argv[1], sys.argv[2]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for f in ("mlp_tanh.onnx", "cnn_bn_relu.onnx", "depthwise_separable.onnx",
                  "mlp_tanh_fp16.onnx", "transformer_encoder.onnx"):
            for kind in ("if_init", "if_const", "if_outer", "if_split", "loop"):
                problems = check_case(tool, os.path.join(samples, f), kind, tmp)
                results.append(not problems)
                print(f"{'FAIL' if problems else 'ok  '} {f} {kind}"
                      + (": " + "; ".join(problems[:4]) if problems else ""))
        for f in ("cnn_bn_relu.onnx", "mlp_tanh_fp16.onnx"):
            for kind in ("if_init", "if_const", "loop"):
                with tempfile.TemporaryDirectory() as sub:
                    problems = check_case(tool, os.path.join(samples, f), kind, sub, True)
                results.append(not problems)
                print(f"{'FAIL' if problems else 'ok  '} {f} {kind}, external data"
                      + (": " + "; ".join(problems[:4]) if problems else ""))
        problems = graph_rule(tool, os.path.join(samples, "cnn_bn_relu.onnx"), tmp)
        results.append(not problems)
        print(f"{'FAIL' if problems else 'ok  '} graph=GLOB keeps one branch"
              + (": " + "; ".join(problems) if problems else ""))
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
