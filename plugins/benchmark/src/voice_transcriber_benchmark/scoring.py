"""Comparing transcripts: the normalisation every score uses, word error rate with a word-level
diff (jiwer), and character similarity (normalised Levenshtein, rapidfuzz).

Scores compare *words*, not typography: "Ask not," and "ask not" are the same answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Typographic apostrophes count as the ASCII one ("don’t" = "don't").
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def normalise(text: str) -> str:
    """What the scores compare: Unicode NFKC, case-folded, punctuation replaced by spaces
    (an apostrophe inside a word is kept: "don't"), one space between words."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    text = re.sub(r"[^\w\s']", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)  # quotes, not apostrophes
    return " ".join(text.split())


@dataclass(frozen=True)
class WordDiff:
    """One place where a hypothesis disagrees with the text it is compared to."""

    op: str  # "substitute", "delete" (words the hypothesis lacks) or "insert" (words it adds)
    ref: str
    hyp: str

    def __str__(self) -> str:
        if self.op == "delete":
            return f"-[{self.ref}]"
        if self.op == "insert":
            return f"+[{self.hyp}]"
        return f"[{self.ref}]→[{self.hyp}]"

    def to_dict(self) -> dict[str, str]:
        return {"op": self.op, "ref": self.ref, "hyp": self.hyp}


@dataclass(frozen=True)
class WordErrors:
    """Word error rate of a hypothesis (None when the reference has no words) and where it differs."""

    wer: float | None
    diff: tuple[WordDiff, ...]


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """(substitutions + deletions + insertions) ÷ reference words, after :func:`normalise`."""
    import jiwer

    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:  # WER is undefined without reference words; every hypothesis word is an insertion
        return WordErrors(None, (WordDiff("insert", "", hyp),) if hyp else ())
    output = jiwer.process_words(ref, hyp)
    ref_words, hyp_words = output.references[0], output.hypotheses[0]
    diff = tuple(WordDiff(chunk.type, " ".join(ref_words[chunk.ref_start_idx:chunk.ref_end_idx]),
                          " ".join(hyp_words[chunk.hyp_start_idx:chunk.hyp_end_idx]))
                 for chunk in output.alignments[0] if chunk.type != "equal")
    return WordErrors(float(output.wer), diff)


def similarity(a: str, b: str) -> float:
    """Character similarity in percent: 100 × (1 − Levenshtein distance ÷ longer length), after :func:`normalise`."""
    from rapidfuzz.distance import Levenshtein

    return 100.0 * Levenshtein.normalized_similarity(normalise(a), normalise(b))
