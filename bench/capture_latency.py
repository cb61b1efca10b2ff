"""Benchmark recording start-up: process start → first captured frame, ours ÷ a bare sounddevice script and ÷ `python -c pass`.

Starts its own PulseAudio daemon (testing/vt_testing/pulse.py) with a ``module-pipe-source``
fed 10 ms of audio every 10 ms, so a frame is available as soon as a stream opens (a
null-sink monitor would add ~2 s blocks and hide everything else; see shared/ci-notes.md).
Then, alternating, in the same run:

* bare: ``python -c "import sounddevice; open a RawInputStream on the default device; wait for a frame"``
  (the raw stream, like ours: no numpy, the cheapest way sounddevice records);
* ours: ``voice-transcriber --debug --backend openai --output stdout``, cancelled with SIGUSR2
  once it has recorded; ``--debug`` prints the wall-clock time of its first frame;
* floor: ``python -c pass``, Popen until it has exited: the interpreter alone.

Both report ``time.time()`` at their first frame; the parent notes ``time.time()`` just
before ``Popen``. Also samples the peak RSS (VmHWM) of our recorder after 2.5 s of recording
with the HTTP backend ``openai`` selected (nothing is sent: the run is cancelled).

    uv run python bench/capture_latency.py [--repeat 10] [--out bench/results/50-capture.md] [--json PATH]
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "testing"))
from _common import RESULTS, Row, bench_parser, installed_python_env, machine, repeats, write_outputs  # noqa: E402
from vt_testing.pulse import start_pulse  # noqa: E402

BIN = Path(sys.executable).parent
BARE = """
import threading, time
import sounddevice as sd
got = threading.Event()
def callback(indata, frames, t, status):
    if not got.is_set():
        print(f"{time.time():.6f}", flush=True)
        got.set()
with sd.RawInputStream(samplerate=16000, channels=1, dtype="int16", callback=callback):
    got.wait(10)
"""


def bare_run(env: dict[str, str]) -> float:
    start = time.time()
    out = subprocess.run([sys.executable, "-c", BARE], env=env, capture_output=True, text=True, timeout=30).stdout
    return float(out.split()[0]) - start


def interpreter_run(env: dict[str, str]) -> float:
    """Seconds from Popen until ``python -c pass`` has exited."""
    start = time.time()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True, timeout=30)
    return time.time() - start


def ours_run(env: dict[str, str], record_for: float = 2.5) -> tuple[float, int]:
    """Seconds from Popen to our first frame, and the recorder's peak RSS in kB."""
    start = time.time()
    process = subprocess.Popen([str(BIN / "voice-transcriber"), "--debug", "--backend", "openai", "--output", "stdout"],
                               env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(record_for)
    status = Path(f"/proc/{process.pid}/status").read_text()
    peak_kb = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    process.send_signal(signal.SIGUSR2)
    _, err = process.communicate(timeout=30)
    found = re.search(r"info: first_frame_at = ([\d.]+)", err)
    if not found:
        raise SystemExit(f"no first frame reported:\n{err}")
    return float(found.group(1)) - start, peak_kb


def retried(run, env: dict[str, str], attempts: int = 3):
    """``run(env)``, again when a loaded machine kept the CLI from reaching the recording loop before
    the cancel (no first frame reported): a lost run is re-measured, not the whole benchmark lost."""
    for attempt in range(attempts):
        try:
            return run(env)
        except SystemExit as exc:
            if attempt == attempts - 1:
                raise
            print(f"retrying a run: {str(exc).splitlines()[0]}")


#: What the recorder has loaded, step by step; each step's peak RSS is measured in a fresh process.
IMPORT_STEPS = [
    ("Python", "pass"),
    ("+ sounddevice (PortAudio probes ALSA)", "import sounddevice"),
    ("+ the CLI (click, core)", "import voice_transcriber.cli"),
    ("+ the config (pydantic), validated", "from voice_transcriber.config import load_settings; load_settings(None)"),
    ("+ the plugins a dictation imports (the plugin index's run plugins, the openai backend)",
     "from voice_transcriber import plugin_index; from voice_transcriber.plugins import get_plugin_manager; "
     "from voice_transcriber.registry import collect; index = plugin_index.read(); "
     "collect(get_plugin_manager(index=index)).backends['openai'].cls"),
    ("+ httpx (the openai backend's prepare)", "import httpx"),
]


def import_breakdown(env: dict[str, str]) -> list[tuple[str, float]]:
    rows, code = [], ""
    for label, statement in IMPORT_STEPS:
        code += statement + "\n"
        # VmHWM, not ru_maxrss: Linux carries the parent's peak across fork+exec into ru_maxrss
        probe = code + "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
        rows.append((label, int(out.split()[-1]) / 1024))
    return rows


def rows(times: dict[str, list[float]], peaks: list[float]) -> list[Row]:
    ours = statistics.median(times["ours"])
    return [
        Row("process start → first captured frame: voice-transcriber ÷ bare sounddevice RawInputStream script",
            ours, statistics.median(times["bare"]), "s", "<= 1.10"),
        Row("cold start → microphone open (first frame): voice-transcriber ÷ `python -c pass`",
            ours, statistics.median(times["python"]), "s", None),
        # An absolute budget (issue 15: ≤ 60 MB), written as a ratio to it.
        Row("peak RSS while recording, HTTP (openai) backend ÷ the 60 MB budget", statistics.median(peaks), 60.0, "MB",
            "<= 1"),
    ]


def report(times: dict[str, list[float]], peak_mb: list[float], repeat: int,
           breakdown: list[tuple[str, float]], load: float) -> str:
    bare, ours, python = times["bare"], times["ours"], times["python"]
    b, o, p = statistics.median(bare), statistics.median(ours), statistics.median(python)
    steps = "\n".join(f"| {label} | {mb:.1f} MB |" for label, mb in breakdown)
    return f"""## Recording start-up and memory

`uv run python bench/capture_latency.py` — {machine()}. PulseAudio 16 `module-pipe-source` fed in real
time (10 ms every 10 ms), default ALSA→pulse device, 16 kHz mono int16. Median of {repeat} runs each,
alternating, after one warm-up round of each (two of ours: the first writes the plugin index, as the first
command after installing does). Every process runs with Python's bytecode cached, as on a user's machine
(a private `PYTHONPYCACHEPREFIX`, filled by the warm-up: this machine's environment sets
PYTHONDONTWRITEBYTECODE). Load average during the run: {load:.1f} (a busy machine slows both sides, not
always alike; the absolute times then grow well above the ~80 ms of an idle machine).

**Process start → first captured frame: `voice-transcriber` ÷ a bare script that imports sounddevice and opens the same device with a `RawInputStream` (goal ≤ 1.10)**

| | median | min | max |
|---|---|---|---|
| bare sounddevice script | {b * 1000:.0f} ms | {min(bare) * 1000:.0f} ms | {max(bare) * 1000:.0f} ms |
| `voice-transcriber --backend openai` | {o * 1000:.0f} ms | {min(ours) * 1000:.0f} ms | {max(ours) * 1000:.0f} ms |
| **ratio** | **{o / b:.2f}** | | |

**Cold start → microphone open: `voice-transcriber` ÷ `python -c pass` (Popen until it exits), same run**

| | median | min | max |
|---|---|---|---|
| `python -c pass` | {p * 1000:.0f} ms | {min(python) * 1000:.0f} ms | {max(python) * 1000:.0f} ms |
| **ratio** | **{o / p:.2f}** | | |

No goal is set for a cold start against the bare interpreter: importing sounddevice and starting
PortAudio is most of the gap (compare the bare sounddevice script). Issue 10's goal, ≤ 2, is for the
hotkey → microphone open path through the warm daemon.

The executable opens the microphone before it imports click, pydantic, the plugins or a model
(`voice_transcriber.__main__` → `capture.early`). What remains, ~10 ms: ~5 ms to import the
package's stdlib-only start-up modules and read the command line, and the CLI's imports, which
start as soon as the stream runs and compete with the audio thread for the CPU and the GIL
(audio is buffered from the moment the stream starts, so this delays the callback, not the audio).
Until the first block arrives the thread switch interval is 0.5 ms instead of 5 ms, so an import
does not keep PortAudio's callback waiting for the GIL; the first block restores it.

**Peak RSS after 2.5 s of recording, `openai` (HTTP) backend selected (goal ≤ 60 MB)**

median {statistics.median(peak_mb):.1f} MB, max {max(peak_mb):.1f} MB (VmHWM of the recorder process, once the
backend's `prepare()` has loaded httpx during the recording). The recorder keeps int16 bytes and
numpy (20 MB) is not loaded until the recording is over, and imports only the plugins a run uses
(the plugin index; issue 15): the ones observing every run and the selected backend — about 2 MB, where
all of them cost 4. The floor is in the table: Python with PortAudio probing ALSA (its plugins, on
this machine libavcodec's among them) is 35 MB before any code of ours — the bare script's own
footprint — and pydantic with the validated config (15 MB) and httpx with TLS (8 MB) are what an
HTTP dictation needs; the 60 MB budget leaves too little for both. Peak RSS of a fresh process
importing, cumulatively:

| loaded | peak RSS |
|---|---|
{steps}
"""


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "50-capture.md")
    parser.add_argument("--repeat", type=int, default=repeats(10, 3))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vt-bench-") as tmp:
        server = start_pulse(Path(tmp) / "pulse")
        try:
            env = installed_python_env({**os.environ, **server.pipe_source(), "XDG_STATE_HOME": f"{tmp}/state",
                                        "XDG_RUNTIME_DIR": f"{tmp}/run", "XDG_CONFIG_HOME": f"{tmp}/config",
                                        "XDG_CACHE_HOME": f"{tmp}/cache"}, Path(tmp) / "pycache")
            os.makedirs(f"{tmp}/run", mode=0o700)
            time.sleep(0.5)
            # warm-up: page cache, pulse, bytecode; the first run of ours writes the plugin index
            bare_run(env), interpreter_run(env), retried(ours_run, env), retried(ours_run, env)
            times: dict[str, list[float]] = {"bare": [], "python": [], "ours": []}
            peaks = []
            for _ in range(args.repeat):
                times["bare"].append(bare_run(env))
                times["python"].append(interpreter_run(env))
                seconds, peak_kb = retried(ours_run, env)
                times["ours"].append(seconds)
                peaks.append(peak_kb / 1024)
                print(f"bare {times['bare'][-1] * 1000:6.0f} ms   python -c pass {times['python'][-1] * 1000:5.0f} ms   "
                      f"ours {seconds * 1000:6.0f} ms   peak RSS {peaks[-1]:.1f} MB")
            breakdown = import_breakdown(env)
        finally:
            server.stop()
    text = report(times, peaks, args.repeat, breakdown, os.getloadavg()[1])
    write_outputs(args, "capture_latency", text, rows(times, peaks),
                  notes=f"peak RSS while recording {statistics.median(peaks):.1f} MB (goal ≤ 60 MB, an absolute budget)")


if __name__ == "__main__":
    main()
