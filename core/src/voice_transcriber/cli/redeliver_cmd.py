"""``paste-last`` and ``type-last``: deliver a dictation from the history again.

For the moment text did not arrive (focus was elsewhere, the typing tool dropped keys), and
for launchers: rofi's history entries run these detached, after its window has closed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from ..errors import VoiceTranscriberError
from .run_cmd import CliState

#: The clipboard sink's switch that sends the paste chord after copying.
CLIPBOARD_PASTE_KEY = "output.clipboard.paste"


def redeliver(state: CliState, ref: str, sink: str, delay: float, profile: str | None,
              overrides: dict[str, Any] | None = None) -> None:
    """Give history entry ``ref`` to ``sink``; the focused window's profile applies (paste chord …)."""
    from .. import history, pipeline
    from ..profiles import apply_profile

    flags = {"output.sinks": [sink], **(overrides or {})}
    ctx = state.context(state.settings(flags))
    try:
        entry = history.get(ref)
        if delay > 0:  # before the window is looked at: a launcher's own window may still have the focus
            time.sleep(delay)
        apply_profile(ctx, profile, flags, state.settings)
        pipeline.deliver(entry.transcript(), [state.registry.create("sink", sink, ctx)], ctx)
    except VoiceTranscriberError as exc:
        ctx.pipeline_failed(exc)  # a launcher has no terminal: a notification is how the user learns
        raise


def _redeliver_command(name: str, sink: str, overrides: dict[str, Any], doc: str) -> click.Command:
    @click.command(name, help=doc)
    @click.argument("ref", default="last", metavar="[ID|last]")
    @click.option("--delay", type=click.FloatRange(0, 60), default=0.0, metavar="SECONDS",
                  help="Wait first, e.g. until a launcher's menu has closed and the focus is back.")
    @click.option("--profile", metavar="NAME", help="Apply profile NAME instead of the one matching the focused window.")
    @click.pass_obj
    def command(state: CliState, ref: str, delay: float, profile: str | None) -> None:
        redeliver(state, ref, sink, delay, profile, overrides)

    return command


paste_last: Callable[..., None] = _redeliver_command(
    "paste-last", "clipboard", {CLIPBOARD_PASTE_KEY: True},
    "Copy the last dictation (or history entry ID) to the clipboard and paste it into the focused window.")
type_last: Callable[..., None] = _redeliver_command(
    "type-last", "typing", {},
    "Type the last dictation (or history entry ID) into the focused window.")

COMMANDS = (paste_last, type_last)
