"""Benchmark the hotkey commands: how long `toggle` takes to return, against the CLI's own floor.

Starts its own PulseAudio daemon (testing/vt_testing/pulse.py) with a ``module-pipe-source``
fed in real time, and a private $XDG_RUNTIME_DIR/$XDG_STATE_HOME. In the same run, alternating:

* floor: ``voice-transcriber --version`` (interpreter, click, plugin discovery — every command pays it);
* toggle→start: ``voice-transcriber toggle`` starting a background recorder (lock, PID file, spawn);
* toggle→stop: ``voice-transcriber toggle`` stopping it (lock, PID file, signal);
* start --wait: until the background recorder's microphone is open and it published ``recording``.

Then a held key's repeats: with a recording running, ``voice-transcriber start`` (what push-to-talk's
autorepeat fires 5-7 times a second; refused without click, see ``voice_transcriber/hotkey.py``) and
``--version``, each paired with ``python -c pass`` (``--pairs``, after a dropped warm-up round), with
Python's bytecode cached as on a user's machine.

Then ``--toggles`` (50) concurrent toggles (the race test's load) and how long until every recorder has exited.
The backend is ``openai`` pointed at a closed port: silence never leaves the machine.

    uv run python bench/toggle_latency.py [--repeat 5] [--pairs 15] [--out bench/results/51-toggle.md] [--json PATH]
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "testing"))
from _common import (RESULTS, Row, alternated, bench_parser, installed_python_env, load_average,  # noqa: E402
                     machine, measure_process, repeats, write_outputs)
from vt_testing.pulse import start_pulse  # noqa: E402

VT = str(Path(sys.executable).with_name("voice-transcriber"))
#: Seconds the recorders get to exit after the concurrent toggles; a recorder alive after that is hung.
DRAIN_LIMIT = 60


def timed(*args: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([VT, *args], env=env, check=False, capture_output=True, timeout=120)
    return time.perf_counter() - start


def recorders(runtime: Path) -> list[int]:
    """PIDs of the live voice-transcriber processes using this run's private runtime dir."""
    marker = f"XDG_RUNTIME_DIR={runtime}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and b"voice_transcriber" in (proc / "cmdline").read_bytes() \
                    and marker in (proc / "environ").read_bytes().split(b"\0") \
                    and (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def measure(repeat: int, env: dict[str, str], runtime: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"floor": [], "toggle→start": [], "toggle→stop": [], "start --wait": []}
    for _ in range(repeat):
        times["floor"].append(timed("--version", env=env))
        times["toggle→start"].append(timed("toggle", "--backend", "openai", env=env))
        times["toggle→stop"].append(timed("toggle", env=env))
        time.sleep(1.0)
        times["start --wait"].append(timed("start", "--wait", "--backend", "openai", env=env))
        timed("cancel", "--wait", env=env)
        while recorders(runtime):
            time.sleep(0.1)
    return times


BASELINE = [sys.executable, "-c", "pass"]


def held_key_repeats(env: dict[str, str], pairs: int) -> dict[str, list]:
    """With a recording running: ``start`` (refused, exit 1: "already recording") and ``--version``, each
    alternating with ``python -c pass``; the measured processes (``_common.Measured``) per side."""
    started = subprocess.run([VT, "start", "--wait", "--backend", "openai"], env=env, capture_output=True, timeout=120)
    if started.returncode != 0:
        raise SystemExit(f"start --wait failed: {started.stderr.decode(errors='replace')[-500:]}")
    try:
        runs = alternated({"start": lambda: measure_process([VT, "start"], env, check=False),
                           "version": lambda: measure_process([VT, "--version"], env),
                           "bare": lambda: measure_process(BASELINE, env)}, pairs, warmup=1)
    finally:
        subprocess.run([VT, "cancel", "--wait"], env=env, capture_output=True, timeout=120)
    wrong = [run for run in runs["start"] if run.code != 1 or "already recording" not in run.err]
    if wrong:
        raise SystemExit(f"a repeated start did not say 'already recording' (exit {wrong[0].code}): {wrong[0].err[-300:]}")
    return runs


def repeats_report(runs: dict[str, list], pairs: int, load: str) -> tuple[str, list[Row]]:
    bare_wall = [run.wall for run in runs["bare"]]
    lines = ["### A held key's repeats", "",
             f"With a recording running, each command alternates with `python -c pass` ({pairs} rounds after a dropped "
             f"warm-up round; bytecode cached as on a user's machine); the ratio is the median of the per-round ratios. "
             f"Load average {load}.", "",
             "| command | wall (median) | CPU (median) | ÷ `python -c pass` (median of pairs) | goal |", "|---|---|---|---|---|"]
    rows = []
    for side, label, goal in (("start", "`start` while recording (push-to-talk's autorepeat; refused, exit 1)", "<= 3"),
                              ("version", "`--version`", None)):
        ratios = [run.wall / bare for run, bare in zip(runs[side], bare_wall)]
        ratio = statistics.median(ratios)
        lines.append(f"| {label} | {statistics.median(run.wall for run in runs[side]) * 1000:.1f} ms | "
                     f"{statistics.median(run.cpu for run in runs[side]) * 1000:.0f} ms | **{ratio:.2f}** | "
                     f"{(goal or '—').replace('<=', '≤')} |")
        rows.append(Row(f"{label} ÷ `python -c pass` (median of {len(ratios)} paired ratios)",
                        ratio * statistics.median(bare_wall), statistics.median(bare_wall), goal=goal))
    lines.append(f"| `python -c pass` | {statistics.median(bare_wall) * 1000:.1f} ms | "
                 f"{statistics.median(run.cpu for run in runs['bare']) * 1000:.0f} ms | 1 | — |")
    return "\n".join(lines) + "\n", rows


def hammer(env: dict[str, str], runtime: Path, count: int) -> tuple[float, float, int, int]:
    """Seconds until every toggle returned and until every recorder exited, failed toggles, and the
    recorders still alive DRAIN_LIMIT seconds after the last toggle (a hang: killed, and reported)."""
    start = time.perf_counter()
    toggles = [subprocess.Popen([VT, "toggle", "--backend", "openai"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(count)]
    for toggle in toggles:
        toggle.wait()
    issued = time.perf_counter() - start
    while recorders(runtime) and time.perf_counter() - start < issued + DRAIN_LIMIT:
        time.sleep(0.1)
    hung = recorders(runtime)
    for pid in hung:
        os.kill(pid, signal.SIGKILL)
    return issued, time.perf_counter() - start, len([t for t in toggles if t.returncode != 0]), len(hung)


def report(times: dict[str, list[float]], repeat: int, about: str, hammered: tuple[float, float, int, int],
           count: int) -> str:
    issued, drained, failed, hung = hammered
    floor = statistics.median(times["floor"])
    lines = ["## Hotkey commands (toggle, start, stop)", "",
             f"`uv run python bench/toggle_latency.py --repeat {repeat}` — {about}.", "",
             "| command | median | ÷ CLI floor (`--version`) |", "|---|---|---|"]
    for name, values in times.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {median * 1000:.0f} ms | {median / floor:.2f} |")
    lines += ["", f"{count} concurrent `toggle`s: all returned after {issued:.1f} s ({failed} failed), every recorder "
              f"had exited {drained:.1f} s after the first toggle ({count // 2} recorders started and stopped, "
              + (f"**{hung} still running {DRAIN_LIMIT} s after the last toggle returned: hung, killed**)." if hung
                 else "none left)."), ""]
    return "\n".join(lines)


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "51-toggle.md")
    parser.add_argument("--repeat", type=int, default=repeats(5, 2))
    parser.add_argument("--pairs", type=int, default=repeats(15, 10), help="paired rounds of a held key's repeats")
    parser.add_argument("--toggles", type=int, default=repeats(50, 10), help="concurrent toggles at the end")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pulse = start_pulse(Path(tmp) / "pulse")
        try:
            runtime = Path(tmp) / "run"
            runtime.mkdir(mode=0o700)
            env = {**os.environ, **pulse.pipe_source(), "XDG_RUNTIME_DIR": str(runtime),
                   "XDG_STATE_HOME": str(Path(tmp) / "state"), "OPENAI_API_KEY": "sk-bench-not-sent",
                   "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": "http://127.0.0.1:9/v1"}
            about = f"{machine()}, load average {os.getloadavg()[0]:.1f} at start"
            times = measure(options.repeat, env, runtime)
            load = f"{load_average()} at the start"
            held = held_key_repeats(installed_python_env(env, Path(tmp) / "pycache"), options.pairs)
            held_markdown, held_rows = repeats_report(held, options.pairs, f"{load}, {load_average()} at the end")
            hammered = hammer(env, runtime, options.toggles)
        finally:
            pulse.stop()
    floor = statistics.median(times["floor"])
    rows = [Row(f"`{name}` ÷ the CLI floor (`voice-transcriber --version`)", statistics.median(values), floor)
            for name, values in times.items() if name != "floor"] + held_rows
    hung = hammered[3]
    markdown = report(times, options.repeat, about, hammered, options.toggles) + "\n" + held_markdown
    write_outputs(options, "toggle_latency", markdown, rows,
                  notes=f"{hung} background recorder(s) hung after {options.toggles} concurrent toggles" if hung else "")


if __name__ == "__main__":
    main()
