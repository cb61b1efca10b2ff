"""Launcher and notification costs, each against a bare baseline measured in the same run.

1. Menu latency: ``voice-transcriber rofi`` (what rofi waits for before it can draw the menu) ÷ a
   stdlib-only script printing the same rows from history.jsonl.
2. Notification cost on the pipeline's thread: one ``vt_recording_started`` event with the notify
   plugin (the update is sent from a background thread) ÷ one synchronous ``notify-send`` call,
   against a real dunst on Xvfb over a private session bus.

Run: ``uv run python bench/launchers.py [--runs N]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_MENU = r'''
import json, os, sys
path = os.path.join(os.environ["XDG_STATE_HOME"], "voice-transcriber", "history.jsonl")
entries = [json.loads(line) for line in open(path, encoding="utf-8")][-10:]
rows = ["\0prompt\x1fvoice", "Dictate → type\0icon\x1faudio-input-microphone\x1finfo\x1fdictate:typing",
        "Dictate → clipboard\0icon\x1fedit-paste\x1finfo\x1fdictate:clipboard", "Retry last\0info\x1fretry:last"]
rows += [e["text"][:80] + "\0info\x1fhistory:" + e["id"] for e in reversed(entries)]
sys.stdout.write("\n".join(rows) + "\n")
'''


def wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def menu_latency(runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    state = Path(env["XDG_STATE_HOME"], "voice-transcriber")
    state.mkdir(parents=True, exist_ok=True)
    with (state / "history.jsonl").open("w", encoding="utf-8") as out:
        for number in range(50):
            out.write(json.dumps({"id": f"20261125-2300{number:02d}-abcdef", "timestamp": "2026-11-25T23:00:00Z",
                                  "text": f"dictation number {number} " * 5, "raw_text": "x"}) + "\n")
    exe = str(Path(sys.executable).with_name("voice-transcriber"))
    ours, bare = [], []
    for _ in range(runs + 1):  # the first round warms the page cache and is dropped
        ours.append(wall([exe, "rofi"], {**env, "ROFI_RETV": "0"}))
        bare.append(wall([sys.executable, "-c", BARE_MENU], env))
    return ours[1:], bare[1:]


def start_desktop(work: Path) -> tuple[dict[str, str], list[subprocess.Popen]]:
    """Xvfb, a private session bus and dunst; returns the client environment and the processes."""
    xvfb = subprocess.Popen(["Xvfb", ":173", "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    env = {**os.environ, "DISPLAY": ":173", "DBUS_SESSION_BUS_ADDRESS": bus.stdout.readline().strip()}
    time.sleep(1.0)
    dunst = subprocess.Popen(["dunst"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return env, [dunst, bus, xvfb]


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
        bare.append(wall(["notify-send", "--print-id", "--", "Recording…", "Speak now"], env))
    return ours[1:], bare[1:]


def row(name: str, ours: list[float], bare: list[float]) -> str:
    o, b = statistics.median(ours), statistics.median(bare)
    return f"| {name} | {o * 1000:.1f} ms | {b * 1000:.1f} ms | **{o / b:.2f}** | {min(ours) * 1000:.1f} ms | {max(ours) * 1000:.1f} ms |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    work = Path(tempfile.mkdtemp(prefix="vt-bench-launchers-"))
    env = {**os.environ, "XDG_STATE_HOME": str(work / "state"), "XDG_CONFIG_HOME": str(work / "config"),
           "DBUS_SESSION_BUS_ADDRESS": "", "XDG_RUNTIME_DIR": str(work)}
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
    print(f"{runs} runs each, medians; load average {os.getloadavg()[0]:.1f}\n")
    print("| measured | ours | bare | ratio | ours fastest | ours slowest |\n|---|---|---|---|---|---|")
    print(row("`voice-transcriber rofi` until the menu rows are printed (50-entry history)", *menu))
    print(row("`vt_recording_started` with the notify plugin, on the pipeline thread vs one `notify-send`", *notify))


if __name__ == "__main__":
    main()
