"""Rule formatters on arbitrary dictations: they never crash, and never invent or reorder words.

Hypothesis builds texts from the words the formatters react to (commands, fillers, the
real words around them), Whisper-style punctuation and odd characters.

50 examples per formatter and language (14 tests, 700 texts in all): derandomized, every run checks the
same examples, and 50 texts of up to 25 words draw each of the 50 words and 11 marks about a dozen
times per test; hypothesis's own drawing is what an example costs (~4 ms; a formatter call is ~0.1 ms),
so 100 per test cost the suite ~3 s of CPU more for the same vocabulary.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

WORDS = ["comma", "period", "question", "mark", "new", "line", "paragraph", "open", "close", "quote", "the", "a",
         "of", "um", "uh", "I", "I", "scratch", "that", "all", "caps", "end", "virgule", "point", "de", "vue", "à",
         "la", "ligne", "euh", "nous", "deux", "points", "Thank", "you", "twenty", "three", "vingt-trois",
         "comma-separated", "e.g.", "3.5", "«", "»", "(", ")", "-", "'", "…", "😀", "\n"]
PUNCTUATION = ["", "", "", ",", ".", "?", "!", ":", ";", "...", " ?"]
dictations = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(PUNCTUATION)), max_size=25).map(
    lambda pairs: " ".join(word + mark for word, mark in pairs))
FUZZ = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def is_subsequence(small: list[str], big: list[str]) -> bool:
    remaining = iter(big)
    return all(word in remaining for word in small)


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("name", ["punctuation", "fillers", "commands", "hallucinations", "trim", "rules"])
@FUZZ
@given(text=dictations)
def test_words_out_are_words_in_in_the_same_order(run_formatter, name, language, text):
    result = run_formatter(name, text, language=language)
    assert result.error is None
    assert is_subsequence(words(result.text), words(text)), (text, result.text)


@pytest.mark.parametrize("language", ["en", "fr"])
@FUZZ
@given(text=dictations)
def test_punctuation_is_idempotent(run_formatter, language, text):
    once = run_formatter("punctuation", text, language=language).text
    assert run_formatter("punctuation", once, language=language).text == once
