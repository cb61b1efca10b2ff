"""``voice-transcriber daemon [status|stop|reload]``: the warm daemon and the commands that talk to it.

Exit codes: 0 done; 1 no daemon runs (``status``, ``stop``, ``reload``), a broken config at
``reload`` (the daemon keeps the previous one), or the daemon could not start; 2 bad config
at start.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import click

from ..daemon import client
from ..daemon.protocol import request, socket_path
from ..errors import VoiceTranscriberError
from .run_cmd import CliState


class NoDaemon(VoiceTranscriberError):
    """A daemon command found no daemon."""


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


def ask(command: str) -> dict[str, Any]:
    """Send a daemon command; relay its lines; the final reply. :class:`NoDaemon` if none runs."""
    final = client.exchange(request(command), str(socket_path()), client.relay)
    if final is None:
        raise NoDaemon("no daemon is running (start one with `voice-transcriber daemon`, "
                       "or `systemctl --user start voice-transcriber`)")
    return final


@daemon.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status(as_json: bool) -> None:
    """Show whether a daemon runs, its configuration, backends, pre-roll and current recording."""
    final = ask("status")
    data = final.get("data") or {}
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data.get("since", 0)))
    preroll = f"{data['prerollMs']} ms (the microphone stays open)" if data.get("prerollMs") else "off"
    lines = [f"running (pid {data.get('pid')}) since {since}", f"socket: {data.get('socket')}",
             f"config: {data.get('config')}" + (f" — {data['configError']}" if data.get("configError") else ""),
             f"backends: {', '.join(data.get('backends') or [])}", f"pre-roll: {preroll}",
             f"recording: {data.get('recording') or 'no'} ({data.get('inFlight', 0)} dictation(s) in progress)"]
    click.echo("\n".join(lines))
    raise click.exceptions.Exit(int(final.get("exit", 0)))


@daemon.command()
def stop() -> None:
    """Stop the daemon (a running recording is transcribed and delivered first)."""
    raise click.exceptions.Exit(int(ask("shutdown").get("exit", 1)))


@daemon.command()
def reload() -> None:
    """Reload config.json now (the daemon also notices changes by itself); a broken file keeps the previous one."""
    raise click.exceptions.Exit(int(ask("reload").get("exit", 1)))
