"""A recording cut mid-word (the recorder killed, the stop pressed mid-syllable) never turns into a
decoder loop: jfk.flac cut where tiny.en used to answer "S S S S …" (hundreds of times, 20 s of
decoding) or "f, f, f, f, f, f." in the window fitted to a streamed phrase, through the real backend."""

from __future__ import annotations

import re

import numpy as np
import pytest
from vt_testing.speech import JFK_TEXT, wer

from voice_transcriber import Audio, RunContext
from voice_transcriber.config import load_settings
from voice_transcriber.streaming import replay
from voice_transcriber_backends.local_backend import LocalBackend
from voice_transcriber_backends.runaway import (collapse_repeats, max_new_tokens, says_twice, too_many_words,
                                                without_runaway)

DECIDED = "And so my fellow Americans. Ask not what your country can do for you."
#: (first, end) samples of jfk.flac at 16 kHz: "ask what you can do" cut a syllable or two in. Each of
#: these looped before the guard (tiny.en int8, beam 5, fitted window, DECIDED as context): "S S S …"
#: to the length limit (20-40 s of decoding), "f, f, f, …", "Ask what? Ask what? …". Which cut
#: loops changes with a single sample, hence exact sample numbers.
CUT_TAILS = [(126400, 133119), (126400, 136959), (128000, 133119), (128000, 139839), (129600, 135999),
             (129600, 140319)]


def looping(text: str) -> bool:
    """One word or short phrase said three times or more in a row."""
    keys = [re.sub(r"\W", "", word).casefold() for word in text.split()]
    return any(keys[i:i + n] == keys[i + n:i + 2 * n] == keys[i + 2 * n:i + 3 * n]
               for n in range(1, 5) for i in range(len(keys) - 3 * n + 1))


def test_a_loop_is_collapsed_to_one_copy_only_when_it_is_too_long_for_its_audio():
    assert collapse_repeats("can do for you f s s s s s s s s s") == "can do for you f s"
    assert collapse_repeats("Ask question. Ask question. Ask question.") == "Ask question."
    assert collapse_repeats("f, f, f, f, f, f.") == "f."
    # a run collapsed makes a new one (sampled at a fallback temperature, once in a few decodes of a cut tail)
    assert collapse_repeats("Ask what. Ask what? Ask Ask Ask what? Ask") == "Ask what? Ask"
    assert without_runaway("Ask what. Ask what? Ask Ask Ask what? Ask", 0.74) == "Ask what? Ask"
    assert collapse_repeats("ask what you can do for your country") == "ask what you can do for your country"
    assert without_runaway("No, no, no, I said no.", 1.5) == "No, no, no, I said no.", "said at a human rate: kept"
    assert without_runaway("Ask question. Ask question. Ask question.", 0.67) == "Ask question."
    assert without_runaway("S " * 200, 0.4) == "S"
    assert without_runaway("S K S H S", 0.3) == "", "syllables sampled at random: more words than 0.3 s can hold"
    assert too_many_words("Thank you. Thank you. Thank you.", 0.3) and not too_many_words("Thank you.", 0.3)


def test_a_phrase_of_four_words_or_more_said_twice_in_a_row_is_found_also_across_the_held_text():
    # tiny.en held to "Please" (the agreed words) on the rest of "Please send the report by Friday." (live, 2026-12-07)
    assert says_twice("send the report by Friday. Please send the report by Friday.", before="Please")
    assert not says_twice("send the report by Friday.", before="Please")
    assert says_twice("Please send the report by Friday. please send the report, by Friday")  # case, punctuation
    assert says_twice("send the report now. Send the report now.", before="We will")
    assert not says_twice("send the report. Send the report.", before="We will")  # three words
    # people repeat a word or two, and the text a decode was held to may repeat itself: not this decode's doing
    assert not says_twice("No, no. Very, very good. We will, we will rock you.")
    assert not says_twice("and then we left.", before="ask what you can do ask what you can do")
    assert not says_twice("ask what you can do for your country", before="ask not what your country can do for you")
    assert not says_twice("")


def test_a_decode_may_produce_tokens_in_proportion_to_its_audio():
    assert max_new_tokens(0.4, 210) == 28
    assert max_new_tokens(10.0, 210) == 144
    assert max_new_tokens(30.0, 210) is None, "a full window keeps Whisper's own limit"
    assert max_new_tokens(120.0, 400) is None


@pytest.mark.slow
@pytest.mark.parametrize("fit_window", [True, False])
def test_tails_cut_mid_word_give_no_runaway_repetition(tiny_model_dir, jfk_path, plugin_manager, fit_window):
    """In the fitted window each tail looped before the guard: all six are decoded. In Whisper's 30 s window
    none of them loops, with or without the guard (measured at temperature 0: "Ask." or "Ask what.", ~0.7 s of
    CPU each, the encoder's 30 s): two of them there ("S S S …" and "Ask what? Ask …" in the fitted window)."""
    settings = load_settings(overrides={"transcription.local.model": str(tiny_model_dir),
                                        "transcription.local.fitWindow": fit_window})
    backend = LocalBackend(RunContext(settings, pm=plugin_manager))
    samples = Audio.from_file(jfk_path).pcm()
    for first, end in CUT_TAILS if fit_window else (CUT_TAILS[0], CUT_TAILS[3]):
        tail = Audio.from_samples(np.ascontiguousarray(samples[first:end]), 16_000)
        text = backend.transcribe_segment(tail, DECIDED).text
        assert not looping(text) and not too_many_words(text, (end - first) / 16_000), (first, end, text)


@pytest.mark.slow
def test_retry_of_a_recording_cut_mid_word_reads_like_the_speech(tiny_model_dir, jfk_path, plugin_manager):
    """What `retry last` does with a recording the recorder was killed in (the streamed replay)."""
    settings = load_settings(overrides={"transcription.local.model": str(tiny_model_dir)})
    ctx = RunContext(settings, pm=plugin_manager)
    backend = LocalBackend(ctx)
    samples = Audio.from_file(jfk_path).pcm()
    for seconds in (8.32, 8.77):
        audio = Audio.from_samples(np.concatenate([np.zeros(1600, np.float32), samples[:int(seconds * 16_000)]]), 16_000)
        text = replay(ctx, backend, audio).result(audio).text
        assert "ask not what your country can do for you" in text.lower().replace(",", "").replace(".", ""), text
        assert not looping(text) and wer(JFK_TEXT, text) < 0.5, (seconds, text)
