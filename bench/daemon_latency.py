"""Benchmark the warm daemon: hotkey (``voice-transcriber toggle`` starts) → microphone open, ÷ ``python -c pass``.

Starts its own PulseAudio daemon (testing/vt_testing/pulse.py) with a ``module-pipe-source``
fed 10 ms of audio every 10 ms (a frame is there as soon as a stream opens), a private
runtime/state/config dir, and ``voice-transcriber daemon``. Then, alternating, in the same run:

* floor: ``python -c pass``, from Popen until it has exited — the interpreter alone;
* daemon: ``voice-transcriber toggle``; the parent notes ``time.time()`` just before Popen, the
  daemon records when the stream had started and when its first frame came (``daemon status
  --json``, ``last``); the dictation is then cancelled;
* no daemon: the same ``toggle`` in a runtime dir without a daemon (the background recorder of
  ``voice-transcriber --debug toggle``, whose log gives its first frame's time); cancelled too.

The backend is ``openai`` on a closed port: nothing is transcribed, nothing leaves the machine.

    uv run python bench/daemon_latency.py [--repeat 15] [--out bench/results/53-daemon.md] [--json PATH]
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "testing"))
from _common import RESULTS, Row, bench_parser, load_average, machine, repeats, write_outputs  # noqa: E402
from vt_testing.pulse import start_pulse  # noqa: E402

VT = str(Path(sys.executable).with_name("voice-transcriber"))


def floor_run() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def vt(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([VT, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def daemon_run(env: dict[str, str]) -> tuple[float, float, float, float]:
    """(request read, mic open, first frame, toggle returned) in seconds after the hotkey, through the daemon."""
    start = time.time()
    toggled = subprocess.run([VT, "toggle"], env=env, capture_output=True, text=True, timeout=60, check=False)
    returned = time.time() - start
    if toggled.returncode != 0:
        raise SystemExit(f"toggle through the daemon failed: {toggled.stderr.strip()}")
    last = json.loads(vt(env, "daemon", "status", "--json").stdout)["last"]
    vt(env, "cancel", "--wait")
    return last["requestedAt"] - start, last["micOpenedAt"] - start, last["firstFrameAt"] - start, returned


def background_run(env: dict[str, str], log: Path) -> float:
    """First frame after the hotkey, through a background recorder (no daemon)."""
    start = time.time()
    toggled = subprocess.run([VT, "--debug", "toggle"], env=env, capture_output=True, text=True, timeout=60, check=False)
    if toggled.returncode != 0:
        raise SystemExit(f"toggle without the daemon failed: {toggled.stderr.strip()}")
    time.sleep(1.0)  # let it record a little, as a user would
    vt(env, "cancel", "--wait")
    found = re.findall(r"info: first_frame_at = ([0-9.]+)", log.read_text())
    return float(found[-1]) - start


def world(base: Path, name: str, pulse_env: dict[str, str]) -> dict[str, str]:
    folder = base / name
    (folder / "run").mkdir(parents=True, mode=0o700)
    config = folder / "config" / "voice-transcriber" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"transcription": {"backend": "openai"}, "output": {"sinks": ["stdout"]}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_TRANSCRIBER_")}
    return {**env, **pulse_env, "XDG_RUNTIME_DIR": str(folder / "run"), "XDG_STATE_HOME": str(folder / "state"),
            "XDG_CONFIG_HOME": str(folder / "config"), "OPENAI_API_KEY": "sk-bench-not-sent",
            "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": "http://127.0.0.1:9/v1"}


def start_daemon(env: dict[str, str], log: Path) -> subprocess.Popen:
    daemon = subprocess.Popen([VT, "daemon"], env=env, stdin=subprocess.DEVNULL, stdout=open(log, "wb"),  # noqa: SIM115
                              stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while vt(env, "daemon", "status").returncode != 0:
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the daemon did not start: {log.read_text()[-1000:]}")
        time.sleep(0.1)
    return daemon


def measure(repeat: int) -> tuple[dict[str, list[float]], str]:
    times: dict[str, list[float]] = {"floor": [], "request": [], "open": [], "frame": [], "returned": [], "background": []}
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:  # short: Unix socket paths are limited
        base = Path(tmp)
        pulse = start_pulse(base / "pulse")
        daemon = None
        try:
            pulse_env = pulse.pipe_source()
            warm, cold = world(base, "warm", pulse_env), world(base, "cold", pulse_env)
            daemon = start_daemon(warm, base / "daemon.log")
            time.sleep(2.0)  # backends prepared, the machine settled
            daemon_run(warm)  # the first dictation of a daemon is not what a hotkey usually meets
            load = load_average()
            for _ in range(repeat):
                times["floor"].append(floor_run())
                request, opened, frame, returned = daemon_run(warm)
                times["request"].append(request)
                times["open"].append(opened)
                times["frame"].append(frame)
                times["returned"].append(returned)
                times["background"].append(background_run(cold, base / "cold" / "state" / "voice-transcriber" / "recorder.log"))
        finally:
            if daemon is not None:
                daemon.terminate()
                daemon.wait(timeout=30)
            pulse.stop()
    return times, load


def report(times: dict[str, list[float]], repeat: int, load: str) -> tuple[str, list[Row]]:
    floor = statistics.median(times["floor"])
    goal = "<= 2"
    rows = [
        Row("hotkey → the daemon has read the request (÷ python -c pass)", statistics.median(times["request"]), floor),
        Row("hotkey → microphone open, daemon running (÷ python -c pass)", statistics.median(times["open"]), floor, goal=goal),
        Row("hotkey → first frame, daemon running (÷ python -c pass)", statistics.median(times["frame"]), floor),
        Row("hotkey → toggle returns (recording confirmed), daemon running (÷ python -c pass)",
            statistics.median(times["returned"]), floor),
        Row("hotkey → first frame, no daemon: background recorder (÷ python -c pass)",
            statistics.median(times["background"]), floor),
    ]
    lines = ["## Warm daemon: hotkey → microphone", "",
             f"`uv run python bench/daemon_latency.py --repeat {repeat}` — {machine()}; load average {load} "
             "when the measured runs began. Medians; each ratio is ÷ `python -c pass` measured in the same run "
             f"({floor * 1000:.1f} ms).", "",
             "| from the hotkey (`voice-transcriber toggle` starts) to … | median | ÷ `python -c pass` | goal |",
             "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.metric.split(' (÷')[0].replace('hotkey → ', '')} | {row.ours * 1000:.1f} ms | "
                     f"{row.ours / floor:.2f} | {row.goal or '—'} |")
    lines += ["", "The client (`voice-transcriber toggle`) costs the interpreter's start plus a few milliseconds: it "
              "reaches the daemon before click, json or the plugins are imported. Microphone open: the daemon's "
              "PortAudio stream has started (`stream.start()` returned); the first frame "
              "follows by one PulseAudio fragment. With `daemon.prerollMs` set the microphone is already open when "
              "the request arrives, and the recording starts with the audio from before the hotkey. Without a "
              "daemon the background recorder pays for a second interpreter, the CLI's imports and PortAudio's "
              "initialisation before its first frame.", ""]
    return "\n".join(lines), rows


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "53-daemon.md")
    parser.add_argument("--repeat", type=int, default=repeats(15, 5))
    args = parser.parse_args()
    times, load = measure(args.repeat)
    markdown, rows = report(times, args.repeat, load)
    write_outputs(args, "daemon_latency", markdown, rows)


if __name__ == "__main__":
    main()
