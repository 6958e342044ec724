#!/usr/bin/python3
"""`plot`: the SVG is well-formed (xmllint), has one panel per weighted
layer, and each histogram bar holds the count computed here from the
tensor (bin k: lo + k w <= x < lo + (k+1) w, x = hi in the last) with a
height proportional to it; --layers selects; 60 layers wrap into a grid;
the bad cases look bad (a zero layer is one full bin, an exploding one
spreads far past its prediction); headless Chromium renders it.

    check_plot.py ONNX_REINIT SAMPLES_DIR
"""
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

TOOL = SAMPLES = None
SVG = "{http://www.w3.org/2000/svg}"
RESULTS = []


def report(title, problems):
    RESULTS.append(not problems)
    print(f"{'FAIL' if problems else 'ok  '} {title}" + (": " + "; ".join(problems[:4]) if problems else ""))


def plot(model, out, *extra):
    r = subprocess.run([TOOL, "plot", model, "-o", out, *extra], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    subprocess.run(["xmllint", "--noout", out], check=True)
    return ET.parse(out).getroot()


def panels(root):
    return [g for g in root.iter(SVG + "g") if g.get("class") == "panel"]


def counts(values, lo, hi, bins):
    w = (hi - lo) / bins
    c = np.zeros(bins, dtype=np.int64)
    for x in values:
        if lo <= x <= hi:
            c[min(int(math.floor((x - lo) / w)), bins - 1)] += 1
    return c


def check_bars(panel, values, cls):
    lo, hi, bins = float(panel.get("data-lo")), float(panel.get("data-hi")), int(panel.get("data-bins"))
    n, ymax = int(panel.get("data-n")), float(panel.get("data-ymax"))
    rects = [r for r in panel.iter(SVG + "rect") if r.get("class") == f"bar {cls}"]
    want = counts(values, lo, hi, bins)
    got = np.array([int(r.get("data-count")) for r in rects])
    problems = []
    if len(rects) != bins or not np.array_equal(got, want):
        problems.append(f"{panel.get('data-name')} {cls}: counts differ")
    w = (hi - lo) / bins
    # unclipped bars: height proportional to count (heights have 4 decimals)
    pairs = [(float(r.get("height")), int(c)) for r, c in zip(rects, want)
             if 0 < c / (n * w) <= ymax]
    if pairs:
        h0, c0 = max(pairs, key=lambda hc: hc[1])
        for h, c in pairs:
            if abs(h - c * h0 / c0) > 1e-4 + 1e-6 * h:
                problems.append(f"{panel.get('data-name')} {cls}: height {h} for count {c}")
                break
    return problems


def main():
    global TOOL, SAMPLES
    TOOL, SAMPLES = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        before = os.path.join(SAMPLES, "deep_mlp_bad_init.onnx")
        after = os.path.join(tmp, "after.onnx")
        subprocess.run([TOOL, "apply", before, "-o", after], check=True, capture_output=True)
        svg = os.path.join(tmp, "p.svg")
        root = plot(before, svg, "--after", after)
        ps = panels(root)
        vb = {t.name: numpy_helper.to_array(t).ravel().astype(np.float64)
              for t in onnx.load(before).graph.initializer}
        va = {t.name: numpy_helper.to_array(t).ravel().astype(np.float64)
              for t in onnx.load(after).graph.initializer}
        problems = [] if len(ps) == 10 else [f"{len(ps)} panels for 10 layers"]
        for p in ps:
            problems += check_bars(p, vb[p.get("data-name")], "before")
            problems += check_bars(p, va[p.get("data-name")], "after")
        report("one panel per layer, bar counts and heights match the tensors", problems)

        zero = next(p for p in ps if p.get("data-name") == "layers.4.weight")
        full = [int(r.get("data-count")) for r in zero.iter(SVG + "rect")
                if r.get("class") == "bar before"]
        texts = "".join(t.text or "" for t in zero.iter(SVG + "text"))
        report("an all-zero layer is a single full bin, labelled",
               [] if max(full) == 128 * 128 and "100% of the before weights" in texts
               else [f"max bin {max(full)}, labels {texts!r}"])

        # an exploding layer: N(0, 10) where He expects 0.125
        m = onnx.load(before)
        w = m.graph.initializer[0]
        w.raw_data = np.random.default_rng(1).normal(0, 10, (128, 128)).astype(np.float32).tobytes()
        boom = os.path.join(tmp, "boom.onnx")
        onnx.save(m, boom)
        p0 = panels(plot(boom, svg, "--layers", "layers.0.*"))
        problems = [] if len(p0) == 1 else [f"--layers gave {len(p0)} panels"]
        if p0 and float(p0[0].get("data-hi")) < 10 * 4 * 0.125:
            problems.append(f"range {p0[0].get('data-hi')} does not show the spill")
        report("--layers selects; an exploding layer spreads far past its prediction", problems)

        # 60 layers wrap into a grid of at most 6 columns
        nodes, inits, x = [], [], "input"
        for i in range(60):
            inits.append(numpy_helper.from_array(
                np.random.default_rng(i).normal(0, 0.1, (16, 16)).astype(np.float32), f"fc{i}.weight"))
            nodes.append(helper.make_node("MatMul", [x, f"fc{i}.weight"], [f"z{i}"]))
            nodes.append(helper.make_node("Relu", [f"z{i}"], ["output" if i == 59 else f"h{i}"]))
            x = f"h{i}"
        g = helper.make_graph(nodes, "deep", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 16])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)],
                              initializer=inits)
        deep = os.path.join(tmp, "deep.onnx")
        onnx.save(helper.make_model(g), deep)
        root = plot(deep, svg)
        ps = panels(root)
        report("60 layers: 60 panels in at most 6 columns",
               [] if len(ps) == 60 and int(root.get("width")) <= 6 * 320
               else [f"{len(ps)} panels, width {root.get('width')}"])

        # a bidirectional LSTM: W and R drawn gate by gate (ONNX's i, o, f, c)
        rng = np.random.default_rng(4)
        d, h, i_ = 2, 3, 2
        lstm_w = rng.normal(0, 0.5, (d, 4 * h, i_)).astype(np.float32)
        lstm_r = rng.normal(0, 0.5, (d, 4 * h, h)).astype(np.float32)
        g = helper.make_graph(
            [helper.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=h,
                              direction="bidirectional")], "lstm",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 1, i_])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, d, 1, h])],
            initializer=[numpy_helper.from_array(lstm_w, "W"), numpy_helper.from_array(lstm_r, "R")])
        lstm = os.path.join(tmp, "lstm.onnx")
        onnx.save(helper.make_model(g), lstm)
        ps = panels(plot(lstm, svg))
        got = [(p.get("data-name"), p.get("data-gate")) for p in ps]
        want = [(t, gate) for t in ("W", "R") for gate in "iofc"]
        problems = [] if got == want else [f"panels {got}"]
        for p in ps if got == want else []:
            k = "iofc".index(p.get("data-gate"))
            v = (lstm_w if p.get("data-name") == "W" else lstm_r)[:, k * h:(k + 1) * h, :]
            problems += check_bars(p, v.ravel().astype(np.float64), "before")
        report("an LSTM's W and R: a panel per gate, its bars the gate's blocks", problems)

        r = subprocess.run([TOOL, "plot", before, "-o", svg, "--layers", "nothing*"],
                           capture_output=True, text=True)
        report("--layers matching nothing: one line, exit 2",
               [] if r.returncode == 2 and r.stderr.count("\n") == 1 else [r.stderr])

        chromium = shutil.which("chromium")
        if chromium:
            png = os.path.join(tmp, "p.png")
            plot(before, svg, "--after", after)
            subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-quic", "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            f"--user-data-dir={tmp}/chrome", "--hide-scrollbars",
                            "--window-size=1280,980", f"--screenshot={png}", "file://" + svg],
                           capture_output=True, timeout=120)
            problems = []
            try:
                from PIL import Image
                img = Image.open(png).convert("L")
                colors = len(set(img.getdata()))
                if img.size != (1280, 980) or colors < 20:
                    problems.append(f"{img.size}, {colors} grey levels: blank?")
            except Exception as e:  # no image, or not a PNG
                problems.append(str(e))
            report("headless Chromium renders it", problems)
        elif os.environ.get("CI"):
            report("headless Chromium renders it", ["chromium is not installed"])
    passed = sum(RESULTS)
    print(f"{passed} passed, {len(RESULTS) - passed} failed")
    return 0 if passed == len(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
