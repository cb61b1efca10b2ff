"""Help without importing the plugins: ``--help`` lists the plugins' commands from an index.

Each time the whole command line is built, the commands the plugins added (name and help text)
are written to ``$XDG_CACHE_HOME/voice-transcriber/commands.json`` with a fingerprint of the
installed plugins: each entry point, its distribution's version and the modification time of
its module. A help request for the root command or one of the core's commands (``--help``,
``transcribe --help``) then builds the command line without importing any plugin — pydantic and
the plugins' libraries stay unloaded — and shows each plugin command with its help line from the
index. When the fingerprint differs (a plugin installed, removed, upgraded or edited), the index
is missing, or ``VOICE_TRANSCRIBER_PLUGINS``/``LOAD_PLUGINS``/``DISABLE_PLUGINS`` is set, the plugins load as
for any other command, and the index is written anew.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from ..quick import SELECTION_ENV

FILE = "commands.json"
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


def index_path() -> Path:
    from xdg_base_dirs import xdg_cache_home

    return xdg_cache_home() / "voice-transcriber" / FILE


def fingerprint() -> list[list[Any]]:
    """What the index is valid for: every entry point of the plugin group, its distribution (folder
    name: name and version) and its module's modification time. Read with the standard library
    (:func:`voice_transcriber.quick.entry_points`), not importlib.metadata: it is what --help saves."""
    from ..quick import PLUGINS_GROUP, entry_points

    return [[name, value, dist, _module_mtime(value.partition(":")[0].strip())]
            for dist, name, value in entry_points(PLUGINS_GROUP)]


def _module_mtime(module: str) -> int | None:
    """The modification time of ``module``'s file, found without importing it (only its top package is looked up)."""
    from importlib.util import find_spec

    top, *rest = module.split(".")
    try:
        spec = find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if rest and spec.submodule_search_locations:
        base = Path(next(iter(spec.submodule_search_locations)), *rest)
        candidates = [base.with_suffix(".py"), base / "__init__.py"]
    else:
        candidates = [Path(spec.origin)] if spec.origin else []
    for path in candidates:
        try:
            return os.stat(path).st_mtime_ns
        except OSError:
            continue
    return None


def plugin_commands(cli: click.Group, core_commands: Iterable[str]) -> list[dict[str, Any]]:
    core = set(core_commands)
    return [{"name": name, "help": command.help, "short_help": command.short_help, "hidden": command.hidden,
             "deprecated": bool(command.deprecated)}
            for name, command in sorted(cli.commands.items()) if name not in core]


def remember(cli: click.Group, core_commands: Iterable[str]) -> None:
    """Write the index for the plugins installed now (when it changed). Never fails the command."""
    if any(name in os.environ for name in SELECTION_ENV):
        return  # a partial selection of plugins is not what `--help` should show
    try:
        data = {"fingerprint": fingerprint(), "commands": plugin_commands(cli, core_commands)}
        path = index_path()
        try:
            if json.loads(path.read_text(encoding="utf-8")) == data:
                return
        except (OSError, ValueError):
            pass
        from ..files import open_private, private_dir

        private_dir(path.parent)
        tmp = path.with_name(f".{FILE}.{os.getpid()}.tmp")
        with os.fdopen(open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001 - the index only speeds up --help; the next command writes it again
        return


def indexed_commands() -> list[click.Command] | None:
    """The plugins' commands as help-only stand-ins, when the index matches the installed plugins; else None."""
    try:
        data = json.loads(index_path().read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("fingerprint") != fingerprint():
            return None
        return [click.Command(entry["name"], help=entry["help"], short_help=entry["short_help"],
                              hidden=bool(entry["hidden"]), deprecated=bool(entry["deprecated"]))
                for entry in data["commands"]]
    except Exception:  # noqa: BLE001 - no index, an old one, a damaged one: load the plugins instead
        return None
