"""Showing comparisons: a rich table (plain aligned text when not on a terminal), Markdown, JSON."""

from __future__ import annotations

import json
import os
import sys
from typing import IO, TYPE_CHECKING

from .compare import SCHEMA_VERSION, Comparison, Row

if TYPE_CHECKING:
    from rich.console import Console

HEADERS = ("backend", "model", "first", "median", "RTF", "upload", "WER", "similarity", "text")
DASH = "—"


def cells(row: Row, audio_seconds: float) -> dict[str, str]:
    """One row as text by header; a failed backend shows its error as its text."""
    result = row.result
    if not result.ok:
        return {**dict.fromkeys(HEADERS, DASH), "backend": result.backend, "model": result.model or DASH,
                "text": f"error: {result.error}"}
    return {"backend": result.backend, "model": result.model or DASH, "first": _seconds(result.first),
            "median": _seconds(result.median), "RTF": _number(result.rtf(audio_seconds)),
            "upload": _bytes(result.uploaded_bytes), "WER": _percent(None if row.wer is None else 100 * row.wer),
            "similarity": _percent(row.similarity), "text": result.text}


def columns(comparison: Comparison) -> list[str]:
    """The headers worth showing: upload when a backend uploaded, WER with a reference, similarity with two successes."""
    ok = [row.result for row in comparison.rows if row.result.ok]
    empty = {"upload": all(r.uploaded_bytes is None for r in ok), "WER": comparison.reference is None,
             "similarity": len(ok) < 2}
    return [header for header in HEADERS if not empty.get(header)]


def title(comparison: Comparison) -> str:
    runs = f"{comparison.runs} run{'s' if comparison.runs > 1 else ''} each"
    return f"{comparison.label} ({comparison.audio_seconds:.1f} s of audio, {runs})"


def diff_lines(comparison: Comparison) -> list[str]:
    """``name: [ref]→[hyp] · -[missing] · +[added]`` for each backend that differs."""
    lines = []
    for row in comparison.rows:
        if row.diff:
            lines.append(f"{row.result.name}: " + " · ".join(str(d) for d in row.diff))
        elif row.result.ok and comparison.diff_against and row.result.name != comparison.diff_against:
            lines.append(f"{row.result.name}: same words")
    return lines


def console(stderr: bool = False) -> Console:
    """A rich console; off a terminal (a pipe, a log) each row stays on one line instead of wrapping at 80."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() or os.environ.get("COLUMNS") else 250)


def print_table(comparisons: list[Comparison], console: Console) -> None:
    """The comparison for a person: one table per clip, then where the texts differ."""
    from rich import box
    from rich.table import Table

    for comparison in comparisons:
        table = Table(title=title(comparison), title_justify="left", box=box.SIMPLE_HEAD)
        shown = columns(comparison)
        for header in shown:
            table.add_column(header, justify="left" if header in ("backend", "model", "text") else "right",
                             no_wrap=header not in ("model", "text"), overflow="fold",
                             min_width=24 if header == "text" else None)
        for row in comparison.rows:
            values = cells(row, comparison.audio_seconds)
            table.add_row(*(values[h] for h in shown), style=None if row.result.ok else "red")
        console.print(table)
        lines = diff_lines(comparison)
        if lines:
            console.print(f"Word differences against {_against(comparison)}:", highlight=False)
            for line in lines:
                console.print("  " + line, highlight=False, markup=False)
        if len(comparison.pairs) > 1:
            console.print("Similarity: " + " · ".join(f"{a} ↔ {b} {p:.1f} %" for a, b, p in comparison.pairs),
                          highlight=False, markup=False)
    console.print(_LEGEND, highlight=False, style="dim")


def markdown(comparisons: list[Comparison]) -> str:
    """Markdown tables for BENCHMARKS.md or an issue, with the word differences below each."""
    parts = []
    for comparison in comparisons:
        shown = columns(comparison)
        lines = [f"**{_escape(title(comparison))}**", "", "| " + " | ".join(shown) + " |",
                 "|" + "|".join("---" if h in ("backend", "model", "text") else "---:" for h in shown) + "|"]
        for row in comparison.rows:
            values = cells(row, comparison.audio_seconds)
            lines.append("| " + " | ".join(_escape(values[h]) for h in shown) + " |")
        differences = diff_lines(comparison)
        if differences:
            lines += ["", f"Word differences against {_against(comparison)}:", ""]
            lines += [f"- {_escape(line)}" for line in differences]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n\n" + _LEGEND + "\n"


def write_json(comparisons: list[Comparison], out: IO[str]) -> None:
    document = {"schema": SCHEMA_VERSION, "normalisation": _NORMALISATION,
                "files": [c.to_dict() for c in comparisons]}
    out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


_NORMALISATION = "NFKC, case-folded, punctuation removed (apostrophes inside words kept), single spaces"
_LEGEND = ("first: first (cold) run · median: median of the later runs · RTF: median ÷ audio length · "
           "WER and similarity compare words after normalising case and punctuation")


def _against(comparison: Comparison) -> str:
    return "the reference" if comparison.diff_against == "reference" else str(comparison.diff_against)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _seconds(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f} s"


def _number(value: float | None) -> str:
    return DASH if value is None else f"{value:.3f}"


def _percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f} %"


def _bytes(value: int | None) -> str:
    if value is None:
        return DASH
    return f"{value / 1000:.1f} kB" if value >= 1000 else f"{value} B"

