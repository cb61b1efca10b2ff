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
import shlex
import sys
import subprocess
from typing import Literal

import click
from pydantic import Field

from voice_transcriber import ConfigModel, UsageError, hookimpl

from .menu import INITIAL, Item, find, menu_items, one_line, rofi_state, rofi_step  # noqa: F401 - the menu's rows

class LauncherConfig(ConfigModel):
    history_entries: int = Field(10, ge=0, le=100, description="How many recent dictations the menu lists.")
    history_action: Literal["type", "paste"] = Field("type", description="What choosing a dictation does: type it again, or paste it through the clipboard.")
    settle_delay: float = Field(0.15, ge=0, le=5, description="Seconds to wait after the menu closed before acting, so the focus is back.")


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
