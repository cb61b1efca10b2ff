"""Shared text helpers for the rule formatters: language data, word tokens, joining, capitals.

Rule formatters work on whitespace-separated tokens rather than on raw regexes, because
Whisper glues punctuation to words ("Hello," "mark?") and the formatters must see the
word itself to decide whether it is a spoken command or a real word.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from collections.abc import Iterable, Mapping
from typing import Any

from voice_transcriber import FormatterError, RunContext, Transcript

#: Punctuation that may stick to either end of a word in a transcript.
EDGE_PUNCTUATION = ".,;:!?…\"'«»“”‘’()[]\u00a0\u202f"
#: Punctuation Whisper adds after a word for a pause or sentence end.
PAUSE_PUNCTUATION = ".,;:!?…"
SUPPORTED_LANGUAGES = ("en", "fr")


def language_of(transcript: Transcript, ctx: RunContext) -> str:
    """The transcript's language (backend's detection, else config), as a two-letter code; English if unknown."""
    code = transcript.language or ctx.settings.language
    return code.strip().lower()[:2] if code else "en"


@lru_cache(maxsize=None)
def data_file(name: str) -> dict[str, Any]:
    """A JSON file of ``voice_transcriber_formatter/data``."""
    text = resources.files(__package__).joinpath("data", f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


def language_data(formatter: str, code: str) -> dict[str, Any]:
    """The word lists of language ``code``; FormatterError (text kept) for a language without rules."""
    if code not in SUPPORTED_LANGUAGES:
        raise FormatterError(f"{formatter}: no rules for language '{code}' (available: {', '.join(SUPPORTED_LANGUAGES)}); "
                             "remove it from formatter.chain for this language")
    return data_file(code)


def fold(word: str) -> str:
    """Comparison form of a word: lower case, typographic apostrophes made plain."""
    return word.lower().replace("’", "'")


@dataclass(frozen=True)
class Token:
    """One whitespace-separated piece of text, split into leading punctuation, the word, trailing punctuation.

    A line break is a token of its own with ``word == "\\n"``.
    """

    lead: str
    word: str
    trail: str

    @classmethod
    def parse(cls, raw: str) -> Token:
        if raw == "\n":
            return cls("", "\n", "")
        core = raw.strip(EDGE_PUNCTUATION)
        if not core:
            return cls("", "", raw)
        start = raw.index(core)
        return cls(raw[:start], core, raw[start + len(core):])

    @property
    def text(self) -> str:
        return self.lead + self.word + self.trail

    @property
    def key(self) -> str:
        return fold(self.word)

    @property
    def is_break(self) -> bool:
        return self.word == "\n"


def tokenize(text: str) -> list[Token]:
    """Words (with their punctuation) and line breaks, in order."""
    return [Token.parse(raw) for raw in re.findall(r"\n|[^\s]+", text)]


@dataclass
class Piece:
    """A piece of output text and whether it sticks to its neighbours (no space in between)."""

    text: str
    glue_left: bool = False
    glue_right: bool = False


def join(pieces: list[Piece]) -> str:
    """Join pieces with single spaces, except where a piece glues to its neighbour."""
    out: list[str] = []
    previous: Piece | None = None
    for piece in pieces:
        if previous is not None and not (previous.glue_right or piece.glue_left):
            out.append(" ")
        out.append(piece.text)
        previous = piece
    return "".join(out)


def join_tokens(tokens: list[Token]) -> str:
    return join([Piece(t.text, glue_left=t.is_break, glue_right=t.is_break) for t in tokens])


def phrase_at(tokens: list[Token], start: int, index: Mapping[str, list[tuple[str, ...]]]) -> tuple[str, ...] | None:
    """The first phrase of ``index`` (see :func:`index_phrases`) spoken at ``tokens[start]``.

    Only the last word may carry trailing punctuation and none may carry leading
    punctuation, so "comma-separated" or "(comma" never match "comma".
    """
    for phrase in index.get(tokens[start].key, ()):
        words = tokens[start:start + len(phrase)]
        if len(words) < len(phrase) or any(t.lead for t in words):
            continue
        if any(t.trail for t in words[:-1]) or words[-1].trail.strip(PAUSE_PUNCTUATION):
            continue
        if tuple(t.key for t in words) == phrase:
            return phrase
    return None


def index_phrases(phrases: Iterable[tuple[str, ...]]) -> dict[str, list[tuple[str, ...]]]:
    """Phrases by first word, longest first so "point virgule" wins over "point"."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for phrase in sorted(phrases, key=len, reverse=True):
        index.setdefault(phrase[0], []).append(phrase)
    return index


def phrases(spoken: list[str]) -> list[tuple[str, ...]]:
    """Spoken forms as folded word tuples."""
    return [tuple(fold(s).split()) for s in spoken]


_SENTENCE_START = re.compile(r"(?P<end>^|(?<!\.)[.!?]+[\"'»”)]*[ \t\u00a0\u202f]+|\n[ \t]*)(?P<open>[\"'«“(\u00a0\u202f ]*)(?P<letter>\w)")


def capitalize_sentences(text: str, abbreviations: frozenset[str] = frozenset()) -> str:
    """Upper-case the first letter of the text, of each line and after ``. ? !``.

    An ellipsis ("...") and a known abbreviation ("e.g.", "M.") are not sentence ends.
    """

    def upper(m: re.Match[str]) -> str:
        end = m.group("end")
        if ".." in end:
            return m.group(0)
        if end.startswith("."):
            before = text[:m.start()].split()
            if before and fold(before[-1]).strip(EDGE_PUNCTUATION) in abbreviations:
                return m.group(0)
        return end + m.group("open") + m.group("letter").upper()

    return _SENTENCE_START.sub(upper, text)


class WordContext:
    """The words around a command phrase that make it a real word instead.

    After a determiner or a word that names it ("the period", "a comma", "the word comma",
    "un point"), after an adjective that goes with that noun ("a long period": ``realWordAfterFor``),
    or before "of"/"de" ("period of time", "point de vue") — unless those start a set phrase
    that follows a spoken mark ("comma of course", "virgule du moins": ``notRealWordBefore``).
    A phrase that itself starts with such a word ("à la ligne") is not a noun, so the word
    before it does not matter.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.after = frozenset(fold(w) for w in data["realWordAfter"])
        self.after_for = {fold(noun): frozenset(fold(w) for w in words)
                          for noun, words in data.get("realWordAfterFor", {}).items()}
        self.before = frozenset(fold(w) for w in data["realWordBefore"])
        self.set_phrases = [tuple(fold(w) for w in phrase.split()) for phrase in data.get("notRealWordBefore", [])]

    def is_real_word(self, tokens: list[Token], start: int, end: int) -> bool:
        previous = tokens[start - 1] if start else None
        if previous is not None and not previous.trail and tokens[start].key not in self.after:
            said = " ".join(token.key for token in tokens[start:end])
            if previous.key in self.after or previous.key in self.after_for.get(said, ()):
                return True
        following = tokens[end] if end < len(tokens) else None
        if following is None or tokens[end - 1].trail or not self._binds(following):
            return False
        return not any(tuple(t.key for t in tokens[end:end + len(p)]) == p for p in self.set_phrases)

    def _binds(self, token: Token) -> bool:
        return token.key in self.before or any(token.key.startswith(w) for w in self.before if w.endswith("'"))
