"""The ``tracker`` plugin: publishes each run's state for ``status`` and keeps the history.

It ships with the core and is registered through the ``voice_transcriber`` entry-point
group like any plugin; it only listens to the pipeline's event hooks. Disable it with
``VOICE_TRANSCRIBER_DISABLE_PLUGINS=tracker`` to keep no history (``status`` then only
knows whether a recorder runs; ``toggle``/``stop`` work without it, see ``control``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import history, runstate
from .context import RunContext
from .errors import Cancelled, DeliveredElsewhere, SinkError, VoiceTranscriberError
from .files import UnsafePathError
from .hookspecs import hookimpl
from .types import Audio, Transcript


#: What the history says when the text went to the clipboard instead of the window (DeliveredElsewhere.outcome).
OUTCOMES = {"partly": "delivered partly", "clipboard": "delivered to the clipboard instead"}


@dataclass
class _Run:
    """What one run has told the hooks so far (a process may run several: ``transcribe a b``)."""

    audio: Audio | None = None
    raw: Transcript | None = None
    delivered: list[str] = field(default_factory=list)


_runs: dict[str, _Run] = {}


def _recording(ctx: RunContext) -> str | None:
    return ctx.info.get("recording")


@hookimpl
def vt_recording_started(ctx: RunContext) -> None:
    _runs[ctx.run_id] = _Run()
    _publish(ctx, "recording", recording=_recording(ctx))


@hookimpl
def vt_recording_stopped(ctx: RunContext) -> None:
    _publish(ctx, "transcribing", recording=_recording(ctx))


@hookimpl
def vt_transcription_started(ctx: RunContext, audio: Audio, backend: str) -> None:
    run = _runs.setdefault(ctx.run_id, _Run())
    run.audio = audio
    if audio.path is not None and _is_stored_recording(audio.path):
        ctx.info.setdefault("recording", str(audio.path))  # `retry`: failures point back at it
    _publish(ctx, "transcribing", backend=backend, recording=_recording(ctx))


@hookimpl
def vt_transcript_ready(ctx: RunContext, transcript: Transcript) -> None:
    _runs.setdefault(ctx.run_id, _Run()).raw = transcript


@hookimpl
def vt_text_delivered(ctx: RunContext, sink: str) -> None:
    if ctx.run_id in _runs:  # `history show --output` re-delivers outside any run
        _runs[ctx.run_id].delivered.append(sink)


@hookimpl
def vt_pipeline_finished(ctx: RunContext, transcript: Transcript) -> None:
    run = _runs.pop(ctx.run_id, _Run())
    if not transcript.text.strip():
        _publish(ctx, "failed", error="no speech detected", no_speech=True)  # exit 0: `stop --wait` says so
        return
    _remember(ctx, _entry(ctx, run, transcript, error=None))
    _publish(ctx, "delivered", sinks=run.delivered)


@hookimpl
def vt_pipeline_failed(ctx: RunContext, error: BaseException) -> None:
    run = _runs.pop(ctx.run_id, _Run())
    if ctx.transcript is not None and ctx.transcript.text.strip():
        entry = _entry(ctx, run, ctx.transcript, error=str(error) if isinstance(error, SinkError) else None)
        if isinstance(error, DeliveredElsewhere):
            entry = replace(entry, outcome=OUTCOMES.get(error.outcome, error.outcome))
        _remember(ctx, entry)
    if isinstance(error, (Cancelled, KeyboardInterrupt)):
        _publish(ctx, "idle", cancelled=True, recording=_recording(ctx))
    else:
        _publish(ctx, "failed", error=str(error), recording=_recording(ctx),
                 exit_code=getattr(error, "exit_code", 1))


def _publish(ctx: RunContext, state: str, **details: object) -> None:
    try:
        runstate.publish(ctx.run_id, state, **details)
    except (OSError, VoiceTranscriberError) as exc:  # a status bar is not worth failing a dictation
        ctx.log(f"could not publish the run state: {exc}")


def _remember(ctx: RunContext, entry: history.HistoryEntry) -> None:
    try:
        history.append(entry)
    except UnsafePathError as exc:
        ctx.warn(f"could not add the transcript to the history: {exc}")
    except OSError as exc:
        ctx.warn(f"could not add the transcript to {history.history_path()}: {exc.strerror or exc} "
                 "(free some space or fix the permissions)")


def _entry(ctx: RunContext, run: _Run, transcript: Transcript, error: str | None) -> history.HistoryEntry:
    raw = run.raw or transcript
    failed = [s for s in ctx.settings.output.sinks if s not in run.delivered] if error else []
    duration = transcript.audio_duration or raw.audio_duration
    if duration is None and run.audio is not None:
        duration = run.audio.duration
    return history.HistoryEntry(
        id=ctx.run_id,
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        text=transcript.text,
        raw_text=raw.text,
        backend=ctx.info.get("backend", transcript.backend),
        model=transcript.model or raw.model,
        language=transcript.language or raw.language,
        audio_duration=round(duration, 3) if duration is not None else None,
        durations={stage: round(seconds, 3) for stage, seconds in ctx.timings.items()},
        recording=_recording(ctx),
        sinks_delivered=list(run.delivered),
        sinks_failed=failed,
        error=error,
        commits=(raw.extra or {}).get("streamed_commits"),
        **ctx.info.get("utterance span", {}),
    )


def _is_stored_recording(path: Path) -> bool:
    from .recordings import fallback_dir, recordings_dir

    return path.resolve().parent in (recordings_dir().resolve(), fallback_dir().resolve())
