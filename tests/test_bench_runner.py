"""bench/run_all.py: discovery, running scripts in subprocesses with --json, failures, the summary table.

Fake bench scripts stand in for the real ones (which take minutes); everything else is the
runner's real code: subprocesses, JSON files, the git commit, the Markdown it writes.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"

GOOD = '''
import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("--json")
args = parser.parse_args()
rows = [{"metric": "fast thing ÷ bare thing", "ours": 0.5, "baseline": 0.25, "unit": "s", "ratio": 2.0, "goal": "<= 1.2"},
        {"metric": "small | thing ÷ WAV", "ours": 100, "baseline": 1000, "unit": "bytes", "ratio": 0.1, "goal": "<= 0.2"},
        {"metric": "no goal here", "ours": 3, "baseline": 2, "unit": "", "ratio": None, "goal": None}]
json.dump({"script": "good", "rows": rows, "notes": "quick=" + os.environ["VT_BENCH_QUICK"]}, open(args.json, "w"))
'''
BROKEN = '''
print("starting the benchmark")
raise SystemExit("no microphone: start PulseAudio")
'''
SILENT = "import sys; sys.exit(0)\n"


@pytest.fixture
def run_all(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_run_all", BENCH / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_bench(tmp_path):
    bench = tmp_path / "bench"
    bench.mkdir()
    for name, code in {"good": GOOD, "broken": BROKEN, "silent": SILENT, "_helper": "x = 1\n",
                       "run_all": "raise SystemExit('the runner must not run itself')\n"}.items():
        (bench / f"{name}.py").write_text(textwrap.dedent(code), encoding="utf-8")
    (bench / "notes.md").write_text("not a script\n")
    return bench


def test_discovery_skips_the_runner_and_helper_modules(run_all, fake_bench):
    assert [p.name for p in run_all.discover(fake_bench)] == ["broken.py", "good.py", "silent.py"]
    real = [p.stem for p in run_all.discover()]
    assert {"capture_latency", "http_backends", "local_backend"} <= set(real) and real == sorted(real)
    assert "run_all" not in real and not any(name.startswith("_") for name in real)


def test_only_selects_by_name_and_rejects_unknown_names(run_all, fake_bench):
    scripts = run_all.discover(fake_bench)
    assert [p.stem for p in run_all.select(scripts, "silent, good.py")] == ["good", "silent"]
    with pytest.raises(ValueError, match="no bench script named nope; choose from broken, good"):
        run_all.select(scripts, "good,nope")


def test_run_collects_rows_and_reports_each_failure_in_its_row(run_all, fake_bench, tmp_path):
    summary = tmp_path / "01-summary.md"
    outcomes = run_all.run(run_all.discover(fake_bench), quick=True, timeout=60, summary=summary,
                         logs=tmp_path)

    by_name = {o.script: o for o in outcomes}
    assert [o.script for o in outcomes] == ["broken", "good", "silent"]
    assert by_name["good"].error is None and by_name["good"].notes == "quick=1"
    assert [r["ratio"] for r in by_name["good"].rows] == [2.0, 0.1, 1.5]  # a missing ratio is computed
    assert by_name["broken"].error == "exit status 1: no microphone: start PulseAudio"
    assert (tmp_path / "broken.log").read_text().startswith("starting the benchmark")
    assert by_name["silent"].error == "exited 0 but wrote no --json file"

    text = summary.read_text(encoding="utf-8")
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
    assert run_all.cpu_model() in text and "vCPUs" in text and "GiB RAM" in text and "Python 3." in text
    assert re.search(r"commit `([0-9a-f]{7,}(\+dirty)?|unknown \(not a git checkout\))`", text)
    assert "Load average (1, 5, 15 min):" in text and "--quick" in text
    assert "| good | fast thing ÷ bare thing | 500.0 ms | 250.0 ms | **2** | ≤ 1.2 | **no** |" in text
    assert "| good | small \\| thing ÷ WAV | 100 bytes | 1,000 bytes | **0.1** | ≤ 0.2 | yes |" in text
    assert "| good | no goal here | 3 | 2 | **1.5** | — | — |" in text
    assert "| broken | failed: exit status 1: no microphone: start PulseAudio | | | | | **failed** |" in text
    assert "| silent | failed: exited 0 but wrote no --json file |" in text
    assert "Goals met: 1 of 2; scripts failed: 2 of 3." in text and "- good: quick=1" in text


def test_a_timed_out_script_loses_its_children_too(run_all, tmp_path):
    script = tmp_path / "spawner.py"
    pid_file = tmp_path / "child.pid"
    script.write_text(f"import subprocess, sys, time\n"
                      f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                      f"open({str(pid_file)!r}, 'w').write(str(child.pid))\ntime.sleep(60)\n")
    outcome = run_all.run_script(script, quick=False, timeout=2, logs=tmp_path)
    assert outcome.error == "timed out after 2 s" and outcome.seconds < 20
    state = Path(f"/proc/{int(pid_file.read_text())}/stat")
    deadline = time.monotonic() + 5
    while state.exists() and state.read_text().rsplit(")", 1)[1].split()[0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not state.exists() or state.read_text().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.parametrize(("ratio", "goal", "met"), [(1.05, "<= 1.05", True), (1.0501, "<= 1.05", False),
                                                     (0.3, "< 0.25", False), (3, ">= 2", True), (1, None, None),
                                                     (None, "<= 1", None), (1, "about 1", None)])
def test_goal_met(run_all, ratio, goal, met):
    assert run_all.goal_met(ratio, goal) is met


def test_git_commit_short_hash_and_dirty_flag(run_all, tmp_path):
    repo = tmp_path / "repo"  # beside the test's XDG folders (tmp_path/xdg), which hold files of their own
    repo.mkdir()

    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo,
                              check=True, capture_output=True, text=True).stdout.strip()
    git("init", "-q")
    (repo / "a.txt").write_text("a")
    git("add", "a.txt")
    git("commit", "-q", "-m", "a")
    assert run_all.git_commit(repo) == git("rev-parse", "--short", "HEAD")
    (repo / "a.txt").write_text("b")
    assert run_all.git_commit(repo) == git("rev-parse", "--short", "HEAD") + "+dirty"
    assert run_all.git_commit(repo / "a.txt") == "unknown (not a git checkout)"


#: Runs each script given as ``python SCRIPT --help`` does (as ``__main__``, its folder first on sys.path), one after
#: the other in one process, and prints {name: [exit code, stdout, error]} as JSON.
HELP_EACH = """
import contextlib, io, json, runpy, sys, traceback
answers = {}
for script in sys.argv[1:]:
    out, code, error = io.StringIO(), None, ""
    sys.argv, saved_path = [script, "--help"], list(sys.path)
    sys.path.insert(0, script.rsplit("/", 1)[0])
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(script, run_name="__main__")
    except SystemExit as exited:
        code = exited.code or 0
    except BaseException:
        error = traceback.format_exc()[-500:]
    sys.path[:] = saved_path
    answers[script.rsplit("/", 1)[1]] = [code, out.getvalue(), error]
print(json.dumps(answers))
"""


def test_real_bench_scripts_accept_json(run_all):
    """Every real script documents --json (argparse --help only: no benchmark runs here). The scripts answer
    `--help` one after the other in one Python process: the point is their interface, not their start-up."""
    scripts = run_all.discover()
    done = subprocess.run([sys.executable, "-c", HELP_EACH, *map(str, scripts)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout.splitlines()[-1])
    assert sorted(answers) == sorted(script.name for script in scripts)
    for name, (code, out, error) in answers.items():
        assert code == 0 and "--json" in out, (name, code, error)


def test_rows_file_must_follow_the_interface(run_all, tmp_path):
    rows_file = tmp_path / "rows.json"
    rows_file.write_text(json.dumps({"rows": [{"metric": "m", "ours": "fast"}]}))
    assert run_all.read_rows("x", rows_file, 1.0).error.startswith("unreadable --json file: ")
    rows_file.write_text(json.dumps({"rows": []}))
    assert run_all.read_rows("x", rows_file, 1.0).error == "wrote no rows"


def test_a_partial_run_keeps_the_earlier_sections_of_scripts_it_did_not_run(run_all, fake_bench, tmp_path):
    summary = tmp_path / "01-summary.md"
    summary.write_text("## Summary: every ratio from one run\n\n| script | m |\n|---|---|\n| good | old row |\n"
                       "| other | kept row |\n\nGoals met: 1 of 1.\n\n"
                       "## Summary of an earlier partial run (good)\n\n| script | m |\n|---|---|\n| good | older |\n",
                       encoding="utf-8")
    good = [p for p in run_all.discover(fake_bench) if p.stem == "good"]
    run_all.run(good, quick=True, timeout=60, summary=summary, only=["good"], logs=tmp_path)

    text = summary.read_text(encoding="utf-8")
    new, kept = text.split("## Summary of an earlier run (good, other)\n")
    assert new.startswith("## Summary: every ratio from one run") and "| good | fast thing ÷ bare thing |" in new
    assert kept == "\n| script | m |\n|---|---|\n| good | old row |\n| other | kept row |\n\nGoals met: 1 of 1.\n"
    assert "older" not in text  # every script of that section ran again

    run_all.run(good, quick=True, timeout=60, summary=summary, logs=tmp_path)  # a full run keeps nothing
    assert "earlier" not in summary.read_text(encoding="utf-8")


@pytest.mark.parametrize(("number", "unit", "shown"), [(0.000646, "s", "0.65 ms"), (0.2287, "s", "228.7 ms"),
                                                       (3.3, "s", "3.30 s"), (1000, "bytes", "1,000 bytes"),
                                                       (302.6, "MB", "302.6 MB")])
def test_values_keep_the_digits_that_matter(run_all, number, unit, shown):
    assert run_all.value(number, unit) == shown
