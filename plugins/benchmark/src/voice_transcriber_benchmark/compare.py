"""Scoring the results of one audio clip against each other and against a reference text."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from .measure import Result
from .scoring import WordDiff, similarity, word_errors

#: Version of the ``--json`` document; bumped when a field changes meaning or disappears.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Row:
    """A result with its scores."""

    result: Result
    #: Word error rate against the reference (None without a reference, or when the backend failed).
    wer: float | None = None
    #: Similarity in percent to the first backend that succeeded (100 for that one).
    similarity: float | None = None
    #: Where the text differs from the reference, else from the first successful backend.
    diff: tuple[WordDiff, ...] = ()


@dataclass
class Comparison:
    """Every backend's result on one clip, scored."""

    label: str
    audio_seconds: float
    runs: int
    reference: str | None
    rows: list[Row] = field(default_factory=list)
    #: ``(name, name, percent)`` for each pair of successful backends.
    pairs: list[tuple[str, str, float]] = field(default_factory=list)
    #: What the diffs are against: "reference", the first backend's name, or None (nothing to compare).
    diff_against: str | None = None

    @property
    def all_failed(self) -> bool:
        return not any(row.result.ok for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.label, "audio_seconds": round(self.audio_seconds, 3), "runs": self.runs,
            "reference": self.reference, "diff_against": self.diff_against,
            "results": [_row_dict(row, self.audio_seconds) for row in self.rows],
            "similarity": [{"a": a, "b": b, "percent": round(p, 1)} for a, b, p in self.pairs],
        }


def compare(label: str, audio_seconds: float, runs: int, results: list[Result], reference: str | None) -> Comparison:
    """Score ``results``: WER against ``reference``, similarity to the first success, pairwise similarity."""
    ok = [r for r in results if r.ok]
    baseline = ok[0] if ok else None
    against = reference if reference is not None else (baseline.text if baseline else None)
    comparison = Comparison(label, audio_seconds, runs, reference,
                            diff_against="reference" if reference is not None else (baseline.name if len(ok) > 1 else None))
    for result in results:
        if not result.ok or baseline is None:
            comparison.rows.append(Row(result))
            continue
        errors = word_errors(against, result.text) if against is not None else None
        comparison.rows.append(Row(result, wer=errors.wer if errors and reference is not None else None,
                                   similarity=similarity(baseline.text, result.text),
                                   diff=errors.diff if errors and comparison.diff_against else ()))
    comparison.pairs = [(a.name, b.name, similarity(a.text, b.text)) for a, b in combinations(ok, 2)]
    return comparison


def _row_dict(row: Row, audio_seconds: float) -> dict[str, Any]:
    result = row.result
    rtf = result.rtf(audio_seconds)
    return {
        "backend": result.backend, "model": result.model, "ok": result.ok, "error": result.error,
        "first_seconds": _round(result.first), "median_seconds": _round(result.median),
        "runs_seconds": [round(s, 4) for s in result.seconds] if result.ok else [],
        "rtf": _round(rtf, 6), "uploaded_bytes": result.uploaded_bytes,
        "text": result.text if result.ok else None,
        "wer": _round(row.wer), "similarity_percent": None if row.similarity is None else round(row.similarity, 1),
        "diff": [d.to_dict() for d in row.diff],
    }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
