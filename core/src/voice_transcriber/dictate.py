"""A dictation, or ``transcribe FILE...``, whose options are plainly valid: run without click.

A hotkey starts ``voice-transcriber`` with a few known options, many times a day. When every
argument is one the root command (or ``transcribe``) knows, with a value of the right kind, and
the plugin index matches the installed plugins, :func:`run` parses them here with the same rules
as click (``--name value``, ``--name=value``, ``-x value``; the last value of an option given twice
wins) and runs the pipeline (:mod:`.runner`): the recorder never loads click (~3 MB while the user
speaks), and ``transcribe`` starts sooner. Anything else — a subcommand, ``--help``, an unknown or
misplaced option, a missing or out-of-range value, combined short flags, ``--`` — returns None
from :func:`parse`, and click parses it as always, with its own messages.

``core/tests/test_dictate.py`` checks that :func:`parse` gives exactly what click gives the
command's function, for every option of both commands.
"""

from __future__ import annotations

import os
import sys

from .option_names import FLAG_OPTIONS, POSITIVE_NUMBERS, ROOT_PARAMS, VALUE_OPTIONS, option_value, split_option
from .option_names import plain_value as _plain_value
from .option_names import positive_number as _number

TYPE_CHECKING = False  # typing costs milliseconds here, on the way to the microphone
if TYPE_CHECKING:
    from typing import Any

#: The root command's own options and the pipeline's (``run_cmd.pipeline_options``), which ``transcribe``
#: takes too; options → parameters: :mod:`.option_names`' tables, shared.
ROOT_VALUES = {option: param for option, param in VALUE_OPTIONS.items() if param in ROOT_PARAMS}
ROOT_FLAGS = {option: param for option, param in FLAG_OPTIONS.items() if param in ROOT_PARAMS}
PIPELINE_VALUES = {option: param for option, param in VALUE_OPTIONS.items() if param not in ROOT_PARAMS}
PIPELINE_FLAGS = {option: param for option, param in FLAG_OPTIONS.items() if param not in ROOT_PARAMS}
#: What click passes for a pipeline option that is not given (a flag declared ``default=None`` is None).
PIPELINE_DEFAULTS: dict[str, Any] = {**dict.fromkeys(PIPELINE_VALUES.values()), **dict.fromkeys(PIPELINE_FLAGS.values()),
                                     "no_format": False}
ROOT_DEFAULTS: dict[str, Any] = {"config_file": None, "debug": False, "quiet": False, "strict": False}


class Parsed:
    """What click would hand the root command (``root``, and ``options`` for a dictation) and, for
    ``transcribe``, that command (``files``, ``options``)."""

    def __init__(self) -> None:
        self.root: dict[str, Any] = dict(ROOT_DEFAULTS)
        self.command: str | None = None
        self.files: list[str] = []
        self.options: dict[str, Any] = dict(PIPELINE_DEFAULTS)


def parse(argv: list[str]) -> Parsed | None:
    """``argv`` as click would parse it for a dictation or ``transcribe``; None when click must judge."""
    parsed = Parsed()
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "transcribe" and parsed.command is None and not _pipeline_given(parsed):
            parsed.command = arg
            continue
        name, has_value, value = split_option(arg)
        if parsed.command is None and name in ROOT_FLAGS and not has_value:
            parsed.root[ROOT_FLAGS[name]] = True
        elif parsed.command is None and name in ROOT_VALUES:
            given = option_value(has_value, value, args)
            if given is None or not _plain_value(given):
                return None
            parsed.root[ROOT_VALUES[name]] = given
        elif name in PIPELINE_FLAGS and not has_value:
            parsed.options[PIPELINE_FLAGS[name]] = True
        elif name in PIPELINE_VALUES:
            given = option_value(has_value, value, args)
            if given is None:
                return None
            param = PIPELINE_VALUES[name]
            converted = _number(given) if param in POSITIVE_NUMBERS else given if _plain_value(given) else None
            if converted is None:
                return None
            parsed.options[param] = converted
        elif parsed.command == "transcribe" and (arg == "-" or not arg.startswith("-")):
            parsed.files.append(arg)
        else:
            return None  # a subcommand, --help, --version, --, an unknown or combined option: click's
    if parsed.command == "transcribe" and not parsed.files:
        return None  # click: "Missing argument 'FILE...'"
    return parsed


def _pipeline_given(parsed: Parsed) -> bool:
    """A pipeline option before a command is click's usage error ("belongs after the command")."""
    return parsed.options != PIPELINE_DEFAULTS


def run(argv: list[str]) -> None:
    """Run a dictation or ``transcribe`` that :func:`parse` understands, and exit; else return (click's turn)."""
    if "_VOICE_TRANSCRIBER_COMPLETE" in os.environ:
        return
    parsed = parse(argv)
    if parsed is None:
        return
    from . import plugin_index

    index = plugin_index.read()
    if index is None:
        return  # missing or stale: the command line loads every plugin and writes it
    if parsed.command == "transcribe":
        _head_start(parsed)  # first: what it starts runs beside everything below
    from .runner import exit_after

    debug = parsed.root["debug"] or bool(os.environ.get("VOICE_TRANSCRIBER_DEBUG"))
    exit_after(lambda: _run(parsed, index, debug), debug)


def _run(parsed: Parsed, index: dict[str, Any], debug: bool) -> None:
    from .plugins import get_plugin_manager
    from .runner import CliState, report_failures, run_from_options, transcribe_files

    pm = get_plugin_manager(index=index)
    report_failures(pm)
    state = CliState(pm=pm, config_file=parsed.root["config_file"], debug=debug, quiet=parsed.root["quiet"],
                     strict=parsed.root["strict"])
    try:
        if parsed.command is None:
            run_from_options(state, parsed.options)
        else:
            transcribe_files(state, tuple(parsed.files), parsed.options)
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)  # as click does before its Abort: then "error: cancelled"
        raise KeyboardInterrupt from None
    except OSError as exc:
        import errno

        if exc.errno != errno.EPIPE:
            raise
        from click.utils import PacifyFlushWrapper  # as click: a closed pipe (`| head`) ends quietly, exit 1

        sys.stdout, sys.stderr = PacifyFlushWrapper(sys.stdout), PacifyFlushWrapper(sys.stderr)
        sys.exit(1)


def _head_start(parsed: Parsed) -> None:
    """Start what the last ``transcribe`` with the same options, config and environment prepared
    (the local model), before the configuration is read (:mod:`.head_start`)."""
    from . import head_start
    from .quick import entry_points, load

    def lookup(name: str) -> Any:
        target = next((value for _, entry, value in entry_points(head_start.GROUP) if entry == name), None)
        return load(target) if target is not None else None

    head_start.begin(head_start.inputs("transcribe", parsed.options, parsed.root["config_file"]), lookup)
