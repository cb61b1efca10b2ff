"""What every bench script shares: the machine line, quick mode, and the output options.

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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
#: Set by ``run_all.py --quick``: scripts use their small repeat counts.
QUICK_ENV = "VT_BENCH_QUICK"


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

    def as_json(self) -> dict:
        return {"metric": self.metric, "ours": self.ours, "baseline": self.baseline, "unit": self.unit,
                "ratio": self.ours / self.baseline if self.baseline else None, "goal": self.goal}


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
