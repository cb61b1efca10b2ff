"""Better hints for an unknown option: the nearest real options, and the option the user meant.

click's own hint only offers spellings close to the typed one (``--sink`` gave ``--input``,
``--json``); people also type the word for what they want (``--sink``, ``--to``, ``--out`` for
where the text goes). Only options the command really has are suggested.
"""

from __future__ import annotations

import difflib

import click

#: What people type → the option that does it.
INTENT = {
    "--sink": "--output", "--sinks": "--output", "--to": "--output", "--out": "--output", "--dest": "--output",
    "--destination": "--output", "--deliver": "--output", "--target": "--output",
    "--file": "--input", "--in": "--input", "--audio": "--input",
    "--lang": "--language",
    "--mic": "--device", "--microphone": "--device", "--source": "--device",
    "--formatter": "--format", "--formatters": "--format",
    "--backends": "--backend", "--engine": "--backend", "--provider": "--backend",
    "--verbose": "--debug", "--silent": "--quiet",
}
#: What the meant option does, for the hint.
PURPOSE = {
    "--output": "to choose where the text goes, use '--output' (e.g. --output clipboard)",
    "--input": "to read an audio file, use '--input' (e.g. --input memo.flac; '-' reads stdin)",
    "--language": "to set the spoken language, use '--language' (e.g. --language fr)",
    "--device": "to pick the microphone, use '--device' (see `voice-transcriber devices`)",
    "--format": "to choose the formatters, use '--format' (e.g. --format punctuation,fillers)",
    "--backend": "to choose the backend, use '--backend' (e.g. --backend local, or a chain: speaches,local)",
    "--debug": "for diagnostics, use '--debug'",
    "--quiet": "for errors only, use '--quiet'",
}
#: Options only the root command takes (they go before the command).
GLOBAL = ("--config", "--debug", "--quiet", "-q", "--strict")


def improve(exc: click.ClickException) -> None:
    """Rewrite a NoSuchOption's suggestions in place (other errors are left as they are)."""
    if not isinstance(exc, click.NoSuchOption) or exc.ctx is None:
        return
    name = exc.option_name.split("=", 1)[0]
    command = exc.ctx.command
    known = [opt for param in command.get_params(exc.ctx) if isinstance(param, click.Option)
             for opt in (*param.opts, *param.secondary_opts)]
    if exc.ctx.parent is not None and name in GLOBAL:
        exc.message = (f"No such option '{name}' after the command: global options go before it, "
                       f"`voice-transcriber {name} {exc.ctx.info_name} ...`.")
        exc.possibilities = None  # type: ignore[misc]
        return
    intended = INTENT.get(name.lower())
    if intended not in known:
        intended = None
    long_options = [opt for opt in known if opt.startswith("--")]
    close = [opt for opt in difflib.get_close_matches(name, long_options, n=3, cutoff=0.6) if opt != intended]
    if intended is None:
        exc.possibilities = close or None  # type: ignore[misc]  # click words it: "Did you mean ...?"
        return
    exc.message = f"No such option '{name}': {PURPOSE[intended]}."
    if close:
        exc.message += " Similar: " + ", ".join(f"'{opt}'" for opt in close) + "."
    exc.possibilities = None  # type: ignore[misc]
