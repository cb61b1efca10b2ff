"""The root command's options by name, for the paths that parse a command line without click.

Each option → click's parameter name. The executable's click-free paths read them: the early
microphone start (:mod:`.capture.early`), a dictation or ``transcribe`` (:mod:`.dictate`) and the
hotkey commands (:mod:`.hotkey`). Tests keep them in step with the click commands; an option
missing here only means "click parses it", never a different result. :func:`split_option` and
:func:`option_value` read an option and its value as click does, for those parsers and ``status``'s
(:mod:`.status`).
"""

from __future__ import annotations

VALUE_OPTIONS = {"--config": "config_file", "--input": "input_path", "-i": "input_path", "--backend": "backend",
                 "-b": "backend", "--format": "formatters", "-f": "formatters", "--output": "output", "-o": "output",
                 "--language": "language", "-l": "language", "--profile": "profile", "--device": "device",
                 "-d": "device", "--max-duration": "max_duration", "--silence-stop": "silence_stop"}
FLAG_OPTIONS = {"--debug": "debug", "--quiet": "quiet", "-q": "quiet", "--strict": "strict", "--no-format": "no_format",
                "--json": "json_output", "--no-newline": "no_newline", "--live": "live", "--continuous": "continuous"}
#: The root command's own parameters; the others are the pipeline's (``run_cmd.pipeline_options``).
ROOT_PARAMS = frozenset({"config_file", "debug", "quiet", "strict"})
#: The pipeline's parameters in the order of click's commands (``run_cmd.pipeline_options``, ``--input`` aside):
#: the order a background recorder's command line repeats them in.
PIPELINE_ORDER = ("backend", "formatters", "no_format", "output", "language", "json_output", "no_newline", "profile",
                  "device", "max_duration", "silence_stop", "continuous", "live")
#: Pipeline options whose value is a number above zero (click's ``FloatRange(min=0, min_open=True)``).
POSITIVE_NUMBERS = frozenset({"max_duration", "silence_stop"})


def split_option(arg: str) -> tuple[str, bool, str]:
    """``--name=value`` as click splits it: (``--name``, True, ``value``); any other argument (``-b``, ``--name``,
    a value, a command) is (``arg``, False, "")."""
    if not arg.startswith("--"):
        return arg, False, ""
    name, equals, value = arg.partition("=")
    return name, bool(equals), value


def option_value(has_value: bool, value: str, args: list[str]) -> str | None:
    """An option's value: the one after ``=`` when ``has_value``, else the next argument, taken off ``args``;
    None when there is none (click's "Option requires an argument")."""
    if has_value:
        return value
    return args.pop(0) if args else None


def plain_value(value: str) -> bool:
    """A value click takes as is; one that looks like an option (``--backend --debug``) is left to click."""
    return value == "-" or not value.startswith("-")


def positive_number(value: str) -> float | None:
    """``value`` as click's ``FloatRange(min=0, min_open=True)`` converts it; None when click would refuse it."""
    try:
        number = float(value)
    except ValueError:
        return None
    return None if number <= 0 else number
