"""Transcribe while recording: each phrase goes to the first backend as soon as the speaker pauses.

:func:`start_streaming` attaches a :class:`~voice_transcriber.capture.segmenter.Segmenter` to the
recorder; every finished phrase is handed to ``backend.transcribe_segment(audio, context)`` in
a worker thread (``backend.segment_concurrency`` at once), with the previous phrase's text as
context. After the stop only the last phrase is left, so the wait no longer grows with the
length of the recording. :meth:`StreamingTranscription.result` joins the phrases' texts in
order; the pipeline uses it instead of calling the first backend (``Plan.streamed``). When a
phrase fails, the pipeline falls back to the next backend with the whole recording, which is
on disk. Partial text (the phrases so far) goes to ``ctx.partial_text``.

Off with ``input.streaming: false``, for backends with ``prefers_whole_file``, and when the
Silero VAD (faster-whisper) is not installed. A backend with ``stream_after_seconds`` (the HTTP
ones: 8 s) starts only once the recording is that long; a shorter one is transcribed whole.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from .errors import BackendError
from .context import call_component
from .types import Segment, Transcript

if TYPE_CHECKING:
    from collections.abc import Callable

    from .capture.recorder import Recorder
    from .capture.segmenter import Segmenter, SpeechSegment
    from .context import Backend, RunContext
    from .types import Audio


def start_streaming(ctx: RunContext, backend: Backend | None, recorder: Recorder) -> StreamingTranscription | None:
    """Stream the recording to ``backend`` (a plan's first) when settings and backend allow; None otherwise."""
    from .capture import vad
    from .capture.segmenter import Segmenter

    if backend is None or not ctx.settings.input.streaming:
        return None
    if backend.prefers_whole_file:
        ctx.log(f"backend '{backend.name}' prefers the whole recording: transcribing after the stop")
        return None
    if not vad.available():
        ctx.log("no Silero VAD (faster-whisper is not installed): transcribing after the stop")
        return None
    session = StreamingTranscription(backend, ctx)

    def attach() -> Segmenter:
        recorder.segmenter = Segmenter(session.add, on_pause=session.add_early)
        return recorder.segmenter

    if backend.stream_after_seconds > 0:
        recorder.taps.append(_DeferredStart(recorder, attach, backend.stream_after_seconds))
    else:
        recorder.taps.append(attach().feed)
    return session


class _DeferredStart:
    """A recorder tap that attaches the segmenter once the recording is ``after`` seconds long
    (``Backend.stream_after_seconds``), feeding it everything recorded so far."""

    def __init__(self, recorder: Recorder, attach: Callable[[], Segmenter], after: float) -> None:
        self.recorder, self.attach, self.after = recorder, attach, after
        self.segmenter: Segmenter | None = None

    def __call__(self, block: bytes) -> None:
        if self.segmenter is not None:
            self.segmenter.feed(block)
        elif self.recorder.seconds >= self.after:  # the recorder's chunks already hold ``block``
            self.segmenter = self.attach()
            self.segmenter.feed(b"".join(self.recorder.chunks))


class StreamingTranscription:
    """Phrases of one recording being transcribed by ``backend`` while the recording goes on."""

    def __init__(self, backend: Backend, ctx: RunContext) -> None:
        self.backend, self.ctx = backend, ctx
        self._executor = ThreadPoolExecutor(max(1, backend.segment_concurrency), thread_name_prefix=f"stream-{backend.name}")
        self._phrases: list[tuple[SpeechSegment, Future[Transcript]]] = []
        self._early: tuple[SpeechSegment, Future[Transcript]] | None = None  #: started at a short pause
        self._texts: dict[int, str] = {}  #: phrase index → its text, once transcribed and confirmed
        self._confirmed: set[tuple[int, int, int]] = set()  #: phrases handed to :meth:`add`
        self._answers: dict[tuple[int, int, int], str] = {}  #: texts of phrases transcribed, confirmed or not
        self._reported = 0  #: phrases (from the first, without a gap) already in the partial text
        self._lock = threading.Lock()
        self._failed = threading.Event()

    def add(self, segment: SpeechSegment) -> None:
        """Queue a finished phrase (the segmenter's ``on_segment``; quick, runs in the recording loop)."""
        self.ctx.log(f"phrase {segment.index} ({segment.start_seconds:.1f}–{segment.end_seconds:.1f} s) finished")
        if segment.final:
            self.ctx.info["last phrase"] = f"{segment.end_seconds - segment.start_seconds:.1f} s"
        if self._failed.is_set():
            return
        with self._lock:  # atomic with the end of _transcribe: exactly one of them remembers the text
            self._confirmed.add(_key(segment))
            answer = self._answers.get(_key(segment))
        future = self._take_early(segment) or self._executor.submit(self._transcribe, segment)
        self._phrases.append((segment, future))
        if answer is not None:
            self._remember(segment.index, answer)

    def add_early(self, segment: SpeechSegment) -> None:
        """Start on a phrase that may be finished (the segmenter's ``on_pause``): if the speaker
        stops there, :meth:`add` receives the same phrase and its text is ready sooner."""
        if not self._failed.is_set():
            self.ctx.log(f"phrase {segment.index} ({segment.start_seconds:.1f}–{segment.end_seconds:.1f} s) started early")
            self._drop_early()
            self._early = (segment, self._executor.submit(self._transcribe, segment))

    def cancel(self) -> None:
        """Drop the phrases not started yet (the recording was cancelled)."""
        self._failed.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def result(self, audio: Audio) -> Transcript:
        """Wait for every phrase and join their texts. Raises the first phrase's :class:`BackendError`."""
        self._drop_early()
        ready = sum(future.done() for _, future in self._phrases)
        self.ctx.info["streamed phrases"] = f"{len(self._phrases)}, {ready} done when the recording ended"
        try:
            errors = [future.exception() for _, future in self._phrases]
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)
        failure = next((e for e in errors if isinstance(e, BackendError)), None) or next((e for e in errors if e), None)
        if failure is not None:
            raise failure
        return _joined(self.backend.name, [(segment, future.result()) for segment, future in self._phrases], audio.duration)

    def _take_early(self, segment: SpeechSegment) -> Future[Transcript] | None:
        """The early start on exactly this phrase, if any (any other early start is void)."""
        early, self._early = self._early, None
        if early is not None and _key(early[0]) == _key(segment):
            return early[1]
        if early is not None:
            early[1].cancel()
        return None

    def _drop_early(self) -> None:
        if self._early is not None:
            self._early[1].cancel()  # too late when it runs: its result is then ignored
            self._early = None

    def _transcribe(self, segment: SpeechSegment) -> Transcript:
        """A worker's job: the backend's transcript of one phrase (confirmed or early)."""
        if self._failed.is_set():
            raise _Abandoned()
        try:
            transcript = call_component(self.backend, "backend", BackendError, self.backend.transcribe_segment,
                               segment.audio(), self._context_for(segment.index))
        except BaseException:
            if _key(segment) in self._confirmed:
                self._failed.set()
            raise
        text = transcript.text.strip()
        with self._lock:
            self._answers[_key(segment)] = text
            confirmed = _key(segment) in self._confirmed
        if confirmed:
            self._remember(segment.index, text)
        return transcript

    def _remember(self, index: int, text: str) -> None:
        """A confirmed phrase's text is known: keep it and report the text so far."""
        self.ctx.log(f"phrase {index} transcribed: {len(text)} characters")
        with self._lock:  # held while reporting, so that partial texts never arrive out of order
            self._texts[index] = text
            partial = self._partial_text()
            if partial is not None:
                self.ctx.partial_text(partial)

    def _context_for(self, index: int) -> str:
        """The text of the nearest earlier phrase already transcribed ('' if none)."""
        with self._lock:
            for earlier in range(index - 1, -1, -1):
                if self._texts.get(earlier):
                    return self._texts[earlier]
        return ""

    def _partial_text(self) -> str | None:
        """The phrases so far, joined, when the run without gaps from the first one has grown."""
        done = self._reported
        while done in self._texts:
            done += 1
        if done == self._reported:
            return None
        self._reported = done
        return " ".join(text for index in range(done) if (text := self._texts[index]))


def _key(segment: SpeechSegment) -> tuple[int, int, int]:
    return segment.index, segment.start, segment.end


class _Abandoned(Exception):
    """A phrase not transcribed because an earlier one failed (the whole file goes to the next backend)."""


def _joined(backend: str, transcripts: list[tuple[SpeechSegment, Transcript]], duration: float) -> Transcript:
    """One transcript of the whole recording: the phrases' texts in order, their timings shifted."""
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
                      extra={**(first.extra if first else {}), "streamed_phrases": len(transcripts)})
