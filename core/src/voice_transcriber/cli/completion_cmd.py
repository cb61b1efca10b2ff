"""``voice-transcriber completion bash|zsh|fish``: the shell completion script, from click."""

from __future__ import annotations

import click

PROG = "voice-transcriber"
#: The variable click's completion protocol uses for this program (``_{PROG}_COMPLETE``).
COMPLETE_VAR = "_VOICE_TRANSCRIBER_COMPLETE"
SETUP = {
    "bash": 'eval "$(voice-transcriber completion bash)"  in ~/.bashrc',
    "zsh": 'eval "$(voice-transcriber completion zsh)"  in ~/.zshrc',
    "fish": "voice-transcriber completion fish > ~/.config/fish/completions/voice-transcriber.fish",
}


@click.command("completion")
@click.argument("shell", type=click.Choice(sorted(SETUP)))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(voice-transcriber completion bash)"   in ~/.bashrc
    zsh:   eval "$(voice-transcriber completion zsh)"    in ~/.zshrc
    fish:  voice-transcriber completion fish > ~/.config/fish/completions/voice-transcriber.fish

    Commands, options and their values complete, plugins' commands included.
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None  # the Choice above only offers shells click supports
    click.echo(cls(ctx.find_root().command, {}, PROG, COMPLETE_VAR).source())
