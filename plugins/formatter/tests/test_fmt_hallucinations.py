"""hallucinations: Whisper's inventions go only when they are all there is, or trail the text."""

from __future__ import annotations

import pytest

CASES = [
    ("Thank you.", ""),
    (" you", ""),
    ("Thank you. Thank you. Thank you.", ""),
    (". .", ""),
    ("Merci.", ""),
    ("Sous-titres réalisés par la communauté d'Amara.org", ""),
    ("Send me the report. Thanks for watching!", "Send me the report."),
    ("Bonjour à tous. Sous-titres réalisés par la communauté d’Amara.org", "Bonjour à tous."),
    ("Line one.\nLine two. Please subscribe.", "Line one.\nLine two."),
    # real dictations stay
    ("Send me the report. Thank you.", "Send me the report. Thank you."),
    ("You know what, it is fine.", "You know what, it is fine."),
    ("Thank you for the report, it was great.", "Thank you for the report, it was great."),
    ("Merci pour tout.", "Merci pour tout."),
]


@pytest.mark.parametrize(("heard", "kept"), CASES)
def test_defaults(run_formatter, heard, kept):
    assert run_formatter("hallucinations", heard).text == kept


def test_dropping_the_whole_text_is_reported(run_formatter, capsys):
    assert run_formatter("hallucinations", "Thanks for watching!").text == ""
    assert "dropped 'Thanks for watching!'" in capsys.readouterr().err


def test_configurable_lists(run_formatter):
    config = {"useDefaults": False, "whole": ["ok then"], "trailing": ["over and out"]}
    assert run_formatter("hallucinations", "Thank you.", config=config).text == "Thank you."
    assert run_formatter("hallucinations", "Ok then.", config=config).text == ""
    assert run_formatter("hallucinations", "Move now. Over and out!", config=config).text == "Move now."
