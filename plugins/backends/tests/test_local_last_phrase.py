"""The phrase a stop ends, decoded with its own silence margin (``transcription.local.lastPhraseMarginSeconds``):
the decode the user waits for after the stop, with less silence in its fitted window."""

from __future__ import annotations

import pytest
from vt_testing.speech import normalise, wer

from voice_transcriber import Audio, RunContext
from voice_transcriber.config import load_settings
from voice_transcriber_backends import local_backend
from voice_transcriber_backends.local_backend import LocalBackend


def backend(tiny_model_dir, **local) -> LocalBackend:
    overrides = {"transcription.local.model": str(tiny_model_dir),
                 **{f"transcription.local.{key}": value for key, value in local.items()}}
    return LocalBackend(RunContext(load_settings(overrides=overrides)))


@pytest.mark.parametrize(("local", "differs"), [
    ({}, False),  # the default: every phrase alike
    ({"lastPhraseMarginSeconds": 3}, True),
    ({"lastPhraseMarginSeconds": 10}, False),  # the same as continuationMarginSeconds
    ({"lastPhraseMarginSeconds": 3, "fitWindow": False}, False),  # no fitted window, no margin
])
def test_the_last_phrase_differs_only_with_a_margin_of_its_own(tiny_model_dir, local, differs):
    assert backend(tiny_model_dir, **local).last_phrase_differs is differs


def test_the_phrase_a_stop_ends_gets_its_own_margin_and_the_others_the_continuation_margin(jfk_audio, tiny_model_dir,
                                                                                            monkeypatch):
    """jfk.flac cut after "Americans": the second part heard after the first as the last phrase is
    encoded with 3 s of silence after it (300 frames), and still heard right; any other phrase gets
    ``continuationMarginSeconds`` (10 s)."""
    margins: list[int] = []
    fitted = local_backend.fitted_window
    monkeypatch.setattr(local_backend, "fitted_window", lambda whisper, margin: margins.append(margin) or fitted(whisper, margin))
    samples = jfk_audio.pcm()
    cut = int(2.7 * 16_000)
    before, after = Audio.from_samples(samples[:cut].copy(), 16_000), Audio.from_samples(samples[cut:].copy(), 16_000)
    local = backend(tiny_model_dir, lastPhraseMarginSeconds=3, beamSize=1)

    heard = local.transcribe_continuation(before, "And so, my fellow Americans,", after, "", last=True).text
    assert margins == [300]
    assert normalise(heard).split()[:2] == ["ask", "not"], heard
    assert wer("ask not what your country can do for you ask what you can do for your country", heard) < 0.15, heard

    monkeypatch.setattr(local, "_run", lambda *args, **kwargs: margins.append(kwargs["margin_seconds"]) or ("", [], "en"))
    local.transcribe_continuation(before, "And so, my fellow Americans,", after, "")
    local.transcribe_continuation(before, "And so, my fellow Americans,", after, "", partial=True)
    assert margins == [300, None, None]  # (None: continuationMarginSeconds)
