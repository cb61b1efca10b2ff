"""The pipeline's click options, shared by the root command and ``transcribe FILE...``, and that command.

Running the pipeline from the parsed options is :mod:`voice_transcriber.runner`'s (no click), re-exported here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from ..runner import (NAME_FLAGS, CliState, build_plan, check_language, known_sections, overrides_from, print_timings,
                      read_input, run_from_options, transcribe_files)

__all__ = ["NAME_FLAGS", "CliState", "build_plan", "check_language", "known_sections", "overrides_from",
           "pipeline_options", "print_timings", "read_input", "run_from_options", "transcribe"]


def pipeline_options(command: Callable) -> Callable:
    """Options shared by every command that runs the pipeline."""
    options = [
        click.option("--input", "-i", "input_path", metavar="FILE", help="Transcribe FILE instead of recording ('-' reads stdin)."),
        click.option("--backend", "-b", metavar="NAME[,NAME]", help="Backend, or a fallback chain tried in order."),
        click.option("--format", "-f", "formatters", metavar="NAME[,NAME]", help="Formatters to run, in order (turns formatting on)."),
        click.option("--no-format", is_flag=True, help="Skip formatting (deliver the backend's text)."),
        click.option("--output", "-o", metavar="NAME[,NAME]", help="Sinks that receive the text, in order, e.g. clipboard,stdout."),
        click.option("--language", "-l", metavar="CODE", help="Spoken language (ISO-639-1, e.g. en, fr; 'auto' to detect)."),
        click.option("--json", "json_output", is_flag=True, default=None, help="stdout sink: print the transcript record as JSON."),
        click.option("--no-newline", is_flag=True, default=None, help="stdout sink: no trailing newline."),
        click.option("--profile", metavar="NAME", help="Apply profile NAME from config `profiles` (default: the one matching the focused window)."),
        click.option("--device", "-d", metavar="NAME|INDEX", help="Microphone to record from (see `voice-transcriber devices`)."),
        click.option("--max-duration", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS", help="Stop recording after SECONDS (default 300)."),
        click.option("--silence-stop", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS", help="Stop recording after SECONDS of silence following speech (voice activity detection)."),
        click.option("--continuous", is_flag=True, default=None, help="Hands-free: deliver each utterance at its pause and keep listening, until the stop phrase (input.stopPhrase), a stop or a long silence (--silence-stop sets it)."),
        click.option("--live", is_flag=True, default=None, help="Show the text while it is recognised, in sinks that can (typing types it, then corrects it)."),
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@pipeline_options
@click.pass_obj
def transcribe(state: CliState, files: tuple[str, ...], **options: Any) -> None:
    """Transcribe audio files ('-' for stdin), each through the whole pipeline."""
    transcribe_files(state, files, options)
