"""The ``vocabulary`` formatter: near-miss spellings of your words become your spelling.

The word list is the top-level ``vocabulary`` config key, which backends may also pass to
the recogniser as prompt or hot words; this formatter catches what still comes out wrong:
"Kubernetis" → "Kubernetes", "github" → "GitHub", "Anais" → "Anaïs", "py torch" → "PyTorch".
Similarity is rapidfuzz's ratio (0–100) on lower-cased, accent-free, space-free text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cached_property

from pydantic import Field

from voice_transcriber import Check, ConfigModel, Formatter, Transcript, hookimpl

from ._text import Token, join_tokens, tokenize


class VocabularyConfig(ConfigModel):
    threshold: float = Field(85, ge=50, le=100, description="How similar (0-100) heard words must be to a vocabulary entry to be replaced by it.")
    min_length: int = Field(4, ge=1, description="Heard words shorter than this many letters are never corrected (too many near misses).")

#: Heard words more numerous than the entry's ("py torch" for "PyTorch") must match almost exactly.
SPLIT_WORD_SCORE = 95


def comparable(text: str) -> str:
    """Lower case, no accents, no spaces or hyphens: "Py-Torch" and "pytorch" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if ch.isalnum())


@dataclass(frozen=True)
class Vocabulary:
    terms: dict[str, str]  # comparable form → the user's spelling
    threshold: float
    min_length: int

    @classmethod
    def of(cls, words: list[str], threshold: float, min_length: int) -> Vocabulary:
        return cls({comparable(w): w.strip() for w in words if comparable(w)}, threshold, min_length)

    @cached_property
    def words_in(self) -> dict[str, int]:
        return {key: len(term.split()) for key, term in self.terms.items()}

    @cached_property
    def max_words(self) -> int:
        return max(self.words_in.values(), default=1) + 1

    def best_at(self, tokens: list[Token], start: int) -> tuple[float, str, int] | None:
        """The vocabulary entry the words from ``tokens[start]`` most likely are: (score, entry, words covered)."""
        from rapidfuzz import fuzz, process

        best: tuple[float, str, int] | None = None
        for length in range(1, self.max_words + 1):
            span = tokens[start:start + length]
            if len(span) < length or any(t.is_break or t.lead for t in span[1:]) or any(t.trail for t in span[:-1]):
                break
            heard = comparable("".join(t.word for t in span))
            if len(heard) < self.min_length:
                continue
            found = process.extractOne(heard, self.terms.keys(), scorer=fuzz.ratio, score_cutoff=self.threshold)
            if found and length > self.words_in[found[0]] and found[1] < SPLIT_WORD_SCORE:
                continue  # "Anna is" is not "Anaïs"; but "py torch" is "PyTorch"
            if found and (best is None or found[1] > best[0]):
                best = (found[1], self.terms[found[0]], length)
        return best


def correct(text: str, vocabulary: Vocabulary) -> str:
    if not vocabulary.terms:
        return text
    tokens = tokenize(text)
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        found = vocabulary.best_at(tokens, i) if tokens[i].word and not tokens[i].is_break else None
        if found is None:
            out.append(tokens[i])
            i += 1
            continue
        _, term, length = found
        out.append(Token(tokens[i].lead, term, tokens[i + length - 1].trail))
        i += length
    return join_tokens(out)


class VocabularyFormatter(Formatter):
    name = "vocabulary"
    description = "Correct near-miss spellings of your words (top-level `vocabulary` list) by fuzzy matching."
    config_section = "formatter.vocabulary"
    config_model = VocabularyConfig

    def checks(self) -> list[Check]:
        words = self.ctx.settings.vocabulary
        return [Check("vocabulary", bool(words), f"{len(words)} words" if words else "the word list is empty",
                      'add your words to the top-level "vocabulary" list, e.g. ["Kubernetes", "Anaïs"]')]

    def format(self, transcript: Transcript) -> str:
        words = self.ctx.settings.vocabulary
        return correct(transcript.text, Vocabulary.of(words, self.config.threshold, self.config.min_length))


@hookimpl
def vt_register_formatters(register) -> None:
    register(VocabularyFormatter)
