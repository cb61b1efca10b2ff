"""Transcribe while recording: each phrase goes to the first backend as soon as the speaker pauses.

A :class:`StreamingTranscription` makes the :class:`~voice_transcriber.capture.segmenter.Segmenter` the recorder
feeds (:mod:`.start`). A phrase ends at a 0.6 s pause, or — once it is ``input.streamingPhraseSeconds`` long — at a
short pause (``input.streamingShortPause``), and at 1.75 times that length at any 0.2 s pause, so that little
is left open when the stop comes; and the last phrase, when it has a 0.2 s pause leaving
``input.streamingSplitSeconds`` on both sides, is handed out in two at the stop (the part before
that pause was started there, so only the rest is left after the stop). Every finished
phrase is handed to ``backend.transcribe_segment(audio, context)`` in a worker thread
(``backend.segment_concurrency`` at once; :mod:`.jobs`, :mod:`.workers`), ``context`` being the text already
decided before it (``input.streamingContext``; :mod:`.decided`). Work on a phrase starts at a 0.2 s pause (on the
rest after its last split point first, when the stop would split it) and is kept if the phrase ends there, or
while it runs, as the first part of a split at the stop; the phrase still being spoken is
transcribed again every ``input.streamingRedecodeSeconds`` of new audio while the backend is
idle, for the live text (:mod:`.redecodes`; and for the words re-decodes agree on: :mod:`.agreement`).
The final text of every phrase comes from one transcription of all its audio with the text
decided before it, so it depends on the audio only: :func:`~.stored.replay` gives a stored recording
(``retry``) the same text as the live run.

:meth:`StreamingTranscription.result` joins the phrases' texts in order; the pipeline uses it
instead of calling the first backend (``Plan.streamed``). When a phrase fails, the pipeline falls
back to the next backend with the whole recording, which is on disk. Partial text (the phrases
so far, then the phrase being spoken) goes to ``ctx.partial_text``. When a recording is streamed: :mod:`.start`.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING

from ..errors import BackendError
from ..types import Transcript
from .agreement import Agreements
from .decided import DecidedText
from .jobs import PhraseJobs
from .phrases import Commit, joined, phrase_key, phrase_part
from .redecodes import Redecodes
from .workers import Workers

if TYPE_CHECKING:
    import numpy as np

    from ..capture.segmenter import Segmenter, SpeechSegment
    from ..capture.vad import VoiceActivity
    from ..context import Backend, RunContext
    from ..types import Audio
    from .phrases import Agreement, Key

#: A phrase shorter than this goes on past a pause (measured: jfk.flac's "ask not", 0.7 s, lost "ask" alone)
MIN_PHRASE_SECONDS = 2.0
#: A phrase ``streamingPhraseSeconds`` × this long ends at any pause the padding fits in (0.2 s);
#: 5 s / 0.3 s / 8.75 s: the best measured word error rate (docs/streaming.md)
TIGHT_FACTOR = 1.75


class StreamingTranscription:
    """Phrases of one recording being transcribed by ``backend`` while the recording goes on."""

    def __init__(self, backend: Backend, ctx: RunContext) -> None:
        self.backend, self.ctx = backend, ctx
        self.settings = ctx.settings.input
        self._lock = threading.Lock()
        self._workers = Workers(backend)
        self._decided = DecidedText(self.settings, ctx, self._lock)
        self._agreements = Agreements(self.settings, self._decided, self._lock, self._started)
        self.phrases: list[tuple[SpeechSegment, Future[Transcript]]] = []  #: the phrases handed out, with their jobs
        #: Work started at a pause on the phrase as the stop would then hand it out (key → job). Kept when the
        #: speaker goes on: at the stop, the phrase may be split at that pause, and that job is then its head.
        self._early: dict[Key, Future[Transcript]] = {}
        self._whole: dict[Key, Future[Transcript]] = {}  #: key → the early start a phrase's job waits for
        self.commits: list[Commit] = []  #: the rolling commits made (the history entry keeps them)
        self._replayed = False  #: a replay: the last phrase is split whenever an agreement fits it
        self._failed = threading.Event()
        self._jobs = PhraseJobs(backend, self._lock, self._workers, self._decided, self._agreements, self._failed)
        self._redecodes = Redecodes(ctx, self._agreements, self._jobs, self._submit, self.phrases, self.commits)
        self._cutter: Segmenter | None = None  #: the segmenter :meth:`segmenter` made
        self._ended_at: float | None = None  #: when the recording's last phrase came (monotonic)

    def segmenter(self, activity: VoiceActivity | None, *, early: bool = True) -> Segmenter:
        """The segmenter this session's settings ask for, handing phrases to :meth:`add` (and, with
        ``early``, the phrase as it would be if the stop came at each pause to :meth:`add_early`)."""
        from ..capture.segmenter import Segmenter

        soft = self.settings.streaming_phrase_seconds
        self._cutter = Segmenter(self.add, on_pause=self.add_early if early else None, activity=activity,
                                 min_seconds=MIN_PHRASE_SECONDS, soft_seconds=soft,
                                 soft_pause=self.settings.streaming_short_pause,
                                 tight_seconds=soft * TIGHT_FACTOR if soft else None,
                                 lead=self.settings.streaming_lead_seconds,
                                 split_seconds=self.settings.streaming_split_seconds,
                                 first_pause=self._rest_pause() if early else None, on_first_pause=self.add_rest_early)
        return self._cutter

    def _rest_pause(self) -> float | None:
        """``input.streamingRestPause`` when a commit at the stop may leave a rest after agreed words."""
        return self.settings.streaming_rest_pause if self._agreements.fits_at_stop() else None

    def mark_replay(self, *, simulate: bool, recommit: bool) -> None:
        """This session replays a stored recording (:func:`~.stored.replay`): making the live run's commits again
        (``recommit``: no agreement of its own), or as a live run on an idle machine would (``simulate``)."""
        self._redecodes.simulate = simulate and not recommit
        self._replayed = simulate or recommit
        self._agreements.replaying = recommit

    def add(self, segment: SpeechSegment) -> None:
        """Queue a finished phrase (the segmenter's ``on_segment``; quick, runs in the recording loop)."""
        self.ctx.log(f"phrase {segment.index} ({segment.start_seconds:.1f}–{segment.end_seconds:.1f} s) finished")
        if segment.final:
            self._ended_at = self._ended_at or time.monotonic()
        if self._failed.is_set() or (segment.final and self._split(segment, None)):
            return
        key, agreements = phrase_key(segment), self._agreements
        if not segment.final and key not in agreements.stop_split and (agreement := agreements.fitting(segment)) is not None:
            # input.streamingCommitAtStop: the stop may come before this phrase is transcribed; what follows
            # its agreed words first (soon done), the whole phrase after it
            tail = agreements.halves(segment, agreement)[1]
            with self._lock:
                agreements.stop_split[key] = agreement
                started = phrase_key(tail) in self._decided.answers or phrase_key(tail) in self._early
            if not started:
                self._early[phrase_key(tail)] = self._submit(tail)
        answer, early = self._confirm(segment)
        if answer is not None:  # transcribed already (at a pause, or by a re-decode), with this context
            future: Future[Transcript] = Future()
            future.set_result(answer[1])
            self._decided.remember(segment.index, answer[1])
        else:  # the job uses the early start's transcript when it has the right context
            future = self._submit(segment, confirmed=True, early=early)
        self.phrases.append((segment, future))

    def _confirm(self, segment: SpeechSegment) -> tuple[tuple[str, Transcript] | None, Future[Transcript] | None]:
        """``segment`` is a phrase now: its transcript when made already with the context it has, and the early start
        on it (its job waits for it). Other work started at pauses is dropped."""
        key, decided = phrase_key(segment), self._decided
        with self._lock:  # atomic with the end of _transcribe: exactly one of them remembers the text
            decided.confirmed.add(key)
            decided.segments[key] = segment
            answer = decided.answers.get(key)
            if answer is not None and not (decided.decided_before(segment.index) and decided.made_as_now(key, segment)):
                answer = None  # not known yet to have the context this phrase has: checked by the job below
            early = self._early.pop(key, None)
            if early is not None:
                self._whole[key] = early
            # other work started at pauses is void now, but the tail after this phrase (a split at the stop), and
            # the rest after its agreed words (input.streamingCommitAtStop: the stop may still split it)
            agreed = self._agreements.stop_split.get(key)
            keep = {(segment.index + 1, segment.end), *([(segment.index + 1, agreed.cut)] if agreed else [])}
            void = [job for (index, start, _), job in self._early.items() if (index, start) not in keep]
        for job in void:
            job.cancel()  # no effect once it runs: its result is then ignored
        return answer, early

    def add_early(self, segment: SpeechSegment) -> None:
        """Start on a phrase that may be finished (the segmenter's ``on_pause``): if the speaker stops
        there, :meth:`add` receives the same phrase(s) and the text is ready sooner. With
        ``segment.split``, the stop would split it: its head (usually transcribed at its own pause
        already) and then its tail are started first, then the whole phrase (for when the speaker
        goes on). With agreed words that fit it (``input.streamingCommitAtStop``), only the rest after them: the
        whole phrase starts once the pause ends it (:meth:`add`). Work started at earlier pauses and not running
        yet is dropped; running or done, it is kept (it may be the head of a split at the stop)."""
        if self._failed.is_set():
            return
        parts = [segment]
        if segment.split is not None:
            parts = [phrase_part(segment, segment.start, segment.split, segment.index),
                     phrase_part(segment, segment.split, segment.end, segment.index + 1), segment]
        elif (agreement := self._agreements.fitting(segment)) is not None:
            # if the stop comes in this pause: the agreed words, then the rest after them. The whole phrase only once
            # the pause ends it (add): started here too, it held the one worker when the speaker went on, and the rest
            # left at a later pause queued behind it (jfk.flac's "… | for your country": 0.43 s after the stop)
            with self._lock:
                self._agreements.stop_split[phrase_key(segment)] = agreement
            parts = [self._agreements.halves(segment, agreement)[1]]
        self._start_early(parts)

    def add_rest_early(self, segment: SpeechSegment) -> None:
        """``input.streamingRestPause`` (the segmenter's ``on_first_pause``): the phrase being spoken has
        been silent that long. If the stop comes in this pause, only the rest after its agreed words is left
        (:meth:`Agreements.halves`, which ends it that long after the speech in any case): start it now, a tenth
        of a second or so before :meth:`add_early` hears of the pause."""
        if self._failed.is_set() or (agreement := self._agreements.fitting(segment)) is None:
            return
        self._start_early([self._agreements.halves(segment, agreement)[1]])

    def _start_early(self, parts: list[SpeechSegment]) -> None:
        """Start ``parts`` (in order) unless started already; work started at earlier pauses and not running
        yet, and a re-decode not running yet, are dropped."""
        wanted = {phrase_key(part) for part in parts}
        with self._lock:
            void = [job for key, job in self._early.items() if key not in wanted]
            if self._redecodes.latest is not None:
                void.append(self._redecodes.latest)  # live text only: the phrase that may be finished goes first
        for job in void:
            job.cancel()  # no effect once it runs
        for part in parts:
            key = phrase_key(part)
            with self._lock:
                started = self._started(key)
            if not started:
                self.ctx.log(f"phrase {part.index} ({part.start_seconds:.1f}–{part.end_seconds:.1f} s) started early")
                self._early[key] = self._submit(part)

    def _started(self, key: Key) -> bool:
        """The part ``key`` is transcribed, or its early start is queued or running (not dropped). Lock held."""
        return key in self._decided.answers or (key in self._early and not self._early[key].cancelled())

    def _split_last(self, force: bool) -> None:
        """The recording has ended (``input.streamingCommitAtStop``): the last phrase, when it ended at a
        pause before the stop and is not transcribed yet (``force``: a replay, in any case), is split
        after its agreed words (:meth:`_split`)."""
        if self.phrases:
            segment, future = self.phrases[-1]
            if force or not future.done():
                self._split(segment, future)

    def _split(self, segment: SpeechSegment, future: Future[Transcript] | None) -> bool:
        """The phrase the recording ended in (``future``: its job, when it was handed out before the stop)
        becomes its words agreed on so far (``input.streamingCommitAtStop``) and the rest after them,
        transcribed on its own (hearing the end of the agreed words again) — unless no agreement fits
        it, or (live) its whole transcription is done already, or is running while that rest was never started
        (a decode cannot be stopped: the rest would only begin once it ends). Recorded as :class:`Commit`
        entries, so that ``retry`` splits it the same. False: not split."""
        agreement = self._agreements.fitting(segment)
        if agreement is None:
            return False
        key, decided = phrase_key(segment), self._decided
        if future is None and not self._replayed:  # its whole transcription, started at its pause, may be done
            with self._lock:
                if decided.made_as_now(key, segment):
                    return False
        if not self._replayed and self._whole_running(segment, future, agreement):
            self.ctx.log(f"phrase {segment.index} not split at the stop: its whole transcription is running, "
                         "the rest after the agreed words was never started")
            return False
        head, tail = self._agreements.halves(segment, agreement)
        if future is not None:
            for job in (future, self._whole.get(key)):  # (no effect once it runs: its text is then not used)
                if job is not None:
                    job.cancel()
            with self._lock:
                decided.confirmed.discard(key)
            self.phrases.pop()
        self.commits.extend(agreement.steps)
        self.ctx.info["agreed before the stop"] = (f"{len(agreement.words)} word(s), {(head.end - head.start) / 16_000:.1f} s; "
                                                   f"{(tail.end - tail.start) / 16_000:.1f} s left")
        self.ctx.log(f"phrase {segment.index} split at the stop after {len(agreement.words)} agreed word(s) "
                     f"({agreement.cut / 16_000:.2f} s)")
        self.add(head)
        self.add(tail)
        return True

    def _whole_running(self, segment: SpeechSegment, future: Future[Transcript] | None, agreement: Agreement) -> bool:
        """The whole of ``segment`` is being transcribed (its early start from a pause, or its job) while the rest
        after ``agreement``'s words was never started: an agreement that came after the pause (a re-decode that
        finished in it), or one the phrase could not take then (the phrase before not yet decided). Splitting would
        queue that rest behind the running decode, whose text is as good (live ~30 s runs: 0.58 s of waiting where
        the whole decode had 0.23 s left, 2026-12-07)."""
        with self._lock:
            if self._started((segment.index + 1, agreement.cut, self._agreements.rest_end(segment))):
                return False
            jobs = (self._early.get(phrase_key(segment)), self._whole.get(phrase_key(segment)), future)
        return any(job is not None and job.running() for job in jobs)

    def tick(self, segmenter: Segmenter) -> None:
        """After each block (a recorder tap): a re-decode of the phrase being spoken when one is due
        (:meth:`Redecodes.tick`)."""
        self._redecodes.tick(segmenter)

    def recommit(self, segmenter: Segmenter, commit: Commit, recording: np.ndarray) -> None:
        """Make a live run's rolling commit again (:meth:`Redecodes.recommit`; :func:`~.stored.replay`)."""
        self._redecodes.recommit(segmenter, commit, recording)

    @property
    def redecodes(self) -> int:
        """Re-decodes of the phrase being spoken, for the debug line."""
        return self._redecodes.count

    def cancel(self) -> None:
        """Drop the phrases not started yet (the recording was cancelled)."""
        self._failed.set()
        self._workers.shutdown()

    def result(self, audio: Audio) -> Transcript:
        """Wait for every phrase and join their texts. Raises the first phrase's :class:`BackendError`."""
        stopped = self._ended_at or time.monotonic()
        for job in [*self._early.values(), *([self._redecodes.latest] if self._redecodes.latest else [])]:
            job.cancel()
        if self._agreements.fits_at_stop():
            self._split_last(force=self._replayed)
        left = self._describe_stop()
        started = time.monotonic()
        try:
            errors = [future.exception() for _, future in self.phrases]
        finally:
            self.ctx.info["waited for phrases"] = f"{time.monotonic() - started:.3f} s"
            self._workers.shutdown()
        used = {phrase_key(segment) for segment, _ in self.phrases}
        self.ctx.info["decodes after the recording ended"] = self._workers.after_stop(stopped, used)
        if left:  # what the last phrase's decode heard before it (input.streamingOverlap)
            heard = self._decided.heard.get(phrase_key(left[-1]))
            self.ctx.info["heard again before the last phrase"] = f"{(heard[1] - heard[0]) / 16_000 if heard else 0:.1f} s"
        failure = next((e for e in errors if isinstance(e, BackendError)), None) or next((e for e in errors if e), None)
        if failure is not None:
            raise failure
        return joined(self.backend.name, [(segment, future.result()) for segment, future in self.phrases], audio.duration,
                      self.commits)

    def _describe_stop(self) -> list[SpeechSegment]:
        """``--debug``: the phrases when the recording ended, and how much was left to transcribe; returns those left."""
        if self.phrases:  # (a phrase ended at a pause may still be the last: nobody knew when its decode started)
            last = self.phrases[-1][0]
            self.ctx.info["last phrase"] = (f"{last.end_seconds - last.start_seconds:.1f} s, "
                                            + ("cut by the stop" if last.final else "ended at a pause before the stop"))
        ready = sum(future.done() for _, future in self.phrases)
        left = [segment for segment, future in self.phrases if not future.done()]
        self.ctx.info["streamed phrases"] = (f"{len(self.phrases)}, {ready} done when the recording ended, "
                                             f"{self.redecodes} re-decode(s) of the open phrase, {len(self.commits)} commit(s)")
        self.ctx.info["left at the stop"] = (f"{len(left)} phrase(s), {sum(s.end - s.start for s in left) / 16_000:.1f} s of audio"
                                             + (", the last one split at a pause" if self._cutter is not None and self._cutter.split_at_stop else ""))
        return left

    def _submit(self, segment: SpeechSegment, confirmed: bool = False,
                early: Future[Transcript] | None = None, probe: bool = False) -> Future[Transcript]:
        return self._jobs.submit(segment, confirmed=confirmed, early=early, probe=probe, replayed=self._replayed)
