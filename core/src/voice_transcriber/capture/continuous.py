"""``--continuous``: hands-free dictation — keep listening, deliver each utterance at its pause.

One recording covers the whole session (one WAV on disk, written as it comes, as usual). The
segmenter (:mod:`.segmenter`, Silero VAD) cuts it where the speaker pauses for
``input.utterancePauseSeconds``; each utterance then runs through backend → formatters →
sinks in a worker thread while the recording goes on. Every utterance is a run of its own
(run id ``SESSION-N``, one history entry each, whose ``recording`` is the session's file);
``ctx.info["utterance"]`` is its number (1, 2 …), so a sink can separate it from the one
before (the typing sinks type ``output.typing.utteranceSeparator`` first).

The session ends when

* an utterance ends with ``input.stopPhrase`` (any case and punctuation): the phrase is not
  delivered, the words before it are;
* a stop request arrives (Enter, Ctrl-C, SIGTERM, SIGUSR1, ``voice-transcriber stop``/``toggle``):
  the utterance under way is still delivered; a cancel (Ctrl-C twice, SIGUSR2) drops what is
  not delivered yet;
* nobody spoke for ``input.continuousSilenceSeconds``, or ``input.maxDurationSeconds`` is reached.

``retry`` of the session's recording replays the session (:class:`SessionReplay`): the same
utterances, each transcribed with the same context, so it gives the text the session delivered.
What each utterance is transcribed with is :mod:`.utterances`; the stop phrase, :mod:`.stop_phrase`.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import VoiceTranscriberError
from .stop_phrase import StopPhrase, split_stop_phrase
from .utterances import RATE, Continuation, heard_after, session_context, utterance_segmenter

if TYPE_CHECKING:
    from ..context import Backend, RunContext
    from ..pipeline import Plan
    from ..types import Audio, Transcript
    from .meter import LevelMeter
    from .recorder import Recorder
    from .segmenter import Segmenter, SpeechSegment
    from .stops import StopControl


def dictate_continuously(ctx: RunContext, plan: Plan, make_plan: Callable[[RunContext], Plan]) -> None:
    """Record until the session ends, delivering each utterance meanwhile (see the module docstring).

    ``plan`` is checked and its backends prepared while the microphone opens; ``make_plan``
    builds each utterance's components for that utterance's context. Raises
    :class:`~voice_transcriber.VoiceTranscriberError` when an utterance was not delivered
    (the session's recording is then kept for ``retry``), and what recording raises.
    """
    from ..live import live_sinks
    from . import vad

    vad.check_available("--continuous")
    session = ContinuousDictation(ctx, make_plan, live=bool(live_sinks(plan, ctx)))
    worker = threading.Thread(target=session.deliver_all, name="continuous-delivery")
    worker.start()
    try:
        session.record(plan)
        session.utterances.put(None)
        worker.join()
    except BaseException:  # cancelled, or the recording failed: what is not delivered yet is dropped
        session.cancelled = True
        session.utterances.put(None)
        raise
    session.report()


class ContinuousDictation:
    """One hands-free session: the recording (main thread) and the deliveries (a worker thread)."""

    def __init__(self, ctx: RunContext, make_plan: Callable[[RunContext], Plan], live: bool = False) -> None:
        self.ctx, self.make_plan = ctx, make_plan
        self.live = live  #: --live and a sink that can show partial text (checked once, warned once)
        self.settings = ctx.settings.input
        self.utterances: queue.Queue[SpeechSegment | None] = queue.Queue()
        self.delivered: list[Transcript] = []  #: each delivered utterance's final record, in order
        self.failures: list[str] = []
        self.stop_heard = False
        self.cancelled = False
        self.stop: StopControl | None = None
        self.segmenter: Segmenter | None = None
        self.last_speech_end = 0  #: sample where the latest utterance's speech ended
        self._previous_end: int | None = None  #: end sample of the utterance delivered before
        self._previous: tuple[SpeechSegment, str] | None = None  #: that utterance and the backend's text of it

    def record(self, plan: Plan) -> None:
        """Record the session (``capture.record``) with the utterance segmenter on the recorder's taps."""
        from . import record

        # the session's own silence limit replaces --silence-stop's (see overrides_from)
        record(self.ctx, plan, settings=self.settings.model_copy(update={"silence_stop_seconds": None}),
               attach=self._attach)

    def _attach(self, recorder: Recorder) -> None:
        self.stop = recorder.stop
        self.segmenter = utterance_segmenter(self.settings, self._utterance_ended, recorder.voice_activity())
        recorder.taps += [self.segmenter.feed, self._watch_silence]
        recorder.segmenter = self.segmenter  # flushed at the stop: the utterance under way is delivered
        self._quiet_meter(recorder.meter)

    def _quiet_meter(self, meter: LevelMeter) -> None:
        """Texts printed on the terminal would land inside the meter's line: say the keys once instead."""
        if not (meter.enabled and sys.stdout.isatty()):
            return
        meter.enabled = False
        phrase = f"say \"{self.settings.stop_phrase}\", " if self.settings.stop_phrase else ""
        self.ctx.warn(f"listening hands-free: {phrase}press Enter or Ctrl-C to stop, Ctrl-C twice to cancel")

    def _utterance_ended(self, segment: SpeechSegment) -> None:
        """Called by the segmenter in the recording loop: hand the utterance to the worker."""
        assert self.segmenter is not None
        self.last_speech_end = segment.end - self.segmenter.padding
        self.utterances.put(segment)

    def _watch_silence(self, block: bytes) -> None:
        """A recorder tap (after the segmenter's): request the stop after the long silence."""
        limit = self.settings.continuous_silence_seconds
        stop, segmenter = self.stop, self.segmenter
        if not limit or stop is None or segmenter is None or stop.requested_at is not None or segmenter.speaking:
            return
        if segmenter.judged - self.last_speech_end >= limit * RATE:
            stop.request_stop(f"{limit:g} s without speech")
            if stop.requested_at is not None:
                stop.requested_at -= self.settings.tail_padding_ms / 1000  # the silence already is the tail

    def deliver_all(self) -> None:
        """The worker: deliver utterances in order until the recording ends."""
        while (segment := self.utterances.get()) is not None:
            if not (self.stop_heard or self.cancelled):  # after the stop phrase, nothing more is delivered
                self._deliver(segment)

    def _deliver(self, segment: SpeechSegment) -> None:
        from .. import pipeline
        from ..live import live_text

        number = segment.index + 1
        ctx = replace(self.ctx, run_id=f"{self.ctx.run_id}-{number}", timings={}, transcript=None,
                      info={"recording": self.ctx.info.get("recording"), "utterance": number})
        where = f"utterance {number} ({segment.start_seconds:.1f}–{segment.end_seconds:.1f} s of the recording)"
        try:
            plan = self.make_plan(ctx)
            plan.context = self._context(segment)
            ctx.info["utterance span"] = {"start": segment.start / RATE, "end": segment.end / RATE, "context": plan.context}
            after = heard_after(self.settings, self._previous, plan.context, segment)
            if after is not None and plan.backends and self._previous is not None:
                previous = self._previous[0]
                plan.streamed = Continuation(plan.backends[0], previous.audio(), after)
                ctx.info["utterance span"].update(before_start=previous.start / RATE, before_end=previous.end / RATE,
                                                  before_text=after.text)
            stop_phrase = StopPhrase(ctx, self.settings.stop_phrase)
            plan.formatters.insert(0, stop_phrase)
            with live_text(plan, ctx) if self.live else nullcontext():
                transcript = pipeline.run(segment.audio(), plan, ctx)
        except Exception as exc:  # noqa: BLE001 - one lost utterance must not end the session
            reason = str(exc) if isinstance(exc, VoiceTranscriberError) else f"{type(exc).__name__}: {exc}"
            self.failures.append(f"{where}: {reason}")
            self.ctx.warn(f"{where} was not delivered: {reason}")
            return
        ctx.log(f"{where}: " + " · ".join(f"{stage} {seconds:.3f} s" for stage, seconds in ctx.timings.items()))
        if transcript.text.strip():
            self.delivered.append(transcript)
            self._previous_end = segment.end
            self._previous = (segment, transcript.raw_text if transcript.raw_text is not None else transcript.text)
        if stop_phrase.heard:
            self.stop_heard = True
            assert self.stop is not None
            self.stop.request_stop("the stop phrase")

    def _context(self, segment: SpeechSegment) -> str:
        """The session's text before this utterance, the backend's prompt (:func:`session_context`)."""
        return session_context(self.settings, self.delivered, self._previous_end, segment)

    def report(self) -> None:
        """One line on how the session ended; an error when an utterance was not delivered.

        On success ``ctx.transcript`` is the whole session's text (what a caller such as the
        daemon reports), the utterances joined by spaces."""
        assert self.stop is not None
        reason = "the stop phrase was said" if self.stop_heard else f"stopped by {self.stop.reason or 'a limit'}"
        if self.failures:
            raise VoiceTranscriberError(f"{len(self.failures)} utterance(s) of the session were not delivered "
                                        f"({self.failures[0]}){' and more, see above' if len(self.failures) > 1 else ''}")
        self.ctx.warn(f"continuous dictation ended ({reason}): {len(self.delivered)} utterance(s) delivered")
        if self.delivered:
            self.ctx.transcript = self.delivered[-1].with_text(" ".join(t.text for t in self.delivered))
        _publish_end(self.ctx, len(self.delivered))


def is_session(recording: str | None) -> bool:
    """``recording`` (a stored file) was made by a ``--continuous`` session: its history has the
    session's utterances (entries that say where in it they lie)."""
    from pathlib import Path

    from .. import history

    if not recording:
        return False
    try:
        wanted = Path(recording).resolve()
        return any(entry.start is not None and entry.recording and Path(entry.recording).resolve() == wanted
                   for entry in history.load(warn=lambda _: None))  # damaged lines: the retry's own look warns
    except (OSError, VoiceTranscriberError):
        return False


class SessionReplay:
    """A ``--continuous`` session's recording transcribed again as the session did it (``retry``).

    The utterances are cut by the session's segmenter (:func:`utterance_segmenter`; its voice
    activity depends on the audio alone, so they are the live ones), each is transcribed by
    ``backend`` with the session's text before it as context (:func:`session_context`), the stop
    phrase is taken off, and nothing after it counts: :meth:`result` is the text the session
    delivered, the utterances joined by spaces (what the daemon reports for a session). It stands
    in for :class:`~voice_transcriber.streaming.StreamingTranscription` as ``plan.streamed``."""

    def __init__(self, ctx: RunContext, backend: Backend) -> None:
        self.ctx, self.backend = ctx, backend
        self.texts: list[tuple[SpeechSegment, str]] = []  #: each utterance and the text it delivered ('' if none)

    def cancel(self) -> None:
        """Nothing runs in the background."""

    def utterances(self, audio: Audio) -> list[SpeechSegment]:
        """The session's utterances, cut from ``audio`` as the live segmenter cut them."""
        import numpy as np

        found: list[SpeechSegment] = []
        segmenter = utterance_segmenter(self.ctx.settings.input, found.append)
        if not segmenter.activity.wait_ready(30):
            raise VoiceTranscriberError(f"cannot replay the hands-free session: the voice-activity detector did not load "
                                        f"({segmenter.activity.error or 'timed out'})")
        pcm = np.round(np.clip(audio.pcm(), -1.0, 32767 / 32768) * 32768).astype(np.int16).tobytes()
        for offset in range(0, len(pcm), BLOCK * 2):
            segmenter.feed(pcm[offset:offset + BLOCK * 2])
        segmenter.flush()
        return found

    def result(self, audio: Audio) -> Transcript:
        """Transcribe the utterances in order, as the session did; their delivered texts joined."""
        from ..context import call_component
        from ..errors import BackendError
        from ..types import Transcript

        settings = self.ctx.settings.input
        delivered: list[Transcript] = []
        previous_end: int | None = None
        previous: tuple[SpeechSegment, str] | None = None
        for segment in self.utterances(audio):
            context = session_context(settings, delivered, previous_end, segment)
            after = heard_after(settings, previous, context, segment)
            if after is not None and previous is not None:
                transcript = Continuation(self.backend, previous[0].audio(), after).result(segment.audio())
            elif context:
                transcript = call_component(self.backend, "backend", BackendError, self.backend.transcribe_segment,
                                            segment.audio(), context)
            else:
                transcript = call_component(self.backend, "backend", BackendError, self.backend.transcribe, segment.audio())
            text, heard = split_stop_phrase(transcript.text, settings.stop_phrase)
            self.texts.append((segment, text if text.strip() else ""))
            if text.strip():
                delivered.append(transcript.with_text(text))
                previous_end, previous = segment.end, (segment, transcript.text)
            if heard:  # the session stopped there
                break
        self.ctx.log(f"replayed the hands-free session: {len(self.texts)} utterance(s)")
        first = delivered[0] if delivered else None
        return Transcript(text=" ".join(t.text for t in delivered), backend=self.backend.name,
                          language=first.language if first else None, model=first.model if first else None,
                          audio_duration=audio.duration, extra={"utterances": len(delivered)})


#: Samples per block fed to the segmenter when a session is replayed (the recorder's 50 ms tick)
BLOCK = 800


def _publish_end(ctx: RunContext, delivered: int) -> None:
    """The session's own run state ends too (its utterances published theirs), for ``status``."""
    from .. import runstate

    try:
        runstate.publish(ctx.run_id, "delivered", utterances=delivered)
    except (OSError, VoiceTranscriberError) as exc:
        ctx.log(f"could not publish the session's state: {exc}")
