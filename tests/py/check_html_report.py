#!/usr/bin/python3
"""batch --report FILE.html: one self-contained page.

- With --check over the samples, a model with zero and too narrow layers
  and a broken file: a table row per model whose status and counts of
  errors, warnings and notes are those of the JSON lines' problems of the
  same run; a section per model listing exactly its findings (those its
  chain flags on one line per problem, naming them all); two plots
  (weights, signal) per model that was read, none for the broken one;
  every layer of the bad model flagged in the weights plot drawn red.
- Nothing is fetched: no src or href outside the page, no <link>, no
  @import, no url().
- Headless Chromium: the page's script runs (body data-ready) with no
  console error, and #sort=4-desc orders the rows by errors, most first;
  a screenshot shows the table's heading and one pair of plots per model
  (bands of the plots' blue, counted down the page).
- apply mode: the columns say re-initialized; apply's outputs checked
  show no error.
- report merge --format html of two shards' JSON lines: the page of the
  unsharded run (rows, findings and plots; only the seconds differ).
- 500 models of 120 layers each: the page stays under 5 MB.

    check_html_report.py ONNX_REINIT SAMPLES_DIR
"""
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import finish, report  # noqa: E402

TOOL = sys.argv[1]
SAMPLES = sys.argv[2]


def mlp(path, layers, width, std, zero_at=None, seed=0):
    """A ReLU MLP whose weights have the given std (zeros at zero_at)."""
    rng = np.random.default_rng(seed)
    inits, nodes, x = [], [], "X"
    for i in range(layers):
        w = rng.normal(0, std, (width, width)).astype(np.float32)
        if i == zero_at:
            w[:] = 0
        inits.append(numpy_helper.from_array(w, f"W{i}"))
        inits.append(numpy_helper.from_array(np.zeros(width, np.float32), f"B{i}"))
        nodes += [helper.make_node("Gemm", [x, f"W{i}", f"B{i}"], [f"G{i}"]),
                  helper.make_node("Relu", [f"G{i}"], [f"R{i}"])]
        x = f"R{i}"
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, width])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, width])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


class Page(html.parser.HTMLParser):
    """The table's rows (cell texts), the sections (findings, plots)."""

    def __init__(self):
        super().__init__()
        self.rows, self.sections, self.heads = [], [], []
        self.stack, self.cell, self.in_body = [], None, False
        self.fetches, self.red_dots = [], {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append(tag)
        for k in ("src", "href"):
            if k in a and not a[k].startswith("#"):
                self.fetches.append(f"{tag} {k}={a[k]}")
        if tag == "link":
            self.fetches.append("link")
        if tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = ""
        elif tag == "section":
            self.sections.append({"id": a.get("id"), "title": "", "findings": [],
                                  "plots": [], "text": ""})
        elif tag == "li" and self.sections:
            self.sections[-1]["findings"].append([a.get("class"), ""])
        elif tag == "svg" and self.sections:
            self.sections[-1]["plots"].append(a.get("class"))
        elif tag == "path" and self.sections and a.get("class") == "bad":
            self.sections[-1]["red"] = len(re.findall(r"M", a.get("d", "")))
        elif tag == "path" and self.sections and a.get("class") == "dot":
            self.sections[-1]["blue"] = len(re.findall(r"M", a.get("d", "")))

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass
        if tag == "tbody":
            self.in_body = False
        elif tag in ("td", "th") and self.cell is not None:
            (self.rows[-1] if tag == "td" else self.heads).append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        if self.sections and "h2" in self.stack:
            self.sections[-1]["title"] += data
        elif self.sections and "li" in self.stack:
            self.sections[-1]["findings"][-1][1] += data
        elif self.sections and "p" in self.stack:
            self.sections[-1]["text"] += data


def parse(path):
    p = Page()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    p.feed(text)
    return p, text


def batch(*args):
    return subprocess.run([TOOL, "batch", *args], capture_output=True, text=True)


def table_problems(page, lines):
    """Rows against the JSON lines of the same run."""
    p = []
    if page.heads[:8] != ["model", "status", "decided", "kept", "errors", "warnings", "notes",
                          "seconds"]:
        p.append(f"headings {page.heads}")
    by_model = {r[0]: r for r in page.rows}
    if len(page.rows) != len(lines):
        p.append(f"{len(page.rows)} rows for {len(lines)} models")
    for ln in lines:
        row = by_model.get(ln["input"])
        if not row:
            p.append(f"no row for {ln['input']}")
            continue
        sev = [sum(f["severity"] == s for f in ln.get("problems", [])) for s in
               ("error", "warning", "note")]
        if row[1] != ln["status"] or [int(c) for c in row[4:7]] != sev:
            p.append(f"{ln['input']}: row {row[1:7]}, lines {ln['status']} {sev}")
        if ln["status"] == "ok" and int(row[2]) != ln["tensors"]:
            p.append(f"{ln['input']}: {row[2]} decided, lines {ln['tensors']}")
    return p


def section_problems(page, lines):
    p = []
    by_title = {s["title"]: s for s in page.sections}
    for ln in lines:
        s = by_title.get(ln["input"])
        if not s:
            p.append(f"no section for {ln['input']}")
            continue
        want = sorted((f["severity"], f["name"], f["problem"]) for f in ln.get("problems", []))
        got = []
        for cls, text in s["findings"]:
            chain = re.match(r"(\w+): (\w+) for their chain \((\d+) layers\): (.*)$", text)
            own = re.match(r"(\w+): (.*): (\w+)", text)
            if chain:  # one line for the layers flagged by their chain
                names = chain.group(4).split(", ")
                got += [(cls, n, chain.group(2)) for n in names]
                if len(names) != int(chain.group(3)):
                    p.append(f"{ln['input']}: {chain.group(3)} layers, {len(names)} named")
            else:
                got.append((cls, own.group(2), own.group(3)) if own else (cls, text, ""))
        if sorted(got) != want:
            p.append(f"{ln['input']}: findings {sorted(got)[:2]} != {want[:2]}")
        plots = s["plots"] if ln["status"] == "ok" else []
        if s["plots"] != plots or (ln["status"] == "ok" and plots != ["weights", "signal"]):
            p.append(f"{ln['input']}: plots {s['plots']}")
        if ln["status"] != "ok" and ln["error"] not in s["text"]:
            p.append(f"{ln['input']}: error text missing")
    return p


def chromium_run(chromium, tmp, url, *extra):
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-quic", "--no-first-run", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--enable-logging=stderr",
                           "--v=0", f"--user-data-dir={tmp}/chrome", "--hide-scrollbars", *extra,
                           url], capture_output=True, text=True, timeout=120)


def plot_bands(png, models):
    """Bands of rows holding the plots' blue, down the screenshot."""
    from PIL import Image
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    blue = (np.abs(img - np.array([31, 95, 191])).sum(axis=2) < 60).any(axis=1)
    bands, inside = 0, False
    gap = 0
    for b in blue:
        if b and not inside:
            bands, inside = bands + 1, True
        gap = 0 if b else gap + 1
        if inside and gap > 40:
            inside = False
    heading = (np.abs(img - np.array([244, 244, 244])).sum(axis=2) < 4).sum(axis=1).max()
    return bands, heading


def browser_cases(chromium, tmp, page_path, n_models):
    url = "file://" + page_path + "#sort=4-desc"
    r = chromium_run(chromium, tmp, url, "--dump-dom")
    console = [ln for ln in r.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    dom = Page()
    dom.feed(r.stdout)
    errors = [int(row[4]) for row in dom.rows]
    report("headless Chromium runs the page's script, no console error",
           [] if 'data-ready="1"' in r.stdout and not console else console[:3] or ["not ready"])
    report("#sort=4-desc orders the rows by errors, most first",
           [] if errors == sorted(errors, reverse=True) and len(errors) == n_models
           and errors[0] > 0 else [str(errors)])
    png = os.path.join(tmp, "page.png")
    chromium_run(chromium, tmp, "file://" + page_path, "--window-size=1280,2600",
                 f"--screenshot={png}")
    try:
        bands, heading = plot_bands(png, n_models)
        readable = n_models - 1  # the broken file has no plots
        report("the screenshot shows the table's heading and one pair of plots per model",
               [] if bands == readable and heading > 400 else
               [f"{bands} plot bands for {readable} models, heading {heading} px"])
    except Exception as e:  # no image
        report("the screenshot shows the table's heading and one pair of plots per model",
               [str(e)])


def main():
    tmp = tempfile.mkdtemp()
    try:
        zoo = os.path.join(tmp, "zoo")
        os.makedirs(zoo)
        for name in ("mlp_tanh.onnx", "cnn_bn_relu.onnx", "transformer_encoder.onnx"):
            shutil.copy(os.path.join(SAMPLES, name), zoo)
        mlp(os.path.join(zoo, "bad.onnx"), 8, 64, 0.01, zero_at=3)
        with open(os.path.join(zoo, "broken.onnx"), "wb") as f:
            f.write(b"\x0a\xff\xff\xff")
        page_path = os.path.join(tmp, "r.html")
        r = batch("--check", zoo, "--report", page_path)
        r2 = batch("--check", zoo, "--report", os.path.join(tmp, "r.jsonl"))
        with open(os.path.join(tmp, "r.jsonl")) as f:
            lines = [json.loads(ln) for ln in f]
        page, text = parse(page_path)
        report("batch --check --report r.html: exit as with JSON lines",
               [] if r.returncode == r2.returncode == 1 else [r.stderr, r2.stderr])
        report("a row per model, status and counts by severity as the JSON lines",
               table_problems(page, lines))
        report("a section per model: its findings, two plots (none for the broken file)",
               section_problems(page, lines))
        bad = next(s for s in page.sections if s["title"].endswith("bad.onnx"))
        report("every layer of the bad model drawn red in its weights plot",
               [] if bad.get("red") == 8 and not bad.get("blue") else
               [f"red {bad.get('red')}, blue {bad.get('blue')}"])
        fetches = page.fetches + re.findall(r"@import|url\(|https?://", text)
        report("nothing fetched: no outside src or href, link, @import or url()",
               fetches[:3])
        chromium = shutil.which("chromium")
        if chromium:
            browser_cases(chromium, tmp, page_path, len(lines))
        elif os.environ.get("CI"):
            report("headless Chromium", ["chromium is not installed"])

        shards = []
        for k in (1, 2):
            shards.append(os.path.join(tmp, f"s{k}.jsonl"))
            batch("--check", zoo, "--shard", f"{k}/2", "--report", shards[-1])
        r = subprocess.run([TOOL, "report", "merge", *shards, "--format", "html"],
                           capture_output=True, text=True)
        merged = Page()
        merged.feed(r.stdout)
        one, _ = parse(page_path)
        strip = lambda rows: [row[:7] for row in rows]  # noqa: E731
        svgs = lambda t: re.findall(r"<svg.*?</svg>", t)  # noqa: E731
        report("report merge --format html of two shards: the unsharded page but seconds",
               [] if strip(merged.rows) == strip(one.rows) and merged.sections == one.sections
               and svgs(r.stdout) == svgs(text) and r.returncode == 1
               else [f"rc {r.returncode}", r.stderr[-200:]])

        out_page = os.path.join(tmp, "apply.html")
        os.remove(os.path.join(zoo, "broken.onnx"))
        r = batch(zoo, "-o", os.path.join(tmp, "out"), "--report", out_page)
        page, _ = parse(out_page)
        errors = sum(int(row[4]) for row in page.rows)
        report("apply mode: re-initialized column, outputs checked without error",
               [] if r.returncode == 0 and page.heads[2] == "re-initialized" and errors == 0
               and all(s["plots"] == ["weights", "signal"] for s in page.sections)
               else [r.stderr, str(page.heads), f"{errors} errors"])

        big = os.path.join(tmp, "big")
        os.makedirs(big)
        mlp(os.path.join(big, "m000.onnx"), 120, 4, 0.5, zero_at=7)
        for i in range(1, 500):
            os.link(os.path.join(big, "m000.onnx"), os.path.join(big, f"m{i:03d}.onnx"))
        big_page = os.path.join(tmp, "big.html")
        batch("--check", big, "--report", big_page)
        size = os.path.getsize(big_page)
        page, _ = parse(big_page)
        report(f"500 models of 120 layers: {size / 1e6:.2f} MB, under 5 MB",
               [] if size < 5e6 and len(page.rows) == 500 else [f"{size} bytes, {len(page.rows)} rows"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
