"""vt_testing.speech.wer scores as the field does (Whisper's English normaliser); raw_wer keeps the old view."""

from __future__ import annotations

from vt_testing.speech import JFK_TEXT, normalise, raw_wer, wer, whisper_normalise


def test_wer_counts_a_number_the_same_in_words_or_digits_and_raw_wer_does_not():
    # tiny.en writes either style for the same audio; only the raw WER calls it two errors
    assert wer("Meet me from two until four.", "meet me from 2 until 4") == 0.0
    assert raw_wer("Meet me from two until four.", "meet me from 2 until 4") == 2 / 6
    assert wer("Ten instead of nine, and twenty percent.", "10 instead of 9 and 20%") == 0.0


def test_wer_ignores_case_punctuation_spelling_and_contractions_but_not_words():
    assert wer(JFK_TEXT, JFK_TEXT.upper().replace(",", "")) == 0.0
    assert wer("The colour of the centre, isn't it?", "the color of the center is not it") == 0.0
    assert wer(JFK_TEXT, JFK_TEXT.replace("country", "county")) == 2 / len(normalise(JFK_TEXT).split())
    assert wer("please send the report", "") == 1.0


def test_both_normalisations_agree_on_plain_words():
    assert whisper_normalise(JFK_TEXT) == normalise(JFK_TEXT)
    assert wer(JFK_TEXT, "and so my fellow americans ask not") == raw_wer(JFK_TEXT, "and so my fellow americans ask not")
