"""Every documented failure of the HTTP backends → one BackendError line naming backend, URL and fix."""

from __future__ import annotations

import pytest
from vt_testing.openai_api import (
    OPENAI_BAD_FORMAT,
    OPENAI_MISSING_KEY,
    OPENAI_OVERLOADED,
    OPENAI_QUOTA,
    OPENAI_RATE_LIMIT,
    OPENAI_SERVER_ERROR,
    OPENAI_TOO_LARGE,
    OPENAI_WRONG_KEY,
    SPEACHES_BAD_AUDIO,
    broken_stream_reply,
    json_reply,
    openai_model_not_found,
    openai_transcription,
    short_body_reply,
    slow_reply,
    speaches_422,
    speaches_not_installed,
    text_reply,
)
from vt_testing.http_backends import API_KEY

from voice_transcriber import Audio, BackendError


@pytest.fixture
def jfk(jfk_audio) -> Audio:
    return jfk_audio


# (backend, status, body, words the line must contain, requests the server must see (1 + retries))
CASES = [
    ("openai", 401, OPENAI_WRONG_KEY, ["rejected the API key", "Incorrect API key", "set OPENAI_API_KEY"], 1),
    ("openai", 401, OPENAI_MISSING_KEY, ["rejected the API key", "didn't provide an API key"], 1),
    ("openai", 404, openai_model_not_found("whisper-9"), ["does not exist", "transcription.openai.model"], 1),
    ("openai", 400, OPENAI_BAD_FORMAT, ["Invalid file format"], 1),
    ("openai", 413, OPENAI_TOO_LARGE, ["too large", "maxUploadBytes"], 1),
    ("openai", 429, OPENAI_QUOTA, ["quota is exhausted", "billing"], 1),
    ("openai", 429, OPENAI_RATE_LIMIT, ["rate limiting", "Rate limit reached"], 3),
    ("openai", 500, OPENAI_SERVER_ERROR, ["internal error", "Sorry about that"], 3),
    ("openai", 503, OPENAI_OVERLOADED, ["currently overloaded"], 3),
    ("speaches", 403, {"detail": "Invalid API key. The provided API key is incorrect."},
     ["refused access", "Invalid API key", "transcription.speaches.apiKey"], 1),
    ("speaches", 404, speaches_not_installed("Systran/faster-whisper-base"),
     ["not installed locally", "curl -X POST", "installed: Systran/faster-whisper-base"], 1),
    ("speaches", 415, SPEACHES_BAD_AUDIO, ["cannot decode the audio", "Failed to decode audio"], 1),
    ("speaches", 422, speaches_422("file", "RIFF-SECRET-AUDIO"), ["file: Field required"], 1),
    ("speaches", 500, "Internal Server Error", ["HTTP 500", "Internal Server Error", "server's log"], 3),
]


@pytest.mark.parametrize(("name", "status", "body", "words", "attempts"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_error_statuses(openai_api, http_backend, jfk, name, status, body, words, attempts):
    openai_api.speaches()
    reply = text_reply(body, status) if isinstance(body, str) else json_reply(body, status)
    openai_api.transcriptions(reply)
    with pytest.raises(BackendError) as caught:
        http_backend(name, **({"apiKey": "none"} if name == "speaches" else {})).transcribe(jfk)
    message = str(caught.value)
    assert message.startswith(f"{name} ({openai_api.url}/audio/transcriptions): HTTP {status}")
    for word in words:
        assert word in message
    assert "\n" not in message and API_KEY not in message and "SECRET-AUDIO" not in message
    assert len(openai_api.requests()) == attempts


def test_retry_after_is_honoured_then_success(openai_api, http_backend, jfk):
    openai_api.transcriptions(json_reply(OPENAI_RATE_LIMIT, 429, {"Retry-After": "0.3"}),
                              json_reply(openai_transcription("made it")))
    import time

    start = time.perf_counter()
    assert http_backend("openai", responseFormat="json").transcribe(jfk).text == "made it"
    assert time.perf_counter() - start >= 0.3


def test_openai_without_key_fails_before_uploading(openai_api, http_backend, jfk):
    under_test = http_backend("openai", apiKey=None, baseUrl="https://api.openai.com/v1")
    with pytest.raises(BackendError, match="no API key — fix: set OPENAI_API_KEY"):
        under_test.transcribe(jfk)


def test_speaches_not_running(http_backend, jfk):
    with pytest.raises(BackendError) as caught:
        http_backend("speaches", url="http://127.0.0.1:9/v1", maxRetries=1).transcribe(jfk)
    assert str(caught.value) == ("speaches (http://127.0.0.1:9/v1/models/Systran/faster-whisper-base): connection "
                                 "refused (after 2 attempts) — fix: is Speaches running? try `curl http://127.0.0.1:9/health`, "
                                 "or set transcription.speaches.url")


def test_speaches_model_missing_everywhere(openai_api, http_backend, jfk):
    openai_api.speaches(installed=("Systran/faster-whisper-tiny.en",))
    openai_api.route("POST", "/v1/models/org/nope", json_reply({"detail": "Model 'org/nope' not found"}, 404))
    with pytest.raises(BackendError) as caught:
        http_backend("speaches", model="org/nope").transcribe(jfk)
    message = str(caught.value)
    assert "Model 'org/nope' not found" in message
    assert f"curl -X POST {openai_api.url}/models/org/nope" in message
    assert "installed: Systran/faster-whisper-tiny.en" in message and "silero" not in message


def test_slow_server_times_out(openai_api, http_backend, jfk):
    openai_api.speaches()
    openai_api.transcriptions(slow_reply(1.5, json_reply(openai_transcription("late"))))
    with pytest.raises(BackendError, match=r"too slow: no complete reply within 0.3 s — fix: the server needed more than 0.3 s for 11 s of audio: raise transcription.speaches.readTimeout"):
        http_backend("speaches", readTimeout=0.3, readTimeoutPerAudioSecond=0, maxRetries=0).transcribe(jfk)


def test_dropped_connection(closing_server, http_backend, jfk):
    with pytest.raises(BackendError, match="closed the connection before answering"):
        http_backend("openai", baseUrl=closing_server, maxRetries=1).transcribe(jfk)


@pytest.mark.parametrize("reply", [
    broken_stream_reply('data: {"type": "transcript.text.delta", "delta": " And so"}\n\n'),
    short_body_reply(b'{"text": "And so my'),
], ids=["stream-cut", "body-cut"])
def test_connection_breaks_during_the_reply(openai_api, http_backend, jfk, reply):
    openai_api.speaches()
    openai_api.transcriptions(reply)
    with pytest.raises(BackendError, match=r"speaches \(.*\): (reply cut off mid-reply: the connection ended after \d+|unreadable reply)"):
        http_backend("speaches", stream=True, maxRetries=0).transcribe(jfk)


@pytest.mark.parametrize(("reply", "why"), [
    (text_reply("<html><body>It works!</body></html>", 200, "text/html"), "not JSON"),
    (json_reply(["a", "list"]), "JSON object"),
    (json_reply({"txt": "typo"}), 'no "text" string'),
    (json_reply({"text": "x", "segments": [{"text": "x"}]}), "lacks start, end or text"),
    (text_reply("data: {\"type\": \"transcript.text.del", content_type="text/event-stream"), "truncated"),
    (text_reply("\n\n: keep-alive\n\n", content_type="text/event-stream"), "without any transcription event"),
])
def test_garbage_2xx_replies(openai_api, http_backend, jfk, reply, why):
    openai_api.speaches()
    openai_api.transcriptions(reply)
    with pytest.raises(BackendError) as caught:
        http_backend("speaches").transcribe(jfk)
    assert why in str(caught.value) and "points at a speaches server" in str(caught.value)


def test_speaches_url_without_v1_is_pointed_out(openai_api, http_backend, jfk):
    openai_api.speaches()  # the real routes live under /v1; the server answers 404 "Not Found" elsewhere
    with pytest.raises(BackendError) as caught:
        http_backend("speaches", url=openai_api.root).transcribe(jfk)
    assert f"transcription.speaches.url should end with /v1 (it is {openai_api.root})" in str(caught.value)
