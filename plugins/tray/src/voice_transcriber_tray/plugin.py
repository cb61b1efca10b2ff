"""The ``tray`` plugin: the ``voice-transcriber tray`` command and the ``tray`` config section.

Nothing heavy is imported here: dbus-fast and the tray itself load when the command runs.
"""

from __future__ import annotations

import sys

import click

from voice_transcriber import VoiceTranscriberError, hookimpl

@click.command()
@click.option("--install-autostart", is_flag=True, help="Write the XDG autostart entry (~/.config/autostart) and exit.")
@click.option("--remove-autostart", is_flag=True, help="Remove the XDG autostart entry and exit.")
@click.pass_obj
def tray(state, install_autostart: bool, remove_autostart: bool) -> None:
    """Show the tray icon: click to record, middle-click to cancel, right-click for the menu.

    Speaks StatusNotifierItem on the session bus (KDE Plasma, GNOME with the AppIndicator
    extension, xfce4-panel, waybar, …). Dictations go through the warm daemon, started here
    if none runs. Exit codes: 0 after Quit or SIGTERM; 1 no session bus or no daemon.
    """
    from . import autostart

    if install_autostart:
        click.echo(f"autostart entry written: {autostart.install(state.config_file)}")
        return
    if remove_autostart:
        path = autostart.remove()
        click.echo(f"autostart entry removed: {path}" if path else "no autostart entry to remove")
        return
    from .app import run
    from .settings import TrayConfig

    settings = state.settings()
    config = settings.section("tray", TrayConfig)

    backends = sorted(state.registry.backends)
    code = run(config, state.config_file, settings, backends, debug=state.debug)  # --debug: each event on stderr
    sys.exit(code)


@hookimpl
def vt_register_commands(cli: click.Group) -> None:
    cli.add_command(tray)


@hookimpl
def vt_register_settings(register) -> None:
    from .settings import TrayConfig

    register("tray", TrayConfig)


class TrayError(VoiceTranscriberError):
    """The tray cannot run (no session bus, no daemon)."""
