"""Launcher and notification costs, each against a bare baseline measured in the same run.

1. Menu latency: ``voice-transcriber rofi`` (what rofi waits for before it can draw the menu) ÷ a
   stdlib-only script printing the same rows from history.jsonl.
2. Notification cost on the pipeline's thread: one ``vt_recording_started`` event with the notify
   plugin (the update is sent from a background thread) ÷ one synchronous ``notify-send`` call,
   against a real dunst on Xvfb over a private session bus.

    uv run python bench/launchers.py [--runs 15] [--out bench/results/71-launchers.md] [--json PATH]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "testing"))
from _common import (RESULTS, Row, alternated, bench_parser, installed_python_env, load_average, machine,  # noqa: E402
                     measure_process, repeats, write_outputs)
from vt_testing.dbus import start_bus  # noqa: E402
from vt_testing.x11 import free_display  # noqa: E402

BARE_MENU = r'''
import json, os, sys
path = os.path.join(os.environ["XDG_STATE_HOME"], "voice-transcriber", "history.jsonl")
entries = [json.loads(line) for line in open(path, encoding="utf-8")][-10:]
rows = ["\0prompt\x1fvoice", "Dictate → type\0icon\x1faudio-input-microphone\x1finfo\x1fdictate:typing",
        "Dictate → clipboard\0icon\x1fedit-paste\x1finfo\x1fdictate:clipboard", "Retry last\0info\x1fretry:last"]
rows += [e["text"][:80] + "\0info\x1fhistory:" + e["id"] for e in reversed(entries)]
sys.stdout.write("\n".join(rows) + "\n")
'''


def menu_latency(runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    state = Path(env["XDG_STATE_HOME"], "voice-transcriber")
    state.mkdir(parents=True, exist_ok=True)
    with (state / "history.jsonl").open("w", encoding="utf-8") as out:
        for number in range(50):
            out.write(json.dumps({"id": f"20261125-2300{number:02d}-abcdef", "timestamp": "2026-11-25T23:00:00Z",
                                  "text": f"dictation number {number} " * 5, "raw_text": "x"}) + "\n")
    exe = str(Path(sys.executable).with_name("voice-transcriber"))
    walls = alternated({"ours": lambda: measure_process([exe, "rofi"], {**env, "ROFI_RETV": "0"}).wall,
                        "bare": lambda: measure_process([sys.executable, "-c", BARE_MENU], env).wall},
                       runs, warmup=1)  # the first round warms the page cache and is dropped
    return walls["ours"], walls["bare"]


def start_desktop(work: Path) -> tuple[dict[str, str], list[subprocess.Popen]]:
    """Xvfb, a private session bus and dunst; returns the client environment and the processes."""
    display = f":{free_display()}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bus = start_bus(work / "dbus.log")
    env = {**os.environ, "DISPLAY": display, **bus.env}
    time.sleep(1.0)
    dunst = subprocess.Popen(["dunst"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return env, [dunst, bus.proc, xvfb]


def notification_cost(runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    os.environ.update(env)
    from voice_transcriber import RunContext
    from voice_transcriber.config import load_settings
    from voice_transcriber.plugins import get_plugin_manager
    from voice_transcriber_notify import notifications

    pm, settings = get_plugin_manager(), load_settings()
    ours, bare = [], []
    for _ in range(runs + 1):
        ctx = RunContext(settings, pm=pm)
        start = time.perf_counter()
        ctx.recording_started()
        ours.append(time.perf_counter() - start)
        notifications._runs[ctx.run_id].bubble.flush()
        bare.append(measure_process(["notify-send", "--print-id", "--", "Recording…", "Speak now"], env).wall)
    return ours[1:], bare[1:]


MENU = "`voice-transcriber rofi` until the menu rows are printed (50-entry history)"
NOTIFY = "`vt_recording_started` with the notify plugin, on the pipeline thread vs one `notify-send`"
NOTES = """- **Menu**: *bare* is a stdlib-only script printing the same rows from `history.jsonl`. Ours is
  `voice-transcriber rofi`: the launcher's quick handler (`voice_transcriber.quick`, the notify plugin's
  `menu.py`) answers before click, pydantic, pluggy or any other plugin loads; what is left is the
  interpreter, the core's history reader (dataclasses, pathlib, xdg-base-dirs) and the recorder/daemon
  check that picks "Dictate" or "Stop". rofi shows its window at once and fills it when the rows arrive,
  so this is the delay before the entries appear. A selection, `--menu`, or a config only the full loader
  can judge still goes through the whole command line.
- **Notifications**: the notify plugin only queues the update on the pipeline's thread; a background
  thread runs `notify-send` (≈ 7 ms each, more under load), so recording and transcription never wait for
  the notification server. The last update of a run is flushed before the process exits.
"""


def row(name: str, ours: list[float], bare: list[float]) -> str:
    o, b = statistics.median(ours), statistics.median(bare)
    return f"| {name} | {o * 1000:.1f} ms | {b * 1000:.1f} ms | **{o / b:.2f}** | {min(ours) * 1000:.1f} ms | {max(ours) * 1000:.1f} ms |"


def report(runs: int, menu: tuple[list[float], list[float]], notify: tuple[list[float], list[float]]) -> str:
    found = re.search(r"\d+\.\d+\.\d+", subprocess.run(["dunst", "--version"], capture_output=True, text=True).stdout)
    dunst = f"dunst {found.group(0)}" if found else "dunst"
    return "\n".join([
        "## Launcher menu and notifications", "",
        f"`uv run python bench/launchers.py --runs {runs}` — {machine()}, {dunst} on Xvfb over a private session "
        f"bus. Medians of {runs} runs each, ours and the baseline alternating, after one dropped warm-up round; "
        f"load average {load_average()} when the run ended.", "",
        "| measured | ours | bare | ratio | ours fastest | ours slowest |", "|---|---|---|---|---|---|",
        row(MENU, *menu), row(NOTIFY, *notify), "", NOTES])


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "71-launchers.md")
    parser.add_argument("--runs", type=int, default=repeats(15, 4))
    args = parser.parse_args()
    runs = args.runs
    work = Path(tempfile.mkdtemp(prefix="vt-bench-launchers-"))
    env = installed_python_env({**os.environ, "XDG_STATE_HOME": str(work / "state"), "XDG_CONFIG_HOME": str(work / "config"),
                                "XDG_CACHE_HOME": str(work / "cache"), "DBUS_SESSION_BUS_ADDRESS": "",
                                "XDG_RUNTIME_DIR": str(work)}, work / "pycache")
    menu = menu_latency(runs, env)
    desktop_env, processes = start_desktop(work)
    try:
        os.environ.update({"XDG_STATE_HOME": env["XDG_STATE_HOME"], "XDG_CONFIG_HOME": env["XDG_CONFIG_HOME"]})
        notify = notification_cost(runs, desktop_env)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=5)
        shutil.rmtree(work, ignore_errors=True)
    rows = [Row(MENU + " ÷ a stdlib-only script printing the same rows", *map(statistics.median, menu), goal="<= 3"),
            Row(NOTIFY.replace(" vs ", " ÷ "), *map(statistics.median, notify))]
    write_outputs(args, "launchers", report(runs, menu, notify), rows)


if __name__ == "__main__":
    main()
