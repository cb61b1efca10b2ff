"""What is decided of a streamed recording's text: each phrase's transcript with the context it was made with,
the phrases confirmed (handed out by the segmenter), the text decided before each phrase (its prompt, and the
phrase it is heard after, ``input.streamingOverlap``), and the live text.

The session's lock guards all of it: the methods marked "Lock held" are called with it held.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .phrases import overlap_cut, phrase_key, phrase_part

if TYPE_CHECKING:
    import threading

    from ..capture.segmenter import SpeechSegment
    from ..config import InputSettings
    from ..context import RunContext
    from ..types import Segment, Transcript
    from .phrases import Key

#: A phrase is heard with the phrase before it (``input.streamingOverlap``) when both together are
#: at most this long: Whisper hears 30 s at once, and the fitted window adds silence after them
OVERLAP_SECONDS = 25.0
#: With ``input.streamingCommitAtStop``, a re-decode of what follows the agreed words (while recording) hears
#: only their last this many seconds: it only finds the next words to agree on, and is done sooner (the
#: backend is free sooner at a pause); the rest left at the stop: ``input.streamingStopOverlapSeconds``
PROBE_OVERLAP_SECONDS = 3.0


class DecidedText:
    """The phrases' transcripts of one streamed recording, and the text decided before each phrase."""

    def __init__(self, settings: InputSettings, ctx: RunContext, lock: threading.Lock) -> None:
        self.settings, self.ctx, self.lock = settings, ctx, lock
        self.texts: dict[int, str] = {}  #: phrase index → its text, once transcribed and confirmed
        self.words: dict[int, tuple[Segment, ...]] = {}  #: phrase index → its words' timings (when the backend gave them)
        self.confirmed: set[Key] = set()  #: phrases handed to the session's ``add``
        self.answers: dict[Key, tuple[str, Transcript]] = {}  #: key → (context, transcript) of phrases transcribed
        #: key → the span (start, end) of the phrase heard before it (``input.streamingOverlap``), None: heard alone
        self.heard: dict[Key, tuple[int, int] | None] = {}
        self.segments: dict[Key, SpeechSegment] = {}  #: key → every phrase confirmed or started
        self.heads: set[Key] = set()  #: agreed first parts of the phrase left at the stop
        self.open_text: tuple[int, str] | None = None  #: the latest re-decode of the phrase being spoken
        self._reported: str | None = None  #: the last partial text reported

    def remember(self, index: int, transcript: Transcript) -> None:
        """A confirmed phrase's text is known: keep it (and its words' timings) and report the text so far."""
        text = transcript.text.strip()
        self.ctx.log(f"phrase {index} transcribed: {len(text)} characters")
        with self.lock:
            self.texts[index] = text
            self.words[index] = transcript.words
        self.report()

    def decided_before(self, index: int) -> bool:
        """Every phrase before ``index`` is transcribed (its context is complete). Lock held."""
        return all(earlier in self.texts for earlier in range(index))

    def context_for(self, index: int, start: int | None = None) -> str:
        """The text decided before phrase ``index`` (the phrases before it that are transcribed;
        '' with ``input.streamingContext`` off). For a phrase starting at sample ``start`` whose
        previous phrase is not confirmed yet (the tail of a split, started at a pause), the text
        of the phrase before as transcribed at that pause stands in. Called with the lock held."""
        return " ".join(text for text, _ in self._texts_before(index, start) if text)

    def _texts_before(self, index: int, start: int | None = None) -> list[tuple[str | None, SpeechSegment | None]]:
        """For each phrase before ``index``: its text (None: not transcribed yet) and, for the one
        right before, the phrase itself when known (see :meth:`context_for`). Lock held."""
        return [(text, segment) for text, segment, _ in self._phrases_before(index, start)]

    def _phrases_before(self, index: int, start: int | None = None
                        ) -> list[tuple[str | None, SpeechSegment | None, tuple[Segment, ...]]]:
        """:meth:`_texts_before`, with the timings of the words of the phrase right before. Lock held."""
        if not self.settings.streaming_context or index == 0:
            return []
        texts: list[tuple[str | None, SpeechSegment | None, tuple[Segment, ...]]] = [
            (self.texts.get(earlier), None, ()) for earlier in range(index)]
        # (a phrase ending after ``start`` is not the one before: ``start`` is then a cut inside it, input.streamingCommitAtStop)
        confirmed = [segment for key, segment in self.segments.items()
                     if key[0] == index - 1 and key in self.confirmed and (start is None or key[2] <= start)]
        if confirmed:
            texts[-1] = (texts[-1][0], confirmed[-1], self.words.get(index - 1, ()))
        elif start is not None:
            heads = [(key, answer) for key, answer in self.answers.items() if (key[0], key[2]) == (index - 1, start)]
            fitting = [(key, answer) for key, answer in heads if self.made_as_now(key, self.segments[key])]
            if fitting:
                transcript = fitting[-1][1][1]
                texts[-1] = (transcript.text.strip(), self.segments[fitting[-1][0]], transcript.words)
        return texts

    def made_as_now(self, key: Key, segment: SpeechSegment) -> bool:
        """The transcript of ``key`` was made with the context and after the phrase (``input.streamingOverlap``)
        that ``segment`` has now. Lock held."""
        answer = self.answers.get(key)
        return answer is not None and answer[0] == self.context_for(segment.index) \
            and self.heard.get(key) == self.before_span(segment)

    def before(self, segment: SpeechSegment, probe: bool = False) -> tuple[SpeechSegment, str, str] | None:
        """What ``segment`` is heard after, for ``backend.transcribe_continuation``
        (``input.streamingOverlap``): the phrase before it — only its last words, those said in its
        last ``input.streamingOverlapSeconds``, when the backend gave their timings — the text of
        that audio, and the text before it. None when that phrase is not transcribed yet or has no
        text, or both together would be longer than :data:`OVERLAP_SECONDS`. Depends only on the
        phrases and their transcripts, as the context does (the final text of a phrase still comes
        from the recording alone). Lock held."""
        if not self.settings.streaming_overlap:
            return None
        texts = self._phrases_before(segment.index, segment.start)
        if not texts or not texts[-1][0] or texts[-1][1] is None:
            return None
        previous, text, words = texts[-1][1], texts[-1][0], texts[-1][2]
        earlier = " ".join(text for text, _, _ in texts[:-1] if text)
        seconds = self.settings.streaming_overlap_seconds
        # what follows agreed words (input.streamingCommitAtStop): a re-decode hears their last 3 s, the rest left at
        # the stop their last input.streamingStopOverlapSeconds (5: the same text as all of them on the 11 benchmark
        # passages × 4 lead-ins, 2026-12-06, for ~20 % less CPU; 3 lost words at ~30 s, +0.005 against −0.001)
        overlap = PROBE_OVERLAP_SECONDS if probe else self.settings.streaming_stop_overlap_seconds
        if phrase_key(previous) in self.heads and overlap:
            seconds = min(seconds or overlap, overlap)
        cut = overlap_cut(previous, words, seconds)
        if cut is not None:  # hear only the words after the cut again; those before it join the prompt
            at, first = cut
            previous = phrase_part(previous, at, previous.end, previous.index)
            earlier = " ".join(part for part in (earlier, *(word.text for word in words[:first])) if part)
            text = " ".join(word.text for word in words[first:])
        if segment.end - previous.start > OVERLAP_SECONDS * 16_000:
            return None
        return previous, text, earlier

    def before_span(self, segment: SpeechSegment, probe: bool = False) -> tuple[int, int] | None:
        """Where the phrase :meth:`before` gives lies ((start, end) samples), None: heard alone. Lock held."""
        before = self.before(segment, probe)
        return (before[0].start, before[0].end) if before else None

    def report(self) -> None:
        """Report the text so far: the phrases transcribed without a gap from the first, then the
        latest transcription of the phrase being spoken (when it follows them)."""
        with self.lock:  # held while reporting, so that partial texts never arrive out of order
            done = 0
            while done in self.texts:
                done += 1
            parts = [self.texts[index] for index in range(done)]
            if self.open_text is not None and self.open_text[0] == done:
                parts.append(self.open_text[1])
            partial = " ".join(part for part in parts if part)
            if partial and partial != self._reported:
                self._reported = partial
                self.ctx.partial_text(partial)
