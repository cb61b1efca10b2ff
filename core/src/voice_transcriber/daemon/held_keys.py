"""A held hotkey's autorepeat, as the daemon sees it: the same decisions ``control`` makes for the command line.

A key held down repeats its command: ``start`` after the release's ``stop`` (push-to-talk) and ``toggle``
within ``--repeat-guard`` are ignored, said in one line, and succeed doing nothing. The daemon decides
this under its lock, before it looks at the recording, from when the client's hotkey fired.
"""

from __future__ import annotations

from typing import Any

import click

from .. import control


def ignored_repeat(request: dict[str, Any]) -> str | None:
    """The line that says ``request`` repeats a held key and is ignored; None to act on it (a ``stop`` is noted)."""
    command, fired = request["command"], request.get("fired")
    if command == "stop":
        with control.control_lock():
            control.note_stop(fired)
    elif command == "start":
        with control.control_lock():
            stale = control.stale_start(fired)
        if stale:
            return control.STALE_START
    elif command == "toggle" and (guard := _repeat_guard(request["args"])):
        with control.control_lock():
            gap = control.repeated_toggle(fired, guard, request.get("pid"))
        if gap is not None:
            return control.repeated_toggle_message(gap, guard)
    return None


def _repeat_guard(args: list[str]) -> float:
    """``toggle``'s ``--repeat-guard`` (0 when absent or unreadable: the command's own parsing reports that)."""
    from ..cli import control_cmd

    try:
        return float(control_cmd.toggle.make_context("toggle", list(args), resilient_parsing=True)
                     .params.get("repeat_guard") or 0)
    except (click.ClickException, click.exceptions.Exit, TypeError, ValueError):
        return 0.0
