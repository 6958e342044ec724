"""apply and check draw a progress line on a terminal once their step has
run past a second (ONNX_REINIT_PROGRESS_AFTER seconds), wipe it at the
end, and print nothing of it when standard error is not a terminal.

    check_progress.py TOOL
"""

import os
import pty
import select
import subprocess
import sys
import tempfile

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

from results import finish, report


def case(ok, title, detail="not so"):
    report(title, [] if ok else [detail])


def big_model(path):
    """An MLP of 6M weights: long enough to save for a line to show when
    asked to start at once, far under the default second."""
    rng = np.random.default_rng(1)
    inits, nodes, prev = [], [], "x"
    for i in range(6):
        w = rng.normal(0, 0.01, (1000, 1000)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes += [helper.make_node("MatMul", [prev, f"w{i}"], [f"m{i}"]),
                  helper.make_node("Relu", [f"m{i}"], [f"h{i}"])]
        prev = f"h{i}"
    g = helper.make_graph(
        nodes, "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1000])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 1000])], inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


def run_on_tty(args, env):
    """Run with stderr on a pseudo-terminal; (exit status, what it wrote)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], 30)
        if not r:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(), out.decode("utf-8", "replace")


def main():
    tool = sys.argv[1]
    tmp = tempfile.mkdtemp()
    model = os.path.join(tmp, "big.onnx")
    big_model(model)
    now = dict(os.environ, ONNX_REINIT_PROGRESS_AFTER="0")
    default = {k: v for k, v in os.environ.items() if k != "ONNX_REINIT_PROGRESS_AFTER"}

    rc, err = run_on_tty([tool, "apply", model, "-o", os.path.join(tmp, "a.onnx")], now)
    case(rc == 0 and f"\ronnx-reinit: {model}: writing " in err and "% (" in err
           and "of 6.0M values)" in err and err.endswith("\r\033[K"),
           "apply on a terminal draws 'writing N% (.. of 6.0M values)' and wipes it",
           repr(err[-300:]))
    rc, err = run_on_tty([tool, "check", model], now)
    case(rc in (0, 1) and f"\ronnx-reinit: {model}: checking " in err
           and err.count("\r\033[K") == 1,
           "check on a terminal draws 'checking N%' and wipes it once", repr(err[-300:]))
    rc, err = run_on_tty([tool, "apply", model, "-o", os.path.join(tmp, "b.onnx")], default)
    case(rc == 0 and "writing" not in err,
           "a step shorter than a second draws no line", repr(err[-300:]))
    r = subprocess.run([tool, "apply", model, "-o", os.path.join(tmp, "c.onnx")],
                       capture_output=True, env=now)
    case(r.returncode == 0 and r.stderr == b"",
           "not a terminal: nothing of the line on stderr", repr(r.stderr[:200]))
    same = all(open(os.path.join(tmp, f), "rb").read() == open(os.path.join(tmp, "c.onnx"), "rb").read()
               for f in ("a.onnx", "b.onnx"))
    case(same, "the line changes nothing in the output")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
