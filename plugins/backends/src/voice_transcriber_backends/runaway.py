"""Whisper's runaway repetitions ("f s s s s s …"), bounded and removed.

On a fraction of a second of speech — the tail of a recording cut mid-word, a breath at the end
of a phrase — Whisper can fall into a loop and repeat one token until its length limit (with
``sampledFallback`` on, every temperature of faster-whisper's fallback may loop as well; it then keeps
the likeliest loop). Two guards, both deterministic (they depend on the audio and the text only):

- :func:`max_new_tokens` bounds what one decode may produce by the audio's length, so a loop
  costs a fraction of a second instead of tens of seconds;
- :func:`without_runaway` collapses a run of one phrase repeated three times or more back to one
  occurrence, when the text is longer than anyone could say in that audio
  (:data:`MAX_WORDS_PER_SECOND`), and drops a text still too long after that (sampled syllables
  such as "S K S H S" for 0.3 s of a cut word). Deliberate repetitions ("no, no, no") are spoken
  at a human rate and stay.

A third, :func:`says_twice`, finds a longer phrase said twice in a row ("Please send the report by Friday.
Please send the report by Friday." for one sentence said once): the local backend then decodes that audio
again in Whisper's 30 s window and keeps what it hears there.
"""

from __future__ import annotations

import re

#: Faster than anyone dictates (fast speech is 3-5 words per second); more words than this per
#: second of audio, plus :data:`SPARE_WORDS`, is a decoder loop or an invented text
MAX_WORDS_PER_SECOND = 6.0
SPARE_WORDS = 3
#: Tokens per second of audio a decode may produce (words, punctuation and timestamps of fast
#: speech are ~8), plus a fixed allowance for a short phrase
TOKENS_PER_SECOND = 12
SPARE_TOKENS = 24
#: Repeated phrases of up to this many words are looked for
LONGEST_REPEAT = 8
#: A phrase said this many times in a row (or more) in too short an audio is a loop
REPEATS = 3
#: A phrase of this many words or more said twice in a row is doubtful (:func:`says_twice`): people repeat a
#: word or two ("no, no", "very, very"), seldom four in a row
TWICE_WORDS = 4
#: ... looked for up to this many words (a sentence)
LONGEST_TWICE = 24


def max_new_tokens(seconds: float, available: int) -> int | None:
    """Tokens one decode of ``seconds`` of audio may produce; None (Whisper's own limit) for a full
    30 s window or more, or when the bound would not be below ``available``, the room beside the prompt."""
    bound = SPARE_TOKENS + int(TOKENS_PER_SECOND * seconds)
    return bound if seconds < 30.0 and bound < available else None


def too_many_words(text: str, seconds: float, spare: int = SPARE_WORDS) -> bool:
    """More words than can be said in ``seconds`` of audio (with ``spare`` words of slack)."""
    return len(text.split()) > spare + MAX_WORDS_PER_SECOND * seconds


def without_runaway(text: str, seconds: float) -> str:
    """``text`` with its loops collapsed to one occurrence when it is faster than speech, and
    nothing when it is still too long for ``seconds`` of audio after that."""
    if not too_many_words(text, seconds, spare=0):
        return text
    text = collapse_repeats(text)
    return "" if too_many_words(text, seconds) else text


def collapse_repeats(text: str) -> str:
    """Keep one of each run of a phrase (1 to :data:`LONGEST_REPEAT` words) said :data:`REPEATS`
    times or more in a row, comparing words without case and punctuation, until none is left: a
    collapsed run can make a new one ("Ask what. Ask what? Ask Ask Ask what?" becomes "Ask what. Ask what?
    Ask what?", then "Ask what?")."""
    while True:
        collapsed = _collapse_once(text)
        if collapsed == text:
            return text
        text = collapsed


def says_twice(text: str, before: str = "") -> bool:
    """``text`` says a phrase of :data:`TWICE_WORDS` to :data:`LONGEST_TWICE` words twice in a row (comparing words
    without case and punctuation), the second time ending in ``text``; ``before``: the text a decode was held to
    (the prefix it goes on from), which the first time may start in."""
    held = before.split()
    keys = _keys(held + text.split())
    for end in range(len(held) + 1, len(keys) + 1):  # where the second time ends
        for n in range(TWICE_WORDS, min(LONGEST_TWICE, end // 2) + 1):
            if keys[end - n:end] == keys[end - 2 * n:end - n]:
                return True
    return False


def _keys(words: list[str]) -> list[str]:
    return [re.sub(r"\W", "", word).casefold() or word for word in words]


def _collapse_once(text: str) -> str:
    words = text.split()
    keys = _keys(words)
    kept: list[str] = []
    i = 0
    while i < len(words):
        run = _run_at(keys, i)
        if run is None:
            kept.append(words[i])
            i += 1
        else:
            n, count = run
            kept += words[i:i + n - 1] + [words[i + count * n - 1]]  # the last copy's final word keeps its full stop
            i += count * n
    return " ".join(kept)


def _run_at(keys: list[str], i: int) -> tuple[int, int] | None:
    """(words in the phrase, times said) of the shortest phrase repeated :data:`REPEATS`+ times from ``i``."""
    for n in range(1, LONGEST_REPEAT + 1):
        unit = keys[i:i + n]
        if len(unit) < n:
            return None
        count = 1
        while keys[i + count * n:i + (count + 1) * n] == unit:
            count += 1
        if count >= REPEATS:
            return n, count
    return None
