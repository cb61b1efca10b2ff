"""One Silero VAD pass per recording, the same phrases live and replayed (``retry``), soft phrase ends.

Real speech (espeak-ng, one natural paragraph read in one go) and the real Silero VAD; the backend
is a fake that answers from the audio it gets, so the phrases and their prompts can be compared.
"""

from __future__ import annotations

import hashlib
import re
from types import SimpleNamespace

import numpy as np
import pytest
from vt_testing.passages import natural_passage

from voice_transcriber import Audio, Backend, Transcript
from voice_transcriber.capture import vad
from voice_transcriber.capture.recorder import Recorder
from voice_transcriber.capture.segmenter import Segmenter
from voice_transcriber.capture.stops import StopControl
from voice_transcriber.config import load_settings
from voice_transcriber.context import RunContext
from voice_transcriber.streaming import replay, start_streaming

RATE = 16_000
#: Phrases end at 0.25 s pauses once 3 s long: several phrases in an 11 s paragraph
SHORT_PHRASES = {"input.streamingPhraseSeconds": 3.0, "input.streamingShortPause": 0.25}


@pytest.fixture(scope="module")
def paragraph() -> tuple[bytes, str]:
    return natural_passage("short-2")


class Fingerprints(Backend):
    """Answers each phrase with a fingerprint of its samples; records (fingerprint, context) per call."""

    name = "fingerprints"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.calls: list[tuple[str, str]] = []

    def transcribe(self, audio: Audio) -> Transcript:
        return Transcript("whole", backend=self.name)

    def transcribe_segment(self, audio: Audio, context: str) -> Transcript:
        digest = hashlib.sha1(np.round(audio.samples * 32768).astype(np.int16).tobytes()).hexdigest()[:8]
        self.calls.append((digest, context))
        return Transcript(f"<{digest} {len(audio.samples)}>", backend=self.name)


class FastMic:
    """Stands in for the microphone: hands out ``pcm`` in 50-250 ms blocks of varying size, then silence."""

    def __init__(self, pcm: bytes) -> None:
        self.pcm, self.rate, self.name, self.latency = pcm, RATE, "fake", 0.0
        self.given = 0
        self.sizes = iter(np.random.default_rng(7).integers(800, 4000, size=10_000).tolist())
        self.stream = SimpleNamespace(active=True)
        self.overflows = 0
        self.first_frame_at = None

    def drain(self) -> list[bytes]:
        size = next(self.sizes) * 2
        block = (self.pcm + bytes(size))[self.given:self.given + size]
        self.given += len(block)
        return [block.ljust(size, b"\0")]

    def close(self) -> None:
        pass


def test_silence_stop_and_streaming_share_one_vad_pass(paragraph, monkeypatch):
    made = []
    original = vad.VoiceActivity.__init__
    monkeypatch.setattr(vad.VoiceActivity, "__init__", lambda self: made.append(self) or original(self))
    pcm, _ = paragraph
    settings = load_settings(overrides={"input.silenceStopSeconds": 1.0, **SHORT_PHRASES})
    ctx = RunContext(settings, quiet=True)
    stop = StopControl()
    stop.wait = lambda seconds, watch: None
    recorder = Recorder(FastMic(pcm), stop, SimpleNamespace(write=lambda b: None, close=lambda: None), settings.input, ctx)
    backend = Fingerprints(ctx)
    session = start_streaming(ctx, backend, recorder)
    assert recorder.voice_activity().wait_ready(20)
    recorder.run()
    transcript = session.result(Audio.from_samples(np.zeros(RATE, dtype=np.float32), RATE))

    assert stop.reason and "silence" in stop.reason, "the silence stop ended the recording"
    assert transcript.text.count("<") >= 2, "the segmenter found the phrases"
    assert len(made) == 1, "one voice-activity detector for the silence stop and the segmenter"
    activity = made[0]
    assert activity is recorder.vad is recorder.segmenter.activity
    assert (activity.windows - 1) * vad.WINDOW < recorder.samples <= activity.windows * vad.WINDOW, "all the audio judged"
    assert activity.passes == -(-activity.windows // vad.GROUP), "every window judged once"


def test_probabilities_do_not_depend_on_how_the_audio_arrives(paragraph):
    pcm, _ = paragraph
    results = []
    for sizes in ([len(pcm)], [1600] * (len(pcm) // 1600 + 1), np.random.default_rng(3).integers(2, 9000, 2000).tolist()):
        activity = vad.VoiceActivity()
        assert activity.wait_ready(20)
        offset = 0
        for size in sizes:
            block = pcm[offset:offset + size * 2 // 2 * 2]
            offset += len(block)
            activity.feed(block)
            activity.judge()
            if offset >= len(pcm):
                break
        activity.judge(final=True)
        results.append(activity.since(0))
    assert len(results[0]) == -(-len(pcm) // 2 // vad.WINDOW)
    assert all(np.array_equal(results[0], other) for other in results[1:])


def test_a_replayed_recording_gets_the_same_phrases_and_prompts_as_the_live_run(paragraph):
    pcm, _ = paragraph
    settings = load_settings(overrides=SHORT_PHRASES)
    ctx = RunContext(settings, quiet=True)
    written: list[bytes] = []
    stop = StopControl()
    stop.wait = lambda seconds, watch: None
    recorder = Recorder(FastMic(pcm), stop, SimpleNamespace(write=written.append, close=lambda: None),
                        settings.input.model_copy(update={"silence_stop_seconds": 1.0}), ctx)
    live_backend = Fingerprints(ctx)
    session = start_streaming(ctx, live_backend, recorder)
    assert recorder.voice_activity().wait_ready(20)
    recorder.run()
    audio = Audio.from_samples(np.frombuffer(b"".join(written), dtype=np.int16).astype(np.float32) / 32768, RATE)
    live = session.result(audio)

    again = Fingerprints(ctx)
    replayed = replay(ctx, again, audio).result(audio)

    assert live.text.count("<") >= 3, "a natural paragraph is cut into several phrases at its short pauses"
    assert replayed.text == live.text
    assert all(call in live_backend.calls for call in again.calls), "each phrase: the same audio, the same context"
    texts = re.findall(r"<[^>]*>", replayed.text)
    for i, text in enumerate(texts):  # each phrase was transcribed with all the text decided before it
        assert (text[1:9], " ".join(texts[:i])) in again.calls
        assert (text[1:9], " ".join(texts[:i])) in live_backend.calls


def test_soft_phrase_ends_fall_in_pauses_and_lose_no_speech(paragraph):
    pcm, _ = paragraph
    found = []
    segmenter = Segmenter(found.append, soft_seconds=3.0, soft_pause=0.25)
    assert segmenter.activity.wait_ready(20)
    for offset in range(0, len(pcm), 1600):
        segmenter.feed(pcm[offset:offset + 1600])
    segmenter.flush()
    samples = np.frombuffer(pcm, dtype=np.int16)

    assert len(found) >= 3
    assert all(a.end <= b.start for a, b in zip(found, found[1:])), "phrases never overlap: no word doubled"
    probabilities = segmenter.activity.since(0)
    speech = np.flatnonzero(probabilities >= vad.THRESHOLD)
    for window in speech:  # every window judged speech is inside a phrase: no word lost
        assert any(p.start <= window * vad.WINDOW and (window + 1) * vad.WINDOW <= p.end + vad.WINDOW for p in found)
    for a, b in zip(found, found[1:]):  # each cut lies in a stretch the VAD judged silent, padding on both sides
        gap = probabilities[a.end // vad.WINDOW - 6: b.start // vad.WINDOW + 6]
        assert a.end_seconds - a.start_seconds >= 3.0 or b.start - a.end >= 0.6 * RATE - 2 * segmenter.padding
        quiet = samples[a.end - segmenter.padding // 2: a.end]
        assert np.abs(quiet.astype(np.int32)).mean() < np.abs(samples.astype(np.int32)).mean(), "the cut is in a quiet stretch"
        assert len(gap) > 0


@pytest.mark.parametrize("cpu_free", [True, False])
def test_the_open_phrase_is_re_decoded_for_live_text_only_when_the_machine_is_free(paragraph, monkeypatch, cpu_free):
    import voice_transcriber.streaming as streaming
    from voice_transcriber.streaming import redecodes

    monkeypatch.setattr(redecodes, "cpu_free", lambda: cpu_free)
    pcm, _ = paragraph
    texts = {}
    for redecode in (1.0, None):
        settings = load_settings(overrides=SHORT_PHRASES)
        settings.input.streaming_redecode_seconds = redecode  # null in config.json: off
        # re-decodes for the live text only (the rolling commit and the commit at the stop: test_streaming_pipeline)
        settings.input.streaming_commit = settings.input.streaming_commit_at_stop = False
        ctx = RunContext(settings, quiet=True)
        partials: list[str] = []
        ctx.partial_text = partials.append
        backend = Fingerprints(ctx)
        session = streaming.StreamingTranscription(backend, ctx)
        segmenter = session.segmenter(None)
        assert segmenter.activity.wait_ready(20)
        for offset in range(0, len(pcm), 1600):
            segmenter.feed(pcm[offset:offset + 1600])
            session.tick(segmenter)
            session._workers.executor.submit(lambda: None).result()  # let the worker keep up, as on a free machine
        segmenter.flush()
        texts[redecode] = session.result(Audio.from_samples(np.zeros(RATE, dtype=np.float32), RATE)).text
        if redecode and cpu_free:
            assert session.redecodes >= 3
            assert any(p not in texts[redecode] for p in partials), "the phrase being spoken showed in the live text"
        else:
            assert session.redecodes == 0
    assert texts[1.0] == texts[None], "re-decodes never change the final text"
