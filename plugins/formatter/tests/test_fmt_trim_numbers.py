"""trim (whitespace, trailing space) and numbers (text2num, English and French)."""

from __future__ import annotations

import pytest

TRIM = [
    ("  hello   world  ", {}, "hello world"),
    ("a \t b\n\n\n\nc  \n d", {}, "a b\n\nc\nd"),
    ("ça va\u202f?", {}, "ça va\u202f?"),
    ("hello ", {"trailingSpace": True}, "hello "),
    ("one\ntwo", {"keepNewlines": False}, "one two"),
    ("   ", {"trailingSpace": True}, ""),
]


@pytest.mark.parametrize(("text", "config", "trimmed"), TRIM)
def test_trim(run_formatter, text, config, trimmed):
    assert run_formatter("trim", text, config=config).text == trimmed


NUMBERS = [
    ("en", "I have twenty three apples", {}, "I have 23 apples"),
    ("en", "it costs three hundred and forty two euros", {}, "it costs 342 euros"),
    ("en", "one of us has two cats", {}, "one of us has two cats"),
    ("en", "one of us has two cats", {"threshold": 0}, "1 of us has 2 cats"),
    ("en", "the twenty first century", {}, "the 21st century"),
    ("fr", "j'ai vingt-trois pommes", {}, "j'ai 23 pommes"),
    ("fr", "mille deux cent trente euros", {}, "1230 euros"),
    ("fr", "un chat et deux chiens", {}, "un chat et deux chiens"),
    ("fr", "il mesure trois virgule cinq mètres", {}, "il mesure 3,5 mètres"),
]


@pytest.mark.parametrize(("language", "spoken", "config", "written"), NUMBERS)
def test_numbers(run_formatter, language, spoken, config, written):
    assert run_formatter("numbers", spoken, language=language, config=config).text == written


def test_numbers_unknown_language_keeps_the_text(run_formatter):
    result = run_formatter("numbers", "двадцать три", language="ru")
    assert result.text is None and "does not know language 'ru'" in result.error
