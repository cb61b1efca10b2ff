"""Scores on hand-computed text pairs, the backend × model expansion, and the report formats (no model, no server)."""

from __future__ import annotations

import pytest

from voice_transcriber_benchmark.compare import compare
from voice_transcriber_benchmark.measure import Result, candidates
from voice_transcriber_benchmark.report import columns, markdown
from voice_transcriber_benchmark.scoring import WordDiff, normalise, similarity, word_errors


@pytest.mark.parametrize(("text", "expected"), [
    ("And so, my fellow Americans: ask not!", "and so my fellow americans ask not"),
    ("Don’t STOP", "don't stop"),
    ("'quoted' words", "quoted words"),
    ("U.S.A. well-known", "u s a well known"),
    ("  spaced\n\tout  ", "spaced out"),
    ("Ｆｕｌｌwidth", "fullwidth"),
])
def test_normalise_ignores_case_punctuation_and_spacing(text, expected):
    assert normalise(text) == expected


def test_wer_one_substitution_and_one_deletion_in_six_words():
    errors = word_errors("The cat sat on the mat.", "the cat sit on mat")
    assert errors.wer == pytest.approx(2 / 6)
    assert errors.diff == (WordDiff("substitute", "sat", "sit"), WordDiff("delete", "the", ""))
    assert [str(d) for d in errors.diff] == ["[sat]→[sit]", "-[the]"]


def test_wer_two_insertions_in_five_words():
    errors = word_errors("ask not what your country", "Ask not what your country can do")
    assert errors.wer == pytest.approx(2 / 5)
    assert errors.diff == (WordDiff("insert", "", "can do"),)


def test_wer_is_zero_when_only_case_and_punctuation_differ():
    errors = word_errors("And so, my fellow Americans.", "and so my fellow americans")
    assert (errors.wer, errors.diff) == (0.0, ())


def test_wer_of_an_empty_hypothesis_is_one():
    errors = word_errors("three words here", "")
    assert errors.wer == 1.0 and errors.diff == (WordDiff("delete", "three words here", ""),)


def test_wer_is_undefined_without_reference_words():
    assert word_errors("...", "something").wer is None


def test_similarity_is_normalised_levenshtein_in_percent():
    assert similarity("kitten", "sitting") == pytest.approx(100 * (1 - 3 / 7))  # 3 edits, 7 characters
    assert similarity("Ask not!", "ask not") == 100.0
    assert similarity("", "") == 100.0
    assert similarity("abc", "xyz") == 0.0


def test_models_apply_to_every_backend_unless_named_for_one():
    assert candidates(["local", "openai"], []) == [("local", None), ("openai", None)]
    assert candidates(["local", "openai"], ["tiny.en", "openai=whisper-1"]) == [
        ("local", "tiny.en"), ("openai", "whisper-1"), ("openai", "tiny.en")]
    assert candidates(["local", "speaches"], ["local=base", "speaches=Systran/faster-whisper-small"]) == [
        ("local", "base"), ("speaches", "Systran/faster-whisper-small")]


def test_first_run_is_apart_from_the_median_of_the_warm_runs():
    result = Result("local", "base", [2.0, 1.0, 3.0, 1.5])
    assert (result.first, result.median, result.rtf(4.0)) == (2.0, 1.5, 0.375)
    single = Result("local", None, [0.8])
    assert (single.first, single.median) == (0.8, 0.8)
    assert Result("openai", None, error="openai: 401").median is None


def test_comparison_scores_against_the_reference_and_between_backends():
    results = [Result("local", "tiny.en", [1.0, 0.5], "the cat sat on the mat"),
               Result("openai", "whisper-1", [2.0, 1.0], "The cat sat on the mat.", uploaded_bytes=1234),
               Result("speaches", None, error="speaches (http://x/v1): HTTP 500 — fix: check the server's log")]
    comparison = compare("clip.flac", 4.0, 2, results, "the cat sat on a mat")
    local, openai, speaches = comparison.rows
    assert local.wer == pytest.approx(1 / 6) and local.diff == (WordDiff("substitute", "a", "the"),)
    assert openai.wer == pytest.approx(1 / 6) and openai.similarity == 100.0
    assert speaches.wer is None and speaches.similarity is None and not comparison.all_failed
    assert comparison.pairs == [("local tiny.en", "openai whisper-1", 100.0)]
    data = comparison.to_dict()
    assert data["results"][1] == {
        "backend": "openai", "model": "whisper-1", "ok": True, "error": None, "first_seconds": 2.0,
        "median_seconds": 1.0, "runs_seconds": [2.0, 1.0], "rtf": 0.25, "uploaded_bytes": 1234,
        "text": "The cat sat on the mat.", "wer": 0.1667, "similarity_percent": 100.0,
        "diff": [{"op": "substitute", "ref": "a", "hyp": "the"}]}
    assert data["results"][2]["ok"] is False and data["results"][2]["error"].startswith("speaches (")


def test_without_reference_diffs_are_against_the_first_backend():
    results = [Result("local", None, [1.0], "ask not what your country can do"),
               Result("openai", None, [1.0], "ask what your country can do for you")]
    comparison = compare("clip", 3.0, 1, results, None)
    assert comparison.diff_against == "local"
    assert comparison.rows[1].wer is None
    assert comparison.rows[1].diff == (WordDiff("delete", "not", ""), WordDiff("insert", "", "for you"))
    assert columns(comparison) == ["backend", "model", "first", "median", "RTF", "similarity", "text"]


def test_markdown_table_escapes_pipes_and_shows_errors_in_their_row():
    results = [Result("local", None, [1.0], "a | b"), Result("openai", None, error="openai: no API key")]
    text = markdown([compare("clip", 2.0, 1, results, "a b")])
    lines = text.splitlines()
    assert "| backend | model | first | median | RTF | WER | text |" in lines
    assert "|---|---|---:|---:|---:|---:|---|" in lines
    assert "| local | — | 1.00 s | 1.00 s | 0.500 | 0.0 % | a \\| b |" in lines
    assert "| openai | — | — | — | — | — | error: openai: no API key |" in lines
