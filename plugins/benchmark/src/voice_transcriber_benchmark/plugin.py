"""The ``benchmark`` plugin: ``voice-transcriber benchmark`` and ``benchmarkMode``.

``voice-transcriber benchmark [FILE...]`` sends the same audio to several backends (and
models) and compares wall time, real-time factor, upload size, text similarity and word
error rate. With ``"benchmarkMode": true`` in config.json, every dictation is compared the
same way after its text was delivered: the first backend's text goes out as usual, the
comparison table goes to stderr. Everything heavy (rich, jiwer, rapidfuzz) loads on use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voice_transcriber import hookimpl

if TYPE_CHECKING:
    import click

    from voice_transcriber import Audio, RunContext, Transcript


@hookimpl
def vt_register_settings(register) -> None:
    from .settings import BenchmarkConfig

    register("benchmark", BenchmarkConfig)


@hookimpl
def vt_register_commands(cli: click.Group) -> None:
    from .command import benchmark

    cli.add_command(benchmark)


# --- benchmarkMode: observe the dictation, compare once it is delivered ----------------------


@hookimpl
def vt_transcription_started(ctx: RunContext, audio: Audio, backend: str) -> None:
    if ctx.settings.benchmark_mode:
        from . import mode

        mode.transcription_started(ctx, audio, backend)


@hookimpl
def vt_transcript_ready(ctx: RunContext, transcript: Transcript) -> None:
    if ctx.settings.benchmark_mode:
        from . import mode

        mode.transcript_ready(ctx, transcript)


@hookimpl(trylast=True)  # after the other observers (history, notifications) saw the delivered text
def vt_pipeline_finished(ctx: RunContext, transcript: Transcript) -> None:
    if ctx.settings.benchmark_mode:
        from . import mode

        mode.pipeline_finished(ctx, transcript)


@hookimpl
def vt_pipeline_failed(ctx: RunContext) -> None:
    if ctx.settings.benchmark_mode:
        from . import mode

        mode.forget(ctx)
