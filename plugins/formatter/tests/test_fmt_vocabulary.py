"""vocabulary: near misses of the user's words take the user's spelling; other words stay."""

from __future__ import annotations

import pytest

WORDS = ["Kubernetes", "GitHub", "Anaïs", "PyTorch", "Jean-Baptiste", "Claude Monet"]

CASES = [
    ("I deployed it on kubernetis, then pushed to github.", "I deployed it on Kubernetes, then pushed to GitHub."),
    ("Anais and jean baptiste use py torch", "Anaïs and Jean-Baptiste use PyTorch"),
    ("a painting by claude monnet!", "a painting by Claude Monet!"),
    ("Anaïs est partie avec Jean-Baptiste.", "Anaïs est partie avec Jean-Baptiste."),
    # unrelated words are left alone
    ("the cat sat on the mat", "the cat sat on the mat"),
    ("I like cubes and guitars", "I like cubes and guitars"),
    ("Anna is here", "Anna is here"),
]


@pytest.mark.parametrize(("heard", "written"), CASES)
def test_corrections(run_formatter, heard, written):
    assert run_formatter("vocabulary", heard, settings={"vocabulary": WORDS}).text == written


def test_threshold_is_configurable(run_formatter):
    strict = run_formatter("vocabulary", "kubernetis", settings={"vocabulary": WORDS}, config={"threshold": 99})
    assert strict.text == "kubernetis"


def test_without_a_vocabulary_nothing_changes(run_formatter):
    assert run_formatter("vocabulary", "kubernetis").text == "kubernetis"


def test_vocabulary_is_a_core_setting_backends_can_read(write_config):
    from voice_transcriber.config import load_settings

    write_config({"vocabulary": ["Kubernetes", "Anaïs"]})
    assert load_settings().vocabulary == ["Kubernetes", "Anaïs"]
