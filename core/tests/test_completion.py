"""`voice-transcriber completion bash|zsh|fish`: scripts that really complete, plugins' commands included."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from vt_testing.core import MODULES_AT_EXIT, bash_complete, run_cli
from vt_testing.tool_stubs import run_in_process


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
    # the help texts are read in this process (what they say is the point; a process costs ~0.3 CPU-s)
    assert "completion" in run_in_process("--help").stdout.decode()
    assert ".bashrc" in run_in_process("completion", "--help").stdout.decode()


# --- completion without click: the plugin index's command tree, checked against click's own answers ----------

CASES = [  # (complete words after the program name, the word being typed)
    ([], ""), ([], "t"), ([], "-"), ([], "--"), ([], "--c"), (["--quiet"], "-"), (["--config", "x.json"], "tr"),
    (["--config"], ""), (["--backend"], ""), (["-b", "local"], "c"), (["-qb", "local"], ""),
    (["transcribe"], "-"), (["transcribe"], "--out"), (["transcribe"], ""), (["transcribe", "--output"], ""),
    (["transcribe", "--output", "stdout"], "--"), (["transcribe", "-i"], "sa"), (["transcribe"], "--output=cl"),
    (["completion"], ""), (["completion"], "z"), (["completion", "bash"], ""), (["config"], ""), (["config"], "-"),
    (["config", "show"], "-"), (["history"], ""), (["models"], ""), (["models"], "-"), (["rofi"], "-"),
    (["nosuch"], ""), (["transcribe", "--nosuch"], ""), (["transcribe", "--"], "-"), (["--json"], "-"),
    (["toggle"], "--"), (["start"], "--m"), (["plugins"], "-"), (["doctor"], ""), (["--strict", "--debug"], "--"),
]


def click_answer(cli, shell: str, args: list[str], incomplete: str, monkeypatch) -> str:
    from click.shell_completion import get_completion_class

    from voice_transcriber.shell_completion import COMPLETE_VAR, PROG

    for name, value in environment(shell, args, incomplete).items():
        monkeypatch.setenv(name, value)
    return get_completion_class(shell)(cli, {}, PROG, COMPLETE_VAR).complete()


def environment(shell: str, args: list[str], incomplete: str) -> dict[str, str]:
    import shlex

    words = " ".join(shlex.quote(word) for word in ["voice-transcriber", *args, *([incomplete] if incomplete else [])])
    cword = incomplete if shell == "fish" else str(len(args) + 1)
    return {"_VOICE_TRANSCRIBER_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": cword}


def test_completions_without_click_are_clicks(monkeypatch):
    from voice_transcriber.cli import make_cli
    from voice_transcriber.plugins import get_plugin_manager
    from voice_transcriber.shell_completion import answer

    assert run_cli("config", "path").returncode == 0  # writes the plugin index
    cli = make_cli(get_plugin_manager())
    declined = []
    for shell in ("bash", "zsh", "fish"):
        for args, incomplete in CASES:
            ours = answer(environment(shell, args, incomplete))
            if ours is None:  # something only click models (`--`, an unknown option): click answers
                declined.append((args, incomplete))
                continue
            assert ours == click_answer(cli, shell, args, incomplete, monkeypatch), (shell, args, incomplete)
    assert set(map(str, declined)) <= {str((["nosuch"], "")), str((["transcribe", "--nosuch"], "")),
                                       str((["transcribe", "--"], "-"))}


def test_a_tab_and_the_scripts_import_no_click_pydantic_pluggy_or_plugin(tmp_path):
    import json

    assert run_cli("config", "path").returncode == 0
    dump = tmp_path / "modules.json"
    for argv, env in [([], environment("bash", ["transcribe"], "--out")), (["completion", "zsh"], {}),
                      (["completion", "bash"], {})]:
        done = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, str(dump), *argv], capture_output=True, text=True,
                              env={**os.environ, **env}, timeout=60)
        modules = set(json.loads(dump.read_text()))
        assert done.returncode == 0 and done.stdout
        assert not {"click", "pydantic", "pluggy"} & modules and not any(m.startswith("voice_transcriber_") for m in modules)
        if argv:  # the script click prints
            clicks = run_cli(*argv, env={"VOICE_TRANSCRIBER_DISABLE_PLUGINS": ""})
            assert done.stdout == clicks.stdout.decode()
        else:
            assert done.stdout == "plain,--output\n"
