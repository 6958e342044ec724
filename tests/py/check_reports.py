#!/usr/bin/python3
"""check's findings as CI systems read them, against check --json:

- SARIF 2.1.0 (--format sarif): what the specification requires of a log
  (version, runs, tool.driver.name; rules with unique ids; results whose
  ruleId and ruleIndex name a rule, a level among none, note, warning and
  error, a message text, a location at the model file) and the findings
  one for one, levels as their severities; a model that cannot be read
  is a tool execution notification, executionSuccessful false;
- JUnit XML (--format junit), read by junitparser (Debian's
  python3-junitparser; else the standard library's XML reader): a test
  case per model, a failure per finding at --fail-on or above, an error
  for a model that cannot be read, the counts in the suite's attributes;
- GitHub workflow commands (--format github): line by line, the command
  of each finding's severity, its file and escaped title and message;
- batch --check with each format over the samples and a broken file;
  --fail-on's exit statuses.

    check_reports.py ONNX_REINIT SAMPLES_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results import finish, report  # noqa: E402

LEVELS = {"error": "error", "warning": "warning", "note": "note"}
COMMANDS = {"error": "error", "warning": "warning", "note": "notice"}


def run(*args):
    r = subprocess.run(list(args), capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def sarif_problems(log, findings_by_model, failed):
    """What SARIF 2.1.0 requires, and the findings one for one."""
    p = []
    if log.get("version") != "2.1.0" or "$schema" not in log:
        p.append("version or $schema")
    runs = log.get("runs")
    if not isinstance(runs, list) or len(runs) != 1:
        return p + ["runs"]
    run_ = runs[0]
    driver = run_.get("tool", {}).get("driver", {})
    if not isinstance(driver.get("name"), str):
        p.append("tool.driver.name")
    rules = driver.get("rules", [])
    ids = [r.get("id") for r in rules]
    if len(set(ids)) != len(ids) or not all(isinstance(i, str) for i in ids):
        p.append("rule ids")
    for r in rules:
        if r.get("defaultConfiguration", {}).get("level") not in ("none", "note", "warning",
                                                                  "error"):
            p.append(f"rule {r.get('id')}: level")
        if not r.get("shortDescription", {}).get("text") or not r.get("help", {}).get("text"):
            p.append(f"rule {r.get('id')}: texts")
    got = {}
    for res in run_.get("results", []):
        i = res.get("ruleIndex")
        if res.get("ruleId") not in ids or i is None or ids[i] != res["ruleId"]:
            p.append(f"result rule {res.get('ruleId')}/{i}")
        if res.get("level") not in ("none", "note", "warning", "error"):
            p.append("result level")
        if not res.get("message", {}).get("text"):
            p.append("result message")
        locs = res.get("locations", [])
        uri = locs[0]["physicalLocation"]["artifactLocation"]["uri"] if locs else None
        name = locs[0]["logicalLocations"][0]["fullyQualifiedName"] if locs else None
        got.setdefault(uri, []).append((name, res["ruleId"], res["level"]))
    want = {m: [(f["name"], f["problem"], LEVELS[f["severity"]]) for f in fs]
            for m, fs in findings_by_model.items() if fs}
    if got != want:
        p.append(f"results {sum(map(len, got.values()))}, findings "
                 f"{sum(map(len, want.values()))}")
    inv = run_.get("invocations", [{}])[0]
    notes = inv.get("toolExecutionNotifications", [])
    if inv.get("executionSuccessful") != (not failed) or len(notes) != len(failed):
        p.append(f"invocation: {inv.get('executionSuccessful')}, {len(notes)} notifications")
    return p


def junit_cases(text):
    """[(name, failures, errors)] and the suite's (tests, failures,
    errors), by junitparser where Debian has it."""
    try:
        from junitparser import Error, Failure, JUnitXml
        xml = JUnitXml.fromstring(text)
        suites = list(xml) if hasattr(xml, "__iter__") else [xml]
        suite = suites[0]
        cases = [(c.name, sum(isinstance(r, Failure) for r in c.result),
                  sum(isinstance(r, Error) for r in c.result)) for c in suite]
        return cases, (suite.tests, suite.failures, suite.errors)
    except ImportError:
        root = ET.fromstring(text)
        suite = root.find("testsuite")
        cases = [(c.get("name"), len(c.findall("failure")), len(c.findall("error")))
                 for c in suite.findall("testcase")]
        return cases, (int(suite.get("tests")), int(suite.get("failures")),
                       int(suite.get("errors")))


def junit_problems(text, findings_by_model, failed, fail_on):
    order = ["error", "warning", "note"]
    cases, counts = junit_cases(text)
    p = []
    want = {m: (sum(order.index(f["severity"]) <= order.index(fail_on) for f in fs),
                int(m in failed)) for m, fs in findings_by_model.items()}
    for m in failed:
        want[m] = (0, 1)
    got = {n: (f, e) for n, f, e in cases}
    if got != want:
        p.append(f"cases {sorted(got.items())[:3]}, want {sorted(want.items())[:3]}")
    fails = sum(1 for f, e in want.values() if f and not e)
    if counts != (len(want), fails, len(failed)):
        p.append(f"suite counts {counts}, want {(len(want), fails, len(failed))}")
    return p


LINE = re.compile(r"^::(error|warning|notice) file=([^,:]*),title=([^:]*)::(.*)$")


def github_problems(text, findings_by_model, failed):
    p, got = [], {}
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            p.append(f"not a workflow command: {line[:80]}")
            continue
        got.setdefault(m.group(2), []).append(m.group(1))
        title = m.group(3).replace("%3A", ":").replace("%2C", ",").replace("%25", "%")
        if not re.fullmatch(r"onnx-reinit(: [a-z]+)?", title):
            p.append(f"title {title}")
    want = {m: [COMMANDS[f["severity"]] for f in fs] for m, fs in findings_by_model.items() if fs}
    for m in failed:
        want.setdefault(m, []).insert(0, "error")
    if {k: sorted(v) for k, v in got.items()} != {k: sorted(v) for k, v in want.items()}:
        p.append(f"commands {got}, want {want}")
    return p


def main():
    tool, samples = sys.argv[1], sys.argv[2]
    bad = os.path.join(samples, "deep_mlp_bad_init.onnx")
    _, out, _ = run(tool, "check", bad, "--json")
    findings = {bad: json.loads(out)["findings"]}
    status, out, _ = run(tool, "check", bad, "--format", "sarif")
    report("check --format sarif: SARIF 2.1.0's requirements, a result per finding",
           sarif_problems(json.loads(out), findings, []) + ([] if status == 1 else [f"exit {status}"]))
    for fail_on in ("error", "note"):
        status, out, _ = run(tool, "check", bad, "--format", "junit", "--fail-on", fail_on)
        report(f"check --format junit --fail-on {fail_on}: a case, its failures",
               junit_problems(out, findings, [], fail_on))
    status, out, _ = run(tool, "check", bad, "--format", "github")
    report("check --format github: a workflow command per finding, escaped",
           github_problems(out, findings, []))
    with tempfile.TemporaryDirectory() as tmp:
        zoo = os.path.join(tmp, "zoo")
        shutil.copytree(samples, zoo, ignore=shutil.ignore_patterns("external", "*.png", "*.svg",
                                                                     "*.py", "*.sh"))
        broken = os.path.join(zoo, "broken.onnx")
        with open(broken, "wb") as f:
            f.write(b"not a model")
        models = sorted(os.path.join(zoo, n) for n in os.listdir(zoo) if n.endswith(".onnx"))
        per = {}
        for m in models:
            if m != broken:
                per[m] = json.loads(run(tool, "check", m, "--json")[1])["findings"]
        status, out, err = run(tool, "batch", zoo, "--check", "--format", "sarif")
        report("batch --check --format sarif: every model's findings, the broken one a "
               "notification, the summary on standard error",
               sarif_problems(json.loads(out), per, [broken])
               + ([] if status == 1 and "batch:" in err else [f"exit {status}, {err[:80]}"]))
        status, out, _ = run(tool, "batch", zoo, "--check", "--format", "junit")
        report("batch --check --format junit: a case per model, the broken one an error",
               junit_problems(out, per, [broken], "error"))
        status, out, _ = run(tool, "batch", zoo, "--check", "--format", "github")
        report("batch --check --format github: every finding and the broken model",
               github_problems(out, per, [broken]))
        os.remove(broken)
        statuses = [run(tool, "batch", zoo, "--check", "--fail-on", f)[0]
                    for f in ("error", "warning", "note")]
        report("batch --check --fail-on: 1 with an error among the models at every level",
               [] if statuses == [1, 1, 1] else [f"{statuses}"])
        clean = os.path.join(zoo, "mlp_tanh.onnx")
        statuses = [run(tool, "check", clean, "--vanishing", "1.1", "--fail-on", f)[0]
                    for f in ("error", "warning", "note")]
        report("check --fail-on on a note alone: 0, 0, 1",
               [] if statuses == [0, 0, 1] else [f"{statuses}"])
        status, _, err = run(tool, "check", clean, "--format", "xml")
        report("an unknown format: one line, exit 2",
               [] if status == 2 and err.count("\n") == 1 else [f"{status}: {err}"])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
