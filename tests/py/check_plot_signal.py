#!/usr/bin/python3
"""`plot --signal` and `plot --schemes`, read back from the SVG and held
against the formulas computed here from the tensors:

- forward scale after layer k: prod_{j<=k} fan_in_j * Var(W_j) * a_j,
  backward: the same with fan_out_j, a_j = 1/2 after ReLU, 1 after none;
- the bundled bad MLP falls below the 1e-4 band, and after apply stays
  within [0.5, 2]; the layers check flags are marked;
- a ReLU MLP of unequal widths drawn He (fan_in): forward factor 1 a
  layer, backward fan_out/fan_in; Xavier: forward fan_in/(fan_in +
  fan_out);
- --schemes: four labelled densities of area 1, their stds and their
  per-layer signal factors as the formulas give them, for any layer;
- every axis has nice ticks (1, 2 or 5 times a power of ten); per-layer
  panels come in the order the layers run, bodies at their node;
- headless Chromium renders both views.

    check_plot_signal.py ONNX_REINIT SAMPLES_DIR
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from results import finish, report

TOOL = SAMPLES = None
SVG = "{http://www.w3.org/2000/svg}"


def run(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True)


def plot(model, out, *extra):
    r = run("plot", model, "-o", out, *extra)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    subprocess.run(["xmllint", "--noout", out], check=True)
    return ET.parse(out).getroot()


def by_class(root, tag, *classes):
    return [e for e in root.iter(SVG + tag)
            if set(classes) <= set((e.get("class") or "").split())]


def series(chain, direction, model):
    """{depth: value} of one line of a chain panel."""
    return {int(c.get("data-depth")): float(c.get("data-value"))
            for c in by_class(chain, "circle", "pt", direction, model)}


def layers_of(path):
    """The chain of Gemm/MatMul layers in node order, with what the test
    needs: name, weights, fan_in, fan_out, activation factor."""
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    consumers = {}
    for n in m.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    out = []
    for n in m.graph.node:
        if n.op_type not in ("Gemm", "MatMul"):
            continue
        w = inits[n.input[1]]
        trans_b = any(a.name == "transB" and a.i for a in n.attribute)
        fan_in, fan_out = (w.shape[1], w.shape[0]) if trans_b else (w.shape[0], w.shape[1])
        nxt = consumers.get(n.output[0], [])
        factor = 0.5 if nxt and nxt[0].op_type == "Relu" else 1.0
        out.append((n.input[1], w, fan_in, fan_out, factor))
    return out


def expected(layers):
    fwd, bwd, f, b = [], [], 1.0, 1.0
    for _, w, fi, fo, a in layers:
        f *= fi * np.var(w) * a
        b *= fo * np.var(w) * a
        fwd.append(f)
        bwd.append(b)
    return fwd, bwd


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def check_formulas(chain, layers, model):
    fwd, bwd = expected(layers)
    got_f, got_b = series(chain, "forward", model), series(chain, "backward", model)
    problems = []
    if sorted(got_f) != list(range(1, len(layers) + 1)):
        return [f"{model}: depths {sorted(got_f)}"]
    for k in range(len(layers)):
        if not close(got_f[k + 1], fwd[k]) or not close(got_b[k + 1], bwd[k]):
            problems.append(f"{model} layer {k + 1}: forward {got_f[k + 1]:.6g} "
                            f"want {fwd[k]:.6g}, backward {got_b[k + 1]:.6g} want {bwd[k]:.6g}")
    return problems


def nice_step(step):
    e = math.floor(math.log10(step))
    m = step / 10 ** e
    return any(abs(m - k) < 1e-6 for k in (1, 2, 5, 10))


def tick_problems(root):
    """Every axis' ticks: evenly spaced by a nice step, each a multiple of
    it; on log axes (values all powers of ten spanning decades) the same
    for the exponents."""
    problems = []
    for g in root.iter(SVG + "g"):
        for axis in ("x", "y"):
            vals = [float(t.get("data-value")) for t in g
                    if t.tag == SVG + "text" and set((t.get("class") or "").split()) >= {"tl", axis}]
            if len(vals) < 2:
                continue
            vals.sort()
            logs = all(v > 0 and abs(math.log10(v) - round(math.log10(v))) < 1e-9 for v in vals)
            span = vals[-1] / vals[0] if vals[0] > 0 else 0
            if logs and span >= 100:
                vals = [round(math.log10(v)) for v in vals]
            steps = {round(b - a, 12) for a, b in zip(vals, vals[1:])}
            step = min(steps)
            if len(steps) != 1 or not nice_step(step) or any(
                    abs(v / step - round(v / step)) > 1e-6 for v in vals):
                problems.append(f"{g.get('class')} {axis}: ticks {vals}")
    return problems


def mlp(path, widths, draw, seed=0):
    """A MatMul + Relu chain of the given widths, weights from draw(fi, fo)."""
    rng = np.random.default_rng(seed)
    nodes, inits, x = [], [], "x"
    for i, (fi, fo) in enumerate(zip(widths, widths[1:])):
        inits.append(numpy_helper.from_array(draw(rng, fi, fo).astype(np.float32), f"fc{i}.weight"))
        nodes += [helper.make_node("MatMul", [x, f"fc{i}.weight"], [f"z{i}"]),
                  helper.make_node("Relu", [f"z{i}"], [f"h{i}"])]
        x = f"h{i}"
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, widths[0]])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, widths[-1]])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


def chromium_renders(svg, tmp, size):
    chromium = shutil.which("chromium")
    if not chromium:
        return ["chromium is not installed"] if os.environ.get("CI") else []
    png = os.path.join(tmp, "r.png")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp}/chrome", "--hide-scrollbars",
                    f"--window-size={size}", f"--screenshot={png}", "file://" + svg],
                   capture_output=True, timeout=120)
    try:
        from PIL import Image
        img = Image.open(png).convert("L")
        colors = len(set(img.getdata()))
        return [] if colors >= 20 else [f"{colors} grey levels: blank?"]
    except Exception as e:
        return [str(e)]


def main():
    global TOOL, SAMPLES
    TOOL, SAMPLES = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp()
    bad = os.path.join(SAMPLES, "deep_mlp_bad_init.onnx")
    fixed = os.path.join(tmp, "fixed.onnx")
    subprocess.run([TOOL, "apply", bad, "-o", fixed], check=True, capture_output=True)
    svg = os.path.join(tmp, "s.svg")

    # 1. the bundled bad MLP, before and after
    root = plot(bad, svg, "--signal", "--after", fixed)
    chains = by_class(root, "g", "chain")
    layers = layers_of(bad)
    problems = [] if len(chains) == 1 and chains[0].get("data-layers") == "10" else \
        [f"{len(chains)} chains, {[c.get('data-layers') for c in chains]} layers"]
    if not problems:
        c = chains[0]
        problems += check_formulas(c, layers, "before")
        problems += check_formulas(c, layers_of(fixed), "after")
        band = by_class(c, "rect", "band", "vanishing")
        limit = float(band[0].get("data-limit")) if band else None
        before, after = series(c, "forward", "before"), series(c, "forward", "after")
        if limit != 1e-4 or not before[10] < limit:
            problems.append(f"before ends at {before[10]:.3g}, band {limit}")
        if not all(0.5 <= v <= 2 for v in after.values()):
            problems.append(f"after: {sorted(after.values())}")
        findings = json.loads(run("check", bad, "--json").stdout)["findings"]
        flagged = {e.get("data-layer") for e in by_class(c, "circle", "flag", "before")}
        if flagged != {f["name"] for f in findings}:
            problems.append(f"flagged {sorted(flagged)} vs check {sorted(f['name'] for f in findings)}")
        named = "".join(t.text or "" for t in by_class(c, "text", "flagname", "before"))
        if "layers.4.weight (zeros)" not in named:
            problems.append(f"names: {named[:120]!r}")
    report("bad MLP: forward below the 1e-4 band by the last layer, after apply within "
           "[0.5, 2], values as the formulas, check's layers marked", problems)

    # 2. unequal widths: He (fan_in) and Xavier
    widths = [64, 512, 96, 384, 48, 256]
    for name, draw, per_layer in (
            ("He", lambda r, fi, fo: r.normal(0, math.sqrt(2 / fi), (fi, fo)),
             lambda fi, fo: (1.0, fo / fi)),
            ("Xavier", lambda r, fi, fo: r.normal(0, math.sqrt(2 / (fi + fo)), (fi, fo)),
             lambda fi, fo: (fi / (fi + fo), fo / (fi + fo)))):
        path = os.path.join(tmp, f"{name}.onnx")
        mlp(path, widths, draw)
        root = plot(path, svg, "--signal")
        chains = by_class(root, "g", "chain")
        problems = [] if len(chains) == 1 else [f"{len(chains)} chains"]
        if not problems:
            problems = check_formulas(chains[0], layers_of(path), "before")
            f, b = series(chains[0], "forward", "before"), series(chains[0], "backward", "before")
            f[0] = b[0] = 1.0
            for k, (fi, fo) in enumerate(zip(widths, widths[1:]), 1):
                want_f, want_b = per_layer(fi, fo)
                tol = 6 * math.sqrt(2 / (fi * fo))  # the sample variance's noise
                got_f, got_b = f[k] / f[k - 1], b[k] / b[k - 1]
                if abs(got_f / want_f - 1) > tol or abs(got_b / want_b - 1) > tol:
                    problems.append(f"layer {k} ({fi}->{fo}): forward x{got_f:.4f} "
                                    f"want {want_f:.4f}, backward x{got_b:.4f} want {want_b:.4f}")
        report(f"ReLU MLP of unequal widths drawn {name}: forward and backward per layer "
               "as the formulas predict", problems)

    # 3. --schemes on layers of several kinds
    cases = [(bad, "layers.3.weight"), (os.path.join(SAMPLES, "cnn_bn_relu.onnx"), None),
             (os.path.join(SAMPLES, "mlp_tanh.onnx"), "fc1.weight")]
    for model, layer in cases:
        if layer is None:
            plan = json.loads(run("plan", model, "--json").stdout)["tensors"]
            layer = next(t["name"] for t in plan if t["op"] == "Conv" and t["role"] == "weight")
        root = plot(model, svg, "--schemes", "--layers", layer)
        g = by_class(root, "g", "schemes")[0]
        fi, fo = int(g.get("data-fan-in")), int(g.get("data-fan-out"))
        plan = {t["name"]: t for t in json.loads(run("plan", model, "--json").stdout)["tensors"]}
        w = {t.name: numpy_helper.to_array(t).astype(np.float64)
             for t in onnx.load(model).graph.initializer}[layer]
        problems = [] if (fi, fo) == (plan[layer]["fan_in"], plan[layer]["fan_out"]) else [f"fans {fi}, {fo}"]
        curves = by_class(g, "polyline", "density")
        want_std = {"small": 0.01, "large": 10, "xavier": math.sqrt(2 / (fi + fo)),
                    "he": math.sqrt(2 / fi)}
        labels = set()
        for c in curves:
            kind = c.get("class").split()[1]
            pts = np.array([[float(v) for v in p.split(",")] for p in c.get("data-points").split()])
            area = np.trapz(pts[:, 1], pts[:, 0])
            labels.add(c.get("data-label"))
            if abs(area - 1) > 1e-3:
                problems.append(f"{kind}: area {area:.5f}")
            if not close(float(c.get("data-std")), want_std[kind]):
                problems.append(f"{kind}: std {c.get('data-std')}")
        if len(curves) != 4 or len(labels) != 4:
            problems.append(f"{len(curves)} densities, labels {labels}")
        factor = 0.5 if plan[layer]["activation"] in ("Relu",) else 1.0
        sig = by_class(g, "g", "signal")[0]
        if float(sig.get("data-factor")) != factor:
            problems.append(f"factor {sig.get('data-factor')}")
        per = {p.get("class").split()[1]: float(p.get("data-per-layer"))
               for p in by_class(sig, "polyline", "scale")}
        for kind, s in want_std.items():
            if not close(per[kind], fi * s * s * factor):
                problems.append(f"{kind}: per layer {per[kind]} want {fi * s * s * factor}")
        if not close(per["own"], fi * np.var(w) * factor):
            problems.append(f"own: per layer {per['own']} want {fi * np.var(w) * factor}")
        if not close(float(g.get("data-variance")), np.var(w)):
            problems.append("variance")
        report(f"--schemes {os.path.basename(model)} {layer}: four labelled densities of "
               "area 1, stds and signal factors as the formulas", problems)
        schemes_svg = svg

    # 4. nice ticks everywhere
    problems = []
    for args in (["--signal", "--after", fixed], ["--after", fixed], ["--schemes", "--layers", "layers.0.weight"]):
        problems += tick_problems(plot(bad, svg, *args))
    for f in ("cnn_bn_relu.onnx", "transformer_encoder.onnx", "convtranspose_decoder.onnx"):
        problems += tick_problems(plot(os.path.join(SAMPLES, f), svg))
    report("every axis' ticks are multiples of 1, 2 or 5 times a power of ten", problems)

    # 5. panels in the order the layers run: initializers listed backwards
    # (as tf2onnx lists them), a layer inside an If between two others
    rng = np.random.default_rng(3)
    def w(name):
        return numpy_helper.from_array(rng.normal(0, 0.1, (8, 8)).astype(np.float32), name)
    body = lambda tag: helper.make_graph(
        [helper.make_node("MatMul", ["h0", f"{tag}.weight"], ["b"]), helper.make_node("Relu", ["b"], ["o"])],
        tag, [], [helper.make_tensor_value_info("o", TensorProto.FLOAT, [1, 8])], [w(f"{tag}.weight")])
    nodes = [helper.make_node("MatMul", ["x", "conv2d_1.weight"], ["z0"]),
             helper.make_node("Relu", ["z0"], ["h0"]),
             helper.make_node("If", ["cond"], ["h1"], then_branch=body("then"), else_branch=body("else")),
             helper.make_node("MatMul", ["h1", "conv2d_3.weight"], ["z2"]),
             helper.make_node("Relu", ["z2"], ["h2"]),
             helper.make_node("MatMul", ["h2", "conv2d_2.weight"], ["y"])]
    g = helper.make_graph(nodes, "order",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8]),
                           helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])],
                          [w("conv2d_2.weight"), w("conv2d_3.weight"), w("conv2d_1.weight")])
    path = os.path.join(tmp, "order.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    names = [p.get("data-name") for p in by_class(plot(path, svg), "g", "panel")]
    # the If's two bodies come in the order of its attributes
    want = ["conv2d_1.weight", "If_2.else_branch/else.weight", "If_2.then_branch/then.weight",
            "conv2d_3.weight", "conv2d_2.weight"]
    plan_names = [t["name"] for t in json.loads(run("plan", path, "--json").stdout)["tensors"]
                  if t["role"] == "weight"]
    report("per-layer panels in run order, a body's at its If",
           [] if names == want else [f"panels {names}, plan {plan_names}"])

    # 6. usage
    problems = []
    for args, what in ((["--signal", "--schemes", "--layers", "x"], "both"),
                       (["--schemes"], "no --layers"),
                       (["--schemes", "--layers", "layers.*.weight"], "many layers"),
                       (["--schemes", "--layers", "nothing"], "no layer")):
        r = run("plot", bad, "-o", os.path.join(tmp, "never.svg"), *args)
        if r.returncode != 2 or r.stderr.count("\n") > 2 or os.path.exists(os.path.join(tmp, "never.svg")):
            problems.append(f"{what}: exit {r.returncode}, {r.stderr!r}")
    report("--signal with --schemes, --schemes without one layer: refused, nothing written", problems)

    # 7. rendered
    problems = chromium_renders(svg if plot(bad, svg, "--signal", "--after", fixed) is not None else svg,
                                tmp, "520,380")
    problems += chromium_renders(schemes_svg if plot(bad, schemes_svg, "--schemes", "--layers",
                                                     "layers.2.weight") is not None else schemes_svg,
                                 tmp, "880,330")
    report("headless Chromium renders --signal and --schemes", problems)
    shutil.rmtree(tmp)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
