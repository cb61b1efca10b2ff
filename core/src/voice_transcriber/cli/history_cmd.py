"""``voice-transcriber history [show ID]`` and ``retry [ID|last]``."""

from __future__ import annotations

import calendar
import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import history
from ..errors import UsageError
from .control_cmd import without_input
from .run_cmd import CliState, pipeline_options, run_from_options

if TYPE_CHECKING:
    from ..types import Audio


@click.group("history", invoke_without_command=True)
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True, metavar="N",
              help="Show the newest N transcripts.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of the entries (oldest first).")
@click.pass_context
def history_group(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List past transcripts, oldest first (`history show ID` prints one)."""
    if ctx.invoked_subcommand is not None:
        return
    entries = history.load(limit)
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
        return
    if not entries:
        click.echo(f"no transcripts yet ({history.history_path()})", err=True)
        return
    width = shutil.get_terminal_size((120, 20)).columns
    for entry in entries:
        head = f"{entry.id}  {_local_time(entry.timestamp)}  {_seconds(entry.audio_duration):>6}  {entry.backend or '-':<8}"
        flag = " [sink failed]" if entry.sinks_failed else ""
        text = " ".join(entry.text.split()) + flag
        room = max(20, width - len(head) - 2)
        click.echo(f"{head}  {text if len(text) <= room else text[:room - 1] + '…'}")


@history_group.command("show")
@click.argument("ref", default="last", metavar="[ID|last]")
@click.option("--json", "as_json", is_flag=True, help="Print the whole entry as JSON.")
@click.option("--raw", is_flag=True, help="Print the backend's text, before formatting.")
@click.option("--output", "-o", metavar="NAME[,NAME]", help="Deliver the text again to these sinks instead of printing it.")
@click.pass_obj
def show(state: CliState, ref: str, as_json: bool, raw: bool, output: str | None) -> None:
    """Print one transcript (ID may be a unique prefix or suffix), or deliver it again with --output."""
    entry = history.get(ref)
    if output:
        redeliver(state, entry, [name.strip() for name in output.split(",") if name.strip()])
    elif as_json:
        click.echo(json.dumps(entry.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(entry.raw_text if raw else entry.text)


def redeliver(state: CliState, entry: history.HistoryEntry, sinks: list[str]) -> None:
    """Give a stored transcript to ``sinks`` (no new history entry: nothing was transcribed)."""
    from .. import pipeline

    ctx = state.context(state.settings({"output.sinks": sinks}))
    pipeline.deliver(entry.transcript(), state.registry.create_all("sink", sinks, ctx), ctx)


@without_input
@click.command()
@click.argument("ref", default="last", metavar="[ID|last]")
@pipeline_options
@click.pass_obj
def retry(state: CliState, ref: str, **options: Any) -> None:
    """Run the pipeline again on a stored recording, with any backend, formatter or sink options.

    ID is a recording id (its file name in $XDG_STATE_HOME/voice-transcriber/recordings/ without
    .wav, or a unique prefix of it), or a history id whose recording is kept; default: the newest.
    """
    entry = _history_entry(ref) if ref != "last" else None
    if entry is not None and entry.start is not None and entry.end is not None and entry.recording:
        # a --continuous utterance: its own audio and the session's text before it, as live (and the
        # utterance before it heard again, when it was)
        audio = utterance_audio(entry.recording, entry.start, entry.end)
        before = None
        if entry.before_start is not None and entry.before_end is not None and entry.before_text is not None:
            before = (utterance_audio(entry.recording, entry.before_start, entry.before_end), entry.before_text)
        run_from_options(state, options, audio, context=entry.context or "", before=before)
        return
    run_from_options(state, options, stored_recording(ref), stored=True)


def utterance_audio(recording: str, start: float, end: float) -> Audio:
    """The samples ``start``–``end`` s of a stored 16 kHz recording (header repaired after a crash)."""
    from .. import recordings
    from ..types import Audio

    path = Path(recording)
    if not path.is_file():
        raise UsageError(f"the recording of this utterance is gone: {path} (recordings are kept per input.keepRecordings)")
    recordings.repair(path)
    samples = Audio.from_file(path).pcm()
    return Audio.from_samples(samples[round(start * 16_000):round(end * 16_000)].copy(), 16_000, label=f"{path}")


def stored_recording(ref: str) -> Audio:
    from ..types import Audio

    """Recording ``ref`` (header repaired after a crash); else the recording a history entry names."""
    from .. import recordings

    try:
        return recordings.load(ref)
    except UsageError:
        entry = _history_entry(ref) if ref != "last" else None
        if entry is None or not entry.recording or not Path(entry.recording).is_file():
            raise
        return Audio.from_file(entry.recording)


def _history_entry(ref: str) -> history.HistoryEntry | None:
    try:
        return history.get(ref)
    except UsageError:
        return None


def _local_time(timestamp: str) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(calendar.timegm(time.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ"))))
    except ValueError:
        return timestamp


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


COMMANDS = (history_group, retry)
