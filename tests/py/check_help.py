#!/usr/bin/python3
"""Every command's options, as its --help lists them (built from the
command's option table), are the options the man page lists for it (its
synopsis and its entry under COMMANDS) and those the README's synopsis
gives it: no option missing or extra anywhere.

    check_help.py ONNX_REINIT SOURCE_DIR

Prints one line per difference and 'N passed, N failed'; exits 1 on any.
"""
import os
import re
import subprocess
import sys


def help_options(tool, command):
    """{long name: letter or None} from `tool command --help`."""
    out = subprocess.run([tool, command, "--help"], capture_output=True,
                         text=True, check=True).stdout
    options = {}
    for line in out.split("options:\n", 1)[-1].splitlines():
        m = re.match(r"  (?:-(\w), )?--([\w-]+)", line)
        if m:
            options[m.group(2)] = m.group(1)
    return options


def commands(tool):
    out = subprocess.run([tool, "--help"], capture_output=True, text=True,
                         check=True).stdout
    return re.findall(r"^  onnx-reinit (\w+) ", out, re.M)


def named(found, letters):
    """Long names of the options found (a letter stands for its option)."""
    return {letters.get(f, f) for f in found}


def man_options(man, command):
    """(synopsis, entry): the options the man page lists for command."""
    synopsis = man.split(".Sh SYNOPSIS", 1)[1].split(".Sh DESCRIPTION")[0]
    part = synopsis.split(".Cm " + command + "\n", 1)[1].split("\n.Nm")[0]
    entries = man.split(".Sh COMMANDS", 1)[1].split(".Sh RULES")[0]
    entry = entries.split(".It Cm " + command + " ", 1)[1]
    entry = entry.split("\n.Bl", 1)[1].split("\n.El", 1)[0]
    flag = r"Fl (\\-[\w\\-]+|\w)\b"
    clean = lambda f: f.replace("\\-", "-").lstrip("-")
    items = [clean(f) for line in entry.splitlines() if line.startswith(".It")
             for f in re.findall(flag, line)]
    return [clean(f) for f in re.findall(flag, part)], items


def readme_options(readme, command):
    block = readme.split("## Commands", 1)[1].split("```", 2)[1]
    text, on = [], False
    for line in block.splitlines():
        if line.startswith("onnx-reinit "):
            on = line.split()[1] == command
        if on:
            text.append(line)
    return [f.lstrip("-") for f in re.findall(r"(?<![\w-])(--[\w-]+|-\w)\b",
                                               " ".join(text))]


def main():
    tool, src = sys.argv[1], sys.argv[2]
    with open(os.path.join(src, "man", "onnx-reinit.1")) as f:
        man = f.read()
    with open(os.path.join(src, "README.md")) as f:
        readme = f.read()
    passed = failed = 0
    for command in commands(tool):
        opts = help_options(tool, command)
        letters = {v: k for k, v in opts.items() if v}
        want = set(opts)
        synopsis, entry = man_options(man, command)
        places = {"man page synopsis": named(synopsis, letters),
                  "man page entry": named(entry, letters),
                  "README synopsis": named(readme_options(readme, command),
                                           letters)}
        for where, got in places.items():
            if got == want:
                passed += 1
                continue
            failed += 1
            print(f"FAIL {command}: {where}: missing {sorted(want - got)}, "
                  f"extra {sorted(got - want)}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
