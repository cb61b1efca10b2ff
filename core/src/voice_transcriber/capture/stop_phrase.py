"""The stop phrase of a ``--continuous`` session: heard at an utterance's end, taken off, and the session ends.

Words are compared as people say them and as Whisper hears them: without case or punctuation, a filler
between the phrase's words, a long word one letter off, the first letter clipped by the utterance's cut.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..context import Formatter

if TYPE_CHECKING:
    from ..context import RunContext
    from ..types import Transcript

#: A word: letters and digits, with apostrophes inside ("don't").
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
#: What may separate the words before the stop phrase from it (dropped with the phrase).
SEPARATORS = " \t\n,;:-–—"
#: Words that may stand between the stop phrase's words ("stop the dictation").
FILLERS = frozenset({"the", "a", "an", "uh", "um", "er", "please"})



def split_stop_phrase(text: str, phrase: str | None) -> tuple[str, bool]:
    """``(text before the phrase, True)`` when ``text`` ends with ``phrase``, else ``(text, False)``.

    Words are compared without case, punctuation or spacing: "Stop dictation." and
    "stop, dictation!" both end with the phrase "stop dictation". Between the phrase's words a
    filler (:data:`FILLERS`) may stand, as people say it and as Whisper hears it: "Stop the
    dictation." ends with "stop dictation" too. A long word may be misheard by one letter
    (:func:`_same`): tiny.en hears "Stop victation." now and then. When the phrase is the whole
    utterance, its first word may have lost its first letter, the sound the cut at the utterance's
    start may clip: tiny.en heard "Top dictation." in a CI rehearsal."""
    wanted = [_comparable(word) for word in WORD.findall(phrase or "")]
    found = list(WORD.finditer(text))
    if not wanted:
        return text, False
    index = len(found) - 1
    for position, word in enumerate(reversed(wanted)):
        if position and index >= 0 and not _same(found[index].group(), word):
            while index >= 0 and _comparable(found[index].group()) in FILLERS:
                index -= 1
        if index < 0 or not (_same(found[index].group(), word) or (
                index == 0 and position == len(wanted) - 1 and _clipped(found[index].group(), word))):
            return text, False
        index -= 1
    return text[: found[index + 1].start()].rstrip(SEPARATORS), True


def _comparable(word: str) -> str:
    return word.casefold().replace("’", "'")


def _clipped(heard: str, wanted: str) -> bool:
    """``heard`` is ``wanted`` (comparable, three letters or more) without its first letter."""
    return len(wanted) >= 3 and _comparable(heard) == wanted[1:]


#: The shortest word of a stop phrase that may be heard with one letter wrong, missing or added.
FUZZY_LENGTH = 6


def _same(heard: str, wanted: str) -> bool:
    """``heard`` is the stop phrase's word ``wanted`` (already comparable): equal, or for a word of
    :data:`FUZZY_LENGTH` letters or more, one edit away ("victation" for "dictation")."""
    heard = _comparable(heard)
    if heard == wanted:
        return True
    if len(wanted) < FUZZY_LENGTH or abs(len(heard) - len(wanted)) > 1:
        return False
    short, long = sorted((heard, wanted), key=len)
    start = 0
    while start < len(short) and short[start] == long[start]:
        start += 1
    skip = 1 if len(long) > len(short) else 0  # an added or missing letter, else one replaced
    return short[start + 1 - skip:] == long[start + 1:]


class StopPhrase(Formatter):
    """First formatter of each utterance: takes the stop phrase off its end and remembers it was said."""

    name = "stop-phrase"

    def __init__(self, ctx: RunContext, phrase: str | None) -> None:
        super().__init__(ctx)
        self.phrase = phrase
        self.heard = False

    def format(self, transcript: Transcript) -> str:
        text, self.heard = split_stop_phrase(transcript.text, self.phrase)
        if self.heard and not text.strip():
            self.ctx.quiet = True  # an utterance of just the stop phrase is not "no speech detected"
        return text
