"""Real speech through the HTTP backends: a replica server transcribing with faster-whisper tiny.en."""

from __future__ import annotations

import pytest
from vt_testing.speech import JFK_TEXT, wer

from voice_transcriber import Audio


@pytest.fixture(scope="module")
def jfk(jfk_path) -> Audio:
    return Audio.from_file(jfk_path)


@pytest.mark.parametrize("config", [
    {"uploadFormat": "flac"},
    {"uploadFormat": "opus", "stream": True},
    {"uploadFormat": "opus", "maxUploadBytes": 18_000},  # split at a pause into 2 uploads (~22 kB of Opus; 16 kB: 3)
], ids=["flac-verbose", "opus-stream", "opus-split"])
def test_jfk_round_trip(openai_api, http_backend, whisper_replica, jfk, config):
    openai_api.speaches()
    openai_api.transcriptions(whisper_replica.reply)
    under_test = http_backend("speaches", language="en", **config)
    transcript = under_test.transcribe(jfk)
    assert wer(JFK_TEXT, transcript.text) < 0.15, transcript.text
    seen = openai_api.requests()
    assert "English audio recording" in seen[0].fields["prompt"] and seen[0].fields["language"] == "en"
    if config.get("stream"):
        assert under_test.partials[-1] == transcript.text
    if "maxUploadBytes" in config:
        assert len(seen) >= 2 and all(len(s.file_data) <= 18_000 for s in seen)
