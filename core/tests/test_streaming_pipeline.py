"""Streaming in the pipeline with fake backends: order, prompt context, partial text, early starts, fallback."""

from __future__ import annotations

import threading
from concurrent.futures import wait
from types import SimpleNamespace

import numpy as np
import pytest

from voice_transcriber import Audio, Backend, BackendError, Segment, Transcript
from voice_transcriber.capture.segmenter import SpeechSegment
from voice_transcriber.config import load_settings
from voice_transcriber.context import RunContext
from voice_transcriber.pipeline import Plan, transcribe
from voice_transcriber.streaming import StreamingTranscription, start_streaming

RATE = 16_000


class PhraseBackend(Backend):
    """Answers 'phrase N' (N = the phrase's length in tenths of a second) and records each call."""

    name = "phrases"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.calls: list[tuple[float, str]] = []
        self.gate = threading.Event()
        self.gate.set()

    def transcribe(self, audio: Audio) -> Transcript:
        return Transcript(f"whole {audio.duration:.1f}", backend=self.name)

    def transcribe_segment(self, audio: Audio, context: str) -> Transcript:
        self.gate.wait(5)
        self.calls.append((round(audio.duration, 1), context))
        return Transcript(f"phrase {round(audio.duration * 10)}.", backend=self.name, language="en")


class BrokenStreaming(PhraseBackend):
    name = "broken"

    def transcribe_segment(self, audio: Audio, context: str) -> Transcript:
        raise BackendError("broken: the server refused the phrase (fix: none, it is a test)")


class WholeFileOnly(PhraseBackend):
    name = "whole"
    prefers_whole_file = True


@pytest.fixture
def ctx() -> RunContext:
    context = RunContext(load_settings(), quiet=False)
    context.partials = []
    context.partial_text = context.partials.append
    return context


def phrase(index: int, start_s: float, seconds: float, final: bool = False) -> SpeechSegment:
    samples = (np.sin(np.arange(int(seconds * RATE)) / 5) * 8000).astype(np.int16)
    return SpeechSegment(index, int(start_s * RATE), samples, final=final)


def whole(seconds: float = 10.0) -> Audio:
    return Audio.from_samples(np.zeros(int(seconds * RATE), dtype=np.float32), RATE)


def test_phrases_are_joined_in_order_each_prompted_with_the_text_decided_before_it(ctx):
    backend = PhraseBackend(ctx)
    session = StreamingTranscription(backend, ctx)
    for index, (start, seconds) in enumerate([(0.0, 1.0), (1.5, 2.0), (4.0, 3.0)]):
        session.add(phrase(index, start, seconds, final=index == 2))
    transcript = session.result(whole())

    assert transcript.text == "phrase 10. phrase 20. phrase 30."
    assert backend.calls == [(1.0, ""), (2.0, "phrase 10."), (3.0, "phrase 10. phrase 20.")]
    assert ctx.partials == ["phrase 10.", "phrase 10. phrase 20.", "phrase 10. phrase 20. phrase 30."]
    assert [(s.start, s.end) for s in transcript.segments] == [(0.0, 1.0), (1.5, 3.5), (4.0, 7.0)]
    assert transcript.backend == "phrases" and transcript.language == "en" and transcript.audio_duration == 10.0
    assert ctx.info["last phrase"] == "3.0 s, cut by the stop" and ctx.info["streamed phrases"].startswith("3, ")


def test_an_early_start_is_used_when_the_phrase_is_confirmed_unchanged(ctx):
    backend = PhraseBackend(ctx)
    session = StreamingTranscription(backend, ctx)
    session.add_early(phrase(0, 0.0, 1.0))
    session.add(phrase(0, 0.0, 1.0))
    session.add_early(phrase(1, 2.0, 1.0))  # the speaker went on: this one is void …
    session.add(phrase(1, 2.0, 2.5, final=True))  # … and the longer phrase is transcribed

    assert session.result(whole()).text == "phrase 10. phrase 25."
    assert backend.calls.count((1.0, "")) == 1, "the confirmed early start was not transcribed again"
    assert (2.5, "phrase 10.") in backend.calls


def test_the_debug_info_tells_whether_the_last_phrase_ended_at_a_pause_before_the_stop(ctx):
    """Where the wait goes: a last phrase that ended at a pause before the stop was decoded before anyone
    knew it was the last (the stop came in that pause)."""
    session = StreamingTranscription(PhraseBackend(ctx), ctx)
    session.add(phrase(0, 0.0, 2.0))
    session.add(phrase(1, 2.5, 5.5))
    assert session.result(whole()).text == "phrase 20. phrase 55."
    assert ctx.info["last phrase"] == "5.5 s, ended at a pause before the stop"


def test_without_streaming_context_no_phrase_is_prompted():
    ctx = RunContext(load_settings(overrides={"input.streamingContext": False}), quiet=True)
    backend = PhraseBackend(ctx)
    session = StreamingTranscription(backend, ctx)
    for index, (start, seconds) in enumerate([(0.0, 1.0), (1.5, 2.0)]):
        session.add(phrase(index, start, seconds, final=index == 1))
    assert session.result(whole()).text == "phrase 10. phrase 20."
    assert backend.calls == [(1.0, ""), (2.0, "")]


def test_a_failing_phrase_falls_back_to_the_whole_recording_with_the_next_backend(ctx, capsys):
    broken, other = BrokenStreaming(ctx), PhraseBackend(ctx)
    session = StreamingTranscription(broken, ctx)
    session.add(phrase(0, 0.0, 1.0))
    session.add(phrase(1, 2.0, 1.0, final=True))

    transcript = transcribe(whole(10.0), [broken, other], ctx, streamed=session)
    assert transcript.text == "whole 10.0" and transcript.backend == "phrases"
    assert ctx.info["backend"] == "phrases"
    err = capsys.readouterr().err
    assert "the server refused the phrase" in err and "trying backend 'phrases'" in err
    assert ctx.partials == []


def test_a_failing_phrase_with_no_other_backend_is_the_run_s_error(ctx):
    session = StreamingTranscription(BrokenStreaming(ctx), ctx)
    session.add(phrase(0, 0.0, 1.0, final=True))
    with pytest.raises(BackendError, match="refused the phrase"):
        transcribe(whole(), [session.backend], ctx, streamed=session)


def test_a_crash_in_a_plugin_is_a_backend_error_naming_it(ctx):
    backend = PhraseBackend(ctx)
    backend.transcribe_segment = lambda audio, context: 1 / 0
    session = StreamingTranscription(backend, ctx)
    session.add(phrase(0, 0.0, 1.0, final=True))
    with pytest.raises(BackendError, match=r"backend 'phrases' .* crashed: ZeroDivisionError"):
        session.result(whole())


def test_a_recording_without_speech_gives_empty_text(ctx):
    session = StreamingTranscription(PhraseBackend(ctx), ctx)
    assert session.result(whole()).text == ""


def test_cancel_drops_the_phrases_not_started(ctx):
    backend = PhraseBackend(ctx)
    backend.gate.clear()
    session = StreamingTranscription(backend, ctx)
    for index in range(3):
        session.add(phrase(index, index * 2.0, 1.0))
    session.cancel()
    backend.gate.set()
    session._workers.executor.shutdown(wait=True)
    assert len(backend.calls) <= 1


def recorder_stub():
    return SimpleNamespace(taps=[], segmenter=None, voice_activity=lambda: None)


@pytest.mark.parametrize(("backend_class", "overrides", "streams"), [
    (PhraseBackend, {}, True),
    (PhraseBackend, {"input.streaming": False}, False),
    (WholeFileOnly, {}, False),
])
def test_who_streams(backend_class, overrides, streams):
    ctx = RunContext(load_settings(overrides=overrides), debug=True)
    recorder = recorder_stub()
    session = start_streaming(ctx, backend_class(ctx), recorder)
    assert (session is not None) == streams
    assert (recorder.segmenter is not None) == streams and len(recorder.taps) == int(streams)
    if session is not None:
        session.cancel()


class LateStreaming(PhraseBackend):
    name = "late"
    stream_after_seconds = 1.0


class GrowingRecorder(SimpleNamespace):
    """What a deferred start reads of the recorder: its chunks so far and their length."""

    @property
    def seconds(self) -> float:
        return sum(len(chunk) for chunk in self.chunks) / 2 / RATE


def test_a_backend_with_stream_after_seconds_starts_segmenting_only_once_the_recording_is_that_long():
    ctx = RunContext(load_settings(), debug=True)
    recorder = GrowingRecorder(taps=[], segmenter=None, chunks=[], voice_activity=lambda: None)
    session = start_streaming(ctx, LateStreaming(ctx), recorder)
    block = (np.sin(np.arange(RATE // 10) / 5) * 8000).astype(np.int16).tobytes()  # 0.1 s
    try:
        for _ in range(9):
            recorder.chunks.append(block)
            recorder.taps[0](block)
        assert recorder.segmenter is None  # 0.9 s: no voice-activity model loaded yet
        for _ in range(3):
            recorder.chunks.append(block)
            recorder.taps[0](block)
        assert recorder.segmenter is not None
        assert recorder.segmenter.activity.fed == 12 * RATE // 10  # what came before the start is not lost
    finally:
        session.cancel()


def test_a_plan_context_reaches_the_backend_as_the_prompt_of_transcribe_segment(ctx):
    backend = PhraseBackend(ctx)
    assert transcribe(whole(2.0), [backend], ctx, None, "what was said before").text == "phrase 20."
    assert backend.calls == [(2.0, "what was said before")]
    assert transcribe(whole(2.0), [backend], ctx).text == "whole 2.0", "no context: the whole-file method"


def test_the_head_of_a_split_last_phrase_started_at_its_pause_is_kept_and_the_tail_is_prompted_with_it(ctx):
    """The speaker pauses (phrase 0 so far is started), goes on, pauses again: a stop would now split
    the phrase there, so its tail starts with the head's text as context, before the whole phrase.
    At the stop both are ready: nothing is transcribed twice, and the texts are a replay's."""
    backend = PhraseBackend(ctx)
    session = StreamingTranscription(backend, ctx)
    head, tail = phrase(0, 0.0, 4.0), phrase(1, 4.0, 3.5, final=True)
    session.add_early(head)  # the pause after 4 s; the speaker goes on
    announced = phrase(0, 0.0, 7.5)
    session.add_early(SpeechSegment(0, 0, announced.samples, split=4 * RATE))  # the next pause
    session.add(head)  # the stop came in that pause
    session.add(tail)

    assert session.result(whole()).text == "phrase 40. phrase 35."
    assert backend.calls.count((4.0, "")) == 1 and backend.calls.count((3.5, "phrase 40.")) == 1, backend.calls
    assert backend.calls[:2] == [(4.0, ""), (3.5, "phrase 40.")], "the tail before the whole phrase"
    replayed = PhraseBackend(ctx)
    again = StreamingTranscription(replayed, ctx)
    again.add(head)
    again.add(tail)
    assert again.result(whole()).text == "phrase 40. phrase 35." and replayed.calls == [(4.0, ""), (3.5, "phrase 40.")]


def test_work_started_with_other_context_is_done_again_once_the_phrase_is_confirmed(ctx):
    """A tail started before its head was transcribed has no head text as context: when the stop
    confirms it, it is transcribed again with the context it has then (the text of a replay)."""
    backend = PhraseBackend(ctx)
    session = StreamingTranscription(backend, ctx)
    tail = phrase(1, 4.0, 3.5, final=True)
    session.add_early(tail)  # its head was never started (say, cancelled)
    session.add(phrase(0, 0.0, 4.0))
    session.add(tail)

    assert session.result(whole()).text == "phrase 40. phrase 35."
    assert backend.calls[-1] == (3.5, "phrase 40.")


class TimedWords(PhraseBackend):
    """Phrase of L tenths of a second: one word per second ("L.0 L.1 …", each said 0.1–0.9 s into
    its second), with their timings; records each continuation (seconds heard before, their text, prompt)."""

    name = "timed"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.continued: list[tuple[float, str, str]] = []

    def transcribe_segment(self, audio: Audio, context: str) -> Transcript:
        tenths = round(audio.duration * 10)
        words = tuple(Segment(i + 0.1, i + 0.9, f"{tenths}.{i}") for i in range(int(audio.duration)))
        return Transcript(" ".join(word.text for word in words), backend=self.name, words=words)

    def transcribe_continuation(self, before: Audio, before_text: str, audio: Audio, context: str) -> Transcript:
        self.continued.append((round(before.duration, 2), before_text, context))
        return self.transcribe_segment(audio, context)


@pytest.mark.parametrize(("seconds", "heard"), [
    (2.5, (2.0, "60.4 60.5", "60.0 60.1 60.2 60.3")),  # the words starting in the last 2.5 s, from the pause before them
    (30.0, (6.0, "60.0 60.1 60.2 60.3 60.4 60.5", "")),  # all of it
    (0.3, (1.0, "60.5", "60.0 60.1 60.2 60.3 60.4")),  # at least its last word
])
def test_a_phrase_is_heard_after_the_last_words_of_the_phrase_before_it(seconds, heard):
    """``input.streamingOverlapSeconds``: the phrase before is heard again from the pause before its
    first word said in its last that many seconds (word timings from its transcript); the words
    before that join the prompt. The text is that of a replay (timings are part of the transcript)."""
    ctx = RunContext(load_settings(overrides={"input.streamingOverlapSeconds": seconds}))
    backend = TimedWords(ctx)
    session = StreamingTranscription(backend, ctx)
    session.add(phrase(0, 0.0, 6.0))
    session.add(phrase(1, 6.0, 3.0, final=True))

    assert session.result(whole()).text == "60.0 60.1 60.2 60.3 60.4 60.5 30.0 30.1 30.2"
    assert backend.continued == [heard]


def test_without_word_timings_the_whole_phrase_before_is_heard(ctx):
    backend = TimedWords(ctx)
    backend.transcribe_segment = lambda audio, context: Transcript(f"phrase {round(audio.duration * 10)}.", backend="timed")
    session = StreamingTranscription(backend, ctx)
    session.add(phrase(0, 0.0, 6.0))
    session.add(phrase(1, 6.0, 3.0, final=True))

    assert session.result(whole()).text == "phrase 60. phrase 30."
    assert backend.continued == [(6.0, "phrase 60.", "")]


def test_no_re_decode_of_the_open_phrase_starts_while_the_speaker_pauses(ctx, monkeypatch):
    """A pause may end the phrase: its early start (the text that counts) must not queue behind a
    re-decode for the live text. While the speaker goes on, the open phrase is re-decoded."""
    from voice_transcriber.streaming import redecodes

    monkeypatch.setattr(redecodes, "cpu_free", lambda: True)
    session = StreamingTranscription(PhraseBackend(ctx), ctx)
    spoken = phrase(0, 0.0, 2.0)
    segmenter = SimpleNamespace(speaking=True, pausing=True, open_segment=lambda: spoken, judged=spoken.end)
    session.tick(segmenter)
    assert session.redecodes == 0
    segmenter.pausing = False
    session.tick(segmenter)
    assert session.redecodes == 1
    session.cancel()


class SteadyWords(PhraseBackend):
    """Says one word per second of audio from the phrase's start ("s0 s1 …" for phrase s, each 0.1–0.9 s
    into its second), with timings: two re-decodes of the same phrase agree on the words they both heard."""

    name = "steady"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.partial: list[bool] = []

    def transcribe_segment(self, audio: Audio, context: str) -> Transcript:
        label = audio.label.split()[1] if audio.label.startswith("segment") else "x"
        words = tuple(Segment(i + 0.1, i + 0.9, f"{label}w{i}") for i in range(int(audio.duration)))
        return Transcript(" ".join(word.text for word in words), backend=self.name, words=words)

    def transcribe_continuation(self, before: Audio, before_text: str, audio: Audio, context: str, *,
                                partial: bool = False) -> Transcript:
        self.partial.append(partial)
        return self.transcribe_segment(audio, context)


class SpokenPhrase:
    """The segmenter's view of a phrase being spoken (``tick``/``commit``), grown by hand."""

    def __init__(self, session: StreamingTranscription) -> None:
        self.session, self.index, self.start, self.end = session, 0, 0, 0
        self.speaking, self.pausing, self.judged = True, False, 0

    def open_segment(self) -> SpeechSegment:
        return phrase(self.index, self.start / RATE, (self.end - self.start) / RATE)

    def commit(self, cut: int) -> SpeechSegment:
        part = phrase(self.index, self.start / RATE, (cut - self.start) / RATE)
        self.index, self.start = self.index + 1, cut
        self.session.add(part)
        return part

    def grow(self, seconds: float) -> None:
        self.end += int(seconds * RATE)
        self.judged = self.end
        self.session.tick(self)
        deadline = threading.Event()
        for _ in range(600):  # the re-decode runs in the worker thread
            if not self.session._workers.pending:
                break
            deadline.wait(0.05)


def test_the_words_two_re_decodes_agree_on_are_committed_and_the_phrase_goes_on_after_them(ctx):
    """``input.streamingCommit``: the phrase being spoken is re-decoded every second; the words two
    re-decodes in a row agree on (all but the last word heard) end a phrase there, cut halfway
    between two words, with those words as its text; the rest goes on as the next phrase. The
    commits are kept (with them, a replay cuts the same) and the text is the words in order."""
    ctx.settings.input.streaming_commit = True
    backend = SteadyWords(ctx)
    session = StreamingTranscription(backend, ctx)
    spoken = SpokenPhrase(session)
    for _ in range(4):  # re-decodes at 1 s, 2 s, 3 s of the phrase …
        spoken.grow(1.0)
    spoken.grow(0.0)  # the commit is made in the recording thread, at its next tick
    assert session.commits[0].words == 2  # the 2nd and 3rd re-decodes (2 s, 3 s) agreed on w0 w1 w2: all but the last
    assert (spoken.index, spoken.start) == (1, int(2.0 * RATE))  # cut between w1 (ends 1.9 s) and w2 (starts 2.1 s)
    assert session.phrases[0][1].result().text == "0w0 0w1"  # decided without being decoded again
    assert all(backend.partial)  # re-decodes of the phrase being spoken may end mid-sentence
    session.add(SpeechSegment(spoken.index, spoken.start, phrase(0, 0, 3.0).samples, final=True))
    assert session.result(whole()).text == "0w0 0w1 1w0 1w1 1w2"
    assert session.result(whole()).extra["streamed_commits"] == [commit.to_list() for commit in session.commits]


def test_without_streaming_commit_re_decodes_only_feed_the_live_text(monkeypatch):
    from voice_transcriber.streaming import redecodes

    monkeypatch.setattr(redecodes, "cpu_free", lambda: True)
    ctx = RunContext(load_settings(overrides={"input.streamingCommit": False}))
    session = StreamingTranscription(SteadyWords(ctx), ctx)
    spoken = SpokenPhrase(session)
    for _ in range(5):
        spoken.grow(1.0)
    assert session.redecodes == 5 and session.commits == [] and spoken.index == 0
    session.cancel()


def test_a_re_decode_for_the_live_text_hears_the_phrase_alone_and_the_phrase_s_own_decode_hears_the_one_before(monkeypatch):
    """Without a commit (``input.streamingCommitAtStop`` false) a re-decode of the phrase being spoken only feeds the live text:
    it hears that phrase alone, prompted with the text before it (half the work of hearing the phrase
    before again, so one still running at the stop holds the last phrase's decode up for less). The
    phrase's own decode, whose text counts, still hears the phrase before it (``input.streamingOverlap``: by
    default the words it said in its last 4 s, ``input.streamingOverlapSeconds``, the words before them prompt)."""
    from voice_transcriber.streaming import redecodes

    monkeypatch.setattr(redecodes, "cpu_free", lambda: True)
    ctx = RunContext(load_settings(overrides={"input.streamingCommitAtStop": False}))
    ctx.partials = []
    ctx.partial_text = ctx.partials.append
    backend = TimedWords(ctx)
    alone: list[tuple[float, str]] = []
    heard_alone = backend.transcribe_segment
    backend.transcribe_segment = lambda audio, context: (alone.append((round(audio.duration, 1), context)),
                                                         heard_alone(audio, context))[1]
    session = StreamingTranscription(backend, ctx)
    session.add(phrase(0, 0.0, 6.0))
    session.phrases[0][1].result()  # (a re-decode waits for an idle backend)
    spoken = SpokenPhrase(session)
    spoken.index, spoken.start, spoken.end = 1, 6 * RATE, 6 * RATE
    spoken.grow(2.0)
    assert session.redecodes == 1 and backend.continued == []  # heard alone, prompted with the text before it …
    assert alone[-1] == (2.0, "60.0 60.1 60.2 60.3 60.4 60.5")
    assert ctx.partials[-1] == "60.0 60.1 60.2 60.3 60.4 60.5 20.0 20.1"  # … and shown after the decided text
    session.add(phrase(1, 6.0, 3.0, final=True))
    assert session.result(whole()).text == "60.0 60.1 60.2 60.3 60.4 60.5 30.0 30.1 30.2"
    # the last phrase after the one before: its last 4 s heard again, the words before them as prompt
    assert backend.continued == [(4.0, "60.2 60.3 60.4 60.5", "60.0 60.1")]


class ClockWords(PhraseBackend):
    """Says "wK," for each whole second K of the recording a phrase (or part of one) holds, said K+0.1 to
    K+0.9 s in, with timings: re-decodes agree on what they both heard. ``held``: a decode of at least
    that many seconds waits for ``gate`` (a whole phrase still being transcribed at the stop)."""

    name = "clock"

    def __init__(self, ctx, held: float = 99.0) -> None:
        super().__init__(ctx)
        self.held, self.decoded = held, []

    def transcribe_segment(self, audio: Audio, context: str) -> Transcript:
        start = float(audio.label.split("(")[1].split("–")[0]) if audio.label.startswith("segment") else 0.0
        if audio.duration >= self.held:
            self.gate.wait(10)
        self.decoded.append((round(start, 1), round(audio.duration, 1)))
        words = tuple(Segment(k + 0.1 - start, k + 0.9 - start, f"w{k},")
                      for k in range(int(np.ceil(start - 1e-6)), int(start + audio.duration - 0.9 + 1e-6) + 1))
        return Transcript(" ".join(word.text for word in words), backend=self.name, words=words)

    def transcribe_continuation(self, before: Audio, before_text: str, audio: Audio, context: str, *,
                                partial: bool = False) -> Transcript:
        return self.transcribe_segment(audio, context)


def spoken_for_four_seconds(ctx, backend) -> tuple[StreamingTranscription, SpokenPhrase]:
    """With ``input.streamingCommitAtStop``: a session on ``backend`` that heard one phrase grow for 4 s, re-decoded
    every second (0–1, 0–2: agree on w0, 1–3: w1, 2–4 s: w2)."""
    ctx.settings.input.streaming_commit_at_stop = True
    session = StreamingTranscription(backend, ctx)
    spoken = SpokenPhrase(session)
    for _ in range(4):
        spoken.grow(1.0)
    return session, spoken


def test_at_the_stop_only_what_follows_the_agreed_words_of_the_last_phrase_is_transcribed(ctx):
    """``input.streamingCommitAtStop``: the phrase being spoken is re-decoded every second — once two
    re-decodes agree on its first words, only what follows them —, nothing is cut while recording;
    the phrase the stop ends is its agreed words (not decoded again) and a decode of the rest only.
    The agreements are kept as commits (``retry`` splits the same)."""
    backend = ClockWords(ctx)
    session, spoken = spoken_for_four_seconds(ctx, backend)
    assert spoken.index == 0 and backend.decoded == [(0.0, 1.0), (0.0, 2.0), (1.0, 2.0), (2.0, 2.0)]
    assert ctx.partials[-1] == "w0, w1, w2, w3,"  # the live text: the agreed words and the latest re-decode after them
    backend.decoded.clear()
    session.add(SpeechSegment(0, 0, phrase(0, 0, 4.5).samples, final=True))
    transcript = session.result(whole())
    assert transcript.text == "w0, w1, w2, w3,"
    assert backend.decoded == [(3.0, 1.5)]  # only the rest after the cut (3.0 s) was transcribed
    assert ctx.info["agreed before the stop"] == "3 word(s), 3.0 s; 1.5 s left"
    assert ctx.info["decodes after the recording ended"].startswith("phrase of 1.5 s + 3.0 s heard again: ")  # the rest (after all agreed words), the only call
    assert [commit.to_list()[1:] for commit in session.commits] == [[2 * RATE, 1], [3 * RATE, 1], [4 * RATE, 1]]
    assert transcript.extra["streamed_commits"] == [commit.to_list() for commit in session.commits]


def test_with_a_rest_pause_the_rest_left_at_the_stop_is_started_at_that_silence_and_ends_that_long_after_the_speech(ctx):
    """``input.streamingRestPause``: 0.1 s into the pause (the segmenter's ``on_first_pause``) the rest after the agreed
    words is started, with 0.1 s of silence after the speech; the phrase the stop then ends, with the segmenter's 0.2 s
    of padding, leaves that same rest (cut 0.1 s after its speech), so that decode is used, not made again. A replay
    (``retry``), whose phrases carry the same silence at their ends, cuts it the same."""
    ctx.settings.input.streaming_rest_pause = 0.1
    backend = ClockWords(ctx)
    session, _ = spoken_for_four_seconds(ctx, backend)
    backend.decoded.clear()
    speech = phrase(0, 0, 4.5).samples  # (said up to 4.3 s, then 0.2 s the VAD judged silent)
    session.add_rest_early(SpeechSegment(0, 0, speech[: int(4.4 * RATE)], quiet=int(0.1 * RATE)))
    for job in list(session._early.values()):
        job.result()
    assert backend.decoded == [(3.0, 1.4)]  # the rest after the agreed w0–w2 (cut at 3.0 s), to 0.1 s after the speech
    session.add(SpeechSegment(0, 0, speech, final=True, quiet=int(0.2 * RATE)))
    transcript = session.result(whole())
    assert transcript.text == "w0, w1, w2, w3," and backend.decoded == [(3.0, 1.4)]  # that decode's text: none after the stop
    assert ctx.info["agreed before the stop"] == "3 word(s), 3.0 s; 1.4 s left"
    assert ctx.info["decodes after the recording ended"] == "none"


class HeldReDecodes(ClockWords):
    """:class:`ClockWords` whose re-decodes after agreed words (partial continuations) wait for ``probes`` to be set."""

    def __init__(self, ctx, held: float = 99.0) -> None:
        super().__init__(ctx, held)
        self.probes, self.waiting = threading.Event(), threading.Event()
        self.probes.set()

    def hold(self) -> None:
        """A re-decode has reached the backend (``waiting``); it goes on once ``probes`` is set."""
        self.waiting.set()
        self.probes.wait(10)

    def transcribe_continuation(self, before: Audio, before_text: str, audio: Audio, context: str, *,
                                partial: bool = False) -> Transcript:
        if partial:
            self.hold()
        return super().transcribe_continuation(before, before_text, audio, context, partial=partial)


def test_a_rest_started_at_the_pause_is_used_though_a_re_decode_agreed_on_more_words_after_it(ctx):
    """A re-decode sent just before the speaker paused finishes after the rest after the agreed words was started
    there (``input.streamingRestPause``), and agrees on one more word. The stop then splits the phrase where that
    rest begins, so the decode already made is the text: a split after the newer agreement would leave a rest that
    nobody started, transcribed after the stop (live: 0.4–1.1 s more wait on the ~12 s passages, 2026-12-07). The
    commits kept are those of the split used, so ``retry`` splits the same."""
    ctx.settings.input.streaming_rest_pause = 0.1
    backend = HeldReDecodes(ctx)
    session, spoken = spoken_for_four_seconds(ctx, backend)  # w0–w2 agreed, cut at 3 s
    backend.decoded.clear()
    speech = phrase(0, 0, 5.5).samples  # w0–w4 (said up to 4.9 s)
    backend.probes.clear()
    backend.waiting.clear()
    spoken.end = spoken.judged = 5 * RATE
    session.tick(spoken)  # the re-decode of 3–5 s (w3 w4, agreeing on w3 with the one before), held
    assert backend.waiting.wait(10)  # (running: a pause does not stop it)
    session.add_rest_early(SpeechSegment(0, 0, speech[: int(5.4 * RATE)], quiet=int(0.1 * RATE)))
    backend.probes.set()
    wait([*session._early.values(), session._redecodes.latest])
    assert round(session._agreements.agreed.cut / RATE, 3) == 4.0 and backend.decoded == [(3.0, 2.0), (3.0, 2.4)]  # then the rest from 3 s
    session.add(SpeechSegment(0, 0, speech, final=True, quiet=int(0.2 * RATE)))
    transcript = session.result(whole())
    assert transcript.text == "w0, w1, w2, w3, w4," and backend.decoded == [(3.0, 2.0), (3.0, 2.4)]
    assert ctx.info["agreed before the stop"] == "3 word(s), 3.0 s; 2.4 s left"
    assert ctx.info["decodes after the recording ended"] == "none"
    assert [commit.to_list()[1:] for commit in session.commits] == [[2 * RATE, 1], [3 * RATE, 1], [4 * RATE, 1]]


class HeldInBackground(HeldReDecodes):
    """:class:`HeldReDecodes` with re-decodes beside the phrases' decodes (``background_redecodes``), every one of
    them held; a decode of at least ``held`` seconds waits for ``gate``."""

    @property
    def background_redecodes(self) -> bool:
        return True

    def transcribe_segment(self, audio: Audio, context: str) -> Transcript:
        if self.in_background():
            self.hold()
        return super().transcribe_segment(audio, context)


def test_a_whole_phrase_being_transcribed_at_the_stop_is_used_when_the_rest_after_its_agreed_words_never_started(
        ctx, monkeypatch):
    """The speaker pauses before any agreement: the whole phrase's decode starts there. A re-decode still running
    then agrees on its first words. At the stop, splitting after them would leave a rest nobody started, queued
    behind the whole decode, which cannot be stopped (live ~30 s: 0.58 s of waiting where that decode had 0.23 s
    left). So the phrase is not split: the whole decode's text is used, and no commit is kept (``retry`` decodes it
    whole too)."""
    from voice_transcriber.streaming import redecodes

    monkeypatch.setattr(redecodes, "cpu_free", lambda: True)
    ctx.settings.input.streaming_commit_at_stop = True
    backend = HeldInBackground(ctx, held=5.0)
    session = StreamingTranscription(backend, ctx)
    spoken = SpokenPhrase(session)
    spoken.grow(1.0)  # re-decode of 0–1 s: w0
    backend.probes.clear()
    backend.waiting.clear()
    spoken.end = spoken.judged = 2 * RATE
    session.tick(spoken)  # re-decode of 0–2 s, held: it will agree on w0
    assert backend.waiting.wait(10) and session._agreements.agreed is None
    backend.gate.clear()
    speech = phrase(0, 0, 5.5).samples
    session.add_early(SpeechSegment(0, 0, speech))  # the pause: no agreement yet, the whole phrase starts (held)
    backend.probes.set()
    wait([session._redecodes.latest])
    assert session._agreements.agreed is not None and [w.text for w in session._agreements.agreed.words] == ["w0,"]
    session.add(SpeechSegment(0, 0, speech, final=True))  # the stop
    threading.Timer(0.2, backend.gate.set).start()
    transcript = session.result(whole())
    assert transcript.text == "w0, w1, w2, w3, w4,"
    assert (0.0, 5.5) in backend.decoded and not [d for d in backend.decoded if d[0] == 1.0], backend.decoded
    assert session.commits == [] and "agreed before the stop" not in ctx.info


def test_with_a_margin_a_word_at_the_end_of_a_re_decodes_audio_is_not_agreed_on_yet(ctx):
    """``input.streamingAgreedMarginSeconds``: two re-decodes in a row agreeing is not enough for a word the earlier one
    heard less than the margin after (the word at the end of the audio is heard worst); at the stop the rest after the
    words agreed on with that margin is transcribed."""
    ctx.settings.input.streaming_commit_at_stop = True
    ctx.settings.input.streaming_agreed_margin_seconds = 0.5
    backend = ClockWords(ctx)
    session = StreamingTranscription(backend, ctx)
    spoken = SpokenPhrase(session)
    spoken.grow(1.0)
    spoken.grow(1.0)  # 0–1 s and 0–2 s both say w0 (said 0.1–0.9 s), but 0–1 s heard only 0.1 s after it
    assert session._agreements.agreed is None
    spoken.grow(1.0)  # 0–2 and 0–3 s agree on w0 and w1; 0–2 s heard 1.1 s after w0, 0.1 s after w1
    assert [word.text for word in session._agreements.agreed.words] == ["w0,"] and session._agreements.agreed.cut == RATE
    spoken.grow(1.0)  # 1–4 s (after w0) and the rest of 0–3 s agree on w1, w2; 0–3 s heard 1.1 s after w1: cut at 2 s
    assert backend.decoded == [(0.0, 1.0), (0.0, 2.0), (0.0, 3.0), (1.0, 3.0)]
    backend.decoded.clear()
    session.add(SpeechSegment(0, 0, phrase(0, 0, 4.5).samples, final=True))
    assert session.result(whole()).text == "w0, w1, w2, w3,"
    assert backend.decoded == [(2.0, 2.5)] and ctx.info["agreed before the stop"] == "2 word(s), 2.0 s; 2.5 s left"
    assert [commit.to_list()[1:] for commit in session.commits] == [[3 * RATE, 1], [4 * RATE, 1]]


def test_at_a_pause_only_the_rest_after_the_agreed_words_starts_and_the_whole_phrase_once_the_pause_ends_it(ctx):
    """At a pause where agreed words fit, only the rest after them starts: the whole phrase is needed only if the
    pause ends it. Started there too, it held the one worker when the speaker went on, and the rest left at the
    next pause queued behind it (live, jfk.flac's "… | for your country": 0.43 s after the stop, 2026-12-07)."""
    backend = ClockWords(ctx)
    session, _ = spoken_for_four_seconds(ctx, backend)  # w0–w2 agreed, cut at 3 s
    backend.decoded.clear()
    session.add_early(SpeechSegment(0, 0, phrase(0, 0, 4.5).samples))  # a pause inside the speech
    wait(list(session._early.values()))
    assert backend.decoded == [(3.0, 1.5)]  # the rest only
    session.add_early(SpeechSegment(0, 0, phrase(0, 0, 6.5).samples))  # the speaker went on, and pauses again
    wait(list(session._early.values()))
    assert backend.decoded == [(3.0, 1.5), (3.0, 3.5)]  # its rest, with nothing in front of it
    session.add(SpeechSegment(0, 0, phrase(0, 0, 6.5).samples))  # the pause is long enough to end the phrase
    session.add(SpeechSegment(1, 7 * RATE, phrase(0, 0, 2.0).samples, final=True))
    transcript = session.result(whole())
    assert backend.decoded[2] == (0.0, 6.5)  # the whole phrase, once it had ended
    assert transcript.text == "w0, w1, w2, w3, w4, w5, w7, w8," and session.commits == []


def test_a_phrase_that_ends_at_a_pause_while_recording_is_transcribed_whole(ctx):
    """Agreements only matter at the stop: a phrase the speaker ended with a pause and went on after
    is transcribed whole, as without them, and no commit is kept."""
    backend = ClockWords(ctx)
    session, _ = spoken_for_four_seconds(ctx, backend)
    session.add(SpeechSegment(0, 0, phrase(0, 0, 4.5).samples))
    session.add(SpeechSegment(1, 5 * RATE, phrase(0, 0, 2.0).samples, final=True))
    transcript = session.result(whole())
    assert transcript.text == "w0, w1, w2, w3, w5, w6,"
    assert (0.0, 4.5) in backend.decoded and session.commits == [] and "agreed before the stop" not in ctx.info


def test_a_phrase_ended_at_a_pause_just_before_the_stop_and_not_transcribed_yet_is_split(ctx):
    """The speaker paused (the phrase ended) and stopped before its whole transcription was done: the
    rest after its agreed words, started as the phrase ended, gives the text instead."""
    backend = ClockWords(ctx, held=4.0)
    session, _ = spoken_for_four_seconds(ctx, backend)
    backend.gate.clear()  # the whole phrase's decode does not finish before the stop
    session.add(SpeechSegment(0, 0, phrase(0, 0, 4.5).samples))
    try:
        transcript = session.result(whole())
        assert (0.0, 4.5) not in backend.decoded  # not waited for: still held
    finally:
        backend.gate.set()
    assert transcript.text == "w0, w1, w2, w3," and len(session.commits) == 3 and (3.0, 1.5) in backend.decoded
    # where the wait went: the whole phrase's decode is not used (dropped before it ran, or held and unused when
    # the worker had started it), and the rest's decode ran before or after the end as the worker got to it — "none"
    # when it was done before the end and the whole phrase's was dropped before it ran (a loaded machine does that)
    decodes = ctx.info["decodes after the recording ended"].split(" · ")
    assert decodes == ["none"] or all(entry.startswith((
        "early start of 1.5 s + 3.0 s heard again: ", "phrase of 1.5 s + 3.0 s heard again: ", "phrase (unused) of 4.5 s: "))
        for entry in decodes), decodes


class RestApart(ClockWords):
    """:class:`ClockWords` that decodes the rest left at the stop apart (``decodes_stop_rest_apart``): records
    each continuation's audio (start, seconds) and whether it came as that rest."""

    decodes_stop_rest_apart = True

    def __init__(self, ctx, held: float = 99.0) -> None:
        super().__init__(ctx, held)
        self.continued: list[tuple[float, float, bool]] = []

    def transcribe_continuation(self, before: Audio, before_text: str, audio: Audio, context: str, *,
                                partial: bool = False, stop_rest: bool = False) -> Transcript:
        start = float(audio.label.split("(")[1].split("–")[0])
        self.continued.append((round(start, 1), round(audio.duration, 1), stop_rest))
        return self.transcribe_segment(audio, context)


def test_only_the_rest_after_the_agreed_words_is_decoded_as_the_rest_at_the_stop(ctx):
    """A backend that decodes the rest left at the stop apart (the local backend's ``stopMarginSeconds``) gets
    ``stop_rest`` for that decode only — not for a re-decode of the phrase being spoken, nor for a phrase ended at a
    pause (a replay splits the same way: test_local_streaming.py's commit-at-the-stop test)."""
    backend = RestApart(ctx)
    session, _ = spoken_for_four_seconds(ctx, backend)
    session.add(SpeechSegment(0, 0, phrase(0, 0, 4.5).samples, final=True))
    assert session.result(whole()).text == "w0, w1, w2, w3,"
    assert [call for call in backend.continued if call[2]] == [(3.0, 1.5, True)]  # the rest, after the cut at 3.0 s
    assert all(not rest for _, _, rest in backend.continued[:-1])  # the re-decodes before it

    backend.continued.clear()  # a phrase ended at a pause, and the speaker went on: decoded as any other
    session = StreamingTranscription(backend, ctx)
    spoken = SpokenPhrase(session)
    for _ in range(4):
        spoken.grow(1.0)
    session.add(SpeechSegment(0, 0, phrase(0, 0, 4.5).samples))
    session.add(SpeechSegment(1, 5 * RATE, phrase(0, 0, 2.0).samples, final=True))
    assert session.result(whole()).text == "w0, w1, w2, w3, w5, w6,"
    # (the rest after its agreed words may have been started when it ended, in case the stop came then: not used)
    assert (5.0, 2.0, False) in backend.continued and {call for call in backend.continued if call[2]} <= {(3.0, 1.5, True)}


class SlowReDecodes(PhraseBackend):
    """Can run re-decodes beside the phrases' decodes (``background_redecodes``); a call from the core's
    background thread (a re-decode) waits for ``gate`` — one still running when the speaker pauses."""

    name = "slow-redecodes"
    background = True

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.gate.clear()
        self.threads: list[bool] = []  #: per call: in the background thread
        self.running = threading.Event()  #: a re-decode has reached the backend

    @property
    def background_redecodes(self) -> bool:
        return self.background

    def transcribe_segment(self, audio: Audio, context: str) -> Transcript:
        self.threads.append(self.in_background())
        self.running.set()
        if self.in_background() or not self.background:
            self.gate.wait(10)
        return Transcript(f"phrase {round(audio.duration * 10)}.", backend=self.name, language="en")


def test_a_re_decode_still_running_at_the_pause_does_not_delay_the_phrase_s_decode(ctx, monkeypatch):
    """A decode cannot be interrupted: with one worker, a re-decode of the phrase being spoken (live text,
    agreements) still running when the speaker pauses held up the phrase's decode started there by what was
    left of it. For a backend with ``background_redecodes`` (which serves them with resources that yield the CPU:
    the local backend's second model instance at a lower priority) re-decodes run in a worker of their own, so that
    decode starts at once; the re-decode's text is not used."""
    from voice_transcriber.streaming import redecodes

    monkeypatch.setattr(redecodes, "cpu_free", lambda: True)
    backend = SlowReDecodes(ctx)
    session = StreamingTranscription(backend, ctx)
    spoken = SpokenPhrase(session)
    spoken.end = spoken.judged = 2 * RATE
    session.tick(spoken)  # a re-decode of the 2 s spoken so far starts, and hangs
    assert session.redecodes == 1 and backend.running.wait(10)
    final = phrase(0, 0.0, 2.2, final=True)
    session.add_early(final)  # the pause after the last word: the phrase's decode starts …
    session.add(final)  # … and the stop comes
    assert session.result(whole()).text == "phrase 22."  # without waiting for the re-decode
    assert not session._redecodes.latest.done()
    assert sorted(backend.threads) == [False, True]  # the re-decode in the background thread
    decodes = ctx.info["decodes after the recording ended"].split(" · ")
    assert decodes[0].startswith("re-decode (unused) of 2.0 s: ") and "beside" in decodes[0]
    for decode in decodes[1:]:  # the phrase's decode (unless it was done before the stop) did not queue behind it
        queued = float(decode.split("queued ")[1].split(" s")[0]) if "queued" in decode else 0.0
        assert decode.startswith("early start of 2.2 s: ") and queued < 0.2  # (a new worker thread starting, at most)
    backend.gate.set()


def test_without_background_re_decodes_the_phrase_s_decode_queues_behind_a_running_one(ctx, monkeypatch):
    """The cause, for a backend that serves every call with one model (the default): the phrase's decode
    waits in the one worker until the re-decode running at the pause is done, and the breakdown says so."""
    from voice_transcriber.streaming import redecodes

    monkeypatch.setattr(redecodes, "cpu_free", lambda: True)
    backend = SlowReDecodes(ctx)
    backend.background = False
    session = StreamingTranscription(backend, ctx)
    spoken = SpokenPhrase(session)
    spoken.end = spoken.judged = 2 * RATE
    session.tick(spoken)
    assert backend.running.wait(10)
    final = phrase(0, 0.0, 2.2, final=True)
    session.add_early(final)
    session.add(final)
    threading.Timer(0.3, backend.gate.set).start()
    assert session.result(whole()).text == "phrase 22."
    assert backend.threads == [False, False]
    decodes = ctx.info["decodes after the recording ended"].split(" · ")
    assert decodes[0].startswith("re-decode (unused) of 2.0 s: ") and "beside" not in decodes[0]
    queued = float(decodes[1].split("queued ")[1].split(" s")[0])
    assert decodes[1].startswith("early start of 2.2 s: ") and queued >= 0.25


def test_a_replay_makes_its_re_decodes_in_the_one_worker(ctx):
    """``retry`` and the offline benchmarks have no pause to win: their re-decodes stay in order with the
    phrases (and are not slowed down by other work at a lower priority)."""
    backend = SlowReDecodes(ctx)
    session = StreamingTranscription(backend, ctx)
    assert session._workers.redecode_executor(replayed=True) is session._workers.executor
    assert session._workers.redecode_executor(replayed=False) is not session._workers.executor
    session.cancel()
