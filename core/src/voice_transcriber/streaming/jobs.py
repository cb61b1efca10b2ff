"""A phrase transcribed in a worker: the context and the phrase before it that it is heard with, the backend
call, and what its transcript decides — the phrase's text once the phrase is confirmed with that context, else
the live text, and for a re-decode of the phrase being spoken the words re-decodes agree on.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import wait
from typing import TYPE_CHECKING

from ..context import call_component
from ..errors import BackendError
from .phrases import phrase_key

if TYPE_CHECKING:
    import threading
    from concurrent.futures import Future

    from ..capture.segmenter import SpeechSegment
    from ..context import Backend
    from ..types import Transcript
    from .agreement import Agreements
    from .decided import DecidedText
    from .workers import Workers


class Abandoned(Exception):
    """A phrase not transcribed because an earlier one failed (the whole file goes to the next backend)."""


class PhraseJobs:
    """The jobs of one streamed recording's phrases, run by ``workers``; ``failed`` is set when a confirmed
    phrase fails (the jobs after it are abandoned)."""

    def __init__(self, backend: Backend, lock: threading.Lock, workers: Workers, decided: DecidedText,
                 agreements: Agreements, failed: threading.Event) -> None:
        self.backend, self.lock, self.workers = backend, lock, workers
        self.decided, self.agreements, self.failed = decided, agreements, failed
        self.timed: bool | None = None  #: the backend gives words' timings (so re-decodes may commit); None: not known yet

    def submit(self, segment: SpeechSegment, *, confirmed: bool = False, early: Future[Transcript] | None = None,
               probe: bool = False, replayed: bool = False) -> Future[Transcript]:
        """Transcribe ``segment`` in a worker (:meth:`_transcribe`); ``probe``: a re-decode of the phrase being
        spoken; ``replayed``: in a replay."""
        with self.lock:
            self.decided.segments.setdefault(phrase_key(segment), segment)
        return self.workers.submit(functools.partial(self._transcribe, segment, confirmed, early, probe),
                                   redecode=probe, replayed=replayed)

    def _transcribe(self, segment: SpeechSegment, confirmed: bool, early: Future[Transcript] | None,
                    probe: bool = False, submitted: float | None = None, beside: bool = False) -> Transcript:
        """A worker's job: the backend's transcript of one phrase. ``confirmed``: its final text, the
        transcript of the ``early`` start on it when that had the same context (one worker runs the
        jobs in order, so the phrases before are transcribed by now). Else a phrase started early or
        still open, whose text counts only with the context the phrase has once confirmed."""
        if self.failed.is_set():
            raise Abandoned()
        if early is not None and not early.cancel():
            wait([early])  # running on another worker (a concurrent backend): its transcript may do
        key, decided = phrase_key(segment), self.decided
        with self.lock:
            context = decided.context_for(segment.index, segment.start)
            # a re-decode for the live text only (no commit) hears the phrase alone, prompted with the text
            # before it: half the work of hearing the phrase before again, so that one still running when
            # the speaker stops holds up the phrase's decode that counts for less (docs/streaming.md)
            before = None if probe and not self.agreements.committing else decided.before(segment, probe=probe)
            span = (before[0].start, before[0].end) if before else None
            answer = decided.answers.get(key)
        if confirmed and answer is not None and answer[0] == context and decided.heard.get(key) == span:
            decided.remember(segment.index, answer[1])
            return answer[1]
        job = self.workers.started("re-decode" if probe else "phrase" if confirmed else "early start", key,
                                   (segment.end - segment.start) / 16_000,
                                   (span[1] - span[0]) / 16_000 if span else 0.0, submitted, beside)
        try:
            transcript = self._call_backend(segment, context, before, probe)
        except BaseException:
            if key in decided.confirmed:
                self.failed.set()
            raise
        finally:
            job.end = time.monotonic()
        self._keep(segment, context, span, transcript, confirmed=confirmed, probe=probe)
        return transcript

    def _call_backend(self, segment: SpeechSegment, context: str, before: tuple[SpeechSegment, str, str] | None,
                      probe: bool) -> Transcript:
        """The backend's transcript of ``segment``: alone, prompted with ``context``, or heard after the phrase
        :meth:`DecidedText.before` gives (``before``), held to its text."""
        if before is None:
            return call_component(self.backend, "backend", BackendError, self.backend.transcribe_segment,
                                  segment.audio(), context)
        previous, previous_text, earlier = before
        continuation = self.backend.transcribe_continuation
        if probe:  # the phrase still being spoken: it may end mid-sentence
            continuation = functools.partial(continuation, partial=True)
        elif self.backend.decodes_stop_rest_apart and self.agreements.rest_at_stop(segment):
            continuation = functools.partial(continuation, stop_rest=True)
        return call_component(self.backend, "backend", BackendError, continuation,
                              previous.audio(), previous_text, segment.audio(), earlier)

    def _keep(self, segment: SpeechSegment, context: str, span: tuple[int, int] | None, transcript: Transcript, *,
              confirmed: bool, probe: bool) -> None:
        """A job's ``transcript``, made with ``context`` after the phrase at ``span``: the phrase's text when the
        phrase is confirmed with them, else the live text (a re-decode's words also go to the agreements)."""
        key, decided, agreements = phrase_key(segment), self.decided, self.agreements
        text = transcript.text.strip()
        if text:
            self.timed = bool(self.timed or transcript.words)
        with self.lock:
            decided.answers[key] = (context, transcript)
            decided.heard[key] = span
            confirmed = key in decided.confirmed and (confirmed or (
                context == decided.context_for(segment.index) and span == decided.before_span(segment)))
            if not confirmed and segment.index not in decided.texts:
                agreed = agreements.agreed
                if probe and agreed is not None and (agreed.index + 1, agreed.cut) == (segment.index, segment.start):
                    # what follows the agreed words of the phrase being spoken (input.streamingCommitAtStop)
                    decided.open_text = (agreed.index, " ".join(word.text for word in agreed.words) + (f" {text}" if text else ""))
                else:
                    decided.open_text = (segment.index, text)
            if probe and agreements.committing:
                agreements.agree(segment, context, span, transcript)
        if confirmed:
            decided.remember(segment.index, transcript)
        else:
            decided.report()
