#!/usr/bin/python3
"""`batch`: folders and zip archives in, a folder or a zip out; the same
bytes whatever -j and input order; shards that split a zoo exactly;
--resume; --check; a failing model never stopping the others; malicious
archives refused entry by entry; SIGINT leaving no partial file.

    check_batch.py ONNX_REINIT SAMPLES_DIR

Prints one line per case and 'N passed, N failed'; exits 1 on any.
"""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TOOL = SAMPLES = None
RESULTS = []


def case(title):
    def wrap(fn):
        def run(tmp):
            try:
                problems = fn(tmp) or []
            except Exception as e:  # a crash of the case is a failure
                problems = [f"{type(e).__name__}: {e}"]
            RESULTS.append(not problems)
            print(f"{'FAIL' if problems else 'ok  '} {title}"
                  + (": " + "; ".join(problems) if problems else ""))
        return run
    return wrap


def batch(*args, check=False):
    r = subprocess.run([TOOL, "batch", *args], capture_output=True, text=True)
    return r


def report(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def tree(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


def make_zoo(tmp):
    """Samples in nested folders, a truncated model, a non-model file."""
    zoo = os.path.join(tmp, "zoo")
    os.makedirs(os.path.join(zoo, "vision", "small"))
    os.makedirs(os.path.join(zoo, "text"))
    for f in sorted(os.listdir(SAMPLES)):
        if f.endswith(".onnx"):
            dest = "vision" if "cnn" in f or "conv" in f or "depth" in f else \
                "text" if "transformer" in f else "."
            shutil.copy(os.path.join(SAMPLES, f), os.path.join(zoo, dest, f))
    shutil.copy(os.path.join(SAMPLES, "mlp_tanh.onnx"),
                os.path.join(zoo, "vision", "small", "tiny.onnx"))
    shutil.copytree(os.path.join(SAMPLES, "external"), os.path.join(zoo, "external"))
    data = open(os.path.join(SAMPLES, "cnn_bn_relu.onnx"), "rb").read()
    open(os.path.join(zoo, "vision", "broken.onnx"), "wb").write(data[:5000])
    open(os.path.join(zoo, "README.txt"), "w").write("not a model\n")
    return zoo


@case("folder in, folder out: one line per model, the broken one failed, exit 1")
def folder(tmp):
    zoo, out, rep = make_zoo(tmp), os.path.join(tmp, "out"), os.path.join(tmp, "r")
    r = batch(zoo, "-o", out, "--report", rep, "-j", "2")
    lines = report(rep)
    problems = []
    if r.returncode != 1:
        problems.append(f"exit {r.returncode}")
    if r.stderr:
        problems.append(f"stderr not empty without a terminal: {r.stderr!r}")
    n_models = sum(f.endswith(".onnx") for _, _, fs in os.walk(zoo) for f in fs)
    if len(lines) != n_models:
        problems.append(f"{len(lines)} report lines for {n_models} models")
    failed = [l for l in lines if l["status"] == "failed"]
    if [os.path.basename(l["input"]) for l in failed] != ["broken.onnx"]:
        problems.append(f"failed: {failed}")
    elif "truncated" not in failed[0]["error"]:
        problems.append(f"reason: {failed[0]['error']}")
    for l in lines:
        if set(l) < {"input", "output", "status", "error", "tensors", "seconds"}:
            problems.append(f"fields {sorted(l)}")
    got = tree(out)
    if "vision/small/tiny.onnx" not in got or "text/transformer_encoder.onnx" not in got:
        problems.append(f"relative paths not kept: {sorted(got)}")
    if "vision/broken.onnx" in got:
        problems.append("an output for the broken model")
    # each output is what apply writes for that model alone
    for rel, data in got.items():
        if not rel.endswith(".onnx"):
            continue
        alone = os.path.join(tmp, "alone", rel)
        os.makedirs(os.path.dirname(alone), exist_ok=True)
        subprocess.run([TOOL, "apply", os.path.join(zoo, rel), "-o", alone], check=True,
                       capture_output=True)
        if open(alone, "rb").read() != data:
            problems.append(f"{rel} differs from apply's output")
    if tree(os.path.join(tmp, "alone")) != {k: v for k, v in got.items()}:
        problems.append("data files differ from apply's")
    onnx.checker.check_model(os.path.join(out, "text", "transformer_encoder.onnx"))
    # a model with external data keeps its data file beside it
    if "external/cnn_bn_relu.data" not in got:
        problems.append("the external model's data file is missing")
    onnx.checker.check_model(os.path.join(out, "external", "cnn_bn_relu.onnx"))
    onnx.load(os.path.join(out, "external", "cnn_bn_relu.onnx"))
    return problems


@case("a FIFO, a symlink and a model whose data file is a FIFO, in a folder: "
      "each reported failed at once, the good models written")
def hostile_entries(tmp):
    zoo, out, rep = os.path.join(tmp, "zoo"), os.path.join(tmp, "out"), os.path.join(tmp, "r")
    os.makedirs(os.path.join(zoo, "fifo_data"))
    shutil.copy(os.path.join(SAMPLES, "mlp_tanh.onnx"), os.path.join(zoo, "good.onnx"))
    os.mkfifo(os.path.join(zoo, "fifo.onnx"))
    os.symlink("good.onnx", os.path.join(zoo, "link.onnx"))
    m = onnx.load(os.path.join(SAMPLES, "external", "cnn_bn_relu.onnx"), load_external_data=False)
    onnx.save(m, os.path.join(zoo, "fifo_data", "m.onnx"))
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == "location" and not os.path.exists(os.path.join(zoo, "fifo_data", e.value)):
                os.mkfifo(os.path.join(zoo, "fifo_data", e.value))
    try:
        r = subprocess.run([TOOL, "batch", zoo, "-o", out, "--report", rep],
                           capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return ["batch blocked on a FIFO"]
    lines = {os.path.relpath(l["input"], zoo): l for l in report(rep)}
    want = {"fifo.onnx": "not a regular file but a FIFO: skipped",
            "link.onnx": "not a regular file but a symlink (not followed): skipped",
            "fifo_data/m.onnx": "is not a regular file"}
    problems = [] if r.returncode == 1 else [f"exit {r.returncode}"]
    if sorted(lines) != sorted(list(want) + ["good.onnx"]):
        problems.append(f"report lines for {sorted(lines)}")
    for rel, reason in want.items():
        l = lines.get(rel, {})
        if l.get("status") != "failed" or reason not in (l.get("error") or ""):
            problems.append(f"{rel}: {l}")
    if lines.get("good.onnx", {}).get("status") != "ok" or \
            not os.path.exists(os.path.join(out, "good.onnx")):
        problems.append("the good model was not written")
    return problems


@case("the same bytes with -j1 and -j2 and with the inputs in another order")
def deterministic(tmp):
    zoo = make_zoo(tmp)
    subdirs = [os.path.join(zoo, d) for d in ("vision", "text")]
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    batch(*subdirs, "-o", a, "-j", "1", "--seed", "5")
    batch(*reversed(subdirs), "-o", b, "-j", "2", "--seed", "5")
    return [] if tree(a) == tree(b) and tree(a) else ["outputs differ"]


@case("zip in, zip out: same models as the folder run, same bytes twice")
def zips(tmp):
    zoo = make_zoo(tmp)
    arch = os.path.join(tmp, "zoo.zip")
    with zipfile.ZipFile(arch, "w", zipfile.ZIP_DEFLATED) as z:
        for d, _, fs in os.walk(zoo):
            for f in sorted(fs):
                z.write(os.path.join(d, f), os.path.relpath(os.path.join(d, f), zoo))
    out1, out2, folder = (os.path.join(tmp, n) for n in ("o1.zip", "o2.zip", "f"))
    batch(arch, "-o", out1, "-j", "2")
    batch(arch, "-o", out2, "-j", "1")
    batch(zoo, "-o", folder)
    problems = []
    if open(out1, "rb").read() != open(out2, "rb").read():
        problems.append("two runs give different archives")
    with zipfile.ZipFile(out1) as z:
        if z.testzip() is not None:
            problems.append("bad CRC in the output")
        entries = {n: z.read(n) for n in z.namelist()}
    want = {k: v for k, v in tree(folder).items() if not k.startswith("external/")}
    if entries != want:
        problems.append(f"entries {sorted(entries)} differ from the folder run")
    return problems


@case("--shard K/N: the shards split the zoo, without overlap")
def shards(tmp):
    zoo = make_zoo(tmp)
    seen, problems = [], []
    for k in (1, 2, 3):
        rep = os.path.join(tmp, f"r{k}")
        batch(zoo, "-o", os.path.join(tmp, "s"), "--shard", f"{k}/3", "--report", rep)
        seen += [l["input"] for l in report(rep)]
    full = os.path.join(tmp, "rall")
    batch(zoo, "-o", os.path.join(tmp, "all"), "--report", full)
    everything = [l["input"] for l in report(full)]
    if sorted(seen) != sorted(everything):
        problems.append(f"{len(seen)} inputs over 3 shards, {len(everything)} in all")
    if len(set(seen)) != len(seen):
        problems.append("a model in two shards")
    if batch(zoo, "-o", "x", "--shard", "4/3").returncode != 2:
        problems.append("--shard 4/3 accepted")
    return problems


@case("--resume skips complete outputs and redoes missing ones")
def resume(tmp):
    zoo, out = make_zoo(tmp), os.path.join(tmp, "out")
    batch(zoo, "-o", out)
    os.remove(os.path.join(out, "text", "transformer_encoder.onnx"))
    rep = os.path.join(tmp, "r")
    batch(zoo, "-o", out, "--resume", "--report", rep)
    lines = {os.path.relpath(l["input"], zoo): l for l in report(rep)}
    problems = []
    if lines["text/transformer_encoder.onnx"].get("resumed"):
        problems.append("the missing output was not redone")
    if not os.path.exists(os.path.join(out, "text", "transformer_encoder.onnx")):
        problems.append("the missing output is still missing")
    if not lines["mlp_tanh.onnx"].get("resumed"):
        problems.append("a complete output was redone")
    return problems


@case("--check: findings per model, exit 1, nothing written")
def check_mode(tmp):
    zoo, rep = make_zoo(tmp), os.path.join(tmp, "r")
    r = batch(zoo, "--check", "--report", rep)
    lines = {os.path.basename(l["input"]): l for l in report(rep)}
    problems = []
    if r.returncode != 1:
        problems.append(f"exit {r.returncode}")
    if lines["deep_mlp_bad_init.onnx"]["findings"] != 9:  # its last layer, drawn small, is benign
        problems.append(f"findings {lines['deep_mlp_bad_init.onnx']}")
    if lines["cnn_bn_relu.onnx"]["findings"] != 0:
        problems.append("findings in a healthy model")
    return problems


@case("outputs that would land on their inputs: refused, inputs unchanged")
def no_overwrite(tmp):
    zoo = make_zoo(tmp)
    before = tree(zoo)
    problems = []
    r = batch(zoo, "-o", zoo)
    if r.returncode != 2 or "is one of the inputs" not in r.stderr:
        problems.append(f"output folder = input folder: exit {r.returncode} {r.stderr!r}")
    rep = os.path.join(tmp, "r")
    model = os.path.join(zoo, "text", "transformer_encoder.onnx")
    r = batch(model, "-o", os.path.join(zoo, "text"), "--report", rep)
    line = report(rep)[0]
    if r.returncode != 1 or line["status"] != "failed" or "is the input" not in line["error"]:
        problems.append(f"a file into its own folder: {line}")
    if tree(zoo) != before:
        problems.append("an input changed")
    return problems


# Malicious archives: each holds one good model and one bad entry.

def good_model():
    return open(os.path.join(SAMPLES, "mlp_tanh.onnx"), "rb").read()


def patch_headers(path, name, field_local, field_central, fmt, value):
    """Overwrite a field of an entry's local and central headers."""
    data = bytearray(open(path, "rb").read())
    enc = name.encode()
    # (signature, offset of the name's length, of the name, of the field)
    for sig, name_len, name_at, field in ((b"PK\x03\x04", 26, 30, field_local),
                                          (b"PK\x01\x02", 28, 46, field_central)):
        at = data.find(sig)
        while at >= 0:
            n = struct.unpack_from("<H", data, at + name_len)[0]
            if data[at + name_at:at + name_at + n] == enc:
                struct.pack_into(fmt, data, at + field, value)
            at = data.find(sig, at + 4)
    open(path, "wb").write(bytes(data))


def archive(tmp, name, build):
    path = os.path.join(tmp, name + ".zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("good.onnx", good_model())
        build(z)
    return path


def malicious(tmp):
    def named(n):
        return lambda z: z.writestr(zipfile.ZipInfo(n), good_model())

    def symlink(z):
        info = zipfile.ZipInfo("link.onnx")
        info.create_system = 3
        info.external_attr = (0o120777 << 16)
        z.writestr(info, "/etc/passwd")

    def dup(z):
        z.writestr("twice.onnx", good_model())
        with warnings.catch_warnings():  # zipfile warns, and writes it
            warnings.simplefilter("ignore")
            z.writestr("twice.onnx", b"other")

    def bomb(z):
        z.writestr("bomb.onnx", bytes(200 << 20))

    cases = {
        "traversal": (named("../evil.onnx"), "'.' or '..'"),
        "absolute path": (named("/abs/x.onnx"), "absolute path"),
        "backslash": (named("dir\\x.onnx"), "backslash"),
        "drive letter": (named("C:/x.onnx"), "drive letter"),
        "duplicate names": (dup, "duplicate name"),
        "symlink": (symlink, "symlink"),
        "zip bomb": (bomb, "zip bomb"),
    }
    for title, (build, reason) in cases.items():
        yield title, archive(tmp, title.replace(" ", "_"), build), reason, None
    # patched archives: encryption flag, bad CRC, a false declared size
    p = archive(tmp, "encrypted", named("secret.onnx"))
    patch_headers(p, "secret.onnx", 6, 8, "<H", 1)
    yield "encrypted entry", p, "encrypted", None
    p = archive(tmp, "badcrc", named("crc.onnx"))
    patch_headers(p, "crc.onnx", 14, 16, "<I", 0x12345678)
    yield "bad CRC", p, "CRC", None
    p = archive(tmp, "liar", named("liar.onnx"))
    patch_headers(p, "liar.onnx", 22, 24, "<I", 1000)
    yield "declared size smaller than the data", p, "past its declared size", None


def malicious_cases(tmp):
    for title, path, reason, _ in malicious(tmp):
        @case(f"malicious archive, {title}: refused, the good entry processed")
        def one(tmp2, path=path, reason=reason):
            out, rep = os.path.join(tmp2, "out"), os.path.join(tmp2, "r")
            t0 = time.monotonic()
            r = batch(path, "-o", out, "--report", rep)
            secs = time.monotonic() - t0
            lines = report(rep)
            bad = [l for l in lines if l["status"] == "failed"]
            good = [l for l in lines if l["status"] == "ok"]
            problems = []
            if r.returncode != 1:
                problems.append(f"exit {r.returncode}")
            if not bad or not all(reason in l["error"] for l in bad):
                problems.append(f"failed lines {bad}")
            if [l["input"].rsplit(":", 1)[1] for l in good] != ["good.onnx"]:
                problems.append(f"ok lines {good}")
            outside = [p for p in tree(tmp2) if not p.startswith("out") and p != "r"]
            if outside:
                problems.append(f"written outside the output folder: {outside}")
            if secs > 5:
                problems.append(f"took {secs:.1f} s")
            return problems
        sub = tempfile.mkdtemp(dir=tmp)
        one(sub)


@case("SIGINT in the middle: every output present is whole, no temporary files")
def interrupted(tmp):
    big = os.path.join(tmp, "big")
    os.makedirs(big)
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((2048, 8192)).astype(np.float32), "w")
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2048])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8192])],
                          initializer=[w])
    data = helper.make_model(g).SerializeToString()  # 64 MiB
    for i in range(8):
        open(os.path.join(big, f"m{i}.onnx"), "wb").write(data)
    out = os.path.join(tmp, "out")
    # time one model, to interrupt the batch while it writes its third
    t0 = time.monotonic()
    subprocess.run([TOOL, "apply", os.path.join(big, "m0.onnx"), "-o",
                    os.path.join(tmp, "one.onnx")], check=True, capture_output=True)
    one = time.monotonic() - t0
    p = subprocess.Popen([TOOL, "batch", big, "-o", out, "-j", "1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.5 * one)
    p.send_signal(signal.SIGINT)
    p.wait()
    problems = []
    names = sorted(os.listdir(out)) if os.path.isdir(out) else []
    for n in names:
        if not n.endswith(".onnx") or n.startswith("."):
            problems.append(f"stray file {n}")
            continue
        try:
            onnx.checker.check_model(os.path.join(out, n))
        except Exception as e:
            problems.append(f"{n} is not whole: {e}")
    if len(names) == 8:
        problems.append("the run finished before the signal: nothing tested")
    if p.returncode != -signal.SIGINT:
        problems.append(f"status {p.returncode}, not killed by SIGINT")
    print(f"     ({len(names)} of 8 outputs written before SIGINT)")
    return problems


def truncation_model(path):
    """x -> MatMul w1 (4096 x 8192, made first: it takes a while) -> Relu ->
    MatMul keepme (8192 x 1, 32 KiB, kept by a rule: read from the mapped
    file, after w1)."""
    w1 = numpy_helper.from_array(np.zeros((4096, 8192), np.float32), "w1")
    w2 = numpy_helper.from_array(np.ones((8192, 1), np.float32), "keepme")
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w1"], ["h"]),
         helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("MatMul", ["r", "keepme"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4096])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
        initializer=[w1, w2])
    onnx.save(helper.make_model(g), path)


@case("a model truncated while batch reads it fails alone (SIGBUS), the others are written")
def truncated_under_batch(tmp):
    src, rules = os.path.join(tmp, "in"), os.path.join(tmp, "keep.rules")
    os.makedirs(src)
    open(rules, "w").write("name=keepme => keep\n")
    big = os.path.join(src, "big.onnx")
    shutil.copy(os.path.join(SAMPLES, "mlp_tanh.onnx"), os.path.join(src, "small.onnx"))
    for attempt in range(3):  # the truncation must land while big is in use
        truncation_model(big)
        out, rep = os.path.join(tmp, f"out{attempt}"), os.path.join(tmp, f"r{attempt}")
        p = subprocess.Popen([TOOL, "batch", src, "-o", out, "-j", "1", "--rules", rules,
                              "--report", rep], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while p.poll() is None and time.monotonic() < deadline:
            try:
                if big in open(f"/proc/{p.pid}/maps").read():
                    os.truncate(big, 100)  # mapped: being read
                    break
            except OSError:
                break
            time.sleep(0.0005)
        _, err = p.communicate(timeout=60)
        lines = {os.path.basename(l["input"]): l for l in report(rep)}
        if lines.get("big.onnx", {}).get("status") == "ok":
            continue  # done before the truncation: try again
        problems = []
        if p.returncode != 1:
            problems.append(f"exit {p.returncode}, stderr {err!r}")
        if "SIGBUS" not in (lines.get("big.onnx", {}).get("error") or ""):
            problems.append(f"big: {lines.get('big.onnx')}")
        if lines.get("small.onnx", {}).get("status") != "ok":
            problems.append(f"small: {lines.get('small.onnx')}")
        else:
            onnx.checker.check_model(os.path.join(out, "small.onnx"))
        if sorted(os.listdir(out)) != ["small.onnx"]:
            problems.append(f"outputs {sorted(os.listdir(out))}")
        return problems
    return ["the truncation never landed while the model was in use: nothing tested"]


def main():
    global TOOL, SAMPLES
    TOOL, SAMPLES = sys.argv[1], sys.argv[2]
    for fn in (folder, hostile_entries, deterministic, zips, shards, resume, check_mode, no_overwrite,
               interrupted, truncated_under_batch):
        with tempfile.TemporaryDirectory() as tmp:
            fn(tmp)
    with tempfile.TemporaryDirectory() as tmp:
        malicious_cases(tmp)
    passed = sum(RESULTS)
    print(f"{passed} passed, {len(RESULTS) - passed} failed")
    return 0 if passed == len(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
