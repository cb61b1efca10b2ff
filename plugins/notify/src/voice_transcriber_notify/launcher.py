"""The ``launcher`` plugin: ``voice-transcriber rofi`` for rofi's script mode, dmenu, wofi and fuzzel.

The menu offers Dictate → type, Dictate → clipboard, Retry last, and the newest history
entries (choosing one delivers it again). Every action runs detached, after the menu has
closed and the focus is back in the window the user was in::

    rofi -show voice -modi "voice:voice-transcriber rofi"
    voice-transcriber rofi --menu "fuzzel --dmenu"
    voice-transcriber rofi --dmenu | dmenu -l 10 | voice-transcriber rofi --dmenu -
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import subprocess
from dataclasses import dataclass
from typing import Literal

import click
from pydantic import Field

from voice_transcriber import ConfigModel, UsageError, hookimpl

#: rofi's script-mode separators: ``\\0`` starts the options of a row, ``\\x1f`` separates them.
ROW_OPTIONS, FIELD = "\0", "\x1f"
#: ``ROFI_RETV`` values (rofi-script(5)).
INITIAL, SELECTED, CUSTOM_ENTRY, DELETED, CUSTOM_KEY_1 = 0, 1, 2, 3, 10
LABEL_WIDTH = 80


class LauncherConfig(ConfigModel):
    history_entries: int = Field(10, ge=0, le=100, description="How many recent dictations the menu lists.")
    history_action: Literal["type", "paste"] = Field("type", description="What choosing a dictation does: type it again, or paste it through the clipboard.")
    settle_delay: float = Field(0.15, ge=0, le=5, description="Seconds to wait after the menu closed before acting, so the focus is back.")


@dataclass(frozen=True)
class Item:
    """One menu row: its label, the ``voice-transcriber`` arguments it runs, and rofi details."""

    label: str
    args: tuple[str, ...]
    info: str
    icon: str
    #: What Alt+1 (rofi's kb-custom-1) runs instead; None: the same as Enter.
    alt_args: tuple[str, ...] | None = None
    meta: str = ""

    def rofi_row(self) -> str:
        options = {"icon": self.icon, "info": self.info, **({"meta": self.meta} if self.meta else {})}
        return self.label + ROW_OPTIONS + FIELD.join(f"{k}{FIELD}{v}" for k, v in options.items())


def one_line(text: str, width: int = LABEL_WIDTH) -> str:
    """A dictation as a menu label: one line, no control characters, at most ``width`` characters."""
    flat = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


DICTATE_ITEMS = (
    Item("Dictate → type", ("toggle", "--output", "typing"), "dictate:typing", "audio-input-microphone"),
    Item("Dictate → clipboard", ("toggle", "--output", "clipboard"), "dictate:clipboard", "edit-paste"),
)
#: While a recorder listens, the menu offers to end it instead of starting another.
RECORDING_ITEMS = (
    Item("Stop dictation → deliver", ("stop",), "stop", "media-playback-stop"),
    Item("Cancel dictation", ("cancel",), "cancel", "process-stop"),
)


def recording_now() -> bool:
    """A recording is listening, in a background recorder or the daemon (``toggle`` would stop it)."""
    from voice_transcriber.daemon.protocol import recording_now

    return recording_now()


def menu_items(config: LauncherConfig) -> list[Item]:
    from voice_transcriber import history

    entries = list(reversed(history.load(config.history_entries))) if config.history_entries else []
    retry_output = _last_sinks(entries)
    items = [*(RECORDING_ITEMS if recording_now() else DICTATE_ITEMS),
             Item("Retry last", ("retry", "last", *(("--output", retry_output) if retry_output else ())),
                  "retry:last", "view-refresh")]
    verbs = {"type": "type-last", "paste": "paste-last"}
    other = {"type": "paste-last", "paste": "type-last"}
    for entry in entries:
        items.append(Item(one_line(entry.text), (verbs[config.history_action], entry.id), f"history:{entry.id}",
                          "document-open-recent", alt_args=(other[config.history_action], entry.id),
                          meta=one_line(entry.text, width=1000)))
    return items


def _last_sinks(entries: list) -> str:
    """Retry delivers where the last dictation went (a detached run has no terminal for stdout)."""
    if not entries:
        return ""
    sinks = [s for s in [*entries[0].sinks_delivered, *entries[0].sinks_failed] if s != "stdout"]
    return ",".join(dict.fromkeys(sinks))


def rofi_header(config: LauncherConfig) -> list[str]:
    alternative = "paste" if config.history_action == "type" else "type"
    return [f"{ROW_OPTIONS}prompt{FIELD}voice", f"{ROW_OPTIONS}no-custom{FIELD}true",
            f"{ROW_OPTIONS}use-hot-keys{FIELD}true",
            f"{ROW_OPTIONS}message{FIELD}Enter: run · Alt+1 on a dictation: {alternative} it instead"]


def find(items: list[Item], label: str, info: str | None) -> Item | None:
    """The chosen row, by rofi's ``info`` when it is set, else by its label."""
    for item in items:
        if (info and item.info == info) or (not info and item.label == label):
            return item
    return None


def rofi_step(items: list[Item], config: LauncherConfig, retv: int, selection: str | None,
              info: str | None) -> tuple[list[str], tuple[str, ...] | None]:
    """One call of rofi's script mode: the lines to print (none closes rofi) and what to run."""
    item = find(items, selection or "", info) if retv in (SELECTED, CUSTOM_KEY_1) else None
    if item is not None:
        return [], (item.alt_args or item.args) if retv == CUSTOM_KEY_1 else item.args
    header = rofi_header(config)
    if retv in (SELECTED, CUSTOM_ENTRY, CUSTOM_KEY_1) and selection:  # typed text, or a row gone stale
        header[-1] = f"{ROW_OPTIONS}message{FIELD}Not an entry: {one_line(selection, 40)} — choose one below"
    return [*header, *(item.rofi_row() for item in items)], None


def rofi_state(environ: dict[str, str] | os._Environ = os.environ) -> int:
    """``ROFI_RETV`` (0 when unset or not a number: list the menu)."""
    value = environ.get("ROFI_RETV", "")
    return int(value) if value.isdigit() else INITIAL


def run_menu(command: str, items: list[Item]) -> str:
    """Show the labels in a dmenu-style program (no shell); its choice, or '' when cancelled."""
    argv = shlex.split(command)
    if not argv:
        raise UsageError("--menu needs a command, e.g. --menu 'fuzzel --dmenu'")
    labels = "".join(item.label + "\n" for item in items)
    try:
        done = subprocess.run(argv, input=labels, capture_output=True, text=True)
    except OSError as exc:
        raise UsageError(f"cannot run the menu {argv[0]!r}: {exc.strerror or exc} (install it, or pass --menu "
                         "'rofi -dmenu', 'wofi --dmenu', 'fuzzel --dmenu' or 'dmenu -l 10')") from None
    return done.stdout.splitlines()[0] if done.returncode == 0 and done.stdout.strip() else ""


def _settings_config(ctx: click.Context) -> LauncherConfig:
    return ctx.obj.settings().section("launcher", LauncherConfig)


def _act(args: tuple[str, ...], wait_for_pid: int, config: LauncherConfig) -> None:
    from .detach import spawn

    spawn(list(args), wait_for_pid, config.settle_delay)


@click.command("rofi")
@click.argument("selection", required=False)
@click.option("--dmenu", is_flag=True, help="Plain list for dmenu, wofi, fuzzel; with SELECTION ('-': read stdin), run it.")
@click.option("--menu", "menu_command", metavar="COMMAND",
              help="Show the list in this dmenu-style program and run the choice, e.g. 'wofi --dmenu'.")
@click.pass_context
def rofi(ctx: click.Context, selection: str | None, dmenu: bool, menu_command: str | None) -> None:
    """Launcher menu: rofi script mode (rofi -show voice -modi "voice:voice-transcriber rofi"), or dmenu/wofi/fuzzel."""
    config = _settings_config(ctx)
    items = menu_items(config)
    if menu_command or dmenu:
        dmenu_mode(items, config, selection, menu_command)
        return
    lines, args = rofi_step(items, config, rofi_state(), selection, os.environ.get("ROFI_INFO"))
    click.echo("".join(line + "\n" for line in lines), nl=False)
    if args is not None:
        _act(args, os.getppid(), config)


def dmenu_mode(items: list[Item], config: LauncherConfig, selection: str | None, menu_command: str | None) -> None:
    """Print the plain list, or run the row chosen (by ``--menu``'s program, the argument, or stdin)."""
    if menu_command:
        selection = run_menu(menu_command, items)
    elif selection is None:
        click.echo("".join(item.label + "\n" for item in items), nl=False)
        return
    elif selection == "-":
        selection = sys.stdin.readline().rstrip("\n")
    if not selection:
        return  # the menu was dismissed
    item = find(items, selection, None)
    if item is None:
        raise UsageError(f"not a menu entry: {one_line(selection, 40)!r} "
                         "(the history may have changed; open the menu again)")
    _act(item.args, 0, config)


@hookimpl
def vt_register_commands(cli: click.Group) -> None:
    cli.add_command(rofi)


@hookimpl
def vt_register_settings(register) -> None:
    register("launcher", LauncherConfig)
