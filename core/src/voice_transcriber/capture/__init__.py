"""Microphone capture: record until the user stops, keeping every sample on disk as it comes.

``record(ctx, plan)`` is what the root command calls when there is no ``--input``; ``record(ctx)``, the
recording alone, is what a plugin calls (the benchmark: this package is public, :data:`__all__`). The
microphone is usually open already (``capture.early``, started by the executable before
the CLI loads); stop requests are described in ``capture.stops``; the WAV file in
``voice_transcriber.recordings``. This package imports nothing heavy at import time.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import ...`: this runs before the microphone opens
if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config import InputSettings
    from ..context import RunContext
    from ..pipeline import Plan
    from ..types import Audio
    from .microphone import Microphone
    from .recorder import Recorder
    from .stops import StopControl

__all__ = ["record"]


def record(ctx: RunContext, plan: Plan | None = None, *, settings: InputSettings | None = None,
           attach: Callable[[Recorder], None] | None = None) -> Audio:
    """Record from the microphone until the user stops; return the captured audio (16 kHz mono).

    Emits ``vt_recording_started`` once the stream runs and the file exists, starts each
    backend's ``prepare()`` meanwhile (at the stop request, while the tail is recorded, for one with
    ``prepare_while_recording = False``), and ``vt_recording_stopped`` with the audio. The file
    path is in ``ctx.info["recording"]``. With ``input.streaming`` the first backend transcribes
    phrases while the user speaks (``plan.streamed``, see ``voice_transcriber.streaming``). Raises :class:`~voice_transcriber.Cancelled` on a
    cancel request (the file is kept) and :class:`~voice_transcriber.CaptureError` when the
    microphone cannot be used. ``settings`` replaces ``ctx.settings.input`` for this recording;
    ``attach(recorder)``, called before the recording loop, replaces the streaming set-up (the
    ``--continuous`` session puts its utterance segmenter on the recorder's taps there). Without ``plan``
    no backend prepares or transcribes meanwhile: the recording alone.
    """
    from ..pipeline import Plan
    from . import early
    from .stops import StopControl

    settings = settings or ctx.settings.input
    if settings.silence_stop_seconds:
        from .silence import check_available

        check_available()
    mic, stop = early.take(settings.device)
    stop = stop or StopControl().install()
    if mic is None and stop.before_recording and attach is None:
        return _nothing_recorded(ctx, stop)
    return _record_until_stopped(ctx, Plan(backends=[]) if plan is None else plan, settings, attach, mic, stop)


def _record_until_stopped(ctx: RunContext, plan: Plan, settings: InputSettings, attach: Callable[[Recorder], None] | None,
                          mic: Microphone | None, stop: StopControl) -> Audio:
    """:func:`record` on ``mic`` (None: open it now), transcribing meanwhile (``attach``, else streaming)."""
    from ..control import recorder_done
    from ..streaming.start import start_streaming
    from .microphone import Microphone

    try:
        mic = mic or Microphone(settings.device)
        recorder = _started_recorder(ctx, plan, settings, mic, stop)
        if attach is not None:
            attach(recorder)
        else:
            plan.streamed = start_streaming(ctx, plan.backends[0] if plan.backends else None, recorder)  # phrases go to the backend while recording
        pcm = recorder.run()
        if recorder.segmenter is None:  # shorter than stream_after_seconds
            _drop_streamed(plan)
    except BaseException:
        recorder_done()  # e.g. cancelled while recording: the next `toggle` starts a new recording
        _drop_streamed(plan)
        raise
    finally:
        stop.after_recording()
        if mic is not None and mic.first_frame_at is not None:
            ctx.info["first_frame_at"] = f"{mic.first_frame_at:.6f}"
    audio = _recorded_audio(ctx, recorder, pcm)
    recorder_done()  # the next `toggle` starts a new recording
    ctx.recording_stopped(audio)
    return audio


def _started_recorder(ctx: RunContext, plan: Plan, settings: InputSettings, mic: Microphone,
                      stop: StopControl) -> Recorder:
    """The recorder on ``mic`` and a new recording file, announced (``stop``/``toggle`` reach it from now on,
    ``vt_recording_started``), with the backends preparing meanwhile."""
    from ..control import recorder_listening
    from ..pipeline import prepare_in_background
    from ..recordings import RecordingFile
    from .recorder import Recorder

    ctx.info["microphone"] = f"{mic.name} at {mic.rate} Hz" + ("" if mic.rate == 16_000 else " (resampled)")
    file = RecordingFile(ctx.run_id, warn=ctx.warn)
    ctx.info["recording"] = str(file.path) if file.path else None
    recorder_listening()  # a terminal recording: `stop`/`toggle` can reach it from now on
    ctx.recording_started()
    prepare_in_background(plan, ctx, recording=True)  # e.g. a model load, hidden behind the speech
    recorder = Recorder(mic, stop, file, settings, ctx)
    # e.g. an HTTP client: not held while the user speaks, ready while the tail is recorded
    recorder.on_stop.append(lambda: prepare_in_background(plan, ctx, recording=False))
    return recorder


def _drop_streamed(plan: Plan) -> None:
    """Cancel the transcription started while recording, if any: its phrases will not be used."""
    if plan.streamed is not None:
        plan.streamed.cancel()
        plan.streamed = None


def _recorded_audio(ctx: RunContext, recorder: Recorder, pcm: bytes) -> Audio:
    """The take, read back from the file the pipeline will keep (decoded lazily): what is transcribed is what
    `retry` gets; its loudest sample measured while recording, so that a silent take is judged without numpy."""
    from dataclasses import replace

    from ..recordings import wav_bytes
    from ..types import Audio

    file, mic = recorder.file, recorder.mic
    ctx.info["recording"] = str(file.path) if file.path else None  # it may have moved to the fallback dir
    ctx.info["recorded_seconds"] = round(len(pcm) / 2 / 16_000, 2)
    if mic.overflows:
        ctx.warn(f"the microphone overflowed {mic.overflows} time(s): bits of audio were dropped (the machine was too busy)")
    audio = Audio.from_file(file.path) if file.path else Audio.from_bytes(wav_bytes(pcm), label="the recording (in memory)")
    return replace(audio, peak=recorder.loudest / 32768)


def _nothing_recorded(ctx: RunContext, stop: StopControl) -> Audio:
    """The take of a recorder stopped before its device opened (``early.start``): empty, through the
    same hooks and files as any recording (its WAV, the run state, the recorder's PID file removed), so
    that the run ends as a silent one does, "no speech detected", at the cost of a status query."""
    from ..control import recorder_done
    from ..recordings import RecordingFile, wav_bytes
    from ..types import Audio

    try:
        file = RecordingFile(ctx.run_id, warn=ctx.warn)
        file.close()  # a valid WAV of no samples
        ctx.info["recording"] = str(file.path) if file.path else None
        ctx.info["recorded_seconds"] = 0.0
        ctx.log(f"stopped ({stop.reason}) before the microphone opened: nothing recorded")
        ctx.recording_started()
    except BaseException:
        recorder_done()
        raise
    finally:
        stop.after_recording()
    audio = Audio.from_file(file.path) if file.path else Audio.from_bytes(wav_bytes(b""), label="the recording (in memory)")
    recorder_done()  # the next `toggle` starts a new recording
    ctx.recording_stopped(audio)
    return audio
