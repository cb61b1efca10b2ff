"""`voice-transcriber completion bash|zsh|fish`: scripts that really complete, plugins' commands included."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vt_testing.core import run_cli

BIN = Path(sys.executable).parent


def bash_complete(*words: str) -> list[str]:
    """What bash offers after ``voice-transcriber WORDS`` with our script loaded (the last word is being typed)."""
    script = ('source <(voice-transcriber completion bash)\n'
              'COMP_WORDS=(voice-transcriber "$@"); COMP_CWORD=$#\n'
              '_voice_transcriber_completion voice-transcriber\n'
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    done = subprocess.run(["bash", "-c", script, "bash", *words], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completes_commands_options_and_values():
    assert {"transcribe", "toggle", "completion", "models"} <= set(bash_complete(""))  # models: a plugin's
    assert bash_complete("transcribe", "--out") == ["--output"]
    assert bash_complete("completion", "") == ["bash", "fish", "zsh"]
    assert "path" in bash_complete("config", "")


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts(shell):
    done = run_cli("completion", shell)
    script = done.stdout.decode()
    assert done.returncode == 0 and "_VOICE_TRANSCRIBER_COMPLETE" in script and f"{shell}_complete" in script
    if shutil.which(shell):  # the shell itself says the script parses
        check = subprocess.run([shell, "-n"], input=script, capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr


def test_unknown_shell_is_a_usage_error_and_help_documents_it():
    bad = run_cli("completion", "tcsh")
    assert bad.returncode == 2 and "'tcsh' is not one of" in bad.stderr.decode()
    assert "completion" in run_cli("--help").stdout.decode()
    assert ".bashrc" in run_cli("completion", "--help").stdout.decode()
