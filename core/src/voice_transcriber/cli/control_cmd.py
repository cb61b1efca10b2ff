"""``voice-transcriber toggle|start|stop|cancel|status``: a background recorder for hotkeys and status bars.

When a daemon runs (``voice-transcriber daemon``), toggle/start/stop/cancel are its client:
it records in a warm process (see :mod:`voice_transcriber.daemon`). The executable usually
reaches it before this module is even imported (``daemon.client.fast_path``); these commands
ask it too, for the other ways in (``--help`` aside, no ``$XDG_RUNTIME_DIR``, in-process calls).
Without a daemon, or when it hands the command back, the background recorder below does the job;
the executable finishes the commands that only ignore a key's autorepeat, refuse or signal
before this module is imported (:mod:`voice_transcriber.hotkey`, deciding as here).

Exit codes: 0 done; 1 nothing to act on (``stop`` with no recording, ``start`` while one
runs) or the waited-for run failed; 130 the waited-for run was cancelled.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import click
from click.core import ParameterSource

from .. import control, hotkey_state, runstate
from ..control import Recorder
from ..errors import EXIT_CANCELLED, EXIT_REDIRECTED, EXIT_USAGE, ControlError, UsageError
from .run_cmd import CliState, pipeline_options

OWN_OPTIONS = {"wait", "repeat_guard"}


def _wait_option(command: Callable) -> Callable:
    return click.option("--wait", "-w", is_flag=True,
                        help="Starting: return once the microphone is open (exit 1 if it cannot be). "
                             "Stopping: return when the text is delivered, with the run's exit code.")(command)


def without_input(command: click.Command) -> click.Command:
    """Drop ``--input`` from a command's pipeline options: it records, or replays a recording."""
    command.params = [param for param in command.params if param.name != "input_path"]
    return command


def recorder_argv(ctx: click.Context) -> list[str]:
    """Root-command arguments reproducing the global options and the pipeline options given here."""
    state: CliState = ctx.obj
    args = ["--config", state.config_file] if state.config_file else []
    args += ["--debug"] if state.debug else []
    args += ["--strict"] if state.strict else []
    return args + _option_args(ctx)


def _option_args(ctx: click.Context) -> list[str]:
    """The command's own options as given on the command line (``--wait`` aside)."""
    args: list[str] = []
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in OWN_OPTIONS:
            continue
        if ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE:
            continue
        value, name = ctx.params[param.name], _long_name(param.opts)
        if param.is_flag:
            if value or param.secondary_opts:  # --x, or the --no-x of an --x/--no-x pair
                args.append(name if value else _long_name(param.secondary_opts))
        else:
            args += [part for item in (value if param.multiple else [value]) for part in (name, str(item))]
    return args


def _long_name(opts: list[str]) -> str:
    """``--device`` rather than ``-d``: the recorder's early start recognises the long names."""
    return next((opt for opt in opts if opt.startswith("--")), opts[0] if opts else "")


def _warn_stale(recorder: Recorder) -> None:
    run = runstate.find_run(recorder.pid, recorder.ticks)
    recording = run.get("recording") if run else None
    recover = f"`voice-transcriber retry {run['id']}` transcribes its audio up to the crash" if recording else \
        "if it had recorded anything, `voice-transcriber retry ID` transcribes it (ID: see `history` or the recordings folder)"
    click.echo(f"voice-transcriber: removed the PID file of a recorder that died (pid {recorder.pid}); {recover}", err=True)


def _start(ctx: click.Context) -> Recorder:
    recorder = control.spawn_recorder(recorder_argv(ctx))
    click.echo(f"recording in the background (pid {recorder.pid}); stop with `voice-transcriber stop`, "
               f"log: {recorder.log}")
    return recorder


def _signal(recorder: Recorder, signum: int) -> None:
    control.signal_recorder(recorder, signum)
    click.echo(hotkey_state.signalled(recorder.pid, cancel=signum == signal.SIGUSR2))


def _wait(recorder: Recorder, started: bool) -> None:
    """``--wait``: after a start, until the microphone is open; after a stop, until the run ends."""
    while True:
        run = runstate.find_run(recorder.pid, recorder.ticks)
        alive = recorder.alive()
        if started and alive and run and run.get("state") in runstate.ACTIVE:
            return
        if not alive:
            break
        time.sleep(0.05)
    run = runstate.find_run(recorder.pid, recorder.ticks) or {}
    if run.get("cancelled"):
        raise click.exceptions.Exit(EXIT_CANCELLED)
    if run.get("no_speech"):  # exit 0, as `transcribe` on a silent file (the README's exit codes)
        click.echo("voice-transcriber: no speech detected; nothing delivered", err=True)
        return
    if run.get("state") != "delivered":
        reason = run.get("error") or f"it exited without publishing a result; see {recorder.log}"
        if run.get("exit_code") == EXIT_REDIRECTED:  # not lost: on the clipboard; say so, exit 3
            click.echo(f"voice-transcriber: {reason}", err=True)
            raise click.exceptions.Exit(EXIT_REDIRECTED)
        failed = UsageError if run.get("exit_code") == EXIT_USAGE else ControlError  # a bad flag or config: exit 2
        raise failed(f"the recording (pid {recorder.pid}) failed: {reason}")


def _through_daemon(ctx: click.Context, wait: bool) -> None:
    """If a daemon runs, let it do this command and exit with its code; else return (no daemon, or handed back)."""
    from ..daemon import client
    from ..daemon.protocol import request, socket_path

    if client.skip:
        return
    state: CliState = ctx.obj
    guard = ctx.params.get("repeat_guard")
    own = (["--wait"] if wait else []) + (["--repeat-guard", str(guard)] if guard else [])
    line = request(ctx.command.name or "", _option_args(ctx) + own, state.config_file,
                   state.debug, state.quiet, state.strict)
    code = client.forward(line, str(socket_path()))
    if code is not None:
        raise click.exceptions.Exit(code)


def _one_recorder(action: Callable[[Recorder | None], Any]) -> tuple[Any, bool]:
    """Run ``action`` on the current recorder (or None) under the control lock."""
    with control.control_lock():
        current = control.current_recorder(on_stale=_warn_stale)
        return action(current), current is None


@without_input
@click.command()
@pipeline_options
@_wait_option
@click.option("--repeat-guard", type=click.FloatRange(min=0), default=0, metavar="SECONDS",
              help="Ignore this toggle when the previous one was fired less than SECONDS before: a held "
                   "key's autorepeat (GNOME, KDE, i3 and sway run a shortcut again while it is held). "
                   "0.8 covers every desktop's default repeat delay.")
@click.pass_context
def toggle(ctx: click.Context, wait: bool, repeat_guard: float, **_: Any) -> None:
    """Start recording in the background, or stop the running recording and deliver its text.

    Bind it to a hotkey. Pipeline options apply when it starts a recording. When
    `voice-transcriber daemon` runs, the daemon records (the microphone opens in milliseconds).
    """
    _through_daemon(ctx, wait)
    fired = control.fired_ticks(os.getpid())
    repeated: list[float] = []

    def act(current: Recorder | None) -> Recorder | None:
        gap = control.repeated_toggle(fired, repeat_guard, os.getpid())
        if gap is not None:
            repeated.append(gap)
            return None
        if current is None:
            return _start(ctx)
        _signal(current, signal.SIGUSR1)
        return current

    recorder, started = _one_recorder(act)
    if recorder is None:
        click.echo(f"voice-transcriber: {control.repeated_toggle_message(repeated[0], repeat_guard)}", err=True)
        return
    if wait:
        _wait(recorder, started)


@without_input
@click.command()
@pipeline_options
@_wait_option
@click.pass_context
def start(ctx: click.Context, wait: bool, **_: Any) -> None:
    """Start recording in the background (exit 1 if a recording is already running)."""
    _through_daemon(ctx, wait)
    fired = control.fired_ticks(os.getpid())

    def act(current: Recorder | None) -> Recorder | None:
        if control.stale_start(fired):
            return None
        if current is not None:
            raise ControlError(hotkey_state.already_recording(current.pid, current.started))
        return _start(ctx)

    recorder, _started = _one_recorder(act)
    if recorder is None:
        click.echo(f"voice-transcriber: {control.STALE_START}", err=True)
        return
    if wait:
        _wait(recorder, started=True)


def _stopper(signum: int, fired: int | None = None) -> Callable[[Recorder | None], Recorder]:
    def act(current: Recorder | None) -> Recorder:
        if signum == signal.SIGUSR1:
            control.note_stop(fired)  # a start fired before this stop (key autorepeat) will be ignored
        if current is None:
            raise ControlError(hotkey_state.NOTHING_RECORDING)
        _signal(current, signum)
        return current

    return act


@click.command()
@_wait_option
@click.pass_context
def stop(ctx: click.Context, wait: bool) -> None:
    """Stop the running recording; it is transcribed and delivered (exit 1 if none runs)."""
    _through_daemon(ctx, wait)
    recorder, _ = _one_recorder(_stopper(signal.SIGUSR1, control.fired_ticks(os.getpid())))
    if wait:
        _wait(recorder, started=False)


@click.command()
@_wait_option
@click.pass_context
def cancel(ctx: click.Context, wait: bool) -> None:
    """Stop the running recording without transcribing it (the audio stays for `retry`)."""
    _through_daemon(ctx, wait)
    recorder, _ = _one_recorder(_stopper(signal.SIGUSR2))
    if wait:
        _wait(recorder, started=False)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object (waybar's custom-module format plus details).")
@click.option("--follow", "-f", is_flag=True, help="Keep running and print a line each time the state changes.")
@click.option("--format", "template", metavar="TEMPLATE",
              help="Print TEMPLATE with {state}, {id}, {pid}, {error}, {tooltip}… filled in, e.g. '{state}'.")
@click.option("--linger", type=click.FloatRange(min=0), default=runstate.DEFAULT_LINGER, show_default=True,
              metavar="SECONDS", help="How long 'delivered' or 'failed' is shown before 'idle'.")
def status(as_json: bool, follow: bool, template: str | None, linger: float) -> None:
    """Show idle, recording, transcribing, delivered or failed (for scripts and status bars)."""
    if as_json and template:
        raise UsageError("use either --json or --format, not both")
    render = runstate.renderer(as_json, template)
    if not follow:
        click.echo(render(runstate.current_status(linger)))
        return
    try:
        _follow(render, linger)
    except KeyboardInterrupt:
        return
    except BrokenPipeError:  # the bar went away: a clean end; keep Python from flushing into the dead pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _follow(render: Callable[[dict[str, Any]], str], linger: float) -> None:
    """Print the current state, then a line for each state change of every run, as it is pushed.

    Two sources, whichever delivers an event first: the daemon's stream (when a daemon runs)
    and the event journal every pipeline process writes (:mod:`voice_transcriber.events`), so
    runs outside the daemon are followed too, and a daemon stopping or starting loses nothing.
    Between events this process sleeps in ``select``; the one timeout is ``--linger`` after an outcome.
    """
    import select

    from ..daemon.protocol import DaemonStream

    def write(record: dict[str, Any]) -> None:
        sys.stdout.write(render(record) + "\n")
        sys.stdout.flush()

    journal = _journal_tail()
    daemon = DaemonStream.open()
    folder = runstate.Folder(linger)
    write(folder.start(runstate.current_status(linger)))
    while True:
        sources = [journal] if daemon is None else [journal, daemon]
        readable, _, _ = select.select(sources, [], [], folder.timeout())
        if not readable and (record := folder.expire()) is not None:
            write(record)
        if journal in readable:
            for event in journal.read():
                if (record := folder.add(event)) is not None:
                    write(record)
        if daemon is not None and daemon in readable:
            for message in daemon.read():
                if isinstance(message.get("event"), dict) and (record := folder.add(message["event"])) is not None:
                    write(record)
            if daemon.closed:  # the daemon stopped: the journal goes on
                daemon.close()
                daemon = None


def _journal_tail() -> Any:
    """The event journal, followed from now on (:class:`voice_transcriber.events.JournalTail`); a
    :class:`ControlError` when it cannot be watched."""
    from .. import events

    try:
        return events.JournalTail()
    except OSError as exc:
        raise ControlError(f"cannot watch the event journal in {events.journal_dir()}: {exc.strerror or exc} "
                           "(too many inotify watches? raise fs.inotify.max_user_watches)") from None


COMMANDS = (toggle, start, stop, cancel, status)
