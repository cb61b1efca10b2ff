"""Start-up cost of the commands people run most, and the import structure that keeps it low.

Each command is run as a whole process, alternating with its baseline (A B, B A, …, one dropped
warm-up pair); the figure is the median of the per-pair ratios, so a machine whose speed drifts during the
run moves both sides of a pair together.

1. ``voice-transcriber --version`` ÷ ``python -c pass`` (goal ≤ 3);
2. ``voice-transcriber --help`` and ``voice-transcriber transcribe --help`` ÷ ``python -c pass`` (goal ≤ 10);
   a completion request (one TAB), ``completion bash`` and ``status --json`` ÷ ``python -c pass`` (no goal: they
   import no click);
3. import circles in core/ and plugins/ (``TYPE_CHECKING`` and function-level imports counted; goal 0).

    uv run python bench/startup.py [--pairs 15] [--out bench/results/30-startup.md] [--json PATH]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from _common import (RESULTS, ROOT, Row, alternated, bench_parser, installed_python_env, isolated_env, load_average,
                     machine, measure_process, repeats, write_outputs)

EXE = str(Path(sys.executable).with_name("voice-transcriber"))
TAB = {"_VOICE_TRANSCRIBER_COMPLETE": "bash_complete", "COMP_WORDS": "voice-transcriber transcribe --out",
       "COMP_CWORD": "2"}
COMMANDS = [  # label, argv, goal, extra environment
    ("`voice-transcriber --version`", [EXE, "--version"], "<= 3", {}),
    ("`voice-transcriber --help`", [EXE, "--help"], "<= 10", {}),
    ("`voice-transcriber transcribe --help`", [EXE, "transcribe", "--help"], "<= 10", {}),
    ("a completion request (bash, TAB after `transcribe --out`)", [EXE], None, TAB),
    ("`voice-transcriber completion bash`", [EXE, "completion", "bash"], None, {}),
    ("`voice-transcriber status --json` (a status bar's poll)", [EXE, "status", "--json"], None, {}),
]
BASELINE = [sys.executable, "-c", "pass"]


def paired(argv: list[str], baseline: list[str], pairs: int, env: dict[str, str],
           extra: dict[str, str]) -> tuple[list[float], list[float]]:
    """``pairs`` alternated rounds of each (after a dropped warm-up round: cold page cache): wall seconds."""
    walls = alternated({"ours": lambda: measure_process(argv, {**env, **extra}).wall,
                        "bare": lambda: measure_process(baseline, env).wall}, pairs, warmup=1)
    return walls["ours"], walls["bare"]


def count_circles() -> tuple[int, list[str]]:
    sys.path.insert(0, str(ROOT / "core" / "tests"))
    from test_import_layers import circles, graph, packages

    found = []
    for root, package in packages():
        found += [", ".join(circle) for circle in circles(graph(root, package))]
    return len(found), found


def main() -> None:
    parser = bench_parser(__doc__, RESULTS / "30-startup.md")
    parser.add_argument("--pairs", type=int, default=repeats(15, 10))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vt-bench-startup-"))
    env = isolated_env(work)
    cached = installed_python_env(env, work / "pycache")
    load_start = load_average()
    measure_process([EXE, "config", "path"], cached)  # writes the plugin index, as the first command after installing
    measured = [(label, goal, *paired(argv, BASELINE, args.pairs, cached, extra))
                for label, argv, goal, extra in COMMANDS]
    # The same without bytecode (as this machine's environment runs Python): no goal, for comparison.
    measured += [(f"{label}, no bytecode cache", None, *paired(argv, BASELINE, args.pairs, env, extra))
                 for label, argv, goal, extra in COMMANDS[:2]]
    circles, names = count_circles()
    rows, table = [], []
    for label, goal, ours, bare in measured:
        ratios = [o / b for o, b in zip(ours, bare)]
        ratio = statistics.median(ratios)
        rows.append(Row(f"{label} ÷ `python -c pass` (median of {len(ratios)} paired ratios)",
                        ratio * statistics.median(bare), statistics.median(bare), goal=goal))
        table.append(f"| {label} | {statistics.median(ours) * 1000:.1f} ms | {statistics.median(bare) * 1000:.1f} ms | "
                     f"**{ratio:.2f}** | {min(ratios):.2f}–{max(ratios):.2f} | {(goal or '—').replace('<=', '≤')} |")
    # An absolute count: "ours" is the number of circles, measured against a budget of one, goal: none.
    rows.append(Row("import circles in core/ and plugins/ (TYPE_CHECKING and function-level imports counted) "
                    "÷ 1", float(circles), 1.0, unit="circles", goal="<= 0"))
    markdown = "\n".join([
        "## Start-up", "",
        f"`uv run python bench/startup.py --pairs {args.pairs}` — {machine()}. Each command alternates with "
        f"`python -c pass` ({args.pairs} pairs after a dropped warm-up pair); the ratio is the median of the "
        f"per-pair ratios. Load average {load_start} at the start, {load_average()} at the end: other jobs "
        "shared the machine.", "",
        "Both sides run with Python's bytecode cached, as on a user's machine (pip compiles it at install, Python "
        "writes it on a tool's first run; this machine's environment sets PYTHONDONTWRITEBYTECODE, so the bench "
        "gives the timed processes a private PYTHONPYCACHEPREFIX, filled by the warm-up pair); the last rows are "
        "the same commands compiling every module at each start. One `config path` first writes the plugin "
        "index, as the first command after installing does.", "",
        "| command | ours (median) | `python -c pass` (median) | ratio (median of pairs) | pair ratios min–max | goal |",
        "|---|---|---|---|---|---|", *table, "",
        f"Import circles in core/ and plugins/ (every import counted, `TYPE_CHECKING` and inside functions too): "
        f"**{circles}** (goal 0){': ' + '; '.join(names) if names else ''}. The layers are in docs/architecture.md; "
        "core/tests/test_import_layers.py keeps them.",
    ]) + "\n"
    write_outputs(args, "startup", markdown, rows)


if __name__ == "__main__":
    main()
