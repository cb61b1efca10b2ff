"""What follows the agreed words of the phrase a stop ends (``input.streamingCommitAtStop``), decoded with its
own silence margin (``transcription.local.stopMarginSeconds``) and beam width (``stopBeamSize``): the decode the
user waits for after the stop, with less silence in its fitted window."""

from __future__ import annotations

from pathlib import Path

import pytest
from vt_testing.fitted import fitted_decodes_ending_with
from vt_testing.speech import normalise, wer

from voice_transcriber import Audio, RunContext
from voice_transcriber.config import load_settings
from voice_transcriber_backends import local_decode, whisper_window
from voice_transcriber_backends.local_backend import LocalBackend
from voice_transcriber_backends.runaway import says_twice

#: "Please send the report by Friday." (espeak-ng) as the daemon recorded it from the virtual mic, up to the end of
#: its phrase (2026-12-07): the rest after "Please", held to it, doubled the sentence in the fitted window
REPORT = Path(__file__).parent / "data" / "report-by-friday.flac"


def backend(tiny_model_dir, **local) -> LocalBackend:
    overrides = {"transcription.local.model": str(tiny_model_dir),
                 **{f"transcription.local.{key}": value for key, value in local.items()}}
    return LocalBackend(RunContext(load_settings(overrides=overrides)))


@pytest.mark.parametrize(("local", "differs"), [
    ({}, True),  # the default: 6 s, and beamSize (5) where the other phrases get phraseBeamSize (8)
    ({"continuationMarginSeconds": 6, "phraseBeamSize": 5}, False),  # every phrase alike
    ({"stopMarginSeconds": 3, "phraseBeamSize": 5}, False),  # the same as continuationMarginSeconds (3 s)
    ({"fitWindow": False, "phraseBeamSize": 5}, False),  # no fitted window, no margin
    ({"stopMarginSeconds": 3}, True),  # the same margin, but a beam narrower than the other phrases'
    ({"stopMarginSeconds": 3, "stopBeamSize": 8}, False),  # as wide as the other phrases
    ({"stopMarginSeconds": 3, "stopBeamSize": 1}, True),  # a beam width of its own
    ({"fitWindow": False, "stopBeamSize": 2}, True),
    ({"stopMarginSeconds": 3, "stopBeamSize": 5, "phraseBeamSize": 5}, False),  # the same as beamSize
])
def test_the_rest_at_the_stop_is_decoded_apart_only_with_a_margin_of_its_own(tiny_model_dir, local, differs):
    assert backend(tiny_model_dir, **local).decodes_stop_rest_apart is differs


def test_the_rest_at_the_stop_gets_its_own_margin_and_other_phrases_the_continuation_margin(jfk_audio, tiny_model_dir,
                                                                                            monkeypatch):
    """jfk.flac cut after "Americans": the second part heard after the first as the rest left at the
    stop is encoded with 6 s of silence after it (600 frames, the default), and still heard right; any other phrase
    (and a re-decode of the phrase being spoken) gets ``continuationMarginSeconds`` (3 s by default)."""
    margins: list[int] = []
    fitted = local_decode.fitted_window
    monkeypatch.setattr(local_decode, "fitted_window", lambda whisper, margin: margins.append(margin) or fitted(whisper, margin))
    samples = jfk_audio.pcm()
    cut = int(2.7 * 16_000)
    before, after = Audio.from_samples(samples[:cut].copy(), 16_000), Audio.from_samples(samples[cut:].copy(), 16_000)
    local = backend(tiny_model_dir, beamSize=1)

    rest = local.transcribe_continuation(before, "And so, my fellow Americans,", after, "", stop_rest=True)
    heard = rest.text
    assert margins == [600]
    assert rest.words == (), "the recording's last words: no phrase follows to hear them again, so no alignment pass"
    assert normalise(heard).split()[:2] == ["ask", "not"], heard
    assert wer("ask not what your country can do for you ask what you can do for your country", heard) < 0.15, heard

    timed: list[bool] = []
    monkeypatch.setattr(local, "_decode", lambda loaded, samples, language, request: (
        margins.append(request.margin_seconds), timed.append(request.words is not None), ("", [], "en"))[2])
    local.transcribe_continuation(before, "And so, my fellow Americans,", after, "")
    local.transcribe_continuation(before, "And so, my fellow Americans,", after, "", partial=True)
    assert margins == [600, None, None]  # (None: continuationMarginSeconds)
    assert timed == [True, True], "their words are timed: the phrase after them hears their last 4 s again"


def test_only_the_rest_at_the_stop_gets_the_stop_beam_width(jfk_audio, tiny_model_dir, monkeypatch):
    """``stopBeamSize: 1``: the rest left at the stop is decoded greedily (and still heard right); any other
    phrase, and a re-decode of the phrase being spoken, with ``beamSize``."""
    samples = jfk_audio.pcm()
    cut = int(2.7 * 16_000)
    before, after = Audio.from_samples(samples[:cut].copy(), 16_000), Audio.from_samples(samples[cut:].copy(), 16_000)
    local = backend(tiny_model_dir, stopBeamSize=1)
    widths: list[int | None] = []
    decode = local._decode
    monkeypatch.setattr(local, "_decode", lambda *args: widths.append(args[-1].beam_size) or decode(*args))

    heard = local.transcribe_continuation(before, "And so, my fellow Americans,", after, "", stop_rest=True).text
    assert widths == [1]
    assert normalise(heard).split()[:2] == ["ask", "not"], heard
    assert wer("ask not what your country can do for you ask what you can do for your country", heard) < 0.15, heard

    monkeypatch.setattr(local, "_decode", lambda *args: widths.append(args[-1].beam_size) or ("", [], "en"))
    local.transcribe_continuation(before, "And so, my fellow Americans,", after, "")
    local.transcribe_continuation(before, "And so, my fellow Americans,", after, "", partial=True)
    assert widths == [1, 8, 8]  # (phraseBeamSize)


def test_what_is_transcribed_while_recording_gets_the_phrase_beam_width(jfk_audio, tiny_model_dir, monkeypatch):
    """By default a phrase (alone, or after the one before) and a re-decode of the phrase being spoken are
    decoded 8 wide (``phraseBeamSize``: hidden behind the speech), the rest left at the stop and a whole
    recording ``beamSize`` wide (5: the decodes waited for)."""
    samples = jfk_audio.pcm()
    cut = int(2.7 * 16_000)
    before, after = Audio.from_samples(samples[:cut].copy(), 16_000), Audio.from_samples(samples[cut:].copy(), 16_000)
    for local, phrase in ((backend(tiny_model_dir), 8), (backend(tiny_model_dir, phraseBeamSize=3), 3)):
        widths: list[int | None] = []
        monkeypatch.setattr(local, "_decode", lambda *args, widths=widths: widths.append(args[-1].beam_size) or ("x.", [], "en"))
        local.transcribe_segment(before, "")
        local.transcribe_continuation(before, "And so, my fellow Americans,", after, "")
        local.transcribe_continuation(before, "And so, my fellow Americans,", after, "", partial=True)
        local.transcribe_continuation(before, "And so, my fellow Americans,", after, "", stop_rest=True)
        local.transcribe(jfk_audio)
        assert widths == [phrase, phrase, phrase, 5, None], local.config  # (None: beamSize)


def test_only_the_rest_at_the_stop_gets_the_shorter_prompt(jfk_audio, tiny_model_dir, monkeypatch):
    """``stopPromptTokens: 32``: the rest left at the stop is prompted with the end of the text before, cut so
    that with the agreed words it is held to it makes at most 32 tokens; other phrases get all Whisper reads."""
    samples = jfk_audio.pcm()
    cut = int(2.7 * 16_000)
    before, after = Audio.from_samples(samples[:cut].copy(), 16_000), Audio.from_samples(samples[cut:].copy(), 16_000)
    local = backend(tiny_model_dir, stopPromptTokens=32, beamSize=1)
    context = " ".join(f"Sentence number {n} of the letter was read aloud." for n in range(30))  # ~300 tokens
    prompts: list[str] = []
    made = local_decode.segment_prompt
    monkeypatch.setattr(local_decode, "segment_prompt", lambda *args, **kwargs: prompts.append(made(*args, **kwargs)) or prompts[-1])
    held = "And so, my fellow Americans,"

    heard = local.transcribe_continuation(before, held, after, context, stop_rest=True).text
    whisper = local.loaded().whisper
    count = whisper_window.prompt_token_count
    assert count(whisper, prompts[0]) + count(whisper, held) <= 32 < count(whisper, prompts[0]) + count(whisper, held) + 12
    assert context.endswith(prompts[0]), prompts[0]
    assert normalise(heard).split()[:2] == ["ask", "not"], heard

    local.transcribe_continuation(before, held, after, context)  # another phrase: the prompt Whisper reads, 223 tokens
    assert 200 < count(whisper, prompts[1]) + count(whisper, held) <= whisper_window.PROMPT_TOKENS


def test_a_rest_that_says_the_sentence_twice_is_heard_again_in_the_30_s_window(tiny_model_dir, monkeypatch):
    """The daemon delivered "Please send the report by Friday. Please send the report by Friday." for that sentence
    said once (language "en", 2 of 6 suite runs): the rest after the agreed word "Please", decoded held to it in a
    window fitted with 6 s of silence, said the whole sentence again after its own words (AMD EPYC AVX2, tiny.en int8).
    A fitted decode that says a phrase of 4+ words twice in a row, counting the words it was held to, is decoded
    again in Whisper's 30 s window, which heard it once; forced here, so that it is tested on any CPU."""
    samples = Audio.from_file(REPORT).pcm()
    cut = int(0.48 * 16_000)  # where the live run cut after "Please"
    before, rest = Audio.from_samples(samples[:cut].copy(), 16_000), Audio.from_samples(samples[cut:].copy(), 16_000)
    overrides = {"transcription.local.model": str(tiny_model_dir), "language": "en"}
    local = LocalBackend(RunContext(load_settings(overrides=overrides)))

    heard = local.transcribe_continuation(before, "Please", rest, "", stop_rest=True).text
    assert normalise(heard) == "send the report by friday" and not says_twice(heard, "Please"), heard

    fitted = fitted_decodes_ending_with(monkeypatch, "Please send the report by Friday.")
    again = local.transcribe_continuation(before, "Please", rest, "", stop_rest=True).text
    assert len(fitted) == 1 and normalise(again) == "send the report by friday", again
