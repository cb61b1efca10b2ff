"""Run every benchmark in bench/ and write the summary table, then rebuild BENCHMARKS.md.

    uv run python bench/run_all.py [--quick] [--only NAME,...] [--timeout SECONDS]

Discovers ``bench/*.py`` (except this file and helper modules, whose names start with ``_``)
and runs each, in name order, in its own process and session with ``--json PATH``; under
``--quick`` the environment variable ``VT_BENCH_QUICK=1`` makes each script use its small
repeat counts. Every script also writes its own Markdown section in bench/results/. A script
that fails, times out or writes no rows gets a row saying so, and the others still run.
bench/results/01-summary.md then holds the date, machine, commit, load average and one table
of every ratio with its goal; after a partial run (``--only``) it keeps below the new table each
earlier section that still holds rows of scripts not run this time. The exit status is 1 when a
script failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from _common import QUICK_ENV, cpu_model, load_average, ram_gib

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SUMMARY = BENCH / "results" / "01-summary.md"
GOAL = re.compile(r"^\s*(<=|>=|<|>)\s*(\d+(?:\.\d+)?)\s*$")
COMPARE = {"<=": float.__le__, ">=": float.__ge__, "<": float.__lt__, ">": float.__gt__}


@dataclass
class Outcome:
    """What one script produced: its rows, or why it produced none."""

    script: str
    seconds: float
    rows: list[dict] = field(default_factory=list)
    notes: str = ""
    error: str | None = None


@dataclass
class RunInfo:
    started: datetime
    machine: str
    commit: str
    load_before: tuple[float, ...]
    load_after: tuple[float, ...]
    quick: bool
    only: list[str] | None = None


def discover(bench: Path = BENCH) -> list[Path]:
    return sorted(p for p in bench.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))


def select(scripts: list[Path], only: str | None) -> list[Path]:
    if not only:
        return scripts
    wanted = {name.strip().removesuffix(".py") for name in only.split(",") if name.strip()}
    unknown = wanted - {p.stem for p in scripts}
    if unknown:
        raise ValueError(f"no bench script named {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(p.stem for p in scripts)}")
    return [p for p in scripts if p.stem in wanted]


def run_script(script: Path, quick: bool, timeout: float, logs: Path) -> Outcome:
    """Run one script with ``--json``; its output goes to ``logs/NAME.log``."""
    rows_file, log_file = logs / f"{script.stem}.json", logs / f"{script.stem}.log"
    env = {**os.environ, QUICK_ENV: "1" if quick else "0"}
    start = time.monotonic()
    with log_file.open("w", encoding="utf-8") as log:
        # its own session, so a timeout can stop what it started too (PulseAudio, Xvfb, servers)
        process = subprocess.Popen([sys.executable, str(script), "--json", str(rows_file)], cwd=ROOT, env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_session(process)
            return Outcome(script.stem, time.monotonic() - start, error=f"timed out after {timeout:.0f} s")
    seconds = time.monotonic() - start
    if code != 0:
        return Outcome(script.stem, seconds, error=f"exit status {code}: {last_line(log_file)}")
    return read_rows(script.stem, rows_file, seconds)


def stop_session(process: subprocess.Popen) -> None:
    """SIGINT first, so the script's ``finally:`` blocks stop its services; SIGKILL what is left."""
    for sig, grace in ((signal.SIGINT, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=grace)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def last_line(log_file: Path) -> str:
    lines = [line.strip() for line in log_file.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def checked(row: dict) -> dict:
    """One row of the --json interface, with numbers as floats; KeyError/ValueError/TypeError when malformed."""
    ours, baseline = float(row["ours"]), float(row["baseline"])
    ratio = row.get("ratio")
    if ratio is None and baseline:
        ratio = ours / baseline
    return {"metric": str(row["metric"]), "ours": ours, "baseline": baseline, "unit": str(row.get("unit") or ""),
            "ratio": None if ratio is None else float(ratio), "goal": row.get("goal")}


def read_rows(script: str, rows_file: Path, seconds: float) -> Outcome:
    try:
        payload = json.loads(rows_file.read_text(encoding="utf-8"))
        rows = [checked(row) for row in payload["rows"]]
    except FileNotFoundError:
        return Outcome(script, seconds, error="exited 0 but wrote no --json file")
    except (ValueError, KeyError, TypeError) as exc:
        return Outcome(script, seconds, error=f"unreadable --json file: {type(exc).__name__}: {exc}")
    if not rows:
        return Outcome(script, seconds, error="wrote no rows")
    return Outcome(script, seconds, rows, str(payload.get("notes") or ""))


def goal_met(ratio: float | None, goal: str | None) -> bool | None:
    found = GOAL.match(goal or "")
    if ratio is None or not found:
        return None
    return COMPARE[found.group(1)](float(ratio), float(found.group(2)))


def git_commit(root: Path = ROOT) -> str:
    """Short hash of HEAD, ``+dirty`` when the working tree has changes (untracked files included)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    try:
        return git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def machine() -> str:
    release = Path("/etc/os-release").read_text() if Path("/etc/os-release").exists() else ""
    found = re.search(r'^PRETTY_NAME="?([^"\n]*)', release, re.MULTILINE)
    system = found.group(1) if found else platform.system()
    return (f"{os.cpu_count()} vCPUs (`nproc`: {len(os.sched_getaffinity(0))}), {cpu_model()}, {ram_gib():.1f} GiB RAM, "
            f"{system} (kernel {platform.release()}), Python {platform.python_version()}")


def value(number: float, unit: str) -> str:
    if unit == "s":
        if number < 0.01:  # per-call costs: a tenth of a millisecond would hide the difference
            return f"{number * 1000:.2f} ms"
        return f"{number * 1000:.1f} ms" if number < 1 else f"{number:.2f} s"
    if unit == "bytes":
        return f"{number:,.0f} bytes"
    return f"{number:.4g} {unit}".strip()


def table_row(outcome: Outcome, row: dict) -> str:
    met = {True: "yes", False: "**no**", None: "—"}[goal_met(row["ratio"], row["goal"])]
    ratio = "—" if row["ratio"] is None else f"{row['ratio']:.4g}"
    goal = (row["goal"] or "—").replace("<=", "≤").replace(">=", "≥")
    cells = [outcome.script, row["metric"], value(row["ours"], row["unit"]), value(row["baseline"], row["unit"]),
             f"**{ratio}**", goal, met]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def render_summary(outcomes: list[Outcome], info: RunInfo) -> str:
    command = "uv run python bench/run_all.py" + (" --quick" if info.quick else "")
    command += f" --only {','.join(info.only)}" if info.only else ""
    rows = [(o, r) for o in outcomes for r in o.rows]
    verdicts = [goal_met(r["ratio"], r["goal"]) for _, r in rows]
    lines = [
        "## Summary: every ratio from one run", "",
        f"`{command}` — {info.started:%Y-%m-%d %H:%M} UTC, commit `{info.commit}`"
        + (" (quick: fewer repeats than the full run)" if info.quick else "") + ".", "",
        f"Machine: {info.machine}. Load average (1, 5, 15 min): {load_average(info.load_before)} at the start, "
        f"{load_average(info.load_after)} at the end; other jobs on the machine slow both sides of a ratio, not always "
        "equally.", "",
    ]
    if info.only:
        lines += ["Partial run: only the scripts named; the other sections below keep their previous numbers.", ""]
    lines += ["| script | ours ÷ baseline (measured in the same run) | ours | baseline | ratio | goal | met |",
              "|---|---|---|---|---|---|---|"]
    for outcome in outcomes:
        lines += [table_row(outcome, row) for row in outcome.rows] or [
            f"| {outcome.script} | failed: {(outcome.error or '').replace('|', '/')} | | | | | **failed** |"]
    lines += ["", f"Goals met: {verdicts.count(True)} of {verdicts.count(True) + verdicts.count(False)}; "
              f"scripts failed: {sum(1 for o in outcomes if o.error)} of {len(outcomes)}. Time per script: "
              + ", ".join(f"{o.script} {o.seconds:.0f} s" for o in outcomes) + "."]
    notes = [f"- {o.script}: {o.notes}" for o in outcomes if o.notes]
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


SECTION = re.compile(r"(?m)^(?=## Summary)")
SCRIPT_CELL = re.compile(r"(?m)^\| ([\w-]+) \| (?!---)")


def earlier_sections(previous: str, run_now: set[str]) -> list[str]:
    """The sections of the previous summary that still hold rows of scripts not run now, retitled as
    earlier runs (naming their scripts); a section whose every script ran again is dropped."""
    kept = []
    for section in SECTION.split(previous):
        scripts = sorted(set(SCRIPT_CELL.findall(section)) - {"script"})
        if not section.startswith("## Summary") or not set(scripts) - run_now:
            continue
        title = f"## Summary of an earlier run ({', '.join(scripts)})"
        kept.append(title + "\n" + section.split("\n", 1)[1].rstrip("\n") + "\n")
    return kept


def run(scripts: list[Path], quick: bool, timeout: float, summary: Path, only: list[str] | None = None,
        logs: Path | None = None) -> list[Outcome]:
    """Run ``scripts`` one after the other and write the summary section to ``summary``.
    Each script's output is kept in ``logs`` (default: a new directory under /tmp)."""
    started, load_before, commit = datetime.now(timezone.utc), os.getloadavg(), git_commit()
    if load_before[0] > len(os.sched_getaffinity(0)):
        print(f"load average {load_average(load_before)}: other jobs are running, the ratios will be noisier "
              "(the summary records the load)", flush=True)
    logs = logs or Path(tempfile.mkdtemp(prefix="vt-bench-logs-"))
    outcomes = []
    for script in scripts:
        print(f"{script.stem}: running (log: {logs / script.stem}.log)", flush=True)
        outcome = run_script(script, quick, timeout, logs)
        print(f"{script.stem}: {outcome.error or f'{len(outcome.rows)} rows'} ({outcome.seconds:.0f} s)", flush=True)
        outcomes.append(outcome)
    info = RunInfo(started, machine(), commit, load_before, os.getloadavg(), quick, only)
    previous = summary.read_text(encoding="utf-8") if only and summary.exists() else ""
    kept = earlier_sections(previous, {o.script for o in outcomes})
    summary.write_text("\n".join([render_summary(outcomes, info), *kept]), encoding="utf-8")
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats: the whole run takes a few minutes")
    parser.add_argument("--only", metavar="NAME,...", help="run only these scripts (names without .py)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="seconds per script (default 1500 with --quick: post_stop_latency takes ~18 min even then; else 1800)")
    args = parser.parse_args(argv)
    try:
        scripts = select(discover(), args.only)
    except ValueError as exc:
        parser.error(str(exc))
    timeout = args.timeout or (1500 if args.quick else 1800)
    outcomes = run(scripts, args.quick, timeout, SUMMARY, [p.stem for p in scripts] if args.only else None)
    print(SUMMARY.read_text(encoding="utf-8"))
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_docs

    build_docs.main()
    print(f"wrote {SUMMARY.relative_to(ROOT)} and rebuilt BENCHMARKS.md")
    return 1 if any(o.error for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
