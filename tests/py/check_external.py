#!/usr/bin/python3
"""External data: models saved by the onnx package with their tensors in
data files (one file, one file per tensor, unaligned offsets, float16) go
through info, plan, check and apply; apply's output loads with the onnx
package and passes its checker, holds the same values as applying the
inline model, at 4 KiB-aligned offsets, in new files beside it, the
input's files untouched; --embed and --external convert; and every path
attack of the ONNX CVEs is refused with one line and exit 2.

    check_external.py ONNX_REINIT SAMPLES_DIR
"""
import hashlib
import os
import socket
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TOOL = SAMPLES = None
RESULTS = []


def run(*args):
    try:
        return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:  # a hang, reported as a failure
        return subprocess.CompletedProcess(args, -1, "", "timed out after 30 s")


def report(title, problems):
    RESULTS.append(not problems)
    print(f"{'FAIL' if problems else 'ok  '} {title}" + (": " + "; ".join(problems) if problems else ""))


def digest(folder):
    out = {}
    for d, _, fs in os.walk(folder):
        for f in fs:
            p = os.path.join(d, f)
            out[os.path.relpath(p, folder)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


def arrays(path):
    m = onnx.load(path)  # loads the external data too
    return {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}


def save_external(model_path, folder, **kw):
    os.makedirs(folder, exist_ok=True)
    if "/" in kw.get("location", ""):
        os.makedirs(os.path.join(folder, os.path.dirname(kw["location"])), exist_ok=True)
    m = onnx.load(model_path)
    out = os.path.join(folder, "model.onnx")
    onnx.save(m, out, save_as_external_data=True, size_threshold=0, **kw)
    return out


def round_trip(tmp, title, source, **kw):
    ext = save_external(os.path.join(SAMPLES, source), os.path.join(tmp, "in"), **kw)
    before = digest(os.path.join(tmp, "in"))
    problems = []
    for cmd in (["info", ext], ["plan", ext], ["check", ext]):
        r = run(*cmd)
        if r.returncode != 0:
            problems.append(f"{cmd[0]}: exit {r.returncode} {r.stderr.strip()}")
    out = os.path.join(tmp, "out", "model.onnx")
    os.makedirs(os.path.dirname(out))
    r = run("apply", ext, "-o", out, "--seed", "9")
    if r.returncode != 0:
        return problems + [f"apply: {r.stderr.strip()}"]
    inline = os.path.join(tmp, "inline.onnx")
    run("apply", os.path.join(SAMPLES, source), "-o", inline, "--seed", "9")
    onnx.checker.check_model(out)
    got, want = arrays(out), arrays(inline)
    for name, a in want.items():
        if not np.array_equal(got[name], a):
            problems.append(f"{name}: values differ from the inline apply")
    for t in onnx.load(out, load_external_data=False).graph.initializer:
        kv = {e.key: e.value for e in t.external_data}
        if t.data_location == TensorProto.EXTERNAL and int(kv["offset"]) % 4096:
            problems.append(f"{t.name}: offset {kv['offset']} not aligned")
    if digest(os.path.join(tmp, "in")) != before:
        problems.append("the input's files changed")
    in_names = {k for k in before if k != "model.onnx"}
    out_names = {k for k in digest(os.path.join(tmp, "out")) if k != "model.onnx"}
    if in_names != out_names:
        problems.append(f"data files {sorted(out_names)}, input has {sorted(in_names)}")
    keep = os.path.join(tmp, "keep.rules")
    open(keep, "w").write("=> keep\n")
    kept = os.path.join(tmp, "out", "kept.onnx")
    run("apply", ext, "-o", kept, "--rules", keep)
    k, orig = arrays(kept), arrays(ext)
    if any(not np.array_equal(k[n], orig[n]) for n in orig):
        problems.append("keep-all changed values")
    report(f"round trip, {title}", problems)


def conversions(tmp):
    ext = save_external(os.path.join(SAMPLES, "cnn_bn_relu.onnx"), os.path.join(tmp, "in"))
    emb = os.path.join(tmp, "embedded.onnx")
    r = run("apply", ext, "-o", emb, "--embed", "--seed", "9")
    m = onnx.load(emb, load_external_data=False)
    problems = [] if r.returncode == 0 else [r.stderr]
    if any(t.data_location == TensorProto.EXTERNAL for t in m.graph.initializer):
        problems.append("--embed left external tensors")
    inline = os.path.join(tmp, "inline.onnx")
    run("apply", os.path.join(SAMPLES, "cnn_bn_relu.onnx"), "-o", inline, "--seed", "9")
    if open(emb, "rb").read() != open(inline, "rb").read():
        problems.append("--embed output differs from applying the inline model")
    report("--embed gives the inline model's bytes", problems)

    out = os.path.join(tmp, "x", "m.onnx")
    os.makedirs(os.path.dirname(out))
    r = run("apply", os.path.join(SAMPLES, "cnn_bn_relu.onnx"), "-o", out,
            "--external", "weights/all.bin", "--external-threshold", "1000")
    problems = [] if r.returncode == 0 else [r.stderr]
    m = onnx.load(out, load_external_data=False)
    for t in m.graph.initializer:
        size = numpy_helper.to_array(t, os.path.dirname(out)).nbytes if t.data_location != TensorProto.EXTERNAL else None
        kv = {e.key: e.value for e in t.external_data}
        big = int(np.prod(t.dims)) * 4 > 1000
        if big != (t.data_location == TensorProto.EXTERNAL):
            problems.append(f"{t.name}: external={t.data_location == TensorProto.EXTERNAL}")
        if big and kv.get("location") != "weights/all.bin":
            problems.append(f"{t.name}: location {kv.get('location')}")
    onnx.checker.check_model(out)
    arrays(out)
    report("--external FILE --external-threshold moves the big tensors", problems)

    # a sparse 2.5 GB tensor: --embed refuses before reading
    folder = os.path.join(tmp, "huge")
    os.makedirs(folder)
    n = 625 << 20  # float32 elements: 2.5 GiB
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[n])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "w.bin"), ("offset", "0"), ("length", str(4 * n))):
        t.external_data.add(key=k, value=v)
    with open(os.path.join(folder, "w.bin"), "wb") as f:
        f.truncate(4 * n)
    g = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "g", [],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          initializer=[t])
    huge = os.path.join(folder, "huge.onnx")
    onnx.save(helper.make_model(g), huge)
    r = run("apply", huge, "-o", os.path.join(tmp, "huge_out.onnx"), "--embed")
    problems = []
    if r.returncode != 2 or "past protobuf's 2 GiB" not in r.stderr:
        problems.append(f"exit {r.returncode}: {r.stderr.strip()}")
    if os.path.exists(os.path.join(tmp, "huge_out.onnx")):
        problems.append("an output was written")
    report("--embed past 2 GiB is refused, nothing written", problems)

    # an output beside its input: its data file is named after it
    before = digest(os.path.join(tmp, "in"))
    again = os.path.join(tmp, "in", "again.onnx")
    r = run("apply", ext, "-o", again, "--seed", "9")
    problems = []
    if r.returncode != 0:
        problems.append(f"exit {r.returncode}: {r.stderr.strip()}")
    else:
        after = digest(os.path.join(tmp, "in"))
        if any(after.get(k) != v for k, v in before.items()):
            problems.append("the input's files changed")
        if sorted(set(after) - set(before)) != ["again.onnx", "again.onnx.data"]:
            problems.append(f"new files {sorted(set(after) - set(before))}")
        locations = {e.value for t in onnx.load(again, load_external_data=False).graph.initializer
                     for e in t.external_data if e.key == "location"}
        if locations != {"again.onnx.data"}:
            problems.append(f"locations {locations}")
        inline = os.path.join(tmp, "inline_again.onnx")
        run("apply", os.path.join(SAMPLES, "cnn_bn_relu.onnx"), "-o", inline, "--seed", "9")
        got, want = arrays(again), arrays(inline)
        if any(not np.array_equal(got[n], a) for n, a in want.items()):
            problems.append("values differ from the inline apply")
    report("an output beside its input: its own data file, OUT.data, the input's untouched",
           problems)


def attack(tmp, title, location, setup, reason, offset="0", length=None):
    folder = os.path.join(tmp, "model")
    os.makedirs(folder)
    outside = os.path.join(tmp, "outside")
    os.makedirs(outside)
    data = np.arange(16, dtype=np.float32).tobytes()
    open(os.path.join(outside, "secret.bin"), "wb").write(data)
    setup(folder, outside, data)
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[16])
    t.data_location = TensorProto.EXTERNAL
    t.external_data.add(key="location", value=location)
    t.external_data.add(key="offset", value=offset)
    t.external_data.add(key="length", value=length or str(len(data)))
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          initializer=[t])
    path = os.path.join(folder, "m.onnx")
    onnx.save(helper.make_model(g), path)
    problems = []
    for cmd in ("info", "plan", "check"):
        r = run(cmd, path)
        lines = r.stderr.strip().splitlines()
        if r.returncode != 2 or len(lines) != 1 or reason not in lines[0]:
            problems.append(f"{cmd}: exit {r.returncode} {r.stderr.strip()!r}")
    r = run("apply", path, "-o", os.path.join(tmp, "out.onnx"))
    if r.returncode != 2 or os.path.exists(os.path.join(tmp, "out.onnx")):
        problems.append("apply did not refuse")
    report(f"path attack, {title}", problems)


def bind_socket(folder, outside, data):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(os.path.join(folder, "w.bin"))
    SOCKETS.append(sock)


SOCKETS = []


def attacks(tmp):
    def nothing(folder, outside, data):
        pass

    def write(folder, outside, data, name="w.bin"):
        os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
        open(os.path.join(folder, name), "wb").write(data)

    cases = [
        ("absolute path (CVE-2022-25882)", "/etc/passwd", nothing, "absolute path"),
        ("../ traversal (CVE-2022-25882)", "../outside/secret.bin", nothing, "leaves the model's folder"),
        ("a/../../x bypass (CVE-2024-27318)", "a/../../outside/secret.bin",
         lambda f, o, d: os.makedirs(os.path.join(f, "a")), "leaves the model's folder"),
        ("symlinked parent folder (CVE-2026-27489)", "link/secret.bin",
         lambda f, o, d: os.symlink(o, os.path.join(f, "link")), "is a symlink or not a folder"),
        ("symlinked file", "w.bin",
         lambda f, o, d: os.symlink(os.path.join(o, "secret.bin"), os.path.join(f, "w.bin")),
         "is a symlink"),
        ("hard link to another file (CVE-2026-34446)", "w.bin",
         lambda f, o, d: os.link(os.path.join(o, "secret.bin"), os.path.join(f, "w.bin")),
         "hard links"),
        ("a FIFO, which must not block the open", "w.bin",
         lambda f, o, d: os.mkfifo(os.path.join(f, "w.bin")), "is not a regular file"),
        ("a FIFO as a folder on the way", "p/w.bin",
         lambda f, o, d: os.mkfifo(os.path.join(f, "p")), "is a symlink or not a folder"),
        ("a socket", "w.bin", bind_socket, "is not a regular file"),
    ]
    for title, loc, setup, reason in cases:
        with tempfile.TemporaryDirectory() as sub:
            attack(sub, title, loc, setup, reason)
    with tempfile.TemporaryDirectory() as sub:
        attack(sub, "offset + length past the file (CVE-2026-34445)", "w.bin", write,
               "is past its", offset="40")
    with tempfile.TemporaryDirectory() as sub:
        attack(sub, "length disagreeing with the tensor", "w.bin", write,
               "does not match its 64 bytes", length="32")
    with tempfile.TemporaryDirectory() as sub:
        attack(sub, "missing data file", "w.bin", nothing, "No such file")


def checksums(tmp):
    """SHA-1 of the whole data file: verified when the data is read."""
    ext = save_external(os.path.join(SAMPLES, "cnn_bn_relu.onnx"), os.path.join(tmp, "in"),
                        all_tensors_to_one_file=True, location="w.data")
    sha = hashlib.sha1(open(os.path.join(tmp, "in", "w.data"), "rb").read()).hexdigest()
    problems = []
    for name, value, ok in (("right.onnx", sha, True), ("wrong.onnx", "0" * 40, False)):
        m = onnx.load(ext, load_external_data=False)
        for t in m.graph.initializer:
            t.external_data.add(key="checksum", value=value)
        path = os.path.join(tmp, "in", name)
        onnx.save(m, path)
        r = run("check", path)
        if ok and r.returncode != 0:
            problems.append(f"right checksum: exit {r.returncode} {r.stderr.strip()}")
        if not ok and (r.returncode != 2 or "does not match its checksum" not in r.stderr):
            problems.append(f"wrong checksum: exit {r.returncode} {r.stderr.strip()!r}")
        keep = os.path.join(tmp, "keep.rules")
        open(keep, "w").write("=> keep\n")
        out = os.path.join(tmp, "out" + name)
        os.makedirs(out)
        r = run("apply", path, "-o", os.path.join(out, "m.onnx"), "--rules", keep)
        if ok != (r.returncode == 0):
            problems.append(f"apply, {name}: exit {r.returncode} {r.stderr.strip()}")
    report("checksum entries are verified when the data is read", problems)


def main():
    global TOOL, SAMPLES
    TOOL, SAMPLES = sys.argv[1], sys.argv[2]
    for title, src, kw in (
            ("one file for all tensors", "cnn_bn_relu.onnx",
             dict(all_tensors_to_one_file=True, location="weights.data")),
            ("one file per tensor", "transformer_encoder.onnx",
             dict(all_tensors_to_one_file=False)),
            ("unaligned offsets, float16", "mlp_tanh_fp16.onnx",
             dict(all_tensors_to_one_file=True, location="fp16.bin")),
            ("a data file in a subfolder", "depthwise_separable.onnx",
             dict(all_tensors_to_one_file=True, location="data/w.bin"))):
        with tempfile.TemporaryDirectory() as tmp:
            round_trip(tmp, title, src, **kw)
    with tempfile.TemporaryDirectory() as tmp:
        conversions(tmp)
    with tempfile.TemporaryDirectory() as tmp:
        checksums(tmp)
    attacks(None)
    passed = sum(RESULTS)
    print(f"{passed} passed, {len(RESULTS) - passed} failed")
    return 0 if passed == len(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
