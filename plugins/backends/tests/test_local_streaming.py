"""Streamed vs batch with the real tiny.en model: a long espeak-ng passage, phrase by phrase, as recorded.

The passage is fed to the segmenter in 50 ms blocks (as the recorder's taps get it); the phrases
go to the local backend's worker thread while feeding goes on. The joined text must be as good
as transcribing the whole file at once (WER against the passage).
"""

from __future__ import annotations

import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from vt_testing.speech import normalise, wer

from voice_transcriber import Audio, RunContext, Transcript
from voice_transcriber.capture.segmenter import Segmenter
from voice_transcriber.config import load_settings
from voice_transcriber.streaming import StreamingTranscription
from voice_transcriber_backends.local_backend import LocalBackend

pytestmark = pytest.mark.slow


def test_streamed_text_is_as_good_as_batch_with_the_previous_phrase_as_prompt(espeak_passage, tiny_model_dir, fake_plugin,
                                                                               plugin_manager):
    path, reference, spans = espeak_passage(10)
    with wave.open(str(path)) as wav:
        pcm = wav.readframes(wav.getnframes())
    settings = load_settings(overrides={"transcription.local.model": str(tiny_model_dir), "transcription.local.beamSize": 1,
                                        "transcription.local.fitWindow": False, "input.streamingOverlap": False})
    backend = LocalBackend(RunContext(settings, pm=plugin_manager))
    contexts: dict[int, str] = {}  #: phrase length in samples → the context it was transcribed with
    transcribe_segment = backend.transcribe_segment
    backend.transcribe_segment = lambda audio, context: contexts.update({len(audio.samples): context}) or \
        transcribe_segment(audio, context)
    session = StreamingTranscription(backend, backend.ctx)
    phrases = []
    segmenter = Segmenter(lambda phrase: phrases.append(phrase) or session.add(phrase), on_pause=session.add_early)
    for offset in range(0, len(pcm), 1600):
        segmenter.feed(pcm[offset:offset + 1600])
    segmenter.flush()
    audio = Audio.from_file(path)
    streamed = session.result(audio)
    partials = [text for kind, text in fake_plugin.events if kind == "partial"]
    batch = backend.transcribe(audio)

    assert segmenter.count == len(spans), "one phrase per sentence"
    assert wer(reference, streamed.text) <= wer(reference, batch.text) + 0.05, (streamed.text, batch.text)
    assert wer(reference, streamed.text) < 0.2, streamed.text
    prompts = [contexts[len(phrase.samples)] for phrase in phrases]
    assert prompts[0] == "" and all(prompts[1:]), "every phrase but the first has context"
    assert len(set(prompts)) == len(prompts), "each phrase is prompted with a different (its previous) phrase's text"
    assert all(prompt in streamed.text for prompt in prompts)
    assert partials[-1] == streamed.text and all(b.startswith(a) for a, b in zip(partials, partials[1:]))
    assert streamed.segments[-1].end == pytest.approx(spans[-1][1], abs=1.0), "timings are in the recording's time"
    assert np.isclose(streamed.audio_duration, len(pcm) / 32000)


@pytest.mark.parametrize(("lead", "kept"), [(None, True), (0.2, False)])
def test_a_weakly_voiced_word_before_a_phrase_is_kept_in_it(jfk_audio, tiny_model_dir, lead, kept):
    """jfk.flac's "ask" (before "not") scores below the VAD's speech threshold: with the speech
    0.537 s into the recording, a phrase starting 0.2 s before the first speech window began at
    "not" and "ask" was lost. The phrase keeps ``input.streamingLeadSeconds`` (default 0.5) before
    its speech: streamed as a live recording would be (``retry``'s replay), the text has it."""
    from voice_transcriber.streaming import replay

    samples = np.concatenate([np.zeros(int(0.537 * 16_000), np.float32), jfk_audio.samples, np.zeros(6400, np.float32)])
    overrides = {"transcription.local.model": str(tiny_model_dir)}
    if lead is not None:
        overrides["input.streamingLeadSeconds"] = lead
    backend = LocalBackend(RunContext(load_settings(overrides=overrides)))
    audio = Audio.from_samples(samples, 16_000)
    session = replay(backend.ctx, backend, audio)
    text = session.result(audio).text
    words = " ".join(normalise(text).split())

    assert ("ask not what your country" in words) is kept, text
    assert "ask what you can do for your country" in words, text


@pytest.mark.parametrize("lead_kept", [True, False])
def test_a_hands_free_utterance_keeps_the_pause_before_it(jfk_audio, tiny_model_dir, monkeypatch, lead_kept):
    """``--continuous`` cuts jfk.flac at its 1 s pauses: "And so, my fellow Americans," / "ask not" /
    "what your country …". With the speech 0.537 s into the recording, "ask" (scored below the VAD's
    threshold) fell outside an utterance that kept only its 0.4 s padding before the speech, and tiny.en
    heard the lone "not" as "mark mark mark". An utterance keeps the pause before it (up to
    ``utterances.LEAD``, 1 s): each utterance transcribed as the session does it, the text has "ask not"."""
    from voice_transcriber.capture import utterances as session_utterances

    if not lead_kept:
        monkeypatch.setattr(session_utterances, "LEAD", session_utterances.PADDING)
    samples = np.concatenate([np.zeros(int(0.537 * 16_000), np.float32), jfk_audio.samples, np.zeros(6400, np.float32)])
    backend = LocalBackend(RunContext(load_settings(overrides={"transcription.local.model": str(tiny_model_dir)})))
    utterances = []
    segmenter = session_utterances.utterance_segmenter(backend.ctx.settings.input, utterances.append)
    assert segmenter.activity.wait_ready(30)
    pcm = (samples * 32768).astype(np.int16).tobytes()
    for offset in range(0, len(pcm), 1600):
        segmenter.feed(pcm[offset:offset + 1600])
    segmenter.flush()
    texts: list[str] = []
    for utterance in utterances:  # as ContinuousDictation: the first alone, the next with the text before it
        audio = utterance.audio()
        heard = backend.transcribe_segment(audio, " ".join(texts)) if texts else backend.transcribe(audio)
        texts.append(heard.text.strip())
    words = " ".join(normalise(" ".join(texts)).split())

    assert len(utterances) >= 3, "the session's pauses cut jfk.flac into utterances"
    assert ("ask not" in words) is lead_kept, texts
    assert "ask what you can do for your country" in words, texts


@pytest.fixture(scope="module")
def jfk_continued(jfk_path, tiny_model_dir) -> Transcript:
    """jfk.flac cut after "Americans" (a pause, 2.7 s): the second part heard after the first by
    ``transcribe_continuation``, with its words' timings (``input.streamingOverlapSeconds`` asks for them;
    they are found after the decode and do not change its text). Decoded once for the two tests below,
    which read different things of it."""
    samples = Audio.from_file(jfk_path).pcm()
    cut = int(2.7 * 16_000)
    backend = LocalBackend(RunContext(load_settings(overrides={
        "transcription.local.model": str(tiny_model_dir), "input.streamingOverlapSeconds": 4})))
    before, after = Audio.from_samples(samples[:cut].copy(), 16_000), Audio.from_samples(samples[cut:].copy(), 16_000)
    return backend.transcribe_continuation(before, "And so, my fellow Americans,", after, "")


def test_a_phrase_is_heard_after_the_phrase_before_it_held_to_its_decided_text(jfk_continued):
    """``transcribe_continuation``: jfk.flac cut after "Americans" (a pause). The second part is decoded
    with the first part's audio before it and its decided text as the decoder's prefix: the result is
    only the second part's words (the prefix is not repeated), continuing the sentence."""
    heard = jfk_continued.text
    words = normalise(heard).split()

    assert words[:4] == ["ask", "not", "what", "your"], heard
    assert "americans" not in words and "fellow" not in words, heard
    assert wer("ask not what your country can do for you ask what you can do for your country", heard) < 0.15, heard


def test_a_streamed_phrase_comes_with_the_timing_of_each_word(jfk_audio, tiny_model_dir, jfk_continued):
    """The words of a streamed phrase's transcript spell its text, each with when it was said (jfk.flac:
    "Americans" ends in the pause at ~2.7 s, "ask" follows it) — in the phrase's time also when
    faster-whisper's VAD filter (on by default) cut the pauses out before decoding; after a phrase heard
    before it, the times count from this phrase's start. The streaming core cuts the phrase heard again
    and commits words of the phrase being spoken with them."""
    backend = LocalBackend(RunContext(load_settings(overrides={
        "transcription.local.model": str(tiny_model_dir), "input.streamingOverlapSeconds": 4})))
    heard = backend.transcribe_segment(jfk_audio, "")
    said = [normalise(word.text) for word in heard.words]
    americans, ask = heard.words[said.index("americans")], heard.words[said.index("ask")]

    assert " ".join(word.text for word in heard.words) == heard.text.strip()
    assert all(a.start <= b.start for a, b in zip(heard.words, heard.words[1:]))
    assert 1.5 < americans.end <= ask.start < 3.3 and ask.end > 2.7, heard.words  # the pause lies between them
    assert heard.words[-1].end <= jfk_audio.duration + 0.1

    continued = jfk_continued  # the part after "Americans" heard after the part before it
    assert " ".join(word.text for word in continued.words) == continued.text.strip()
    assert normalise(continued.words[0].text) == "ask" and -0.3 < continued.words[0].start < 1.5, continued.words


def test_streamed_phrases_after_the_first_are_heard_after_the_one_before(espeak_passage, tiny_model_dir):
    """``input.streamingOverlap`` (default on): every phrase after the first goes to ``transcribe_continuation``
    with the end of the phrase before it — from the pause before its first word said in its last
    ``input.streamingOverlapSeconds`` (2 here; word timings from its transcription) — and the text of
    that audio; the text before that is the context (the first phrase, heard alone and cut by the VAD
    filter, has no timings: the second hears it whole). Off, each goes to ``transcribe_segment`` with all
    the text before it (the first test above). Same replay as ``retry``."""
    from voice_transcriber.streaming import replay

    path, reference, spans = espeak_passage(10)
    audio = Audio.from_file(path)
    backend = LocalBackend(RunContext(load_settings(overrides={"transcription.local.model": str(tiny_model_dir),
                                                               "input.streamingOverlapSeconds": 2})))
    calls: dict[int, tuple[str, float | None, str, str]] = {}  #: phrase samples → (method, s before, text before, context)
    plain, continuation = backend.transcribe_segment, backend.transcribe_continuation
    backend.transcribe_segment = lambda a, context: calls.update({a.samples.size: ("segment", None, "", context)}) \
        or plain(a, context)
    backend.transcribe_continuation = lambda before, text, a, context: calls.update(
        {a.samples.size: ("continuation", before.duration, text, context)}) or continuation(before, text, a, context)
    session = replay(backend.ctx, backend, audio)
    streamed = session.result(audio).text
    phrases = [segment for segment, _ in session.phrases]
    texts = [future.result().text.strip() for _, future in session.phrases]

    assert len(phrases) == len(spans) >= 3
    assert calls[phrases[0].samples.size] == ("segment", None, "", "")
    cut = 0
    for index in range(1, len(phrases)):
        method, before_seconds, before_text, context = calls[phrases[index].samples.size]
        previous = phrases[index - 1].samples.size / 16_000
        assert method == "continuation", index
        assert 0 < before_seconds <= previous and before_text and texts[index - 1].endswith(before_text), index
        assert f"{context} {before_text}".strip() == " ".join(texts[:index]), "every word before: heard again or prompt"
        if before_seconds < previous:  # the end of it: from a pause before a word said in its last 2 s
            cut += 1
            assert before_seconds < 2 + 1 and len(before_text.split()) < len(texts[index - 1].split()), index
    assert cut >= 1, "phrases of 3-4 s are heard again from a word in their last 2 s"
    assert wer(reference, streamed) < 0.2, streamed


def test_a_stop_in_fluent_speech_splits_the_last_phrase_and_retry_gives_the_same_text(tiny_model_dir, plugin_manager):
    """A 12 s paragraph read in one go, stopped 0.4 s after its last word: the phrase is split at its
    last pause (input.streamingSplitSeconds), its first part started at that pause while the words
    went on, the rest prompted with the first part's text. Fed as recorded (50 ms blocks, early
    starts at pauses), the text is the one retry's replay gives, and as good as batch."""
    from vt_testing.passages import natural_passage

    from voice_transcriber.streaming import replay

    pcm, reference = natural_passage("short-1")
    pcm += bytes(int(0.4 * 16_000) * 2)
    settings = load_settings(overrides={"transcription.local.model": str(tiny_model_dir), "transcription.local.beamSize": 1,
                                        "input.streamingSplitSeconds": 3})
    backend = LocalBackend(RunContext(settings, pm=plugin_manager))
    decodes = reuse_identical_decodes(backend)  # (retry's replay asks for the live run's decodes)
    prompts: list[str] = []
    transcribe_segment, transcribe_continuation = backend.transcribe_segment, backend.transcribe_continuation
    backend.transcribe_segment = lambda audio, context: prompts.append(context) or transcribe_segment(audio, context)
    backend.transcribe_continuation = lambda before, text, audio, context: prompts.append(f"{context} {text}".strip()) or \
        transcribe_continuation(before, text, audio, context)  # input.streamingOverlap: the text before is prompt + prefix
    session = StreamingTranscription(backend, backend.ctx)
    segmenter = session.segmenter(None)
    assert segmenter.activity.wait_ready(30)
    for offset in range(0, len(pcm), 1600):
        segmenter.feed(pcm[offset:offset + 1600])
    segmenter.flush()
    audio = Audio.from_samples(np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768, 16_000)
    live = session.result(audio)
    made_live = decodes["made"]
    retried = replay(backend.ctx, backend, audio).result(audio)

    assert segmenter.split_at_stop and live.extra["streamed_phrases"] == 2
    assert live.text == retried.text
    assert decodes["made"] == made_live, "retry asked for the live run's decodes (the same phrases and prompts)"
    head = session.phrases[0][1].result().text.strip()
    assert head and prompts[-1] == head and prompts.count(head) >= 2, "the rest was heard after the first part's text, live and in retry"
    assert wer(reference, live.text) <= wer(reference, backend.transcribe(audio).text) + 0.05, live.text


def test_a_rolling_commit_cuts_the_phrase_being_spoken_between_words_and_retry_cuts_it_the_same(tiny_model_dir):
    """``input.streamingCommit`` (opt-in): a 12 s paragraph read in one go, the phrase being spoken
    re-decoded every second as on an idle machine (``simulate``): the words two re-decodes in a row
    agreed on end phrases where no pause is — cut between two words, none lost or doubled (as good as
    batch) — so that little is left at the stop. A replay with those commits (``retry`` reads them
    from the history entry) cuts and decodes the same: the same text."""
    from voice_transcriber.streaming import replay

    backend, audio, reference = _greedy_backend_on_passage(tiny_model_dir, "short-1", "input.streamingCommit")
    backend.ctx.settings.input.streaming_commit_at_stop = False  # (the default since 2026-12-07): the rolling commit alone,
    # against no commit at all
    decodes = reuse_identical_decodes(backend)  # (retry's replay asks for the live run's decodes)
    live = replay(backend.ctx, backend, audio, simulate=True)
    text = live.result(audio).text
    made_live = decodes["made"]
    phrases = [(segment, future.result().text.split()) for segment, future in live.phrases]
    retried = replay(backend.ctx, backend, audio, commits=list(live.commits))
    retried_text = retried.result(audio).text
    made_by_retry = decodes["made"] - made_live
    backend.ctx.settings.input.streaming_commit = False
    with phrases_not_decoded(backend):  # (its cuts are read, never its text)
        uncommitted = replay(backend.ctx, backend, audio, simulate=True)
        uncommitted.result(audio)
    last = uncommitted.phrases[-1][0]

    assert live.commits and len(phrases) > len(uncommitted.phrases), phrases
    assert phrases[-1][0].end - phrases[-1][0].start < last.end - last.start, "less is left after the stop"
    for (_, before), (_, after) in zip(phrases, phrases[1:]):
        assert before and after and normalise(before[-1]) != normalise(after[0]), "no word doubled at a cut"
    assert wer(reference, text) <= wer(reference, backend.transcribe(audio).text) + 0.05, text
    assert retried_text == text
    assert made_by_retry == 0, "retry asked for the live run's decodes (the same cuts and prompts)"
    assert [segment.start for segment, _ in retried.phrases] == [segment.start for segment, _ in phrases]


def test_a_commit_at_the_stop_leaves_only_the_words_after_the_agreed_ones_and_retry_splits_the_same(tiny_model_dir):
    """``input.streamingCommitAtStop``: a 12 s paragraph read in one go (its last phrase has a comma), re-decoded every second as on
    an idle machine (``simulate``). Phrases ended at pauses while recording are transcribed as without
    it (same text); only the phrase the stop ends is split, after the words two re-decodes agreed on,
    so less is left to transcribe after the stop — decoded apart, after the last seconds of the agreed words, up to 0.1 s
    after the speech —; as good as batch; a replay with the kept commits (``retry``) decodes that rest the same way and gives the same text."""
    from voice_transcriber.streaming import replay

    backend, audio, reference = _greedy_backend_on_passage(tiny_model_dir, "short-2", "input.streamingCommitAtStop")
    backend.ctx.settings.input.streaming_rest_pause = 0.1  # (the default): the rest ends 0.1 s after the speech
    decodes = reuse_identical_decodes(backend)  # (retry's replay asks for the live run's decodes)
    rests: list[tuple[float, float]] = []  # (seconds heard again, seconds) of each decode of the rest left at the stop
    continuation = backend.transcribe_continuation
    backend.transcribe_continuation = lambda before, text, audio, context, **kwargs: (
        rests.append((round(before.duration, 2), round(audio.duration, 2))) if kwargs.get("stop_rest") else None,
        continuation(before, text, audio, context, **kwargs))[1]
    live = replay(backend.ctx, backend, audio, simulate=True)
    text = live.result(audio).text
    made_live = decodes["made"]
    phrases = [(segment, future.result().text) for segment, future in live.phrases]
    live_rests = list(rests)  # (a phrase ended at a pause with agreed words also had its rest decoded, in case the stop came)
    rests.clear()
    retried = replay(backend.ctx, backend, audio, commits=list(live.commits))
    retried_text = retried.result(audio).text
    made_by_retry = decodes["made"] - made_live
    backend.transcribe_continuation = continuation
    backend.ctx.settings.input.streaming_commit_at_stop = False
    whole = replay(backend.ctx, backend, audio, simulate=True)
    whole.result(audio)
    before = [(segment, future.result().text) for segment, future in whole.phrases]

    assert live.commits and len(phrases) == len(before) + 1, phrases
    assert [t for _, t in phrases[:-2]] == [t for _, t in before[:-1]], "phrases ended while recording: as without it"
    (head, _), (rest, _), (last, _) = phrases[-2], phrases[-1], before[-1]
    # the rest ends 0.1 s after the speech (input.streamingRestPause), the phrase with its 0.2 s of padding
    assert (head.start, rest.end) == (last.start, last.end - max(0, last.quiet - int(0.1 * 16_000))), (rest, last)
    assert last.quiet == int(0.2 * 16_000) and rest.end - rest.start < last.end - last.start
    # near batch (its accuracy is measured by bench/stream_accuracy.py): which words tiny.en gets wrong depends on
    # the CPU's int8 kernels — one word in 26 on an AVX-512 Xeon, two ("from to until 4", "check at the") on an
    # AVX2 EPYC —, so up to three words, not a text
    assert wer(reference, text) <= wer(reference, backend.transcribe(audio).text) + 3 / len(reference.split()), text
    assert retried_text == text and [s.start for s, _ in retried.phrases] == [s.start for s, _ in phrases]
    assert made_by_retry == 0, "retry asked for the live run's decodes (the same cuts, prompts and stop rest)"
    # the rest was decoded apart (transcription.local.stopMarginSeconds), after at most the last 5 s of the agreed
    # words (input.streamingStopOverlapSeconds, at a word boundary), once live and the same way in retry
    assert rests == live_rests[-1:] and rests[0][1] == round((rest.end - rest.start) / 16_000, 2), (live_rests, rests)
    assert rests[0][0] <= min(5.5, round((head.end - head.start) / 16_000, 2)), rests


def _greedy_backend_on_passage(tiny_model_dir, name: str, setting: str) -> tuple[LocalBackend, Audio, str]:
    """tiny.en decoding greedily with ``setting`` on, and the natural passage ``name`` with 0.5 s of silence before
    it and 0.4 s after (as a recording stopped by a hand on a hotkey); its reference text."""
    from vt_testing.passages import natural_passage

    pcm, reference = natural_passage(name)
    pcm = bytes(int(0.5 * 16_000) * 2) + pcm + bytes(int(0.4 * 16_000) * 2)
    backend = LocalBackend(RunContext(load_settings(overrides={"transcription.local.model": str(tiny_model_dir),
                                                               "transcription.local.beamSize": 1,
                                                               setting: True})))
    audio = Audio.from_samples(np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768, 16_000)
    return backend, audio, reference


@contextmanager
def phrases_not_decoded(backend: LocalBackend) -> Iterator[None]:
    """Within: every phrase (and re-decode) the streaming core asks ``backend`` for gets a placeholder transcript
    instead of a decode. For a replay without commits whose phrase cuts are read, never its text: the segmenter
    alone cuts phrases then (at pauses), whatever the backend hears — on "short-1" the same cuts as decoded (2
    phrase decodes, ~1 CPU-s, and on a machine whose load is below its cores ~12 re-decodes for the live text,
    ~5 CPU-s, that nothing read)."""
    segment, continuation = backend.transcribe_segment, backend.transcribe_continuation
    placeholder = Transcript(text="placeholder", backend="local")
    backend.transcribe_segment = lambda audio, context: placeholder
    backend.transcribe_continuation = lambda before, text, audio, context, **kwargs: placeholder
    try:
        yield
    finally:
        backend.transcribe_segment, backend.transcribe_continuation = segment, continuation


def reuse_identical_decodes(backend: LocalBackend) -> dict[str, int]:
    """From now on, a call ``backend`` already answered — the same method, the same samples, the same text
    before and prompt, the same settings — is answered with that transcript instead of decoding again.

    For the tests above that check that ``retry``'s replay gives the live text: it does because the replay
    cuts the phrases where the live run did and asks the backend for the same decodes; every cut, context,
    prefix and stop rest of both runs is still made by the real core and backend here, only a decode the
    test already made is not made twice (~0.5 CPU-s each on the AVX2 EPYC). That the same decode gives the
    same text in another process and after other decodes is test_local_determinism's. Returns how many
    calls were decoded ("made") and answered again ("reused")."""
    import hashlib

    counts = {"made": 0, "reused": 0}
    answers: dict[tuple, Transcript] = {}

    def heard(audio: Audio) -> tuple[int | None, str]:
        return audio.sample_rate, hashlib.blake2b(np.ascontiguousarray(audio.samples).tobytes()).hexdigest()

    def reused(key: tuple, decode: Callable[[], Transcript]) -> Transcript:
        key = (*key, repr(backend.ctx.settings.input))  # (which words' timings the backend gives depends on them)
        if key in answers:
            counts["reused"] += 1
        else:
            answers[key] = decode()
            counts["made"] += 1
        return answers[key]

    segment, continuation = backend.transcribe_segment, backend.transcribe_continuation
    backend.transcribe_segment = lambda audio, context: reused(
        ("segment", heard(audio), context), lambda: segment(audio, context))
    backend.transcribe_continuation = lambda before, text, audio, context, **kwargs: reused(
        ("continuation", heard(before), text, heard(audio), context, tuple(sorted(kwargs.items()))),
        lambda: continuation(before, text, audio, context, **kwargs))
    return counts
