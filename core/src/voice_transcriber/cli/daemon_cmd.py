"""``voice-transcriber daemon [status|stop|reload]``: the warm daemon and the commands that talk to it.

Exit codes: 0 done; 1 no daemon runs (``status``, ``stop``, ``reload``), a broken config at
``reload`` (the daemon keeps the previous one), or the daemon could not start; 2 bad config
at start. The same answers come from :mod:`voice_transcriber.daemon.admin` before click loads (its fast path).
"""

from __future__ import annotations

import os
import sys

import click

from ..daemon import admin
from .run_cmd import CliState


@click.group(invoke_without_command=True)
@click.pass_context
def daemon(ctx: click.Context) -> None:
    """Run the warm daemon in the foreground: plugins imported, backends prepared, the socket open.

    While it runs, toggle, start, stop, cancel (and the rofi launcher) go through it: the
    microphone opens within milliseconds of the hotkey. Without a daemon they work as before.
    Stop it with Ctrl-C, SIGTERM or `voice-transcriber daemon stop`.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..daemon.server import Daemon

    state: CliState = ctx.obj
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # no terminal input: Enter must not stop a dictation
    server = Daemon(state.pm, state.config_file, debug=state.debug, strict=state.strict)
    server.serve(on_ready=lambda line: click.echo(f"voice-transcriber daemon: {line}", err=True))
    if server.abandoned:  # a dictation given up at the stop still runs (a hung backend): do not join it
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


@daemon.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status(as_json: bool) -> None:
    """Show whether a daemon runs, its configuration, backends, pre-roll and current recording."""
    raise click.exceptions.Exit(admin.status(as_json))


@daemon.command()
def stop() -> None:
    """Stop the daemon (a running recording is transcribed and delivered first)."""
    raise click.exceptions.Exit(admin.stop())


@daemon.command()
def reload() -> None:
    """Reload config.json now (the daemon also notices changes by itself); a broken file keeps the previous one."""
    raise click.exceptions.Exit(admin.reload())
