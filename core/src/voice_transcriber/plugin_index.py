"""What each installed plugin provides, remembered so that a command imports only the plugins it uses.

A command that loads every plugin (the first one after a plugin was installed, upgraded, edited or
removed) writes ``$XDG_CACHE_HOME/voice-transcriber/plugins-<environment>.json``: for each entry point
of the ``voice_transcriber`` group, its module, distribution and version, the hooks it implements, the
components it registers (kind, name, config section and that section's keys), the config sections it
declares (``vt_register_settings``) and the commands it adds (``vt_register_commands``, with their help
lines); plus what the command line shows without loading (``cli/help_index.py``).

The next commands read it back (:func:`read`) instead of importing every plugin: each plugin is
imported when one of its components, commands or checks is used, or when a hook it implements is
called (an event hook as its event fires; :meth:`voice_transcriber.plugin_manager.PluginManager.defer`). The index is valid while its
*fingerprint* holds: each entry point, its distribution's folder (name and version) and the
modification time of its module. Nothing is remembered while a plugin is broken (each command then
loads every plugin and reports it), nor when ``VOICE_TRANSCRIBER_PLUGINS``/``LOAD_PLUGINS``/
``DISABLE_PLUGINS`` select plugins.

Standard library only: reading the index is part of ``--help``, shell completion and every start.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from .quick import PLUGINS_GROUP, SELECTION_ENV, entry_points

#: Version of the file's layout: a file of another version is ignored (and rewritten).
FORMAT = 2


def path() -> Path:
    """The index of this environment (two installs of the tool for one user keep one file each)."""
    import zlib

    cache = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"  # as xdg_base_dirs reads it
    return base / "voice-transcriber" / f"plugins-{zlib.crc32(sys.prefix.encode()):08x}.json"


def fingerprint() -> list[list[Any]]:
    """What the index is valid for: every entry point of the plugins' group, its distribution folder
    (name and version) and its module's modification time, read with the standard library."""
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
    for candidate in candidates:
        try:
            return os.stat(candidate).st_mtime_ns
        except OSError:
            continue
    return None


def selecting() -> bool:
    """True when a plugin variable selects plugins: the index (every installed plugin) does not apply."""
    return any(name in os.environ for name in SELECTION_ENV)


def read() -> dict[str, Any] | None:
    """The index, when it matches the installed plugins (and no plugin variable is set); else None."""
    if selecting():
        return None
    try:
        with open(path(), encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("plugins"), dict):
        return None
    return data if data.get("fingerprint") == fingerprint() else None


def write(data: dict[str, Any]) -> None:
    """Write ``data`` (``plugins`` and what the command line adds) as the index of the plugins installed
    now. Never fails the command: without an index the next command loads every plugin again."""
    if selecting():
        return
    try:
        data = {"format": FORMAT, "fingerprint": fingerprint(), **data}
        target = path()
        try:
            if json.loads(target.read_text(encoding="utf-8")) == data:
                return
        except (OSError, ValueError):
            pass
        from .files import write_private_atomic

        write_private_atomic(target, json.dumps(data))
    except Exception:  # noqa: BLE001 - the index only saves time; the next command writes it again
        return



# --- what the command line shows, answered without click ---------------------------------------------------

#: The width click formats help for on a terminal at least 80 columns wide, or when stdout is no terminal.
HELP_WIDTH = 78


def cli_fingerprint() -> list[Any]:
    """What the remembered help and completion scripts also depend on: the command line's own modules
    (``voice_transcriber/cli/*.py``) and click's."""
    from importlib.util import find_spec

    folder = Path(__file__).parent / "cli"
    stamps: list[Any] = []
    try:
        for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
            if entry.name.endswith(".py"):
                stamps.append([entry.name, entry.stat().st_mtime_ns])
        spec = find_spec("click")
        if spec is not None and spec.origin:
            stamps.append(["click", os.stat(Path(spec.origin).with_name("core.py")).st_mtime_ns])
    except (OSError, ImportError, ValueError):
        return []
    return stamps


def remembered(section: str) -> dict[str, Any] | None:
    """``section`` of the command line's part of a valid index (``help``, ``completion``), or None."""
    index = read()
    cli = index.get("cli") if index is not None else None
    if not isinstance(cli, dict) or not cli.get("fingerprint") or cli.get("fingerprint") != cli_fingerprint():
        return None
    found = cli.get(section)
    return found if isinstance(found, dict) else None


def help_text(argv: list[str]) -> str | None:
    """The help click would print for ``--help`` or ``COMMAND --help`` (a core command), as remembered when
    the index was written; None when it is not remembered for this terminal width."""
    if not argv or argv[-1] not in ("--help", "-h") or len(argv) > 2 or (len(argv) == 2 and argv[0].startswith("-")):
        return None
    import shutil

    if max(min(shutil.get_terminal_size().columns, 80) - 2, 50) != HELP_WIDTH:
        return None
    texts = remembered("help")
    text = texts.get(argv[0] if len(argv) == 2 else "") if texts is not None else None
    return text if isinstance(text, str) else None
