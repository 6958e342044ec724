#!/usr/bin/python3
"""The CI examples the README shows, run as their schedulers would run
them: the pre-commit hook's entry on staged models, the GitHub Actions
job's commands on each matrix shard, the GitLab job's under each parallel
job's CI_NODE_INDEX, the Kubernetes Indexed Job's command under each
JOB_COMPLETION_INDEX and the Slurm array script under each array task:
every file parses, every command runs on the samples (onnx-reinit on
PATH, the zoo the samples), the workers cover each model once, and the
reports they write are what the next step reads (JUnit XML, SARIF JSON,
JSON lines).

    check_ci_examples.py ONNX_REINIT SOURCE_DIR
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import finish, report  # noqa: E402


def sh(command, env, cwd):
    r = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=cwd,
                       env={"PATH": env.pop("PATH"), **env})
    return r.returncode, r.stdout, r.stderr


def main():
    tool, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    ci = os.path.join(src, "docs", "ci")
    with tempfile.TemporaryDirectory() as tmp:
        bindir = os.path.join(tmp, "bin")
        os.mkdir(bindir)
        os.symlink(tool, os.path.join(bindir, "onnx-reinit"))
        path = bindir + ":" + os.environ["PATH"]
        zoo = os.path.join(tmp, "models")
        shutil.copytree(os.path.join(src, "samples"), zoo,
                        ignore=shutil.ignore_patterns("*.png", "*.svg", "*.py", "*.sh"))
        models = sorted(os.path.relpath(p, tmp) for p in glob.glob(f"{zoo}/**/*.onnx",
                                                                    recursive=True))

        hooks = yaml.safe_load(open(os.path.join(src, ".pre-commit-hooks.yaml")))
        hook = hooks[0]
        problems = []
        if not re.search(hook["files"], "models/a.onnx") or re.search(hook["files"], "a.txt"):
            problems.append("files pattern")
        clean = sh(f"{hook['entry']} models/mlp_tanh.onnx models/cnn_bn_relu.onnx", {"PATH": path}, tmp)
        bad = sh(f"{hook['entry']} models/deep_mlp_bad_init.onnx", {"PATH": path}, tmp)
        if clean[0] != 0 or bad[0] != 1:
            problems.append(f"exit {clean[0]} on clean models, {bad[0]} on a broken one")
        report("the pre-commit hook passes clean models and fails a broken one", problems)

        wf = yaml.safe_load(open(os.path.join(ci, "github-actions.yml")))
        steps = wf["jobs"]["check"]["steps"]
        shards = wf["jobs"]["check"]["strategy"]["matrix"]["shard"]
        problems, seen = [], []
        for k in shards:
            for step in steps:
                run = step.get("run", "")
                if "onnx-reinit batch" not in run:
                    continue
                status, out, err = sh(run.replace("${{ matrix.shard }}", str(k)), {"PATH": path}, tmp)
                if "--format github" in run:
                    seen += [m.group(1) for m in re.finditer(r"file=([^,]*)", out)]
                    if status not in (0, 1):
                        problems.append(f"shard {k}: {err.strip()}")
                if "--format sarif" in run:
                    with open(os.path.join(tmp, f"onnx-{k}.sarif")) as f:
                        if json.load(f).get("version") != "2.1.0":
                            problems.append(f"shard {k}: not SARIF")
        if "deep_mlp_bad_init" not in " ".join(seen):
            problems.append("the broken model's findings were not annotated")
        report("the GitHub Actions job: each shard's annotations and SARIF", problems)

        gl = yaml.safe_load(open(os.path.join(ci, "gitlab-ci.yml")))["onnx-check"]
        command = [c for c in gl["script"] if c.startswith("onnx-reinit")][0]
        problems, cases = [], []
        for i in range(1, gl["parallel"] + 1):
            status, _, err = sh(command, {"PATH": path, "CI_NODE_INDEX": str(i),
                                          "CI_NODE_TOTAL": str(gl["parallel"])}, tmp)
            root = ET.parse(os.path.join(tmp, gl["artifacts"]["reports"]["junit"])).getroot()
            cases += [c.get("name") for c in root.iter("testcase")]
            if status not in (0, 1):
                problems.append(f"job {i}: {err.strip()}")
        if sorted(cases) != models:
            problems.append(f"{len(cases)} test cases over the jobs, {len(models)} models")
        report("the GitLab job: JUnit reports that cover the zoo once", problems)

        job = yaml.safe_load(open(os.path.join(ci, "k8s-indexed-job.yaml")))
        spec = job["spec"]
        args = spec["template"]["spec"]["containers"][0]["args"][0]
        args = args.replace("/zoo", zoo).replace("/reports", tmp)
        problems, lines = [], []
        for i in range(spec["completions"]):
            status, _, err = sh(args, {"PATH": path, "JOB_COMPLETION_INDEX": str(i)}, tmp)
            if status not in (0, 1):
                problems.append(f"pod {i}: {err.strip()}")
            with open(os.path.join(tmp, f"shard-{i}.jsonl")) as f:
                lines += [json.loads(line)["input"] for line in f]
        if len(lines) != len(models) or len(set(lines)) != len(lines):
            problems.append(f"{len(lines)} report lines over the pods, {len(models)} models")
        report("the Kubernetes Indexed Job: each pod's shard, the zoo once", problems)

        script = os.path.join(ci, "slurm-array.sh")
        array = re.search(r"#SBATCH --array=(\d+)-(\d+)", open(script).read())
        lo, hi = int(array.group(1)), int(array.group(2))
        out = os.path.join(tmp, "out")
        problems = []
        for t in range(lo, hi + 1):
            env = {"PATH": path, "SLURM_ARRAY_TASK_ID": str(t), "SLURM_ARRAY_TASK_MIN": str(lo),
                   "SLURM_ARRAY_TASK_MAX": str(hi), "SLURM_ARRAY_TASK_STEP": "1",
                   "SLURM_ARRAY_TASK_COUNT": str(hi - lo + 1), "SLURM_CPUS_PER_TASK": "2"}
            status, _, err = sh(f"bash {script} {zoo} {out}", env, tmp)
            if status != 0:
                problems.append(f"task {t}: {err.strip()[:120]}")
        written = sorted(glob.glob(f"{out}/**/*.onnx", recursive=True))
        if len(written) != len(models):
            problems.append(f"{len(written)} models written over the tasks, {len(models)} in the zoo")
        report("the Slurm array script: every task's shard re-initialized, the zoo once", problems)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
