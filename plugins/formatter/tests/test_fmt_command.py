"""command: the text goes through the user's program; any failure keeps the text and says why."""

from __future__ import annotations

import sys

import pytest

from voice_transcriber import ConfigError


def test_pipes_the_text_through_the_program(run_formatter):
    result = run_formatter("command", "hello world", config={"command": ["sed", "s/world/there/"]})
    assert result.text == "hello there"


def test_a_command_line_string_is_split_without_a_shell(run_formatter, tmp_path):
    marker = tmp_path / "never"
    result = run_formatter("command", "a b", config={"command": f"tr a-z A-Z ; touch {marker}"})
    assert result.text is None  # `tr` got ';' 'touch' … as arguments and failed: no shell ran
    assert "exited with status" in result.error
    assert not marker.exists()


def test_the_program_sees_language_and_backend(run_formatter):
    script = "import os, sys; print(os.environ['VT_LANGUAGE'], os.environ['VT_BACKEND'], sys.stdin.read())"
    result = run_formatter("command", "bonjour", language="fr", config={"command": [sys.executable, "-c", script]})
    assert result.text == "fr scripted bonjour"


@pytest.mark.parametrize(("command", "timeout", "reason"), [
    (["no-such-program-xyz"], 60, "program 'no-such-program-xyz' not found"),
    ([sys.executable, "-c", "import sys; sys.exit('model not loaded')"], 60, "exited with status 1: model not loaded"),
    ([sys.executable, "-c", "pass"], 60, "printed nothing"),  # (0.3 s: a loaded machine starts Python slower)
    ([sys.executable, "-c", "import time; time.sleep(60)"], 0.3, "took longer than 0.3 s"),
    ([], 60, "no program configured"),
])
def test_failures_keep_the_text_and_say_why(run_formatter, command, timeout, reason):
    result = run_formatter("command", "my words", config={"command": command, "timeoutSeconds": timeout})
    assert result.text is None
    assert reason in result.error


def test_unbalanced_quotes_are_a_config_error(run_formatter):
    with pytest.raises(ConfigError, match="formatter.command.command: cannot split the command line"):
        run_formatter("command", "x", config={"command": "sed 's/a/b"})


def test_doctor_finds_the_program(make_formatter):
    [found] = make_formatter("command", config={"command": ["sed", "s/a/b/"]}).checks()
    [missing] = make_formatter("command", config={"command": ["no-such-program-xyz"]}).checks()
    assert found.ok and found.detail.endswith("sed")
    assert not missing.ok and "not found" in missing.detail
