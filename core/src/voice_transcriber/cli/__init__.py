"""The ``voice-transcriber`` command line: builds the click group, runs it, maps errors to exit codes.

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error, 130 cancelled.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from ..errors import EXIT_CANCELLED
from ..runner import exit_after, fail, report_failures
from . import control_cmd, history_cmd, install_cmd, redeliver_cmd
from .completion_cmd import completion
from .daemon_cmd import daemon
from .config_cmd import config_group
from .devices_cmd import devices
from .doctor_cmd import doctor
from .plugins_cmd import plugins
from .run_cmd import CliState, pipeline_options, run_from_options, transcribe

if TYPE_CHECKING:  # pluggy and the plugins load in command_line(), not for a help request
    from ..plugin_manager import PluginManager

__all__ = ["main", "make_cli"]


def make_cli(pm: PluginManager | None) -> click.Group:
    """The root command with the core's subcommands and every plugin's (``vt_register_commands``).

    ``pm`` None: the core's commands only (a help request, see :func:`command_line`)."""

    @click.group(cls=PluginCommands, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--config", "config_file", metavar="PATH", help="Config file (default: $XDG_CONFIG_HOME/voice-transcriber/config.json).")
    @click.option("--debug", is_flag=True, help="Show per-stage timings, diagnostics and tracebacks on stderr.")
    @click.option("--quiet", "-q", is_flag=True, help="Only errors on stderr.")
    @click.option("--strict", is_flag=True, help="Unknown config keys are errors (exit 2), not warnings (as strictConfig: true).")
    @click.version_option(package_name="voice-transcriber-core", prog_name="voice-transcriber")
    @pipeline_options
    @click.pass_context
    def cli(ctx: click.Context, config_file: str | None, debug: bool, quiet: bool, strict: bool, **options) -> None:
        """Voice input for Linux: speak, and the text lands where you need it.

        Without a command, records from the microphone (or reads --input) and runs the
        pipeline: capture → transcribe → format → output.
        """
        ctx.obj = CliState(pm=pm, config_file=config_file, debug=debug or bool(os.environ.get("VOICE_TRANSCRIBER_DEBUG")), quiet=quiet, strict=strict)
        if ctx.invoked_subcommand is None:
            run_from_options(ctx.obj, options)
            return
        misplaced = [name for name in options if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE]
        if misplaced:
            flag = next(p.opts[0] for p in ctx.command.params if p.name == misplaced[0])
            raise click.UsageError(f"{flag} belongs after the command: `voice-transcriber {ctx.invoked_subcommand} "
                                   f"... {flag} ...` (only --config, --debug, --quiet and --strict go before it)")

    for command in core_commands():
        cli.add_command(command)
    if pm is not None:
        assert isinstance(cli, PluginCommands)
        _attach_plugins(cli, pm)
    return cli


def _attach_plugins(cli: PluginCommands, pm: PluginManager) -> None:
    """The plugins' commands on the root command: those the plugin index knows are added when named
    (``cli.deferred``), also those of plugins imported already; the others' now."""
    cli.pm = pm
    known = {plugin: [entry["name"] for entry in record.get("commands", ())] for plugin, record in pm.indexed.items()}
    later = {plugin for plugin, names in known.items() if names}
    impls = [impl for impl in pm.impls("vt_register_commands") if impl.plugin_name not in later]
    _add_plugin_commands(cli, pm, _call(pm, impls, cli=cli))
    cli.deferred = {name: plugin for plugin in later for name in known[plugin]}


class PluginCommands(click.Group):
    """The root command: a command of a deferred plugin (see :mod:`voice_transcriber.plugin_index`) is listed
    by name and its plugin imported when the command is used."""

    pm: PluginManager | None = None
    #: Command name → the deferred plugin that adds it.
    deferred: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.deferred})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        plugin = self.deferred.get(cmd_name)
        if plugin is not None and cmd_name not in self.commands and self.pm is not None:
            self.deferred = {name: owner for name, owner in self.deferred.items() if owner != plugin}
            if self.pm.load_deferred(plugin):
                impls = [impl for impl in self.pm.impls("vt_register_commands") if impl.plugin_name == plugin]
                _add_plugin_commands(self, self.pm, _call(self.pm, impls, cli=self))
        return super().get_command(ctx, cmd_name)


def _call(pm: PluginManager, impls: list, **kwargs):
    """``call_each``'s ``(plugin, result, error)`` for the given implementations of ``vt_register_commands``."""
    for impl in impls:
        try:
            yield impl.plugin_name, pm.call_impl("vt_register_commands", impl, **kwargs), None
        except Exception as exc:  # any plugin bug is reported, not propagated
            yield impl.plugin_name, None, exc


def _add_plugin_commands(cli: click.Group, pm: PluginManager, calls) -> None:
    """Run ``vt_register_commands`` calls, noting which commands each plugin added (``plugins`` lists them)."""
    before = set(cli.commands)
    for plugin, _, exc in calls:
        pm.commands[plugin] = sorted(set(cli.commands) - before)
        before = set(cli.commands)
        if exc is not None:
            from ..plugin_manager import Origin

            pm.record_failure(plugin, pm.origins.get(plugin, Origin()),
                              f"vt_register_commands raised {type(exc).__name__}: {exc}")


def core_commands() -> list[click.Command]:
    """The core's own subcommands (plugins add theirs through ``vt_register_commands``)."""
    return [transcribe, plugins, config_group, doctor, devices, *control_cmd.COMMANDS, daemon, *history_cmd.COMMANDS,
            *redeliver_cmd.COMMANDS, *install_cmd.COMMANDS, completion]


#: Commands that need every plugin imported: they list or check them all.
LOADS_EVERY_PLUGIN = frozenset({"plugins", "doctor", "daemon"})


def command_line(argv: list[str]) -> click.Group:
    """The command line for ``argv``. With a plugin index that matches the installed plugins
    (:mod:`voice_transcriber.plugin_index`), a help request about the core's commands imports no plugin,
    and other commands import the plugins of a run and, later, those whose components or commands are
    used. Without one, every plugin loads, and the index is written for the next command."""
    from .. import plugin_index
    from . import help_index

    index = plugin_index.read()
    names = [command.name for command in core_commands()]
    if index is not None and ("--help" in argv or "-h" in argv) and help_index.is_core_help(argv, names):
        stand_ins = help_index.indexed_commands(index)
        if stand_ins is not None:
            cli = make_cli(None)
            for command in stand_ins:
                cli.add_command(command)
            return cli
    from ..plugins import get_plugin_manager

    # A name that may be one of those commands (or an option's value) loads everything: at worst slower.
    lazy = index is not None and not LOADS_EVERY_PLUGIN & set(argv)
    pm = get_plugin_manager(index=index if lazy else None)
    report_failures(pm)
    cli = make_cli(pm)
    if index is None:  # missing or stale: the next command finds it
        help_index.remember(cli, pm, names)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv or bool(os.environ.get("VOICE_TRANSCRIBER_DEBUG"))

    def run() -> object:
        try:
            return command_line(argv).main(args=argv, prog_name="voice-transcriber", standalone_mode=False)
        except click.exceptions.Abort:
            fail("cancelled", EXIT_CANCELLED)
        except click.ClickException as exc:
            from .hints import improve

            improve(exc)  # an unknown option: the nearest real ones and the one meant (--sink → --output)
            exc.show()
            sys.exit(exc.exit_code)

    exit_after(run, debug)
