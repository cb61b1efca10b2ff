"""The pipeline, top to bottom: audio → backend (with fallback) → formatters → each sink.

Capture happens before this (``voice_transcriber.capture`` or ``--input``); everything
that does real work is a component supplied by a plugin.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .context import Backend, Formatter, RunContext, Sink, call_component
from .errors import BackendError, DeliveredElsewhere, FormatterError, SinkError, VoiceTranscriberError
from .safe_text import safe_text
from .types import Audio, Transcript

if TYPE_CHECKING:
    from .streaming.session import StreamingTranscription


class Streamed(Protocol):
    """Audio already being transcribed by the first backend (:attr:`Plan.streamed`): while it was
    recorded (:class:`~voice_transcriber.streaming.StreamingTranscription`), or a stored
    ``--continuous`` session replayed utterance by utterance (``capture.continuous.SessionReplay``)."""

    def result(self, audio: Audio) -> Transcript: ...

    def cancel(self) -> None: ...


@dataclass
class Plan:
    """The components chosen for one run, in the order they run."""

    backends: list[Backend]
    formatters: list[Formatter] = field(default_factory=list)
    sinks: list[Sink] = field(default_factory=list)
    #: Set by capture when the first backend transcribes the recording while it is made
    #: (``voice_transcriber.streaming``); :func:`run` then collects that instead of calling it.
    streamed: StreamingTranscription | Streamed | None = None
    #: What was said just before this audio (a ``--continuous`` session's earlier utterances): the
    #: backends get it as ``transcribe_segment(audio, context)``, so sentences carry over.
    context: str = ""


#: Seconds the process waits at exit for a ``prepare()`` still running (see :func:`_finish_preparing`).
PREPARE_EXIT_WAIT = 20.0
_preparing: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def prepare_in_background(plan: Plan, ctx: RunContext, *, recording: bool | None = None) -> list[threading.Thread]:
    """Start each backend's ``prepare()`` (e.g. model load) while the user is speaking.

    ``recording``: True, only the backends that prepare while recording (when the recording
    starts); False, only the others (when it stops); None, all of them."""
    threads = [threading.Thread(target=_prepare, args=(b, ctx), daemon=True, name=f"prepare-{b.name}")
               for b in plan.backends if recording is None or b.prepare_while_recording == recording]
    for thread in threads:
        _preparing.add(thread)
        thread.start()
    return threads


def exiting_with(status: int) -> None:
    """The executable says the process is ending with ``status`` (``__main__``): a ``prepare()`` still running
    then need not be waited for at exit (:func:`_finish_preparing`)."""
    global _exit_status
    _exit_status = status


_exit_status: int | None = None


def _finish_preparing() -> None:
    """At exit (a cancel or an error during the model load), a ``prepare()`` still running must not be cut off
    by interpreter shutdown: a native library (CTranslate2, onnxruntime) whose loading thread is can abort the
    process (CPython gh-87135). When the executable said how the process ends (:func:`exiting_with`), it ends
    here at once with that status (``os._exit``): the threads that are not daemons have ended and the exit
    handlers registered since this module was imported have run (those before it, PortAudio's, are only
    cleanup), and nothing of the load is wanted any more: ``cancel --wait`` does not wait out a model load.
    Otherwise (Python embedding the pipeline) the load is let finish, bounded: a stuck one is left behind."""
    if _exit_status is not None and any(thread.is_alive() for thread in list(_preparing)):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):  # closed, or none (a daemon's)
                pass
        os._exit(_exit_status)
    deadline = time.monotonic() + PREPARE_EXIT_WAIT
    for thread in list(_preparing):
        thread.join(max(0.0, deadline - time.monotonic()))


atexit.register(_finish_preparing)


def run(audio: Audio, plan: Plan, ctx: RunContext) -> Transcript:
    """Transcribe ``audio``, format the text, deliver it to every sink; return the final record."""
    streamed, plan.streamed = plan.streamed, None
    with ctx.stage("transcribe"):
        if streamed is None and audio.known_empty:  # e.g. stopped before the microphone opened: no model loads for it
            transcript = ctx.transcript = Transcript(text="", backend=plan.backends[0].name if plan.backends else "",
                                                     audio_duration=0.0)
        else:
            transcript = ctx.transcript = transcribe(audio, plan.backends, ctx, streamed, plan.context)
    ctx.transcript_ready(transcript)
    with ctx.stage("format"):
        transcript = ctx.transcript = format_text(transcript, plan.formatters, ctx)
    if not transcript.text.strip():
        ctx.warn(f"no speech detected in {audio.label or 'the recording'}; nothing delivered")
    else:
        with ctx.stage("deliver"):
            deliver(transcript, plan.sinks, ctx)
    ctx.pipeline_finished(transcript)
    return transcript


def transcribe(audio: Audio, backends: list[Backend], ctx: RunContext,
               streamed: StreamingTranscription | Streamed | None = None, context: str = "") -> Transcript:
    """Try each backend in order; the first that succeeds answers.

    ``streamed``: the first backend already transcribes ``audio`` phrase by phrase; wait for it.
    ``context``: the text said just before ``audio``, given to ``transcribe_segment``.
    """
    errors: list[str] = []
    for position, backend in enumerate(backends):
        ctx.transcription_started(audio, backend.name)
        try:
            if position == 0 and streamed is not None:
                transcript = streamed.result(audio)
            elif context:
                transcript = call_component(backend, "backend", BackendError, backend.transcribe_segment, audio, context)
            else:
                transcript = call_component(backend, "backend", BackendError, backend.transcribe, audio)
            transcript = _safe(transcript, ctx, f"the transcript of backend '{backend.name}'")
        except BackendError as exc:
            errors.append(str(exc))
            if position + 1 < len(backends):
                ctx.warn(f"{exc} — trying backend '{backends[position + 1].name}'")
            continue
        ctx.info["backend"] = backend.name
        ctx.log(f"backend '{backend.name}' answered")
        return transcript
    raise BackendError(errors[-1] if len(errors) == 1 else "all backends failed: " + " | ".join(errors))


def format_text(transcript: Transcript, formatters: list[Formatter], ctx: RunContext) -> Transcript:
    """Run the formatters in order; a failing one leaves the text as it was and says why."""
    for formatter in formatters:
        try:
            text = call_component(formatter, "formatter", FormatterError, formatter.format, transcript)
            if not isinstance(text, str):
                raise FormatterError(f"formatter '{formatter.name}' (plugin {formatter.plugin}) returned "
                                     f"{type(text).__name__}, not text (a bug in its plugin)")
        except FormatterError as exc:
            ctx.warn(f"{exc}; keeping the text unformatted by '{formatter.name}'")
            continue
        transcript = transcript.with_text(safe_text(text, ctx.log, f"the text of formatter '{formatter.name}'"))
    return transcript


def deliver(transcript: Transcript, sinks: list[Sink], ctx: RunContext) -> None:
    """Give the text to every sink, even when an earlier one fails; then report failures.

    Control characters never reach a sink (:mod:`voice_transcriber.safe_text`), whatever
    produced the text: a backend, a formatter, a plugin, a damaged history entry. When every
    failure is a :class:`DeliveredElsewhere` (the text went to the clipboard instead of the
    window), that is what the run raises: exit code 3, nothing lost."""
    transcript = _safe(transcript, ctx, "the text to deliver", SinkError)
    failures: list[SinkError] = []
    for sink in sinks:
        try:
            call_component(sink, "sink", SinkError, sink.deliver, transcript.text, transcript)
        except SinkError as exc:
            failures.append(exc)
            continue
        ctx.text_delivered(transcript.text, sink.name, transcript)
    if not failures:
        return
    message = "; ".join(str(exc) for exc in failures)
    if all(isinstance(exc, DeliveredElsewhere) for exc in failures):
        partly = any(exc.outcome == "partly" for exc in failures)  # type: ignore[attr-defined]
        raise DeliveredElsewhere(message, outcome="partly" if partly else "clipboard")
    raise SinkError(message)


def _safe(transcript: Transcript, ctx: RunContext, source: str,
          error_cls: type[VoiceTranscriberError] = BackendError) -> Transcript:
    """``transcript`` with text safe to type (the same object when it already was)."""
    if not isinstance(transcript, Transcript) or not isinstance(transcript.text, str):
        wrong = type(getattr(transcript, "text", transcript)).__name__
        raise error_cls(f"{source} is not text but {wrong} (a bug in its plugin)")
    text = safe_text(transcript.text, ctx.log, source)
    return transcript if text == transcript.text else transcript.with_text(text)


def _prepare(backend: Backend, ctx: RunContext) -> None:
    try:
        with ctx.stage(f"prepare:{backend.name}"):
            backend.prepare()
    except Exception as exc:  # transcribe() will report the real problem
        ctx.log(f"backend '{backend.name}' prepare() failed: {exc}")
