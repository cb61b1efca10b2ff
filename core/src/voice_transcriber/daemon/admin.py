"""``daemon status|stop|reload``, and ``daemon`` while one runs: the commands that only talk to the daemon.

Each is a question on the socket and its answer, so :func:`fast_path` answers them before click,
pydantic and the plugins are imported (about 0.2 s of CPU that none of them uses), as ``status`` and
the hotkey commands do. The command line (:mod:`voice_transcriber.cli.daemon_cmd`) runs the same
functions: same lines, same exit codes. The fast path takes only the plain forms (no root option, no
``--help``), and only when the command line would print nothing else: the plugin index matches the
installed plugins (no broken plugin to report) and no debug variable is set. A ``daemon`` that finds
no daemon answering starts one through the command line.
"""

from __future__ import annotations

import os
import sys
import time

from ..errors import VoiceTranscriberError
from . import client
from .protocol import already_running, request, socket_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The command lines :func:`fast_path` answers.
PLAIN = [["daemon"], ["daemon", "status"], ["daemon", "status", "--json"], ["daemon", "stop"], ["daemon", "reload"]]


class NoDaemon(VoiceTranscriberError):
    """A daemon command found no daemon."""


def fast_path(argv: list[str]) -> None:
    """Answer ``daemon status [--json]``, ``daemon stop``, ``daemon reload``, or ``daemon`` while one runs,
    and exit; else return (the command line's turn)."""
    if argv not in PLAIN:
        return
    if os.environ.get("VOICE_TRANSCRIBER_DEBUG") or "_VOICE_TRANSCRIBER_COMPLETE" in os.environ:
        return
    from .. import plugin_index

    if plugin_index.read() is None:  # a plugin variable, a broken or changed plugin: the command line says so
        return
    if argv == ["daemon"]:
        pid = _running_daemon()
        if pid is None:
            return  # none answers: the command line starts one (or says why it cannot)
        from ..runner import fail

        refusal = already_running(str(pid))
        fail(str(refusal), refusal.exit_code)
    from ..runner import exit_after

    answer = {"status": lambda: status(argv[2:] == ["--json"]), "stop": stop, "reload": reload}[argv[1]]
    exit_after(answer, debug=False)


def ask(command: str) -> dict[str, Any]:
    """Send a daemon command; relay its lines; the final reply. :class:`NoDaemon` if none runs."""
    final = client.exchange(request(command), str(socket_path()), client.relay)
    if final is None:
        raise NoDaemon("no daemon is running (start one with `voice-transcriber daemon`, "
                       "or `systemctl --user start voice-transcriber`)")
    return final


def status(as_json: bool) -> int:
    """Print whether a daemon runs, its configuration, backends, pre-roll and current recording; its exit code."""
    final = ask("status")
    data = final.get("data") or {}
    if as_json:
        import json

        _print(json.dumps(data, ensure_ascii=False))
        return 0
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data.get("since", 0)))
    preroll = f"{data['prerollMs']} ms (the microphone stays open)" if data.get("prerollMs") else "off"
    lines = [f"running (pid {data.get('pid')}) since {since}", f"socket: {data.get('socket')}",
             f"config: {data.get('config')}" + (f" — {data['configError']}" if data.get("configError") else ""),
             f"backends: {', '.join(data.get('backends') or [])}", f"pre-roll: {preroll}",
             f"recording: {data.get('recording') or 'no'} ({data.get('inFlight', 0)} dictation(s) in progress)"]
    _print("\n".join(lines))
    return int(final.get("exit", 0))


def stop() -> int:
    """Stop the daemon (a running recording is transcribed and delivered first); the exit code."""
    return int(ask("shutdown").get("exit", 1))


def reload() -> int:
    """Reload config.json now; the exit code (1: a broken file, the previous one is kept)."""
    return int(ask("reload").get("exit", 1))


def _running_daemon() -> int | None:
    """The pid of the daemon answering on the socket (its lock is held: a second one is refused); None when
    none answers or the runtime directory is not usable (the command line says why)."""
    try:
        final = client.exchange(request("status"), str(socket_path()), lambda message: None, quiet=True)
    except VoiceTranscriberError:
        return None
    pid = final.get("data", {}).get("pid") if isinstance(final, dict) and isinstance(final.get("data"), dict) else None
    return pid if isinstance(pid, int) else None


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
