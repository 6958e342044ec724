#!/usr/bin/python3
"""Compare two builds of onnx-reinit on a corpus of models: every output
of info, info --json, plan, plan --json, check, check --json, apply (the
model's bytes and the summary line), plot and plot --signal, with the exit
statuses and standard error, must be the same. A refactoring that changes
nothing for users is checked this way (the deliberate fixes it makes are
listed with --allow, by command and model name pattern).

    /usr/bin/python3 bench/compare_builds.py OLD NEW WORK DIR_OR_MODEL...

OLD's outputs are kept under WORK/old and reused on the next run (delete
the folder after changing the corpus); NEW's go to WORK/new. Prints one
line per difference and a summary; exits 1 when any output differs.
"""
import concurrent.futures
import fnmatch
import hashlib
import os
import subprocess
import sys

COMMANDS = [
    ("info", ["info", "{m}"]),
    ("info_json", ["info", "{m}", "--json"]),
    ("plan", ["plan", "{m}"]),
    ("plan_json", ["plan", "{m}", "--json"]),
    ("check", ["check", "{m}"]),
    ("check_json", ["check", "{m}", "--json"]),
    ("apply", ["apply", "{m}", "-o", "{out}.onnx", "--seed", "7"]),
    ("plot", ["plot", "{m}", "-o", "{out}.svg"]),
    ("plot_signal", ["plot", "{m}", "--signal", "-o", "{out}.svg"]),
]


def models(paths):
    for p in paths:
        if os.path.isfile(p):
            yield os.path.abspath(p)
            continue
        for root, dirs, files in os.walk(p):
            dirs.sort()
            for f in sorted(files):
                if f.endswith(".onnx") and not f.startswith("reinit_"):
                    yield os.path.abspath(os.path.join(root, f))


def digest(path):
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError:
        return "absent"
    return h.hexdigest()


def run(binary, model, key, where):
    """The outputs of every command on model, as one text."""
    os.makedirs(where, exist_ok=True)
    lines = []
    for name, args in COMMANDS:
        out = os.path.join(where, name)
        argv = [binary] + [a.format(m=model, out=out) for a in args]
        try:
            r = subprocess.run(argv, capture_output=True, timeout=600)
            text = r.stdout.replace(out.encode(), b"OUT")
            err = r.stderr.replace(out.encode(), b"OUT")
            code = r.returncode
        except subprocess.TimeoutExpired:
            text, err, code = b"", b"timeout", -1
        files = ""
        for f in sorted(os.listdir(where)):  # the output and its data files
            files += " " + f + "=" + digest(os.path.join(where, f))
            os.remove(os.path.join(where, f))
        lines.append("%s exit=%d%s stdout=%s stderr=%s" % (
            name, code, files, hashlib.sha256(text).hexdigest()[:16],
            err.decode("utf-8", "replace").strip().replace("\n", " | ")[:300]))
    return "\n".join(lines) + "\n"


def cached(binary, model, key, work, side):
    path = os.path.join(work, side, key + ".txt")
    if side == "old" and os.path.exists(path):
        with open(path) as f:
            return f.read()
    text = run(binary, model, key, os.path.join(work, side, key + ".d"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return text


def main():
    args = sys.argv[1:]
    allow = []
    while "--allow" in args:
        i = args.index("--allow")
        allow.append(args[i + 1].split(":", 1))
        del args[i:i + 2]
    old, new, work = (os.path.abspath(a) for a in args[:3])
    todo = list(models(args[3:]))
    keys = [hashlib.sha256(m.encode()).hexdigest()[:20] for m in todo]
    differ = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        olds = pool.map(lambda mk: cached(old, mk[0], mk[1], work, "old"),
                        zip(todo, keys))
        news = pool.map(lambda mk: cached(new, mk[0], mk[1], work, "new"),
                        zip(todo, keys))
        for model, a, b in zip(todo, olds, news):
            for la, lb in zip(a.splitlines(), b.splitlines()):
                if la == lb:
                    continue
                cmd = la.split()[0]
                if any(cmd == c and fnmatch.fnmatch(model, p) for c, p in allow):
                    continue
                differ += 1
                print(f"DIFF {model}: {cmd}\n  old: {la}\n  new: {lb}")
    print(f"{len(todo)} models, {len(COMMANDS)} commands each: "
          f"{differ} outputs differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
