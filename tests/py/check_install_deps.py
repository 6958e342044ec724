#!/usr/bin/python3
"""The README's first command installs what building and running needs,
and nothing of the test suite's: the packages the README lists are the
ones .ci/install-deps installs without --tests, none of them Python,
Node.js, Chromium or a compiler-test package; --tests adds the rest.

    check_install_deps.py SOURCE_DIR
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import finish, report  # noqa: E402


def script_packages(text, name):
    m = re.search(name + r'="([^"]*)"', text)
    return m.group(1).split() if m else []


def main():
    src = sys.argv[1]
    script = open(os.path.join(src, ".ci", "install-deps")).read()
    readme = open(os.path.join(src, "README.md")).read()
    build, tests = script_packages(script, "BUILD_PACKAGES"), script_packages(script, "TEST_PACKAGES")
    m = re.search(r"only what is missing:\n`([^`]*)`", readme)
    listed = m.group(1).split() if m else []
    report("the README lists what .ci/install-deps installs without --tests",
           [] if listed and sorted(listed) == sorted(build)
           else [f"README {sorted(listed)}, script {sorted(build)}"])
    heavy = [p for p in build if re.match(r"python3|node|npm|chromium|clang|libcriterion", p)]
    report("the first command installs no Python, Node.js, Chromium or test compiler package",
           [f"{heavy}"] if heavy else [])
    first = re.search(r"```sh\n(bash \.ci/install-deps[^\n]*)\n```", readme)
    report("the README's first command is the lean one",
           [] if first and "--tests" not in first.group(1).split("&&")[0]
           else [first.group(1) if first else "no first command"])
    need = {"libcriterion-dev", "python3-torch", "chromium", "python3-onnx", "clang"}
    report("--tests installs the test suite's packages",
           [] if need <= set(tests) else [f"missing {sorted(need - set(tests))}"])
    run = open(os.path.join(src, ".ci", "run")).read()
    report(".ci/run installs with --tests",
           [] if "install-deps --tests" in run else ["no --tests in .ci/run"])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
