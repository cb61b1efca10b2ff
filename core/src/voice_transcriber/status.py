"""``status`` (without ``--follow``) answered before click loads.

A status bar runs ``voice-transcriber status --json`` every second or two, all day: through the command
line each run costs click, pluggy, pydantic and the plugins that every run imports (about 0.15 s of
CPU), for a record that only needs the run-state files (:func:`voice_transcriber.runstate.current_status`).
:func:`run` prints that record and exits, with the standard library alone, when the command line is
exactly ``status`` with options it plainly understands (``--json``, ``--format TEMPLATE``, ``--linger
SECONDS``, each at most once) and the command line would print nothing else: the plugin index matches
the installed plugins (so no plugin is broken, which the command line would report) and no plugin
variable is set (whose warnings it prints). Everything else returns, untouched, to the command line:
``--follow``, ``--help``, root options, a bad or unusual value, a template that does not fill, a runtime
directory that is not usable (the command line's message), ``--debug``'s variable.
"""

from __future__ import annotations

import os
import sys

#: Options of ``status`` this parser takes, with a value or not.
VALUE_OPTIONS = ("--format", "--linger")
FLAG_OPTIONS = ("--json",)


def parse(argv: list[str]) -> tuple[bool, str | None, float] | None:
    """``status [--json] [--format TEMPLATE] [--linger SECONDS]`` as click hands it over: (as_json,
    template, linger); None for anything else."""
    if argv[:1] != ["status"]:
        return None
    from .option_names import option_value, split_option
    from .runstate import DEFAULT_LINGER

    seen: dict[str, str] = {}
    args = argv[1:]
    while args:
        arg = args.pop(0)
        name, has_value, value = split_option(arg)
        if name in seen or name not in (*VALUE_OPTIONS, *FLAG_OPTIONS):
            return None
        if name in FLAG_OPTIONS:
            if has_value:
                return None
            seen[name] = ""
            continue
        given = option_value(has_value, value, args)
        if given is None or given.startswith("-"):
            return None
        seen[name] = given
    linger = DEFAULT_LINGER
    if "--linger" in seen:
        text = seen["--linger"]
        if not text.replace(".", "", 1).isdigit():  # plain decimals only: click's FloatRange judges the rest
            return None
        linger = float(text)
    as_json, template = "--json" in seen, seen.get("--format")
    if as_json and template is not None:
        return None  # the command line's usage error
    return as_json, template, linger


def run(argv: list[str]) -> None:
    """Print the status record and exit when :func:`parse` understands ``argv`` and nothing else would be
    printed; else return."""
    parsed = parse(argv)
    if parsed is None or os.environ.get("VOICE_TRANSCRIBER_DEBUG") or "_VOICE_TRANSCRIBER_COMPLETE" in os.environ:
        return
    from . import plugin_index

    if plugin_index.read() is None:  # a plugin variable, a broken or changed plugin: the command line says so
        return
    from . import runstate

    as_json, template, linger = parsed
    try:
        line = runstate.renderer(as_json, template or None)(runstate.current_status(linger))
    except Exception:  # noqa: BLE001 - an unusable runtime dir, a template that does not fill: the command line's message
        return
    sys.stdout.write(line + "\n")
    sys.exit(0)
