#!/usr/bin/python3
"""Keep the models the test scripts of tests/py make (hand-built graphs,
bodies, recurrent layers, PyTorch exports), for bench/compare.sh: each
script runs against BINARY with its temporary folders kept under OUT
(one folder per script).

    /usr/bin/python3 bench/collect_test_models.py BINARY OUT [SCRIPT...]
"""
import os
import runpy
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PY = os.path.join(HERE, "..", "tests", "py")
SAMPLES = os.path.join(HERE, "..", "samples")
# (script, whether it takes the samples' folder)
SCRIPTS = [("check_patterns.py", False), ("check_bodies.py", True),
           ("check_recurrent.py", False), ("check_params.py", False),
           ("check_coverage.py", False), ("check_strict.py", False),
           ("check_bad_init.py", False), ("check_apply.py", True),
           ("check_architectures.py", False)]


def keep_inputs(binary, out):
    """Every model given to BINARY is copied to OUT/inputs first (the
    scripts write many models to one path in turn)."""
    real = subprocess.run
    kept = os.path.join(out, "inputs")
    os.makedirs(kept, exist_ok=True)

    def run(argv, *a, **kw):
        if isinstance(argv, (list, tuple)) and argv and argv[0] == binary:
            for arg in argv[1:]:
                if isinstance(arg, str) and arg.endswith(".onnx") and \
                        os.path.isfile(arg) and not os.path.isfile(
                            os.path.join(os.path.dirname(arg), arg + ".data")):
                    n = len(os.listdir(kept))
                    shutil.copyfile(arg, os.path.join(kept, "%05d.onnx" % n))
                    break
        return real(argv, *a, **kw)
    subprocess.run = run


def run_one(binary, out, script, samples):
    """In a child process: the script with TemporaryDirectory kept."""
    os.makedirs(out, exist_ok=True)
    keep_inputs(binary, out)
    tempfile.tempdir = out
    tempfile.TemporaryDirectory.cleanup = lambda self: None
    tempfile.TemporaryDirectory.__exit__ = lambda self, *a: None
    tempfile.TemporaryDirectory._cleanup = classmethod(lambda cls, *a, **k: None)
    sys.path.insert(0, PY)
    sys.argv = [script, binary] + ([SAMPLES] if samples else [])
    runpy.run_path(os.path.join(PY, script), run_name="__main__")


def main():
    binary, out = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    wanted = set(sys.argv[3:])
    for script, samples in SCRIPTS:
        if wanted and script not in wanted:
            continue
        where = os.path.join(out, script[:-3])
        code = ("import sys; sys.path.insert(0, %r); import collect_test_models "
                "as c; c.run_one(%r, %r, %r, %r)"
                % (HERE, binary, where, script, samples))
        rc = subprocess.run(["/usr/bin/python3", "-c", code],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode
        print(f"{script}: exit {rc}", flush=True)


if __name__ == "__main__":
    main()
