"""The openai and speaches backends against replicas of the real APIs (api-spec.md)."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
import soundfile
from vt_testing.openai_api import (
    json_reply,
    openai_stream,
    openai_transcription,
    sse,
    sse_reply,
    speaches_stream,
    speaches_transcription,
    text_reply,
    verbose_segment,
    verbose_transcription,
)
from vt_testing.http_backends import API_KEY
from vt_testing.speech import JFK_TEXT

from voice_transcriber import Audio, BackendError


@pytest.fixture
def jfk(jfk_audio) -> Audio:
    return jfk_audio


@pytest.fixture
def speaches(openai_api, http_backend):
    openai_api.speaches()
    return lambda **config: http_backend("speaches", apiKey="none", **config)


def test_speaches_verbose_json_request_and_reply(openai_api, speaches, jfk):
    openai_api.transcriptions(json_reply(verbose_transcription([verbose_segment(1, 0.0, 11.0, JFK_TEXT)])))
    under_test = speaches(hotwords="Americans", withoutTimestamps=False)
    transcript = under_test.transcribe(jfk)
    assert transcript.text == JFK_TEXT
    assert transcript.backend == "speaches" and transcript.language == "en"
    assert transcript.segments[0].end == 11.0
    [seen] = openai_api.requests()
    assert seen.fields == {"model": "Systran/faster-whisper-base", "response_format": "verbose_json",
                           "temperature": "0", "hotwords": "Americans", "without_timestamps": "false"}
    assert (seen.filename, seen.file_type) == ("audio.flac", "audio/flac")
    assert seen.auth is None  # apiKey "none": no Authorization header at all
    samples, rate = soundfile.read(io.BytesIO(seen.file_data))
    assert rate == 16000 and samples.ndim == 1 and len(samples) == len(jfk.samples)
    assert "of 16-bit WAV" in under_test.ctx.info["speaches upload"]


def test_vocabulary_goes_to_the_prompt_and_speaches_hot_words(openai_api, speaches, jfk):
    openai_api.transcriptions(json_reply(verbose_transcription([verbose_segment(1, 0.0, 11.0, JFK_TEXT)])))
    under_test = speaches(hotwords="Americans")
    under_test.ctx.settings.vocabulary = ["Kennedy"]
    under_test.transcribe(jfk)
    [seen] = openai_api.requests()
    assert seen.fields["hotwords"] == "Americans, Kennedy"
    assert seen.fields["prompt"] == "Vocabulary: Kennedy."


def test_speaches_loads_the_model_once_before_the_first_upload(openai_api, speaches, jfk):
    openai_api.route("POST", "/api/ps/Systran/faster-whisper-base",
                     json_reply({"detail": "Model 'Systran/faster-whisper-base' is already loaded."}, 409))
    openai_api.transcriptions(json_reply(speaches_transcription("hello")))
    under_test = speaches(responseFormat="json")
    under_test.transcribe(jfk)
    under_test.transcribe(jfk)
    paths = [(s.method, s.path) for s in openai_api.seen]
    assert paths == [("POST", "/v1/models/Systran/faster-whisper-base"), ("POST", "/api/ps/Systran/faster-whisper-base"),
                     ("POST", "/v1/audio/transcriptions"), ("POST", "/v1/audio/transcriptions")]


def test_speaches_with_api_key_sends_bearer(openai_api, http_backend, jfk):
    openai_api.speaches(api_key="s3cret-server-key")
    openai_api.transcriptions(text_reply(" hello there"))
    under_test = http_backend("speaches", apiKey="s3cret-server-key", responseFormat="text")
    assert under_test.transcribe(jfk).text == "hello there"
    assert {s.auth for s in openai_api.seen} == {"Bearer s3cret-server-key"}


def test_openai_fields_language_prompt_and_auth(openai_api, http_backend, jfk):
    openai_api.transcriptions(json_reply(verbose_transcription([verbose_segment(0, 0, 11, "Et donc")], "french")))
    transcript = http_backend("openai", language="fr").transcribe(jfk)
    assert transcript.text == "Et donc" and transcript.language == "fr"  # OpenAI says "french"
    [seen] = openai_api.requests()
    assert seen.auth == f"Bearer {API_KEY}"
    assert seen.fields == {"model": "whisper-1", "response_format": "verbose_json", "temperature": "0",
                           "language": "fr", "prompt": "This is a French audio recording. Transcribe it in French."}


def test_transcription_prompt_replaces_the_language_prompt(openai_api, http_backend, jfk):
    openai_api.transcriptions(json_reply(openai_transcription("ok", whisper=False)))
    http_backend("openai", model="gpt-4o-transcribe", language="de",
                 transcription_prompt="Kubernetes, kubectl").transcribe(jfk)
    [seen] = openai_api.requests()
    assert seen.fields["prompt"] == "Kubernetes, kubectl" and seen.fields["language"] == "de"
    assert seen.fields["response_format"] == "json"  # gpt-4o models offer json only


def test_no_language_sends_neither_language_nor_prompt(openai_api, http_backend, jfk):
    openai_api.transcriptions(json_reply(openai_transcription("ok")))
    http_backend("openai", responseFormat="json").transcribe(jfk)
    assert set(openai_api.requests()[0].fields) == {"model", "response_format", "temperature"}


@pytest.mark.parametrize(("fmt", "reply", "expected"), [
    ("text", text_reply(" And so my fellow Americans"), "And so my fellow Americans"),
    ("srt", text_reply("1\n00:00:00,000 --> 00:00:02,000\n Hello\n\n"), "1\n00:00:00,000 --> 00:00:02,000\n Hello"),
    ("vtt", text_reply("WEBVTT\n\n00:00.000 --> 00:02.000\nHello\n", content_type="text/vtt"), "WEBVTT\n\n00:00.000 --> 00:02.000\nHello"),
    ("json", json_reply(speaches_transcription("And so")), "And so"),
])
def test_response_formats(openai_api, speaches, jfk, fmt, reply, expected):
    openai_api.transcriptions(reply)
    assert speaches(responseFormat=fmt).transcribe(jfk).text == expected
    assert openai_api.requests()[0].fields["response_format"] == fmt


@pytest.mark.parametrize("encoder", ["pyav", "libsndfile"])
def test_opus_upload_is_small_ogg(openai_api, speaches, jfk, monkeypatch, encoder):
    if encoder == "libsndfile":  # the fallback when PyAV is not installed
        monkeypatch.setattr("voice_transcriber_backends.upload._opus_with_pyav", lambda samples: None)
    openai_api.transcriptions(json_reply(speaches_transcription("ok")))
    speaches(uploadFormat="opus").transcribe(jfk)
    [seen] = openai_api.requests()
    assert (seen.filename, seen.file_type) == ("audio.ogg", "audio/ogg")
    assert seen.file_data[:4] == b"OggS" and b"OpusHead" in seen.file_data[:100]
    assert len(seen.file_data) < 0.10 * 2 * len(jfk.samples)
    decoded, rate = soundfile.read(io.BytesIO(seen.file_data))
    assert rate == 16000 and abs(len(decoded) - len(jfk.samples)) < 16000 * 0.1


def test_speaches_stream_joins_deltas_despite_empty_done(openai_api, speaches, jfk):
    openai_api.transcriptions(sse_reply(speaches_stream(["And so my fellow Americans,", "ask not."])))
    under_test = speaches(stream=True)
    assert under_test.transcribe(jfk).text == "And so my fellow Americans, ask not."
    assert under_test.partials == ["And so my fellow Americans,", "And so my fellow Americans, ask not."]
    assert openai_api.requests()[0].fields["stream"] == "true"


def test_openai_stream_uses_done_text(openai_api, http_backend, jfk):
    openai_api.transcriptions(sse_reply(openai_stream(["And", " so", " my", " fellow"])))
    under_test = http_backend("openai", model="gpt-4o-mini-transcribe", stream=True)
    assert under_test.transcribe(jfk).text == "And so my fellow"
    assert under_test.partials[-1] == "And so my fellow" and len(under_test.partials) == 4


@pytest.mark.parametrize("body", [
    sse([" And so my fellow Americans,", " ask not."]),              # v0.8.3, response_format=text
    sse(["And so my fellow Americans,", "ask not."]),                # segments without leading space
    sse([{"text": " And so my fellow Americans,"}, {"text": " ask not."}]),  # v0.8.3 json
    sse([{"type": "transcript.text.delta", "delta": " And so my fellow Americans,"},
         {"type": "transcript.text.delta", "delta": " ask not."}, "[DONE]", "garbage after done"]),
])
def test_stream_variants(openai_api, speaches, jfk, body):
    openai_api.transcriptions(sse_reply(body))
    assert speaches(stream=True).transcribe(jfk).text == "And so my fellow Americans, ask not."


def test_stream_ignored_by_server_falls_back_to_json(openai_api, http_backend, jfk):
    openai_api.transcriptions(json_reply(openai_transcription("whisper-1 ignores stream")))
    assert http_backend("openai", stream=True).transcribe(jfk).text == "whisper-1 ignores stream"


def test_error_in_the_middle_of_a_stream(openai_api, speaches, jfk):
    openai_api.transcriptions(sse_reply(sse([{"type": "transcript.text.delta", "delta": " And"},
                                             {"error": {"message": "overloaded", "type": "server_error"}}])))
    with pytest.raises(BackendError, match="mid-stream: overloaded"):
        speaches(stream=True, maxRetries=0).transcribe(jfk)


def test_hallucinated_segments_are_dropped(openai_api, speaches, jfk):
    openai_api.transcriptions(json_reply(verbose_transcription([
        verbose_segment(1, 0.0, 2.0, "Thank you.", no_speech_prob=0.92, avg_logprob=-1.4),
        verbose_segment(2, 2.0, 4.0, "you", no_speech_prob=0.81, avg_logprob=-1.1)])))
    transcript = speaches().transcribe(jfk)
    assert transcript.text == "" and transcript.extra["dropped_segments"] == 2


def test_silence_is_not_uploaded(openai_api, speaches):
    rng = np.random.default_rng(0)
    hiss = (rng.standard_normal(16000 * 3) * 10 ** (-60 / 20)).astype(np.float32)  # -60 dBFS room noise
    under_test = speaches()
    for samples in (np.zeros(16000 * 2, dtype=np.float32), hiss):
        assert under_test.transcribe(Audio.from_samples(samples, 16000)).text == ""
    assert openai_api.requests() == []
    assert under_test.ctx.info["speaches upload"] == "skipped (silence)"


def test_a_recording_quieter_than_the_threshold_is_not_decoded(openai_api, speaches, tmp_path, monkeypatch):
    """A recording's loudest sample (``Audio.peak``, measured by the recorder) quieter than silenceThresholdDb
    is silence without its samples: no numpy or soundfile in a recorder that heard nothing. Louder, the frames
    are measured as for any audio (here one click in -60 dBFS hiss: still silence)."""
    from voice_transcriber.recordings import wav_bytes

    rng = np.random.default_rng(0)
    hiss = np.clip(rng.standard_normal(16000 * 2) * 32768 * 10 ** (-60 / 20), -30, 30).astype(np.int16)
    clicked = hiss.copy()
    clicked[8000] = 16000  # a click: loud, but one sample of its 30 ms frame
    under_test = speaches()
    decoded: list[Audio] = []
    pcm = Audio.pcm
    monkeypatch.setattr(Audio, "pcm", lambda audio, rate=16000: decoded.append(audio) or pcm(audio, rate))
    for samples, decodes in ((hiss, False), (clicked, True)):
        take = tmp_path / "take.wav"
        take.write_bytes(wav_bytes(samples.tobytes()))
        decoded.clear()
        audio = replace(Audio.from_file(take), peak=int(np.abs(samples).max()) / 32768)  # as the recorder says
        transcript = under_test.transcribe(audio)
        assert (transcript.text, transcript.audio_duration, bool(decoded)) == ("", 2.0, decodes)
    assert openai_api.requests() == [] and under_test.ctx.info["speaches upload"] == "skipped (silence)"


def test_a_peak_under_the_threshold_means_no_frame_above_it():
    """``no_frame_above`` never says silence of audio the frame-by-frame gate would upload: a frame's level is
    at most its peak's, and a steady tone 0.02 dB under the threshold (level = peak) is silence both ways."""
    from voice_transcriber_backends.upload import frame_levels_db, no_frame_above, speech_seconds

    for db in (-48.02, -48.005, -47.9):
        tone = np.tile(np.float32([1, -1]), 16000) * np.float32(10 ** (db / 20))
        peak = float(np.abs(tone).max())
        if no_frame_above(peak, -48.0):
            assert speech_seconds(tone, -48.0) == 0 and frame_levels_db(tone).max() <= -48.0
    assert no_frame_above(10 ** (-48.02 / 20), -48.0) and not no_frame_above(10 ** (-48.005 / 20), -48.0)
    assert no_frame_above(0.0, -48.0) and not no_frame_above(1.0, -48.0)


def test_long_audio_is_split_at_pauses_under_the_limit(openai_api, http_backend, jfk):
    openai_api.transcriptions(json_reply(verbose_transcription([verbose_segment(0, 0.0, 1.0, "part")])))
    limit = 80_000
    under_test = http_backend("openai", maxUploadBytes=limit)
    transcript = under_test.transcribe(jfk)
    seen = openai_api.requests()
    assert len(seen) >= 3 and all(len(s.file_data) <= limit for s in seen)
    lengths = [len(soundfile.read(io.BytesIO(s.file_data))[0]) for s in seen]
    assert sum(lengths) == len(jfk.samples)  # nothing lost, nothing doubled
    assert transcript.text == " ".join(["part"] * len(seen))
    assert under_test.partials == [" ".join(["part"] * n) for n in range(1, len(seen) + 1)]
    assert [s.start for s in transcript.segments] == sorted(s.start for s in transcript.segments)
    assert transcript.segments[-1].start > 5


def test_fallback_chain_says_who_answered(openai_api, http_backend, jfk, capsys):
    from voice_transcriber.pipeline import transcribe

    openai_api.transcriptions(json_reply(openai_transcription("from openai")))
    down = http_backend("speaches", url="http://127.0.0.1:9/v1", maxRetries=0)
    up = http_backend("openai", responseFormat="json")
    transcript = transcribe(jfk, [down.backend, up.backend], up.ctx)
    assert transcript.text == "from openai" and up.ctx.info["backend"] == "openai"
    err = capsys.readouterr().err
    assert "connection refused" in err and "trying backend 'openai'" in err and "backend 'openai' answered" in err


def test_openai_doctor_checks(openai_api, http_backend):
    from vt_testing.openai_api import OPENAI_WRONG_KEY, openai_model_not_found

    missing = list(http_backend("openai", apiKey=None, baseUrl="https://api.openai.com/v1").backend.checks())
    assert [(c.name, c.ok) for c in missing] == [("openai key", False)] and "OPENAI_API_KEY" in missing[0].fix
    model = {"id": "whisper-1", "object": "model", "created": 1677532384, "owned_by": "openai-internal"}
    for reply, expected in [(json_reply(model), ("openai server", True)),
                            (json_reply(OPENAI_WRONG_KEY, 401), ("openai key", False)),
                            (json_reply(openai_model_not_found("whisper-1"), 404), ("openai model", False))]:
        openai_api.route("GET", "/v1/models/whisper-1", reply)
        [check] = http_backend("openai").backend.checks()
        assert (check.name, check.ok) == expected, check
    assert openai_api.requests("/models/whisper-1")[0].auth == f"Bearer {API_KEY}"


def test_speaches_without_model_routes_still_transcribes(openai_api, http_backend, jfk):
    """A server without POST /v1/models or /api/ps (FastAPI's bare 404/405) is not an error."""
    openai_api.route("POST", "/v1/models/Systran/faster-whisper-base", json_reply({"detail": "Method Not Allowed"}, 405))
    openai_api.transcriptions(json_reply(speaches_transcription("still works")))
    assert http_backend("speaches", responseFormat="json").transcribe(jfk).text == "still works"
    assert [s.path for s in openai_api.seen][-1] == "/v1/audio/transcriptions"
