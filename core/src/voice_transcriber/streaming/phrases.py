"""The phrases of a streamed recording, the parts they are cut into, and their texts joined.

A phrase (or a part of one) is known by its :func:`phrase_key`; :class:`Commit` records where a rolling commit cut
the phrase being spoken (a history entry keeps them for ``retry``), :class:`Agreement` the words re-decodes of it
agreed on (``input.streamingCommitAtStop``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..types import Segment, Transcript

if TYPE_CHECKING:
    from ..capture.segmenter import SpeechSegment

#: A phrase, or a part of one: (index, start sample, end sample)
Key = tuple[int, int, int]


def phrase_key(segment: SpeechSegment) -> Key:
    return segment.index, segment.start, segment.end


def phrase_part(segment: SpeechSegment, start: int, end: int, index: int) -> SpeechSegment:
    """Samples ``start``–``end`` of ``segment`` (recording samples) as phrase ``index``."""
    from ..capture.segmenter import SpeechSegment

    return SpeechSegment(index, start, segment.samples[start - segment.start:end - segment.start])


def overlap_cut(phrase: SpeechSegment, words: tuple[Segment, ...], seconds: float | None) -> tuple[int, int] | None:
    """Where to start hearing ``phrase`` again before the next one: (sample, index of the first word
    heard), the word boundary before the first word that starts in its last ``seconds``; None:
    hear it whole (no timings, no setting, or the phrase is that short)."""
    if not seconds or not words:
        return None
    duration = (phrase.end - phrase.start) / 16_000
    # the last word starting earlier than that (a long word, or silence after it): hear at least that one
    first = min(next((i for i, word in enumerate(words) if word.start >= duration - seconds), len(words)), len(words) - 1)
    if first <= 0:
        return None
    boundary = (words[first - 1].end + words[first].start) / 2
    return phrase.start + min(max(int(boundary * 16_000), 0), phrase.end - phrase.start - 1), first


def word_boundary(words: tuple[Segment, ...], count: int) -> int:
    """Where a phrase is cut after its first ``count`` words (samples from its start): halfway between
    the end of the last of them and the start of the next."""
    return max(int((words[count - 1].end + words[count].start) / 2 * 16_000), 1)


@dataclass(frozen=True)
class Commit:
    """One rolling commit of a recording (``input.streamingCommit``): when the segmenter had judged
    ``judged`` samples, the phrase being spoken was cut after the first ``words`` words of its
    re-decode up to sample ``end``. With these, a replay cuts and decodes the same (``retry``)."""

    judged: int
    end: int
    words: int

    def to_list(self) -> list[int]:
        return [self.judged, self.end, self.words]

    @classmethod
    def from_list(cls, value: object) -> Commit | None:
        """From :meth:`to_list`'s form (a history entry); None when it is not three whole numbers."""
        if isinstance(value, list) and len(value) == 3 and all(isinstance(x, int) and not isinstance(x, bool) for x in value):
            return cls(*value)
        return None


@dataclass(frozen=True)
class Agreement:
    """The words of the phrase being spoken agreed on so far (``input.streamingCommitAtStop``): phrase
    ``index`` starting at sample ``start``, with ``context`` before it; ``words`` (timed from the
    phrase's start) end before sample ``cut``. Re-decodes of what follows the cut extend them;
    ``steps`` are those agreements as :class:`Commit` entries (for ``retry``). ``like``: a transcript of
    the phrase (backend, model, language)."""

    index: int
    start: int
    context: str
    words: tuple[Segment, ...]
    cut: int
    steps: tuple[Commit, ...]
    like: Transcript

    def head(self) -> Transcript:
        """The agreed words as the transcript of the phrase's first part (up to :attr:`cut`)."""
        return words_transcript(self.words, self.like, (self.cut - self.start) / 16_000)


def words_transcript(words: tuple[Segment, ...], like: Transcript, seconds: float) -> Transcript:
    """``words`` (of a phrase's first ``seconds``) as its transcript, made like ``like`` (backend, model, language)."""
    text = " ".join(word.text for word in words)
    return Transcript(text=text, backend=like.backend, language=like.language, model=like.model,
                      segments=(Segment(words[0].start, words[-1].end, text),), audio_duration=seconds,
                      extra=like.extra, words=words)


def joined(backend: str, transcripts: list[tuple[SpeechSegment, Transcript]], duration: float,
           commits: list[Commit]) -> Transcript:
    """One transcript of the whole recording: the phrases' texts in order, their timings shifted
    (``extra``: how many phrases, and the rolling commits, which the history entry keeps for ``retry``)."""
    texts, segments = [], []
    for phrase, transcript in transcripts:
        text = transcript.text.strip()
        if not text:
            continue
        texts.append(text)
        offset = phrase.start_seconds
        segments += [Segment(s.start + offset, s.end + offset, s.text) for s in transcript.segments] or \
            [Segment(phrase.start_seconds, phrase.end_seconds, text)]
    first = transcripts[0][1] if transcripts else None
    language = next((t.language for _, t in transcripts if t.language), None)
    return Transcript(text=" ".join(texts), backend=backend, language=language, model=first.model if first else None,
                      segments=tuple(segments), audio_duration=duration,
                      extra={**(first.extra if first else {}), "streamed_phrases": len(transcripts),
                             **({"streamed_commits": [commit.to_list() for commit in commits]} if commits else {})})
