"""What re-decodes of the phrase being spoken agree on.

Two re-decodes in a row that agree on the phrase's first words (as in whisper_streaming's LocalAgreement) make
those words final: at once, as a rolling commit (``input.streamingCommit``: :attr:`Agreements.ready`, made by the
session in the recording thread), or only when the recording ends in that phrase (``input.streamingCommitAtStop``:
:attr:`Agreements.agreed`), which is then split after them and only the rest is transcribed after the stop.

The session's lock guards all of it: the methods marked "Lock held" are called with it held.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..types import Segment
from .phrases import Agreement, Commit, phrase_key, phrase_part, word_boundary

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from ..capture.segmenter import SpeechSegment
    from ..config import InputSettings
    from ..types import Transcript
    from .decided import DecidedText
    from .phrases import Key

#: A rolling commit (``input.streamingCommit``) makes a phrase of at least this many seconds
MIN_COMMIT_SECONDS = 2.0
#: With ``input.streamingCommitAtStop``, at least this much audio is left after the agreed words (less: the phrase
#: is transcribed whole)
MIN_REST_SECONDS = 0.3


class Agreements:
    """The agreements on the phrase being spoken of one streamed recording. ``started(key)``: the part ``key`` is
    transcribed, or its early start is queued or running (lock held)."""

    def __init__(self, settings: InputSettings, decided: DecidedText, lock: threading.Lock,
                 started: Callable[[Key], bool]) -> None:
        self.settings, self.decided, self.lock, self._started = settings, decided, lock, started
        #: ``input.streamingCommitAtStop``: the latest agreement on the phrase being spoken, the one each
        #: phrase announced at a pause would be split with (key → agreement), and the probes' judged samples
        self.agreed: Agreement | None = None
        self.stop_split: dict[Key, Agreement] = {}
        self.rests: dict[Key, Agreement] = {}  #: the rest after agreed words (key) → that agreement
        self.judged_at: dict[Key, tuple[int, bool]] = {}  #: (judged, of what follows the cut)
        self.spoken: SpeechSegment | None = None  #: the phrase being spoken, as last re-decoded
        self.replaying = False  #: a replay making the live run's commits again (no agreement of its own)
        #: Rolling commits (``input.streamingCommit``): the open phrase's last re-decode with the context
        #: it counts with — (index, start, context, heard span, words) —, and a commit found and not made yet
        #: (made in the recording thread)
        self.probe: tuple[int, int, str, tuple[int, int] | None, tuple[Segment, ...]] | None = None
        self.ready: tuple[SpeechSegment, Transcript, int, str, tuple[int, int] | None] | None = None
        self.probe_end = 0  #: the recording sample where the re-decode :attr:`probe` came from ended

    @property
    def committing(self) -> bool:
        """Re-decodes of the phrase being spoken may commit words (``input.streamingCommit``,
        ``input.streamingCommitAtStop``); else they only feed the live text."""
        return self.settings.streaming_commit or self.settings.streaming_commit_at_stop

    def fits_at_stop(self) -> bool:
        """Agreed words are kept for the stop (``input.streamingCommitAtStop`` without ``input.streamingCommit``)."""
        return self.settings.streaming_commit_at_stop and not self.settings.streaming_commit

    def fitting(self, segment: SpeechSegment) -> Agreement | None:
        """The agreement on ``segment``'s words (``input.streamingCommitAtStop``) to split it with at the
        stop: found on this phrase, with the context and the phrase before it has, leaving at least
        :data:`MIN_REST_SECONDS` after the agreed words; else None. One whose rest is transcribed already, or
        being transcribed, comes first: a later agreement (a re-decode that finished in the pause) would leave
        a rest not started yet, transcribed after the stop while that decode still runs, unused."""
        if not self.fits_at_stop():
            return None
        with self.lock:
            for agreement in (*self._started_rests(segment), self.stop_split.get(phrase_key(segment)) or self.agreed):
                if agreement is not None and self._fits(segment, agreement):
                    return agreement
        return None

    def _fits(self, segment: SpeechSegment, agreement: Agreement) -> bool:
        """``agreement`` may split ``segment`` at the stop (:meth:`fitting`). Lock held."""
        if (agreement.index, agreement.start) != (segment.index, segment.start):
            return False
        if not segment.start < agreement.cut <= self.rest_end(segment) - MIN_REST_SECONDS * 16_000:
            return False
        return self.decided.decided_before(segment.index) and agreement.context == self.decided.context_for(segment.index)

    def _started_rests(self, segment: SpeechSegment) -> list[Agreement]:
        """The agreements on ``segment`` whose rest — as ``segment`` would leave it — is transcribed or being
        transcribed (started at a pause), earliest first. Lock held."""
        end = self.rest_end(segment)
        return [agreement for key, agreement in self.rests.items()
                if (key[0], key[2]) == (segment.index + 1, end) and self._started(key)]

    def halves(self, segment: SpeechSegment, agreement: Agreement) -> tuple[SpeechSegment, SpeechSegment]:
        """``segment`` split after its agreed words: the first part (its text known: the agreed words) and the rest."""
        head = phrase_part(segment, segment.start, agreement.cut, segment.index)
        tail = replace(phrase_part(segment, agreement.cut, self.rest_end(segment), segment.index + 1), final=segment.final)
        with self.lock:
            self._register(head, agreement)
            self.rests.setdefault(phrase_key(tail), agreement)
        return head, tail

    def rest_end(self, segment: SpeechSegment) -> int:
        """Where the rest after ``segment``'s agreed words ends: its end, or with ``input.streamingRestPause``
        that long after its speech."""
        if (pause := self.settings.streaming_rest_pause) is None:
            return segment.end
        return segment.end - max(0, segment.quiet - int(pause * 16_000))

    def _register(self, head: SpeechSegment, agreement: Agreement) -> None:
        """Make the agreed words the text of ``head`` (the phrase up to the cut), as if transcribed with the
        phrase's context: what follows is then transcribed after it (:meth:`DecidedText.before`). Lock held."""
        decided, key = self.decided, phrase_key(head)
        decided.heads.add(key)
        decided.segments.setdefault(key, head)
        if key not in decided.answers:
            decided.answers[key] = (agreement.context, agreement.head())
            decided.heard[key] = decided.before_span(head)

    def rest_at_stop(self, segment: SpeechSegment) -> bool:
        """``segment`` is what follows the agreed words of a phrase (``input.streamingCommitAtStop``):
        used only when the recording ends in that phrase, so decoded only for the stop (the same way
        live and in a replay)."""
        with self.lock:
            return any((index + 1, end) == (segment.index, segment.start) for index, _, end in self.decided.heads)

    def fits_open(self, spoken: SpeechSegment, agreed: Agreement | None) -> bool:
        """``agreed`` (``input.streamingCommitAtStop``) is on the phrase being spoken, ``spoken``, and
        leaves room after its cut: a re-decode then hears only what follows the cut."""
        return (agreed is not None and not self.settings.streaming_commit
                and (agreed.index, agreed.start) == (spoken.index, spoken.start)
                and agreed.cut < spoken.end - MIN_REST_SECONDS * 16_000)

    def agree(self, segment: SpeechSegment, context: str, span: tuple[int, int] | None, transcript: Transcript) -> None:
        """A re-decode of the phrase being spoken is done: when it has the context the phrase will
        have, the words it and the re-decode before it agree on (from the first, as in
        whisper_streaming's LocalAgreement) — all but at least its last word, and making a phrase
        of at least :data:`MIN_COMMIT_SECONDS` — are ready to be committed; with ``input.streamingCommitAtStop``
        only those both heard ``input.streamingAgreedMarginSeconds`` after, and they are kept for the stop. Lock held."""
        words, decided = transcript.words, self.decided
        stop = not self.settings.streaming_commit  # input.streamingCommitAtStop
        if self.replaying or not words or span != decided.before_span(segment, probe=True) \
                or context != (decided.context_for(segment.index, segment.start) if stop else decided.context_for(segment.index)):
            return
        previous, self.probe = self.probe, (segment.index, segment.start, context, span, words)
        previous_end, self.probe_end = self.probe_end, segment.end
        if previous is None or previous[:4] != self.probe[:4]:
            return
        agreed = 0
        for before, now in zip(previous[4], words):
            if before.text != now.text:
                break
            agreed += 1
        count = min(agreed, len(words) - 1)
        if stop:  # kept for the stop; only words both re-decodes heard the margin after (the earlier one ended first):
            # the word at the end of a re-decode's audio is the one it hears worst ("feeds back" for "feedback" in two
            # re-decodes in a row, where the whole phrase's decode heard it right; docs/streaming.md)
            heard = previous_end - self.settings.streaming_agreed_margin_seconds * 16_000
            while count > 0 and segment.start + words[count - 1].end * 16_000 > heard:
                count -= 1
            if count > 0:
                judged, tail = self.judged_at.get(phrase_key(segment), (0, False))
                self.extend(segment, transcript, count, judged, tail)
        elif count > 0 and word_boundary(words, count) >= MIN_COMMIT_SECONDS * 16_000:
            self.ready = (segment, transcript, count, context, span)

    def extend(self, probe: SpeechSegment, transcript: Transcript, count: int, judged: int, tail: bool) -> None:
        """``count`` words of the re-decode ``probe`` of the phrase being spoken — from its start, or
        (``tail``) from the cut after the words agreed on it so far — are agreed on: they join the
        agreement, and the rest of that re-decode is what the next re-decode (of what follows the new
        cut) is compared with. Lock held."""
        agreed, spoken, decided = self.agreed, self.spoken, self.decided
        if tail:
            if agreed is None or (agreed.index + 1, agreed.cut) != (probe.index, probe.start):
                return  # the agreement moved on since this re-decode was sent
            index, start, context, earlier, steps = agreed.index, agreed.start, agreed.context, agreed.words, agreed.steps
        else:
            index, start, context, earlier, steps = probe.index, probe.start, decided.context_for(probe.index), (), ()
        if spoken is None or (spoken.index, spoken.start) != (index, start):
            return
        offset = (probe.start - start) / 16_000
        words = transcript.words
        cut = probe.start + word_boundary(words, count)
        kept = earlier + tuple(Segment(w.start + offset, w.end + offset, w.text) for w in words[:count])
        self.agreed = Agreement(index, start, context, kept, cut, (*steps, Commit(judged, probe.end, count)), transcript)
        self._register(phrase_part(spoken, start, min(cut, spoken.end), index), self.agreed)
        shift = (cut - probe.start) / 16_000
        rest = tuple(Segment(w.start - shift, w.end - shift, w.text) for w in words[count:])
        following = phrase_part(probe, cut, probe.end, index + 1)
        self.probe = (index + 1, cut, decided.context_for(index + 1, cut), decided.before_span(following, probe=True), rest)
