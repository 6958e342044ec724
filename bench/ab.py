#!/usr/bin/python3
"""Time one command of two builds of onnx-reinit, alternating, and print
the median of each and their ratio (a shared, noisy machine: compare in
one run, as ratios).

    /usr/bin/python3 bench/ab.py OLD NEW RUNS ARG...

ARG... are the command's arguments; {out} in them is a fresh output path
for each run. Prints 'old MEDIAN s  new MEDIAN s  new/old RATIO'.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time


def once(binary, args, tmp):
    out = os.path.join(tmp, "out.onnx")
    argv = [binary] + [a.replace("{out}", out) for a in args]
    start = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if r.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.decode()}")
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    return took


def main():
    old, new, runs, args = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    times = {old: [], new: []}
    with tempfile.TemporaryDirectory() as tmp:
        once(old, args, tmp)  # warm the page cache
        for i in range(runs):
            for b in ((old, new) if i % 2 == 0 else (new, old)):
                times[b].append(once(b, args, tmp))
    a, b = statistics.median(times[old]), statistics.median(times[new])
    print(f"old {a:.3f} s  new {b:.3f} s  new/old {b / a:.3f}  "
          f"({runs} alternating runs, medians)")


if __name__ == "__main__":
    main()
