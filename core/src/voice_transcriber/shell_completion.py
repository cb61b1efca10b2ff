"""Shell completion answered with the standard library, from the command tree the plugin index remembers.

Each TAB runs ``voice-transcriber`` with ``_VOICE_TRANSCRIBER_COMPLETE`` set (``bash_complete``,
``zsh_complete``, ``fish_complete``), as click's completion scripts do; ``completion SHELL`` prints the
script. Building click's command line for that would import click, pluggy, pydantic and every plugin on
each key press, so when the plugin index is valid (:func:`voice_transcriber.plugin_index.remembered`)
both are answered here: the scripts as click wrote them, the completions by following click's own rules
(``click.shell_completion``: resolve the command from the complete words, then complete an option
name, an option's value, an argument or a subcommand) over a tree of the commands, their options,
arguments and the values a value can take (choices, files, directories), written with the index by
``cli/help_index.py``. Anything this does not model (``--``, an unknown option, a custom completion
function or type, an option with several values) returns None and click answers instead, as before.
"""

from __future__ import annotations

import os
from typing import Any

PROG = "voice-transcriber"
#: The variable click's completion protocol uses for this program (``_{PROG}_COMPLETE``).
COMPLETE_VAR = "_VOICE_TRANSCRIBER_COMPLETE"

Item = tuple[str, str, "str | None"]  # (type, value, help)


class Unmodelled(Exception):
    """Something only click knows how to complete: click answers instead."""


def script(argv: list[str]) -> str | None:
    """``completion SHELL``: the script click prints, from the index; None when it is not remembered."""
    if len(argv) != 2 or argv[0] != "completion":
        return None
    from .plugin_index import remembered

    scripts = (remembered("completion") or {}).get("scripts", {})
    found = scripts.get(argv[1]) if isinstance(scripts, dict) else None
    return found if isinstance(found, str) else None


def answer(environ: os._Environ[str] | dict[str, str] = os.environ) -> str | None:
    """The reply to a completion request (``_VOICE_TRANSCRIBER_COMPLETE`` set), or None (click answers)."""
    shell, _, instruction = environ.get(COMPLETE_VAR, "").partition("_")
    if instruction != "complete" or shell not in ("bash", "zsh", "fish"):
        return None
    from .plugin_index import remembered

    tree = (remembered("completion") or {}).get("tree")
    if not isinstance(tree, dict):
        return None
    try:
        args, incomplete = _words(shell, environ)
        items = complete(tree, args, incomplete)
    except (Unmodelled, KeyError, ValueError, IndexError, TypeError):
        return None
    return "\n".join(_format(shell, item) for item in items)


def _words(shell: str, environ: os._Environ[str] | dict[str, str]) -> tuple[list[str], str]:
    """click's ``get_completion_args`` for ``shell``."""
    words = _split(environ["COMP_WORDS"])
    if shell == "fish":
        incomplete = environ["COMP_CWORD"]
        if incomplete:
            incomplete = _split(incomplete)[0]
        args = words[1:]
        if incomplete and args and args[-1] == incomplete:
            args.pop()
        return args, incomplete
    cword = int(environ["COMP_CWORD"])
    return words[1:cword], words[cword] if cword < len(words) else ""


def _split(string: str) -> list[str]:
    """click's ``split_arg_string``: shell words, an unfinished quote or escape kept as typed so far."""
    import shlex

    lex = shlex.shlex(string, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    out: list[str] = []
    try:
        for token in lex:
            out.append(token)
    except ValueError:
        out.append(lex.token)
    return out


def _format(shell: str, item: Item) -> str:
    kind, value, help_ = item
    if shell == "bash":
        return f"{kind},{value}"
    if shell == "zsh":
        shown = help_ or "_"
        return f"{kind}\n{value.replace(':', chr(92) + ':') if shown != '_' else value}\n{shown}"
    if help_:
        return f"{kind},{value}\t{help_.replace(chr(10), chr(92) + 'n').replace(chr(9), ' ')}"
    return f"{kind},{value}"


# --- click's resolution, over the remembered tree ---------------------------------------------------------


def complete(tree: dict[str, Any], args: list[str], incomplete: str) -> list[Item]:
    """What click offers after the complete words ``args`` for ``incomplete`` (the word being typed)."""
    node, given, positionals = _resolve(tree, list(args))
    args = list(args)
    if incomplete == "=":
        incomplete = ""
    elif "=" in incomplete and incomplete.startswith("-"):
        name, _, incomplete = incomplete.partition("=")
        args.append(name)
    if "--" not in args and incomplete.startswith("-"):
        return _command_items(node, given, incomplete)
    params = node["params"]
    for param in params:
        if param["option"] and not param["flag"] and _last_option(args, param["nargs"]) in param["opts"]:
            return _value_items(param, incomplete)
    filled = _fill(params, positionals)
    for param in params:
        if not param["option"] and (param["nargs"] == -1 or param["name"] not in filled):
            return _value_items(param, incomplete)
    return _command_items(node, given, incomplete)


def _resolve(tree: dict[str, Any], args: list[str]) -> tuple[dict[str, Any], set[str], list[str]]:
    """The command the complete words lead to, the options given to it, and its positional words."""
    node = tree
    while True:
        given, positionals, rest = _parse(node, args)
        if not node.get("commands") or not rest:
            return node, given, positionals
        child = node["commands"].get(rest[0])
        if child is None:
            return node, given, positionals
        node, args = child["node"], rest[1:]


def _parse(node: dict[str, Any], args: list[str]) -> tuple[set[str], list[str], list[str]]:
    """click's option parser, resiliently: the options given, the positional words and (for a group) the
    words from the first positional on."""
    long_opts = {opt: param for param in node["params"] if param["option"]
                 for opt in [*param["opts"], *param["secondary"]]}
    group = bool(node.get("commands"))
    given: set[str] = set()
    positionals: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            raise Unmodelled("--")
        if arg.startswith("-") and len(arg) > 1:
            name, equals, value = arg.partition("=")
            param = long_opts.get(name)
            if param is not None and (name.startswith("--") or len(name) > 2):
                if param["flag"] and equals:
                    raise Unmodelled("a value given to a flag")
                if not param["flag"] and not equals:
                    if index >= len(args):  # its value is the word being typed: not given yet
                        break
                    _check_value(param)
                    index += 1
                given.add(param["name"])
                continue
            if arg.startswith("--"):
                raise Unmodelled("unknown option")
            after = _short_options(arg, long_opts, args, index, given)
            if after is None:
                return given, positionals, []
            index = after
            continue
        if group:
            return given, positionals, args[index - 1:]
        positionals.append(arg)
    return given, positionals, []


def _short_options(arg: str, options: dict[str, dict[str, Any]], args: list[str], index: int,
                   given: set[str]) -> int | None:
    """A cluster of short options (``-qs``, ``-otyping``, ``-o typing``) added to ``given``: the index of the word
    after it in ``args``, or None when its value is the word being typed."""
    for position, char in enumerate(arg[1:], start=1):
        param = options.get(f"-{char}")
        if param is None:
            raise Unmodelled("unknown option")
        if not param["flag"]:
            if position == len(arg) - 1:  # the value is the next word
                if index >= len(args):
                    return None
                _check_value(param)
                index += 1
            given.add(param["name"])
            break
        given.add(param["name"])
    return index


def _check_value(param: dict[str, Any]) -> None:
    if param["optional_value"] or param["nargs"] != 1:
        raise Unmodelled("an option with an optional value or several values")


def _last_option(args: list[str], nargs: int) -> str | None:
    for position, arg in enumerate(reversed(args)):
        if position + 1 > nargs:
            break
        if arg.startswith("-"):
            return arg
    return None


def _fill(params: list[dict[str, Any]], positionals: list[str]) -> set[str]:
    """The arguments that got words (in order; one taking any number of words takes the rest)."""
    filled, left = set(), len(positionals)
    for param in params:
        if param["option"] or left <= 0:
            continue
        if param["nargs"] == -1:
            filled.add(param["name"])
            left = 0
        else:
            filled.add(param["name"])
            left -= param["nargs"]
    return filled


def _command_items(node: dict[str, Any], given: set[str], incomplete: str) -> list[Item]:
    items: list[Item] = [("plain", name, child["help"]) for name, child in sorted(node.get("commands", {}).items())
                         if name.startswith(incomplete) and not child["hidden"]]
    if incomplete and not incomplete[0].isalnum():
        for param in node["params"]:
            if not param["option"] or param["hidden"] or (not param["multiple"] and param["name"] in given):
                continue
            items += [("plain", name, param["help"]) for name in [*param["opts"], *param["secondary"]]
                      if name.startswith(incomplete)]
    return items


def _value_items(param: dict[str, Any], incomplete: str) -> list[Item]:
    values = param["values"]
    if values is None:
        return []
    if "custom" in values:
        raise Unmodelled("a custom completion")
    if "path" in values:
        return [(values["path"], incomplete, None)]
    if values["case"]:
        return [("plain", choice, None) for choice in values["choices"] if choice.startswith(incomplete)]
    return [("plain", choice, None) for choice in values["choices"] if choice.lower().startswith(incomplete.lower())]
