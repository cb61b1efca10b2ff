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
"""

from __future__ import annotations

import queue
import re
import sys
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..context import Formatter
from ..errors import VoiceTranscriberError

if TYPE_CHECKING:
    from ..config import InputSettings
    from ..context import RunContext
    from ..pipeline import Plan
    from ..context import Backend
    from ..types import Audio, Transcript
    from .meter import LevelMeter
    from .recorder import Recorder
    from .segmenter import Segmenter, SpeechSegment
    from .stops import StopControl
    from .vad import VoiceActivity

RATE = 16_000
#: Audio kept before and after each utterance's speech (s). More than the segmenter's default:
#: a short utterance has no neighbouring context, and tiny.en mishears a soft first word cut
#: close ("The meeting" → "Let me do", measured through a PulseAudio virtual microphone).
PADDING = 0.4
#: Audio kept before an utterance's first speech (s), down to the end of the utterance before: the
#: pause before it, up to 1 s. With the padding alone, a soft first word the VAD scores low was cut
#: off at some positions of its 32 ms grid (jfk.flac's "ask" after a 1 s pause: "mark mark mark"
#: instead of "ask not"); bench/stream_accuracy.py --only continuous: WER − batch +0.013 → +0.010
#: over six sessions (docs/streaming.md).
LEAD = 1.0
#: ``input.continuousOverlap``: an utterance is heard after the one before it only when both together
#: are at most this long (s), as phrases are (``streaming.decided.OVERLAP_SECONDS``): Whisper hears 30 s at once
OVERLAP_SECONDS = 25.0
#: A word: letters and digits, with apostrophes inside ("don't").
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
#: An utterance ending with this starts a new context (see :meth:`ContinuousDictation._context`).
NEW_PARAGRAPH = re.compile(r"\bnew paragraph\W*$", re.IGNORECASE)
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


def utterance_segmenter(settings: InputSettings, on_utterance: Callable[[SpeechSegment], None],
                        activity: VoiceActivity | None = None) -> Segmenter:
    """The segmenter that cuts a session into utterances (at ``input.utterancePauseSeconds`` pauses,
    :data:`PADDING` after and :data:`LEAD` before each); ``activity``: the recording's shared VAD."""
    from .segmenter import Segmenter

    return Segmenter(on_utterance, min_pause=settings.utterance_pause_seconds, padding=PADDING, lead=LEAD,
                     activity=activity)


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


def session_context(settings: InputSettings, delivered: list[Transcript], previous_end: int | None,
                    segment: SpeechSegment) -> str:
    """The session's text before ``segment`` (the backends' own words of the ``delivered``
    utterances, the last of which ended at sample ``previous_end``): its prompt
    (``input.continuousContextSeconds``). Reset — '' — for the first utterance, after that many
    seconds without speech (a new topic), and after an utterance that ended with "new paragraph"."""
    limit = settings.continuous_context_seconds
    if not limit or not delivered or previous_end is None:
        return ""
    if segment.start - previous_end >= limit * RATE:
        return ""
    texts: list[str] = []
    for transcript in reversed(delivered):
        raw = transcript.raw_text if transcript.raw_text is not None else transcript.text
        if NEW_PARAGRAPH.search(raw):
            break
        texts.insert(0, raw.strip())
    return " ".join(texts)


@dataclass(frozen=True)
class HeardAfter:
    """What an utterance is heard after (``input.continuousOverlap``): the utterance before it again."""

    text: str  #: the backend's text of the utterance before, which the decoder is held to
    context: str  #: the session's text before that one (the prompt)


def heard_after(settings: InputSettings, previous: tuple[SpeechSegment, str] | None, context: str,
                segment: SpeechSegment) -> HeardAfter | None:
    """With ``input.continuousOverlap``: ``segment`` is transcribed after ``previous`` (the utterance
    delivered before it and its text) when that one's text ends the session's ``context`` (no new
    topic, no "new paragraph" since) and both together are at most :data:`OVERLAP_SECONDS` long."""
    if not settings.continuous_overlap or previous is None or not context:
        return None
    before, text = previous[0], previous[1].strip()
    if not text or not context.endswith(text) or segment.end - before.start > OVERLAP_SECONDS * RATE:
        return None
    return HeardAfter(text, context[: len(context) - len(text)].strip())


class Continuation:
    """One utterance transcribed by ``backend`` after the one before it, heard again
    (``backend.transcribe_continuation``): ``plan.streamed`` of that utterance's run (a failure
    there goes on to the next backend, which gets the session's text as prompt)."""

    def __init__(self, backend: Backend, before: Audio, after: HeardAfter) -> None:
        self.backend, self.before, self.after = backend, before, after

    def result(self, audio: Audio) -> Transcript:
        from ..context import call_component
        from ..errors import BackendError

        return call_component(self.backend, "backend", BackendError, self.backend.transcribe_continuation,
                              self.before, self.after.text, audio, self.after.context)

    def cancel(self) -> None:
        """Nothing runs in the background."""


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
