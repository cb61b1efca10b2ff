"""``voice-transcriber completion bash|zsh|fish``: the shell completion script, from click.

Once the plugin index remembers the scripts and the command tree, the executable prints the script
and answers each TAB itself, without click (:mod:`voice_transcriber.shell_completion`)."""

from __future__ import annotations

import click

from ..shell_completion import COMPLETE_VAR, PROG
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
