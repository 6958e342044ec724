#!/usr/bin/python3
"""The shape of the code, as docs/design.md draws it:

- the library's files (src/lib) use only files of their own layer or
  below, and no two files use each other, directly or through others:
  calls and references between the build's object files (nm), and the
  includes of each file's own header;
- no op-name literal outside the op table (ops.c) and the patterns
  (patterns.c): a string that is an ONNX operator's or a row's name;
- no function over 60 lines, in the library and the command line;
- no mutable state at file scope in the library but the listed ones.

    code_shape.py BUILD_DIR SOURCE_DIR

Prints one line per problem and 'N passed, N failed'; exits 1 on any.
"""
import collections
import glob
import os
import re
import subprocess
import sys

# Mutable data the library keeps at file scope, and why (docs/design.md).
ALLOWED_STATE = {
    ("error", "last_error"): "the thread's last error (thread-local)",
    ("progress", "current"): "the thread's progress counters (thread-local)",
    ("io", "pending"): "temporary files of saves, for the signal handler",
    ("io", "pending_used"): "the same",
    ("io", "pending_owner"): "the same",
    ("rng", "zig_x"): "the sampler's tables, made once (pthread_once)",
    ("rng", "zig_f"): "the same",
    ("rng", "zig_shape"): "the same",
    ("rng", "zig_dev"): "the same",
    ("rng", "zig_once"): "the same",
    ("rng", "use_fast8"): "the same (the CPU's AVX-512, found once)",
    ("rng", "use_wedge_bounds"): "the tests' switch for the shortcuts",
}
MUTABLE_SECTIONS = (".data", ".bss", ".tdata", ".tbss")
READ_ONLY_SECTIONS = (".data.rel.ro",)  # const tables holding pointers
LITERAL_FILES = ("ops.c", "patterns.c")
MAX_LINES = 60


def layers(src):
    """{file: layer} from the drawing in docs/design.md."""
    with open(os.path.join(src, "docs", "design.md")) as f:
        text = f.read()
    block = text.split("## The library's layers", 1)[1].split("```")[1]
    out = {}
    for line in block.strip().splitlines():
        number, _name, *files = line.split()
        for f in files:
            out[f] = int(number)
    return out


def lib_objects(build):
    return sorted(glob.glob(os.path.join(build, "CMakeFiles", "orx_objects.dir",
                                         "src", "lib", "*.c.o")))


def object_graph(build):
    """{file: set of files it uses} from the objects' symbols."""
    owner, uses = {}, collections.defaultdict(set)
    for o in lib_objects(build):
        f = os.path.basename(o)[:-4]
        uses[f]
        for line in subprocess.run(["nm", o], capture_output=True,
                                   text=True, check=True).stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBRCVWi":
                owner[parts[2]] = f
            elif len(parts) == 2 and parts[0] == "U":
                uses[f].add(parts[1])
    return {f: {owner[s] for s in syms if s in owner and owner[s] != f}
            for f, syms in uses.items()}


def include_graph(src):
    """{file: set of files whose own header it includes}."""
    lib = os.path.join(src, "src", "lib")
    out = {}
    for c in glob.glob(os.path.join(lib, "*.c")):
        f = os.path.basename(c)[:-2]
        with open(c) as fh:
            heads = re.findall(r'#include "(\w+)\.h"', fh.read())
        out[f] = {h for h in heads if h != f and
                  os.path.exists(os.path.join(lib, h + ".c"))}
    return out


def cycles(graph):
    """The strongly connected components of more than one file."""
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def check_layers(src, build):
    problems = []
    drawn = layers(src)
    objs = object_graph(build)
    for what, graph in (("calls", objs), ("includes", include_graph(src))):
        for comp in cycles(graph):
            problems.append(f"{what}: files use each other: {' '.join(comp)}")
        for f, used in sorted(graph.items()):
            if f not in drawn:
                problems.append(f"{f}.c is not in docs/design.md's drawing")
                continue
            for u in sorted(used):
                if u in drawn and drawn[u] > drawn[f]:
                    problems.append(f"{what}: {f} (layer {drawn[f]}) uses "
                                    f"{u} (layer {drawn[u]})")
    for f in drawn:
        if f not in objs:
            problems.append(f"docs/design.md draws {f}, which is no file")
    return problems


def op_names(src):
    """ONNX's operators (the onnx package's schemas) and the table's rows."""
    import onnx.defs
    names = {s.name for s in onnx.defs.get_all_schemas_with_history()}
    with open(os.path.join(src, "src", "lib", "ops.c")) as f:
        table = f.read()
    names |= set(re.findall(
        r'\b(?:ROW|T|TX|A|P|E|N|O|LAYER|RECURRENT|[A-Z_]+)\("(\w+)"', table))
    names |= set(re.findall(r'\.op_type = "(\w+)"', table))
    return {n for n in names if n[:1].isupper()}


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"),
                  text, flags=re.S)


def check_literals(src):
    names, problems = op_names(src), []
    for path in sorted(glob.glob(os.path.join(src, "src", "**", "*.[ch]"),
                                 recursive=True)):
        if os.path.basename(path) in LITERAL_FILES:
            continue
        with open(path) as f:
            text = strip_comments(f.read())
        for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text):
            if m.group(1) in names:
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{os.path.relpath(path, src)}:{line}: op "
                                f"name literal \"{m.group(1)}\" outside "
                                "the op table")
    return problems


def check_lengths(src):
    problems = []
    for path in sorted(glob.glob(os.path.join(src, "src", "**", "*.c"),
                                 recursive=True)):
        with open(path) as f:
            lines = f.read().split("\n")
        i = 0
        while i < len(lines):
            if lines[i] != "{":  # a function's body opens at column 0
                i += 1
                continue
            j, depth = i, 0
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                if depth == 0 and lines[j].startswith("}"):
                    break
                j += 1
            head = i - 1
            while head > 0 and "(" not in lines[head]:
                head -= 1
            if j - i - 1 > MAX_LINES:
                problems.append(f"{os.path.relpath(path, src)}:{head + 1}: "
                                f"{j - i - 1} lines: {lines[head].strip()}")
            i = j + 1
    return problems


def mutable(section):
    if section.startswith(READ_ONLY_SECTIONS):
        return False
    return any(section == m or section.startswith(m + ".")
               for m in MUTABLE_SECTIONS)


def mutable_symbols(obj):
    """(name, section) of the object's data symbols in writable sections."""
    sections = {}
    out = subprocess.run(["readelf", "-SW", obj], capture_output=True,
                         text=True, check=True).stdout
    for m in re.finditer(r"\[\s*(\d+)\]\s+(\S+)", out):
        sections[m.group(1)] = m.group(2)
    syms = subprocess.run(["readelf", "-sW", obj], capture_output=True,
                          text=True, check=True).stdout
    for line in syms.splitlines():
        parts = line.split()
        if len(parts) < 8 or parts[3] not in ("OBJECT", "TLS"):
            continue
        section = sections.get(parts[6], "")
        if mutable(section):
            yield parts[7].split(".")[0], section


def check_state(build):
    problems = []
    for o in lib_objects(build):
        f = os.path.basename(o)[:-4]
        for name, section in mutable_symbols(o):
            if (f, name) not in ALLOWED_STATE:
                problems.append(f"{f}.c: '{name}' is mutable state at file "
                                f"scope ({section})")
    return problems


def main():
    build, src = sys.argv[1], sys.argv[2]
    passed = failed = 0
    for name, check in (("layers", lambda: check_layers(src, build)),
                        ("op-name literals", lambda: check_literals(src)),
                        ("function lengths", lambda: check_lengths(src)),
                        ("file-scope state", lambda: check_state(build))):
        problems = check()
        for p in problems:
            print(f"FAIL {name}: {p}")
        if problems:
            failed += 1
        else:
            passed += 1
            print(f"ok: {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
