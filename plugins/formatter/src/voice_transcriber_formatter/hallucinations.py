"""The ``hallucinations`` formatter: drops phrases Whisper invents on silence or noise.

"Thank you.", "Thanks for watching!", "Sous-titres réalisés par la communauté d'Amara.org",
a lone "you" … A phrase is dropped only when it is the whole transcript (every sentence
of it is such a phrase) or, for phrases no one dictates ("Please subscribe"), when it
trails the real text. "Thank you." at the end of a real dictation stays.
"""

from __future__ import annotations

import re

from pydantic import Field

from voice_transcriber import ConfigModel, Formatter, Transcript, hookimpl

from ._text import EDGE_PUNCTUATION, data_file, fold

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…♪])\s+")


class HallucinationsConfig(ConfigModel):
    use_defaults: bool = Field(True, description="Use the built-in English and French lists (Thank you., Thanks for watching!, Sous-titres …).")
    whole: list[str] = Field(default_factory=list, description="More phrases dropped when they are the whole transcript.")
    trailing: list[str] = Field(default_factory=list, description="More phrases dropped also when they end a longer transcript.")


def normalize(phrase: str) -> str:
    """Comparison form: lower case, plain apostrophes, single spaces, no edge punctuation."""
    return " ".join(fold(phrase).split()).strip(EDGE_PUNCTUATION + " ")


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_SPLIT.split(text.strip()) if s]


def drop_hallucinations(text: str, whole: frozenset[str], trailing: frozenset[str]) -> tuple[str, list[str]]:
    """The text without invented phrases, and the phrases dropped."""
    sentences = split_sentences(text)
    if all(normalize(s) in whole | trailing for s in sentences):
        return "", sentences
    dropped: list[str] = []
    while sentences and normalize(sentences[-1]) in trailing:
        dropped.insert(0, sentences.pop())
    kept = text.rstrip()
    for sentence in reversed(dropped):  # cut, rather than re-join, to keep the text's own line breaks
        kept = kept[:kept.rfind(sentence)].rstrip()
    return (kept, dropped) if dropped else (text, [])


class HallucinationsFormatter(Formatter):
    name = "hallucinations"
    description = "Drop phrases Whisper invents on silence ('Thank you.', 'Sous-titres réalisés par …') when they are all there is, or trail the text."
    config_section = "formatter.hallucinations"
    config_model = HallucinationsConfig

    def format(self, transcript: Transcript) -> str:
        defaults = data_file("hallucinations") if self.config.use_defaults else {"whole": [], "trailing": []}
        whole = frozenset(normalize(p) for p in [*defaults["whole"], *self.config.whole])
        trailing = frozenset(normalize(p) for p in [*defaults["trailing"], *self.config.trailing])
        text, dropped = drop_hallucinations(transcript.text, whole, trailing)
        if dropped:
            report = self.ctx.warn if not text else self.ctx.log
            report(f"hallucinations: dropped {' '.join(dropped)!r}, a phrase speech recognition invents on silence "
                   "(edit formatter.hallucinations, or leave it out of formatter.chain, to keep it)")
        return text


@hookimpl
def vt_register_formatters(register) -> None:
    register(HallucinationsFormatter)
