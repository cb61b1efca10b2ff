"""The plugin index's command-line part: writing it, and help without importing the plugins.

Each time the whole command line is built with every plugin loaded and none broken, :func:`remember`
writes the plugin index (:mod:`voice_transcriber.plugin_index`): what each plugin provides,
including the commands it adds with their help lines. A help request for the root command or one
of the core's commands (``--help``, ``transcribe --help``) then builds the command line without
importing any plugin — pydantic and the plugins' libraries stay unloaded — and shows each plugin
command with its help line from the index (:func:`indexed_commands`). When the index does not match
the installed plugins (one installed, removed, upgraded or edited), is missing, or
``VOICE_TRANSCRIBER_PLUGINS``/``LOAD_PLUGINS``/``DISABLE_PLUGINS`` is set, the plugins load as for any
other command, and the index is written anew.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from .. import plugin_index
from ..quick import SELECTION_ENV

if TYPE_CHECKING:
    from ..plugin_manager import PluginManager

#: Options of the root command that come before a command name (``--config`` takes a value).
ROOT_FLAGS = {"--debug", "--quiet", "-q", "--strict"}
HELP = {"--help", "-h"}


def is_core_help(argv: list[str], core_commands: Iterable[str]) -> bool:
    """True for ``[ROOT OPTIONS] --help`` and ``[ROOT OPTIONS] CORE-COMMAND ... --help``."""
    if any(name in os.environ for name in SELECTION_ENV):
        return False
    index = 0
    while index < len(argv) and argv[index].startswith("-"):
        if argv[index] in HELP:
            return True
        if argv[index] == "--config":
            index += 2
        elif argv[index] in ROOT_FLAGS or argv[index].startswith("--config="):
            index += 1
        else:
            return False
    return index < len(argv) and argv[index] in set(core_commands) and bool(HELP & set(argv[index + 1:]))


def remember(cli: click.Group, pm: PluginManager, core_commands: Iterable[str]) -> None:
    """Write the plugin index (:mod:`voice_transcriber.plugin_index`) for the plugins ``pm`` loaded, all of
    them, through ``cli``: what each provides, and its commands' help. Nothing while a plugin is broken."""
    if pm.failures or pm.deferred or plugin_index.selecting():
        return
    # A plugin may fail while its components are collected: the command reports that itself, once.
    failures, pm.failures, on_failure, pm.on_failure = pm.failures, [], pm.on_failure, None
    try:
        records = plugin_records(cli, pm, core_commands)
        if not pm.failures:
            shown = {"fingerprint": plugin_index.cli_fingerprint(), "help": help_texts(cli, core_commands),
                     "completion": {"scripts": completion_scripts(cli), "tree": completion_tree(cli)}}
            plugin_index.write({"plugins": records, "cli": shown})
    except Exception:  # noqa: BLE001 - the index only saves time; the next command writes it again
        return
    finally:
        pm.failures, pm.on_failure = failures, on_failure


def plugin_records(cli: click.Group, pm: PluginManager, core_commands: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Plugin name → its entry point, distribution, hooks, components (with their config keys), config
    sections and commands, for every installed plugin (loaded by ``pm``)."""
    from ..config_keys import keys_of
    from ..plugins import installed_entry_points
    from ..registry import collect

    registry = collect(pm)
    records: dict[str, dict[str, Any]] = {}
    for ep in installed_entry_points():
        plugin = pm.get_plugin(ep.name)
        if plugin is None:
            continue
        components: dict[str, dict[str, Any]] = {}
        for kind, registered in registry.components.items():
            for name, entry in registered.items():
                if entry.plugin == ep.name:
                    cls = entry.cls
                    keys = keys_of(cls.config_model) if cls.config_section and cls.config_model else None
                    components.setdefault(kind, {})[name] = {"section": cls.config_section, "keys": keys}
        settings: dict[str, type] = {}
        for impl in pm.impls("vt_register_settings"):
            if impl.plugin_name == ep.name:
                pm.call_impl("vt_register_settings", impl, register=settings.__setitem__)
        core = set(core_commands)
        records[ep.name] = {
            "value": ep.value, "dist": pm.origins[ep.name].dist, "version": pm.origins[ep.name].version,
            "hooks": sorted({caller.name for caller in pm.get_hookcallers(plugin) or []}),
            "components": components,
            "settings": {path: keys_of(model) for path, model in settings.items()},
            "commands": [_command_record(cli.commands[name]) for name in pm.commands.get(ep.name, [])
                         if name in cli.commands and name not in core],
        }
    return records


def help_texts(cli: click.Group, core_commands: Iterable[str]) -> dict[str, str]:
    """What ``--help`` ("") and ``COMMAND --help`` print for the root and each core command, as click renders
    it for a terminal of 80 columns or more (or none): :func:`voice_transcriber.plugin_index.help_text`."""
    root = click.Context(cli, info_name="voice-transcriber", terminal_width=plugin_index.HELP_WIDTH,
                         **cli.context_settings)  # as click's make_context builds it
    texts = {"": cli.get_help(root) + "\n"}
    for name in core_commands:
        command = cli.commands.get(name)
        if command is not None:
            context = click.Context(command, info_name=name, parent=root, **command.context_settings)
            texts[name] = command.get_help(context) + "\n"
    return texts


def completion_scripts(cli: click.Group) -> dict[str, str]:
    """What ``completion SHELL`` prints, for each shell (see :mod:`.completion_cmd`)."""
    from click.shell_completion import get_completion_class

    from ..shell_completion import COMPLETE_VAR, PROG

    scripts = {}
    for shell in ("bash", "zsh", "fish"):
        completer = get_completion_class(shell)(cli, {}, PROG, COMPLETE_VAR)  # type: ignore[misc]
        scripts[shell] = completer.source_template % completer.source_vars() + "\n"
    return scripts


def completion_tree(cli: click.Group) -> dict[str, Any]:
    """The commands, their options and arguments and the values these take, for
    :func:`voice_transcriber.shell_completion.complete` (click's own rules, without click)."""
    from ..shell_completion import PROG

    return _node(cli, click.Context(cli, info_name=PROG, resilient_parsing=True, **cli.context_settings))


def _node(command: click.Command, ctx: click.Context) -> dict[str, Any]:
    node: dict[str, Any] = {"params": [_param(param, ctx) for param in command.get_params(ctx)]}
    if isinstance(command, click.Group):
        node["commands"] = {}
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                context = click.Context(sub, info_name=name, parent=ctx, resilient_parsing=True, **sub.context_settings)
                node["commands"][name] = {"help": sub.get_short_help_str(), "hidden": sub.hidden,
                                          "node": _node(sub, context)}
    return node


def _param(param: click.Parameter, ctx: click.Context) -> dict[str, Any]:
    option = isinstance(param, click.Option)
    return {"name": param.name, "option": option, "opts": list(param.opts), "secondary": list(param.secondary_opts),
            "flag": option and bool(param.is_flag or param.count), "nargs": param.nargs,
            "multiple": bool(param.multiple), "hidden": bool(getattr(param, "hidden", False)),
            "help": getattr(param, "help", None), "optional_value": bool(getattr(param, "_flag_needs_value", False)),
            "values": _values(param, ctx)}


def _values(param: click.Parameter, ctx: click.Context) -> dict[str, Any] | None:
    """What a value of ``param`` completes to: choices, a file or directory path, nothing, or only click knows."""
    kind = type(param.type)
    if param._custom_shell_complete is not None:
        return {"custom": True}
    if isinstance(param.type, click.Choice) and kind.shell_complete is click.Choice.shell_complete:
        return {"choices": [param.type.normalize_choice(choice, ctx) for choice in param.type.choices],
                "case": param.type.case_sensitive}
    if isinstance(param.type, click.Path) and kind.shell_complete is click.Path.shell_complete:
        return {"path": "dir" if param.type.dir_okay and not param.type.file_okay else "file"}
    if isinstance(param.type, click.File) and kind.shell_complete is click.File.shell_complete:
        return {"path": "file"}
    return None if kind.shell_complete is click.ParamType.shell_complete else {"custom": True}


def _command_record(command: click.Command) -> dict[str, Any]:
    return {"name": command.name, "help": command.help, "short_help": command.short_help, "hidden": command.hidden,
            "deprecated": bool(command.deprecated)}


def indexed_commands(index: dict[str, Any]) -> list[click.Command] | None:
    """The plugins' commands as help-only stand-ins, from a valid plugin index; None when it is damaged."""
    try:
        return [click.Command(entry["name"], help=entry["help"], short_help=entry["short_help"],
                              hidden=bool(entry["hidden"]), deprecated=bool(entry["deprecated"]))
                for record in index["plugins"].values() for entry in record.get("commands", ())]
    except Exception:  # noqa: BLE001 - a damaged index: load the plugins instead
        return None
