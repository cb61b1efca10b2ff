"""Fuzz: whatever a server or proxy sends back, the backends end in a Transcript or one clean BackendError."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vt_testing.openai_api import text_reply

from voice_transcriber import Audio, BackendError, Transcript
from voice_transcriber_backends.replies import ReplyError, SpeechFilter, parse_body, read_stream

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
# Shapes close to the real ones, with wrong types and missing keys mixed in.
near_miss_objects = st.fixed_dictionaries({}, optional={
    "text": json_values, "segments": json_values | st.lists(st.fixed_dictionaries({}, optional={
        "start": json_values, "end": json_values, "text": json_values, "no_speech_prob": json_values,
        "avg_logprob": json_values}), max_size=3),
    "error": json_values, "detail": json_values, "type": st.sampled_from(
        ["transcript.text.delta", "transcript.text.done", "transcript.text.segment", "other"]) | json_values,
    "delta": json_values, "language": json_values,
})


def sse_of(events: list, cut: int | None) -> bytes:
    body = "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events).encode()
    return body[:cut] if cut is not None else body


bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    near_miss_objects.map(lambda v: json.dumps(v).encode()),
    st.builds(sse_of, st.lists(near_miss_objects | st.text(max_size=20), max_size=5),
              st.none() | st.integers(0, 400)),
)
content_types = st.sampled_from(["application/json", "text/plain; charset=utf-8", "text/event-stream",
                                 "text/html", "application/octet-stream"])
statuses = st.sampled_from([200, 200, 200, 201, 204, 400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503])


@pytest.fixture(scope="module")
def speech() -> Audio:
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)  # loud enough for the silence gate
    return Audio.from_samples(tone.astype(np.float32), 16000)


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=statuses, body=bodies, content_type=content_types,
       fmt=st.sampled_from(["json", "verbose_json", "text"]), stream=st.booleans(),
       name=st.sampled_from(["openai", "speaches"]))
def test_any_reply_gives_a_transcript_or_one_clean_line(openai_api, http_backend, speech, status, body,
                                                        content_type, fmt, stream, name):
    openai_api.speaches()
    openai_api.transcriptions(text_reply(body, status, content_type))
    under_test = http_backend(name, responseFormat=fmt, stream=stream, maxRetries=0)
    try:
        transcript = under_test.transcribe(speech)
    except BackendError as exc:
        message = str(exc)
        assert message.startswith(f"{name} (") and "\n" not in message and len(message) < 700
    else:
        assert isinstance(transcript, Transcript) and isinstance(transcript.text, str)
        assert status < 400


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(body=bodies, fmt=st.sampled_from(["json", "verbose_json", "text", "srt"]))
def test_parsers_raise_only_reply_errors(body, fmt):
    """The parsers alone, without a server: 150 bodies (derandomized: the same ones every run), each parsed as
    one of the four formats and as a stream — ~40 per format, beside the 80 that go through a server above;
    the bodies' drawing is what an example costs, so 300 cost ~0.6 s of CPU more for the same kinds of body."""
    for parse in (lambda: parse_body(body, fmt, SpeechFilter()),
                  lambda: read_stream(body.decode("utf-8", "replace").splitlines(), lambda _: None)):
        try:
            heard = parse()
        except ReplyError as exc:
            assert "\n" not in str(exc)
        else:
            assert isinstance(heard.text, str)
