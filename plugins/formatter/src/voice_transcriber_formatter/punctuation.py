"""The ``punctuation`` formatter: spoken punctuation commands become symbols.

"Hello comma how are you question mark" → "Hello, how are you?"; "virgule", "point
d'interrogation", "à la ligne" in French. A command word stays a word when the context
says it is one: glued to another word ("a comma-separated list"), after a determiner
("the period", "un point"), before "of"/"de" ("period of time", "point de vue"), or as
the first word of the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pydantic import Field

from voice_transcriber import ConfigModel, Formatter, Transcript, hookimpl

from ._text import (
    PAUSE_PUNCTUATION,
    Piece,
    Token,
    WordContext,
    capitalize_sentences,
    index_phrases,
    join,
    language_data,
    language_of,
    phrase_at,
    phrases,
    tokenize,
)

FRENCH_SPACES = {"narrow": "\u202f", "nbsp": "\u00a0", "space": " ", "none": ""}


class PunctuationConfig(ConfigModel):
    capitalize: bool = Field(True, description="Upper-case the first letter of the text, of each line and of each sentence.")
    french_spacing: Literal["narrow", "nbsp", "space", "none"] = Field(
        "narrow", description='French only: space before ; : ! ? and inside « »: "narrow" (U+202F), "nbsp" (U+00A0), "space" or "none".')


@dataclass(frozen=True)
class SpokenSymbol:
    """One punctuation command: the symbol and how it attaches ("close" to the word before,
    "open" to the word after, "break" to neither and without spaces)."""

    symbol: str
    kind: Literal["close", "open", "break"]

    def piece(self) -> Piece:
        return Piece(self.symbol, glue_left=self.kind != "open", glue_right=self.kind != "close")


class Rules:
    """The punctuation commands and context words of one language."""

    def __init__(self, language: str, french_space: str) -> None:
        data = language_data("punctuation", language)
        self.symbols: dict[tuple[str, ...], SpokenSymbol] = {}
        for entry in data["punctuation"]:
            symbol = entry["symbol"]
            if entry.get("spaced") and language == "fr":
                symbol = french_space + symbol if entry["kind"] == "close" else symbol + french_space
            for phrase in phrases(entry["say"]):
                self.symbols[phrase] = SpokenSymbol(symbol, entry["kind"])
        self.phrases = index_phrases(self.symbols)
        self.context = WordContext(data)
        self.abbreviations = frozenset(data["abbreviations"])

    def phrase_at(self, tokens: list[Token], i: int) -> tuple[tuple[str, ...], bool] | None:
        """The command phrase spoken at ``tokens[i]`` and whether it is meant as a command
        (False when the context makes its words real words), or None."""
        phrase = phrase_at(tokens, i, self.phrases)
        if phrase is None:
            return None
        if i == 0 and self.symbols[phrase].kind == "close":
            return phrase, False  # "Colon cancer is …": nothing to attach to, so a real word
        return phrase, not self.context.is_real_word(tokens, i, i + len(phrase))


@lru_cache(maxsize=8)
def rules_for(language: str, french_space: str) -> Rules:
    return Rules(language, french_space)


def punctuate(text: str, rules: Rules) -> str:
    """Replace every spoken command in ``text`` by its symbol."""
    tokens = tokenize(text)
    pieces: list[Piece] = []
    i = 0
    while i < len(tokens):
        found = rules.phrase_at(tokens, i)
        length = len(found[0]) if found else 1
        if found and found[1]:
            spoken = rules.symbols[found[0]]
            if spoken.kind == "close":
                _drop_pause_punctuation(pieces)
            pieces.append(spoken.piece())
        else:
            pieces.extend(Piece(t.text, glue_left=t.is_break, glue_right=t.is_break) for t in tokens[i:i + length])
        i += length
    return join(pieces)


def _drop_pause_punctuation(pieces: list[Piece]) -> None:
    """Whisper often writes its own punctuation for the pause before a command ("you? Question mark.")."""
    if pieces and not pieces[-1].glue_right:
        stripped = pieces[-1].text.rstrip(PAUSE_PUNCTUATION + "\u00a0\u202f")
        if stripped:
            pieces[-1].text = stripped
        else:
            pieces.pop()  # a lone "?" token, as French Whisper output has ("ça va ?")


class PunctuationFormatter(Formatter):
    name = "punctuation"
    description = "Spoken punctuation ('comma', 'question mark', 'new line'; 'virgule', 'à la ligne') to symbols, capitals after sentence ends."
    config_section = "formatter.punctuation"
    config_model = PunctuationConfig

    def format(self, transcript: Transcript) -> str:
        rules = rules_for(language_of(transcript, self.ctx), FRENCH_SPACES[self.config.french_spacing])
        text = punctuate(transcript.text, rules)
        if self.config.capitalize:
            text = capitalize_sentences(text, rules.abbreviations)
        return text


@hookimpl
def vt_register_formatters(register) -> None:
    register(PunctuationFormatter)
