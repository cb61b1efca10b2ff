"""What every bench script shares: the machine line, quick mode, the options and outputs, an
isolated environment, whole-process measurements and alternated (paired) runs.

Each script writes its Markdown section (``--out``, default ``bench/results/NN-topic.md``) and,
with ``--json PATH``, the rows ``bench/run_all.py`` collects into the summary table::

    {"script": "<name>", "rows": [{"metric": ..., "ours": ..., "baseline": ..., "unit": "s",
                                    "ratio": ours / baseline, "goal": "<= 1.05" or null}], "notes": ...}

A leading underscore keeps this module out of run_all.py's discovery.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
#: Set by ``run_all.py --quick``: scripts use their small repeat counts.
QUICK_ENV = "VT_BENCH_QUICK"


def installed_python_env(env: dict[str, str], cache: Path) -> dict[str, str]:
    """``env`` for the processes a benchmark times, with Python's bytecode cached as on a user's machine.

    pip compiles bytecode when it installs, and Python writes it on the first run of a uv- or
    pipx-installed tool, so every later start loads ``.pyc`` files. This machine's environment sets
    ``PYTHONDONTWRITEBYTECODE`` and the workspace's packages hold no ``.pyc``: every start would compile
    every module it imports, ours and the baselines' alike. The timed processes (ours and the baselines)
    therefore write and read bytecode under ``cache`` (``PYTHONPYCACHEPREFIX``), filled by the warm-up
    runs, and nothing is written into the environment."""
    out = {**env, "PYTHONPYCACHEPREFIX": str(cache)}
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    return out


def decode_as_the_executable() -> None:
    """numpy's BLAS with one thread in this process, as the `voice-transcriber` executable has it (and so the
    live recorder and `retry`): Whisper's features computed with two threads differ in their last bits
    (jfk.flac's, bitwise), and so can a decode. For scripts that transcribe in their own process (batch,
    replays), whose texts must be the product's; called before numpy loads. Not set for the whole bench: a
    baseline command timed against ours keeps its own environment."""
    from voice_transcriber.__main__ import BLAS_THREADS

    os.environ.setdefault(*BLAS_THREADS)


def quick() -> bool:
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


def repeats(full: int, fast: int) -> int:
    """The default repeat count: ``fast`` under ``run_all.py --quick``, else ``full``."""
    return fast if quick() else full


def cpu_model() -> str:
    found = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    return found.group(1).strip() if found else platform.processor() or "unknown CPU"


def ram_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def machine() -> str:
    """``2 vCPUs (AMD EPYC), 24 GiB RAM, Python 3.11.7``: what each section's first line names."""
    return f"{os.cpu_count()} vCPUs ({cpu_model()}), {ram_gib():.0f} GiB RAM, Python {platform.python_version()}"


def load_average(values: tuple[float, ...] | None = None) -> str:
    """``1.2, 3.4, 5.6``: the 1, 5 and 15 minute load averages, now unless ``values`` are given."""
    return ", ".join(f"{value:.1f}" for value in values or os.getloadavg())


@dataclass(frozen=True)
class Row:
    """One compared measurement: ours ÷ a baseline measured in the same run."""

    metric: str
    ours: float
    baseline: float
    unit: str = "s"
    goal: str | None = None
    #: The median of the ratios of paired runs, when the runs were paired (else ours ÷ baseline).
    paired_ratio: float | None = None

    def as_json(self) -> dict:
        ratio = self.paired_ratio if self.paired_ratio is not None else self.ours / self.baseline if self.baseline else None
        return {"metric": self.metric, "ours": self.ours, "baseline": self.baseline, "unit": self.unit,
                "ratio": ratio, "goal": self.goal}


def bench_parser(doc: str, markdown: Path) -> argparse.ArgumentParser:
    """The script's parser: its docstring's first line as description, ``--out`` and ``--json``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    add_output_options(parser, markdown)
    return parser


def add_output_options(parser: argparse.ArgumentParser, markdown: Path) -> None:
    parser.add_argument("--out", type=Path, default=markdown,
                        help=f"Markdown section to write (default: {markdown.relative_to(ROOT)})")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the compared rows as JSON (run_all.py)")


def write_outputs(args: argparse.Namespace, script: str, markdown: str, rows: list[Row], notes: str = "") -> None:
    """Print and store the Markdown section; with ``--json``, the rows too."""
    print(markdown)
    args.out.write_text(markdown, encoding="utf-8")
    if args.json:
        payload = {"script": script, "rows": [row.as_json() for row in rows], "notes": notes}
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def isolated_env(folder: Path | str, **extra: str) -> dict[str, str]:
    """This environment with every XDG directory (runtime included) under ``folder``, no model hub,
    and none of the caller's ``VOICE_TRANSCRIBER_*`` settings; ``extra`` on top."""
    folder = Path(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_TRANSCRIBER_")}
    env.update({f"XDG_{name}_HOME": str(folder / name.lower()) for name in ("CONFIG", "STATE", "CACHE", "DATA")})
    env.update(XDG_RUNTIME_DIR=str(folder), HF_HUB_OFFLINE="1", **extra)
    return env


class Measured(NamedTuple):
    """One finished process: wall seconds, peak RSS in MB (``wait4`` ru_maxrss), stdout, stderr,
    CPU seconds (user + system) and exit code."""

    wall: float
    peak_mb: float
    out: str
    err: str
    cpu: float
    code: int


def measure_process(cmd: Sequence[str], env: Mapping[str, str] | None = None, *, check: bool = True,
                    cwd: Path | None = None) -> Measured:
    """Run ``cmd`` to its end as a fresh process (``env``: the whole environment; default this one).
    With ``check``, a failing command ends the benchmark with its stderr.

    Linux carries the parent's peak RSS across fork and exec into the child's ru_maxrss: measure
    from a small process (import nothing large before), or the figure is the parent's peak."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:  # no pipe to fill up
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=dict(env if env is not None else os.environ), cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        text, errors = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if check and code:
        raise SystemExit(f"failed (exit {code}): {' '.join(cmd)}\n{errors[-2000:]}")
    return Measured(wall, usage.ru_maxrss / 1024, text, errors, usage.ru_utime + usage.ru_stime, code)


def alternated(sides: Mapping[str, Callable[[], T]], rounds: int, *, warmup: int = 0) -> dict[str, list[T]]:
    """Each side once per round, in turn (A B, B A, … : which goes first alternates, so neither
    always meets the machine first); the first ``warmup`` rounds are dropped."""
    names = list(sides)
    results: dict[str, list[T]] = {name: [] for name in names}
    for round_ in range(warmup + rounds):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            value = sides[name]()
            if round_ >= warmup:
                results[name].append(value)
    return results


#: The floor of a recorder's first sample: sounddevice and a raw stream on the default device, until its first
#: block, printed as ``info: first_frame_at = <time.time()>`` (as the recorder's ``--debug`` prints it).
BARE_FIRST_SAMPLE = """
import threading, time
import sounddevice as sd
got = threading.Event()
def callback(indata, frames, t, status):
    if not got.is_set():
        print(f"info: first_frame_at = {time.time():.6f}", flush=True)
        got.set()
with sd.RawInputStream(samplerate=16000, channels=1, dtype="int16", callback=callback):
    got.wait(30)
"""
