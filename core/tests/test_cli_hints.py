"""An unknown option suggests the nearest real options and the one the user meant (exit 2)."""

from __future__ import annotations

import pytest

from vt_testing.core import run_cli


def error_line(*args: str) -> str:
    done = run_cli(*args)
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err, err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize("typed", ["--sink", "--to", "--out", "--sinks", "--destination"])
def test_words_for_where_the_text_goes_point_to_output(typed):
    line = error_line("transcribe", "memo.flac", typed, "clipboard")
    assert line.startswith(f"Error: No such option '{typed}': to choose where the text goes, use '--output'"), line


def test_the_intent_and_the_nearest_spellings_are_both_offered():
    line = error_line("transcribe", "memo.flac", "--sink", "clipboard")
    assert "'--output'" in line and "Similar: '--json', '--input'." in line
    assert error_line("--lang", "fr").startswith("Error: No such option '--lang': to set the spoken language, use '--language'")


def test_a_typo_gets_the_nearest_option_and_nonsense_gets_none():
    assert error_line("transcribe", "memo.flac", "--outptu", "clipboard") == \
        "Error: No such option '--outptu'. Did you mean '--output'?"
    assert error_line("transcribe", "memo.flac", "--zzzz") == "Error: No such option '--zzzz'."


def test_only_options_the_command_has_are_suggested():
    assert error_line("config", "show", "--sink") == "Error: No such option '--sink'."


def test_a_global_option_after_the_command_says_where_it_goes():
    assert error_line("transcribe", "memo.flac", "--debug") == (
        "Error: No such option '--debug' after the command: global options go before it, "
        "`voice-transcriber --debug transcribe ...`.")
