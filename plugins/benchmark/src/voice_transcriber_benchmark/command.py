"""``voice-transcriber benchmark [FILE...]``: backends side by side on the same audio."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from voice_transcriber import BackendError, UsageError

from .compare import Comparison, compare
from .measure import candidates, configured_backends, decoded, run

if TYPE_CHECKING:
    from voice_transcriber import Audio, RunContext


def _names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


@click.command("benchmark")
@click.argument("files", nargs=-1, metavar="[FILE...]")
@click.option("--backends", "-b", metavar="NAME[,NAME]",
              help="Backends to compare (default: benchmark.backends, else the transcription.backend chain "
                   "plus every other backend set up away from its defaults).")
@click.option("--models", "-m", metavar="MODEL[,MODEL]",
              help="Models to try, each on every backend; BACKEND=MODEL for one backend only "
                   "(local=base,speaches=Systran/faster-whisper-base).")
@click.option("--reference", "-r", "references", multiple=True, metavar="TEXT|FILE",
              help="What was said, as text or a text file: adds WER and word differences. Once for all files, "
                   "or once per FILE in order.")
@click.option("--runs", "-n", type=click.IntRange(min=1), default=3, show_default=True,
              help="Transcriptions per backend × model; the first (cold) is reported apart from the median of the rest.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document instead of the table (schema in the README).")
@click.option("--markdown", is_flag=True, help="Print Markdown tables (for BENCHMARKS.md or an issue) instead.")
@click.option("--language", "-l", metavar="CODE", help="Spoken language (ISO-639-1, e.g. en, fr; 'auto' to detect).")
@click.option("--device", "-d", metavar="NAME|INDEX", help="Microphone to record from when no FILE is given.")
@click.pass_obj
def benchmark(state: Any, files: tuple[str, ...], backends: str | None, models: str | None,
              references: tuple[str, ...], runs: int, as_json: bool, markdown: bool, language: str | None,
              device: str | None) -> None:
    """Compare backends (and models) on the same audio: time, real-time factor, upload, similarity, WER.

    Without FILE, records one utterance first, as dictation does (Enter or Ctrl-C stops).
    Exits 1 only when every backend failed.
    """
    if as_json and markdown:
        raise UsageError("--json and --markdown are alternatives: choose one")
    flags = {"language": language, "input.device": device}
    ctx = state.context(state.settings(flags))
    names = configured_backends(ctx, _names(backends) or _config_backends(ctx))
    unknown = [name for name in names if name not in ctx.backend_names()]
    if unknown:
        raise UsageError(f"unknown backend '{unknown[0]}' in --backends or benchmark.backends "
                         f"(installed: {', '.join(ctx.backend_names())})")
    texts = _references(references, max(len(files), 1))
    # Decoded once, all before the first backend runs: a bad file stops here, not after minutes of work.
    audios = [decoded(audio) for audio in [_file_audio(path) for path in files] or [_record(ctx)]]
    pairs = candidates(names, _names(models))
    comparisons = [_benchmark(ctx, audio, text, pairs, runs, lambda extra: state.settings({**flags, **extra}))
                   for audio, text in zip(audios, texts)]
    _show(comparisons, as_json, markdown)
    if not files:
        from voice_transcriber import recordings

        recordings.settle(ctx)  # a benchmark recording is not an undelivered dictation to keep forever
    if all(c.all_failed for c in comparisons):
        raise BackendError(f"every backend failed; the first said: {comparisons[0].rows[0].result.error}")


def _config_backends(ctx: RunContext) -> list[str] | None:
    from .settings import BenchmarkConfig

    return ctx.settings.section("benchmark", BenchmarkConfig).backends


def _references(values: tuple[str, ...], files: int) -> list[str | None]:
    """One reference text per file: none, the same for all, or one each; a value naming a file is read."""
    if len(values) not in (0, 1, files):
        raise UsageError(f"--reference: give it once for every file, or once per FILE ({len(values)} for {files} files)")
    texts = [_reference_text(value) for value in values]
    return texts * files if len(texts) == 1 else texts or [None] * files


def _reference_text(value: str) -> str:
    from .scoring import normalise

    path = Path(value).expanduser()
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else value
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--reference: cannot read {path}: {exc} (give a UTF-8 text file, or the text itself)") from None
    if not normalise(text):
        raise UsageError("--reference: it has no words (give the text that was said, or a file holding it)")
    return text


def _file_audio(path: str) -> Audio:
    from voice_transcriber import Audio

    return Audio.from_bytes(sys.stdin.buffer.read()) if path == "-" else Audio.from_file(path)


def _record(ctx: RunContext) -> Audio:
    """One utterance from the microphone, with the dictation's capture (no backend prepares meanwhile,
    so every first run stays cold)."""
    from voice_transcriber.capture import record

    click.echo("benchmark: recording — speak, then press Enter (Ctrl-C cancels)", err=True)
    return record(ctx)


def _benchmark(ctx: RunContext, audio: Audio, reference: str | None, pairs: list[tuple[str, str | None]],
               runs: int, load) -> Comparison:
    progress = _progress(runs)
    results = [run(ctx, name, model, audio, runs, load, progress) for name, model in pairs]
    return compare(audio.label or "recording", audio.duration, runs, results, reference)


def _progress(runs: int):
    """``benchmark: local tiny.en, run 2/3`` on a terminal's stderr, overwritten in place; nothing in a pipe."""
    if not sys.stderr.isatty():
        return None

    def show(name: str, model: str | None, number: int) -> None:
        sys.stderr.write(f"\r\x1b[Kbenchmark: {name}{' ' + model if model else ''}, run {number}/{runs}…")
        sys.stderr.flush()

    return show


def _show(comparisons: list[Comparison], as_json: bool, markdown: bool) -> None:
    from . import report

    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[K")  # clear the progress line
    if as_json:
        report.write_json(comparisons, sys.stdout)
    elif markdown:
        click.echo(report.markdown(comparisons), nl=False)
    else:
        report.print_table(comparisons, report.console())
