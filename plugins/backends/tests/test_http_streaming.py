"""HTTP backends while recording: phrases as concurrent requests, each prompted with the previous phrase's text."""

from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
import soundfile
from vt_testing.openai_api import json_reply

from voice_transcriber import Audio, BackendError
from voice_transcriber.capture.segmenter import SpeechSegment
from voice_transcriber.streaming import StreamingTranscription

RATE = 16_000
#: How long the server waits for the three later phrases to be in flight together: generous, a loaded machine's
#: client threads may take seconds to send them; it only runs out when they are not sent concurrently.
IN_FLIGHT_DEADLINE = 30.0


def phrase(index: int, start_s: float, seconds: float, final: bool = False) -> SpeechSegment:
    samples = (np.sin(np.arange(int(seconds * RATE)) / 5) * 8000).astype(np.int16)
    return SpeechSegment(index, int(start_s * RATE), samples, final=final)


@pytest.fixture
def timed_server(openai_api):
    """Replies 'phrase N.' (N = the upload's length in tenths of a second); records (arrival, reply, prompt,
    together) of each request. The first request is answered at once; each of the next three is held until all
    three have arrived (``together``), or until IN_FLIGHT_DEADLINE ran out (not together: one after the other).
    A condition, not a time: a starved client is still seen as concurrent, and no later phrase can be answered
    before the last one was sent."""
    log: list[tuple[float, float, str | None, bool]] = []
    lock = threading.Lock()
    later = threading.Barrier(3)
    arrivals = []

    def reply(request):
        arrived = time.monotonic()
        seconds = soundfile.info(io.BytesIO(request.files["file"].read())).duration
        with lock:
            arrivals.append(arrived)
            first = len(arrivals) == 1
        together = True
        if not first:
            try:
                later.wait(IN_FLIGHT_DEADLINE)
            except threading.BrokenBarrierError:
                together = False
        with lock:
            log.append((arrived, time.monotonic(), request.form.get("prompt"), together))
        return json_reply({"text": f"phrase {round(seconds * 10)}."})(request)

    openai_api.transcriptions(reply)
    return log


def test_phrases_are_sent_concurrently_with_the_previous_phrase_as_prompt(timed_server, http_backend):
    under_test = http_backend("openai", responseFormat="json")
    session = StreamingTranscription(under_test.backend, under_test.ctx)
    session.add(phrase(0, 0.0, 1.0))
    session.phrases[0][1].result(timeout=10)  # the speaker paused long enough: phrase 0 is back
    session.add(phrase(1, 1.5, 2.0))
    session.add(phrase(2, 4.0, 3.0))
    session.add(phrase(3, 7.5, 1.5, final=True))
    transcript = session.result(Audio.from_samples(np.zeros(9 * RATE, dtype=np.float32), RATE))

    assert transcript.text == "phrase 10. phrase 20. phrase 30. phrase 15."
    later = sorted(timed_server[1:])
    assert [together for *_, together in later] == [True] * 3, "three phrases in flight at once, not one after the other"
    assert [prompt for _, _, prompt, _ in later] == ["phrase 10."] * 3, \
        "each prompted with the latest phrase already transcribed (phrase 0; 1 and 2 were still in flight)"
    assert timed_server[0][2] is None, "the first phrase has no context"
    assert under_test.partials[-1] == transcript.text


def test_the_language_prompt_comes_before_the_context(openai_api, http_backend):
    openai_api.transcriptions(json_reply({"text": "Bonjour."}))
    under_test = http_backend("openai", responseFormat="json", language="fr")
    under_test.backend.transcribe_segment(phrase(1, 0, 1.0).audio(), "Il fait beau aujourd'hui.")
    [seen] = openai_api.requests()
    assert seen.fields["prompt"] == "This is a French audio recording. Transcribe it in French. Il fait beau aujourd'hui."


def test_a_server_error_on_a_phrase_fails_the_stream_in_one_line(openai_api, http_backend):
    openai_api.transcriptions(json_reply({"error": {"message": "Invalid file format.", "type": "invalid_request_error",
                                                    "param": None, "code": None}}, 400))
    under_test = http_backend("openai", responseFormat="json")
    session = StreamingTranscription(under_test.backend, under_test.ctx)
    session.add(phrase(0, 0.0, 1.0, final=True))
    with pytest.raises(BackendError) as failure:
        session.result(Audio.from_samples(np.zeros(RATE, dtype=np.float32), RATE))
    assert "400" in str(failure.value) and "\n" not in str(failure.value)
