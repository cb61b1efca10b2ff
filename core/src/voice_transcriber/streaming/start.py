"""Whether a recording is streamed, and attaching the streaming session to the recorder.

:func:`start_streaming` attaches a :class:`~voice_transcriber.capture.segmenter.Segmenter` to the
recorder (sharing the recording's one voice-activity detector with ``--silence-stop``). Off with
``input.streaming: false``, for backends with ``prefers_whole_file``, and when the Silero VAD (faster-whisper)
is not installed. A backend with ``stream_after_seconds`` (the HTTP ones: 8 s) starts only once the recording
is that long; a shorter one is transcribed whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .session import StreamingTranscription

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..capture.recorder import Recorder
    from ..capture.segmenter import Segmenter
    from ..context import Backend, RunContext


def streams(ctx: RunContext, backend: Backend | None, *, quiet: bool = False) -> Backend | None:
    """``backend`` (a plan's first), when settings and backend allow streaming; else None."""
    from ..capture import vad

    if backend is None or not ctx.settings.input.streaming:
        return None
    if backend.prefers_whole_file:
        if not quiet:
            ctx.log(f"backend '{backend.name}' prefers the whole recording: transcribing after the stop")
        return None
    if not vad.available():
        if not quiet:
            ctx.log("no Silero VAD (faster-whisper is not installed): transcribing after the stop")
        return None
    return backend


def start_streaming(ctx: RunContext, backend: Backend | None, recorder: Recorder) -> StreamingTranscription | None:
    """Stream the recording to ``backend`` (a plan's first) when settings and backend allow; None otherwise."""
    backend = streams(ctx, backend)
    if backend is None:
        return None
    session = StreamingTranscription(backend, ctx)

    def attach() -> Segmenter:
        recorder.segmenter = session.segmenter(recorder.voice_activity())
        return recorder.segmenter

    if backend.stream_after_seconds > 0:
        recorder.taps.append(_DeferredStart(recorder, attach, backend.stream_after_seconds, session))
    else:
        segmenter = attach()
        recorder.taps.append(lambda block: (segmenter.feed(block), session.tick(segmenter)))
    return session


class _DeferredStart:
    """A recorder tap that attaches the segmenter once the recording is ``after`` seconds long
    (``Backend.stream_after_seconds``), feeding it everything recorded so far."""

    def __init__(self, recorder: Recorder, attach: Callable[[], Segmenter], after: float,
                 session: StreamingTranscription) -> None:
        self.recorder, self.attach, self.after, self.session = recorder, attach, after, session
        self.segmenter: Segmenter | None = None

    def __call__(self, block: bytes) -> None:
        if self.segmenter is not None:
            self.segmenter.feed(block)
            self.session.tick(self.segmenter)
        elif self.recorder.seconds >= self.after:  # the recorder's chunks already hold ``block``
            self.segmenter = self.attach()
            self.segmenter.feed(b"".join(self.recorder.chunks))
