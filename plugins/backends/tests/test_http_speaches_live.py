"""Against a REAL Speaches server, only when VOICE_TRANSCRIBER_TEST_SPEACHES_URL is set, e.g.::

    VOICE_TRANSCRIBER_TEST_SPEACHES_URL=http://127.0.0.1:8000/v1 \
    VOICE_TRANSCRIBER_TEST_SPEACHES_MODEL=Systran/faster-whisper-tiny.en uv run pytest -k speaches_live
"""

from __future__ import annotations

import os

import pytest
from vt_testing.speech import JFK_TEXT, wer

from voice_transcriber import Audio, BackendError

LIVE_URL = os.environ.get("VOICE_TRANSCRIBER_TEST_SPEACHES_URL", "")
MODEL = os.environ.get("VOICE_TRANSCRIBER_TEST_SPEACHES_MODEL", "Systran/faster-whisper-tiny.en")
KEY = os.environ.get("VOICE_TRANSCRIBER_TEST_SPEACHES_API_KEY", "none")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not LIVE_URL, reason="set VOICE_TRANSCRIBER_TEST_SPEACHES_URL to test a real Speaches")]


@pytest.fixture
def live(http_backend):
    url = LIVE_URL.rstrip("/")
    url = url if url.endswith("/v1") else url + "/v1"
    return lambda **config: http_backend("speaches", url=url, apiKey=KEY, model=MODEL, **config)


@pytest.mark.parametrize("config", [{}, {"stream": True}, {"uploadFormat": "opus"}, {"responseFormat": "text"}],
                         ids=["verbose_json", "stream", "opus", "text"])
def test_live_transcribes_jfk(live, jfk_path, config):
    under_test = live(**config)
    transcript = under_test.transcribe(Audio.from_file(jfk_path))
    assert wer(JFK_TEXT, transcript.text) < 0.3, transcript.text
    if config.get("stream"):
        assert under_test.partials and under_test.partials[-1] == transcript.text


def test_live_doctor_checks(live):
    checks = list(live().backend.checks())
    assert [c.name for c in checks] == ["speaches server", "speaches model"] and all(c.ok for c in checks)


def test_live_unknown_model_is_one_clean_line(live, jfk_path):
    with pytest.raises(BackendError) as caught:
        live(model="nobody/no-such-model", autoDownload=False).transcribe(Audio.from_file(jfk_path))
    assert "HTTP 404" in str(caught.value) and "curl -X POST" in str(caught.value)
