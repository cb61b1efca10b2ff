"""The ``fillers`` formatter: removes hesitations (um, uh, erm; euh, bah) and stutters ("I I think").

Fillers are whole words only ("umbrella", "Uhm-hum" stay), spelled with any number of
repeated letters ("ummm"). A repeated word is a stutter unless the language lists it as a
word people really repeat ("that that", "nous nous", "very very").
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import Field

from voice_transcriber import ConfigModel, Formatter, Transcript, hookimpl

from ._text import Token, fold, join_tokens, language_data, language_of, tokenize

SENTENCE_END = ".!?"


class FillersConfig(ConfigModel):
    extra_words: list[str] = Field(default_factory=list, description='More single words removed as fillers, in any language, e.g. ["hum", "hein"].')
    stutters: bool = Field(True, description='Also remove stutters: repeated words ("I I think") and cut-off starts ("th- the").')


class FillerRules:
    def __init__(self, language: str, extra_words: tuple[str, ...]) -> None:
        data = language_data("fillers", language)
        patterns = [*data["fillers"], *(re.escape(fold(w)) for w in extra_words)]
        self.filler = re.compile("|".join(f"(?:{p})" for p in patterns))
        self.repeatable = frozenset(fold(w) for w in data["repeatable"])

    def is_filler(self, token: Token) -> bool:
        return not token.lead and bool(self.filler.fullmatch(token.key))

    def is_stutter(self, previous: Token, token: Token) -> bool:
        """``previous`` is a stutter of ``token``: the same word again, or its cut-off start ("th-")."""
        if previous.is_break or previous.trail not in ("", ",", "-") or not previous.word:
            return False
        if previous.trail == "-" or previous.word.endswith("-"):
            start = previous.key.rstrip("-")
            return bool(start) and token.key.startswith(start) and token.key != start
        return previous.key == token.key and previous.key not in self.repeatable


@lru_cache(maxsize=8)
def rules_for(language: str, extra_words: tuple[str, ...]) -> FillerRules:
    return FillerRules(language, extra_words)


def remove_fillers(text: str, rules: FillerRules, stutters: bool = True) -> str:
    kept: list[Token] = []
    capitalize_next = False
    for token in tokenize(text):
        if rules.is_filler(token):
            capitalize_next = capitalize_next or (_sentence_start(kept) and token.word[:1].isupper())
            _close_gap(token, kept)
            continue
        while stutters and kept and rules.is_stutter(kept[-1], token):
            capitalize_next = capitalize_next or kept[-1].word[:1].isupper()
            kept.pop()
        if capitalize_next and token.word:
            token = Token(token.lead, token.word[0].upper() + token.word[1:], token.trail)
            capitalize_next = False
        kept.append(token)
    return join_tokens(kept)


def _sentence_start(kept: list[Token]) -> bool:
    return not kept or kept[-1].is_break or kept[-1].trail[-1:] in tuple(SENTENCE_END)


def _close_gap(filler: Token, kept: list[Token]) -> None:
    """Fix the punctuation Whisper wrote around a removed filler.

    "and then uh." → "and then." (the sentence end moves to the word before);
    "to the, uh, store" → "to the store" (the pair of commas marked the hesitation).
    """
    if not kept or kept[-1].is_break:
        return
    last = kept[-1]
    end = filler.trail.lstrip(",;:")
    if end[:1] in tuple(SENTENCE_END):
        kept[-1] = Token(last.lead, last.word, last.trail.rstrip(",;:") + end)
    elif filler.trail.startswith(",") and last.trail == ",":
        kept[-1] = Token(last.lead, last.word, "")


class FillersFormatter(Formatter):
    name = "fillers"
    description = "Remove hesitations (um, uh, erm; euh, bah) and stutters, without touching real words."
    config_section = "formatter.fillers"
    config_model = FillersConfig

    def format(self, transcript: Transcript) -> str:
        rules = rules_for(language_of(transcript, self.ctx), tuple(self.config.extra_words))
        return remove_fillers(transcript.text, rules, self.config.stutters)


@hookimpl
def vt_register_formatters(register) -> None:
    register(FillersFormatter)
