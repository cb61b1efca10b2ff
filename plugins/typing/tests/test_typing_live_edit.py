"""Live typing's arithmetic: the fewest backspaces, counted in the characters a window deletes one at a time."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from voice_transcriber_typing.live import as_received, edit
from voice_transcriber_typing.typer import TypingConfig

#: Letters that make prefixes collide often, plus what a dictation really contains: accents (composed
#: and combining), an em dash, emoji (one code point, outside the BMP), a line break.
ALPHABET = st.sampled_from(list("ab ,.") + ["é", "\u0301", "—", "😀", "👍", "\n"])
texts = st.lists(ALPHABET, max_size=12).map("".join)
#: No deadline (a loaded test machine once took 320 ms for one example: Hypothesis' 200 ms deadline is a timed
#: assertion), the same examples every run, nothing remembered between runs.
PROPERTY = settings(deadline=None, derandomize=True, database=None)


@PROPERTY
@given(texts, texts)
def test_edit_turns_what_is_shown_into_what_is_wanted(shown, wanted):
    backspaces, to_type = edit(shown, wanted)
    assert shown[: len(shown) - backspaces] + to_type == wanted


@PROPERTY
@given(texts, texts)
def test_edit_deletes_no_character_that_can_stay(shown, wanted):
    backspaces, _ = edit(shown, wanted)
    assert wanted.startswith(shown[: len(shown) - backspaces])
    if backspaces:  # one backspace fewer would keep a character that differs from the wanted text
        assert not wanted.startswith(shown[: len(shown) - backspaces + 1])


@PROPERTY
@given(texts, texts)
def test_growing_text_needs_no_backspace(prefix, more):
    assert edit(prefix, prefix + more) == (0, more)


def test_the_dictation_example_retypes_from_the_first_difference():
    assert edit("hello wor", "hello world this") == (0, "ld this")
    assert edit("hello world this", "Hello world, this.") == (16, "Hello world, this.")
    assert edit("hello world this", "hello world, this.") == (5, ", this.")


def test_one_backspace_per_code_point_emoji_and_combining_accents_included():
    assert edit("go 😀👍", "go 😀!") == (1, "!")
    assert edit("cafe\u0301 x", "cafe\u0301!") == (2, "!")
    assert edit("cafe\u0301", "café") == (2, "é"), "a decomposed é is two characters to the window"
    assert edit("naïve —", "naïve") == (2, "")


def test_as_received_counts_a_line_break_once_and_maps_it_like_the_typing_does():
    config = TypingConfig()
    assert as_received("one\r\ntwo", config) == "one\ntwo"
    assert as_received("one\r\ntwo\nthree", TypingConfig(newline="space")) == "one two three"
    assert os.path.commonprefix([as_received("a\r\nb", config), "a\nc"]) == "a\n"
