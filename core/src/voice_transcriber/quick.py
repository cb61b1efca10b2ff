"""Quick commands: plugin commands answered before the command line loads.

Some commands are started over and over by other programs and must answer at once: rofi runs
``voice-transcriber rofi`` at every step of its menu. A plugin may give such a command a quick
handler in the ``voice_transcriber.quick`` entry-point group, named after the command::

    [project.entry-points."voice_transcriber.quick"]
    rofi = "voice_transcriber_notify.menu:quick_rofi"

:func:`run` (called by the executable before it imports click, pydantic or any plugin) finds
the handler for ``argv[0]`` and calls it with the arguments after the command name. The handler
returns an exit code when it answered, or None to let the full command line do the work (it
then sees the same arguments, so nothing is lost). A handler imports only what it needs, never
raises and prints nothing before it knows it answers. When ``VOICE_TRANSCRIBER_PLUGINS``,
``VOICE_TRANSCRIBER_LOAD_PLUGINS`` or ``VOICE_TRANSCRIBER_DISABLE_PLUGINS`` is set, no quick handler runs: the full command line
honours them.

Standard library only. The entry points are read straight from the installed distributions'
``entry_points.txt`` (importlib.metadata costs more than the commands it would serve).
"""

from __future__ import annotations

import os
import sys

GROUP = "voice_transcriber.quick"
#: The plugins' own group (``voice_transcriber.plugins.ENTRY_POINT_GROUP``, which imports pluggy).
PLUGINS_GROUP = "voice_transcriber"
#: The variables that select plugins: when one is set, no quick handler and no --help index answers
#: (both stand for every installed plugin); the full command line honours them.
SELECTION_ENV = ("VOICE_TRANSCRIBER_PLUGINS", "VOICE_TRANSCRIBER_LOAD_PLUGINS", "VOICE_TRANSCRIBER_DISABLE_PLUGINS")
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def run(argv: list[str]) -> None:
    """Answer ``argv`` with a plugin's quick handler and exit, if one takes it; else return."""
    if not argv or argv[0].startswith("-") or any(name in os.environ for name in SELECTION_ENV):
        return
    target = find(argv[0])
    if target is None:
        return
    handler = load(target)
    try:
        code = handler(argv[1:]) if handler is not None else None
    except Exception:  # noqa: BLE001 - the full command line answers instead, with its own messages
        code = None
    if code is not None:
        sys.stdout.flush()
        sys.exit(code)


def find(command: str, path: list[str] | None = None) -> str | None:
    """``module:function`` of the quick handler for ``command``, from the first distribution that has one."""
    return next((value for _, name, value in entry_points(GROUP, path) if name == command), None)


def entry_points(group: str, path: list[str] | None = None) -> list[tuple[str, str, str]]:
    """``(distribution folder, name, value)`` of every entry point in ``group`` on ``path`` (default
    ``sys.path``), read from the ``*.dist-info/entry_points.txt`` files with the standard library."""
    found = []
    for folder in path if path is not None else sys.path:
        try:
            names = [entry.name for entry in os.scandir(folder or ".") if entry.name.endswith(".dist-info")]
        except OSError:
            continue
        for name in sorted(names):
            found += [(name, *pair) for pair in _read(os.path.join(folder, name, "entry_points.txt"), group)]
    return found


def _read(file: str, group: str) -> list[tuple[str, str]]:
    try:
        with open(file, encoding="utf-8") as text:
            lines = text.read().splitlines()
    except OSError:
        return []
    section, found = None, []
    for line in lines:
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group and "=" in line:
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def load(target: str) -> Callable[[list[str]], int | None] | None:
    """The handler named ``module:function``; None when it cannot be imported (the full CLI then runs)."""
    module, _, attribute = target.partition(":")
    try:
        import importlib

        handler = getattr(importlib.import_module(module.strip()), attribute.strip())
    except Exception:  # noqa: BLE001 - a broken quick handler must not break the command: the CLI takes over
        return None
    return handler if callable(handler) else None
