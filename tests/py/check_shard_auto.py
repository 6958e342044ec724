#!/usr/bin/python3
"""batch --shard auto under each scheduler's variables: every worker's
shard, run as that scheduler numbers its workers (GitLab 1-based with its
total, CircleCI and Buildkite 0-based with theirs, a Slurm array from
MIN, MAX, STEP and COUNT, a Kubernetes Indexed Job's index with
auto/N), covers the samples exactly once, as --shard K/N does; no
variable, a sparse Slurm array, an index past the count and an Indexed
Job without /N are one line and exit 2.

    check_shard_auto.py ONNX_REINIT SAMPLES_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import finish, report  # noqa: E402


def batch(tool, samples, shard, env, out):
    r = subprocess.run([tool, "batch", samples, "--check", "--shard", shard, "--report", out],
                       capture_output=True, text=True, env={"PATH": os.environ["PATH"], **env})
    if r.returncode not in (0, 1):
        return r.returncode, r.stderr, None
    with open(out) as f:
        return r.returncode, r.stderr, [json.loads(line)["input"] for line in f]


def workers(n):
    """{scheduler: [(shard argument, environment) per worker]}"""
    slurm = [("auto", {"SLURM_ARRAY_TASK_ID": str(10 + 3 * i), "SLURM_ARRAY_TASK_MIN": "10",
                       "SLURM_ARRAY_TASK_MAX": str(10 + 3 * (n - 1)), "SLURM_ARRAY_TASK_STEP": "3",
                       "SLURM_ARRAY_TASK_COUNT": str(n)}) for i in range(n)]
    return {
        "GitLab": [("auto", {"CI_NODE_INDEX": str(i + 1), "CI_NODE_TOTAL": str(n)})
                   for i in range(n)],
        "CircleCI": [("auto", {"CIRCLE_NODE_INDEX": str(i), "CIRCLE_NODE_TOTAL": str(n)})
                     for i in range(n)],
        "Buildkite": [("auto", {"BUILDKITE_PARALLEL_JOB": str(i),
                                "BUILDKITE_PARALLEL_JOB_COUNT": str(n)}) for i in range(n)],
        "Slurm": slurm,
        "Kubernetes": [(f"auto/{n}", {"JOB_COMPLETION_INDEX": str(i)}) for i in range(n)],
    }


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def merge_cases(tool, samples, tmp, n):
    """report merge of the shards' reports is the unsharded report."""
    paths = []
    for k in range(1, n + 1):
        paths.append(os.path.join(tmp, f"s{k}.jsonl"))
        batch(tool, samples, f"{k}/{n}", {}, paths[-1])
    whole = os.path.join(tmp, "whole.jsonl")
    batch(tool, samples, "1/1", {}, whole)
    r = subprocess.run([tool, "report", "merge", *paths], capture_output=True, text=True)
    got = [json.loads(line) for line in r.stdout.splitlines()]
    want = lines(whole)
    drop = lambda ls: [{k: v for k, v in d.items() if k != "seconds"} for d in ls]  # noqa: E731
    problems = [] if drop(got) == drop(sorted(want, key=lambda d: d["input"])) else [
        f"{len(got)} merged lines differ from the {len(want)} of one run"]
    total = sum(d["findings"] for d in want)
    if r.returncode != 1 or f"{len(want)} models, 0 failed" not in r.stderr or \
            f"{total} findings" not in r.stderr:
        problems.append(f"exit {r.returncode}: {r.stderr.strip()}")
    report(f"report merge of {n} shards: the unsharded report (but times), counts summed",
           problems)
    r = subprocess.run([tool, "report", "merge", paths[0], paths[0]], capture_output=True,
                       text=True)
    report("report merge refuses a model in two reports",
           [] if r.returncode == 2 and "is in two reports" in r.stderr and not r.stdout
           else [f"exit {r.returncode}: {r.stderr.strip()}"])
    r = subprocess.run([tool, "report", "merge", *paths, "--format", "junit"],
                       capture_output=True, text=True)
    one = subprocess.run([tool, "batch", samples, "--check", "--format", "junit"],
                         capture_output=True, text=True)
    report("report merge --format junit: the JUnit report of one run",
           [] if r.stdout == one.stdout and r.stdout.startswith("<?xml")
           else ["the merged JUnit differs"])


def main():
    tool, samples = sys.argv[1], sys.argv[2]
    n = 3
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.jsonl")
        _, _, everything = batch(tool, samples, "1/1", {}, out)
        by_k = [batch(tool, samples, f"{k}/{n}", {}, out)[2] for k in range(1, n + 1)]
        for name, runs in workers(n).items():
            seen, problems = [], []
            for i, (shard, env) in enumerate(runs):
                status, err, inputs = batch(tool, samples, shard, env, out)
                if inputs is None:
                    problems.append(f"worker {i}: {err.strip()}")
                    continue
                if inputs != by_k[i]:
                    problems.append(f"worker {i} is not --shard {i + 1}/{n}")
                seen += inputs
            if sorted(seen) != sorted(everything):
                problems.append(f"{len(seen)} models over the workers, {len(everything)} in all")
            report(f"--shard auto under {name}'s variables: each model once", problems)
        for title, shard, env, words in (
                ("no variable", "auto", {}, "no scheduler's index is set"),
                ("a sparse Slurm array", "auto",
                 {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1",
                  "SLURM_ARRAY_TASK_MAX": "9", "SLURM_ARRAY_TASK_COUNT": "4"}, "sparse"),
                ("an index past the count", "auto",
                 {"CI_NODE_INDEX": "4", "CI_NODE_TOTAL": "3"}, "does not give a shard"),
                ("an Indexed Job without /N", "auto", {"JOB_COMPLETION_INDEX": "0"}, "auto/N"),
                ("a count that differs from /N", "auto/4",
                 {"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "3"}, "does not give a shard")):
            status, err, _ = batch(tool, samples, shard, env, out)
            report(f"--shard auto with {title}: one line, exit 2",
                   [] if status == 2 and words in err and err.count("\n") == 1
                   else [f"exit {status}: {err.strip()}"])
        merge_cases(tool, samples, tmp, n)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
