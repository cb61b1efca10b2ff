"""The local backend transcribing real speech with the real tiny.en weights, in process.

Every test shares one loaded model (the backend keeps loaded models per configuration),
except the load-once tests, which point at their own copy of the model directory.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from vt_testing.fitted import fitted_decodes_ending_with
from vt_testing.speech import JFK_TEXT, aac_copy, normalise, wer

from voice_transcriber import Audio, AudioError, BackendError, ConfigError, RunContext, Transcript
from voice_transcriber.config import load_settings
from voice_transcriber_backends.local_backend import LocalBackend

pytestmark = pytest.mark.slow
SENTENCES = ("Please send the report by Friday. I would like a cup of coffee and a glass of water.")


@pytest.fixture
def make_backend(plugin_manager, tiny_model_dir):
    """``make_backend(language=None, **local_keys)`` → a LocalBackend whose events reach the fake plugin."""

    def make(language: str | None = None, **local) -> LocalBackend:
        overrides = {f"transcription.local.{key}": value for key, value in {"model": str(tiny_model_dir), **local}.items()}
        settings = load_settings(overrides={**overrides, "language": language})
        return LocalBackend(RunContext(settings, pm=plugin_manager))

    return make


class EncoderSeen(Exception):
    """The encoder was called: the mel frames it got are what the test reads, not a decode."""


def encoder_frames(whisper, monkeypatch, stop: bool = False) -> list[int]:
    """The mel frames (10 ms each; Whisper's padded window: 3000) of every input the CTranslate2 encoder
    gets in the model's next decodes (a fitted window's view wraps the model's ``encode``, so it sees the
    cut input). ``stop``: the first call raises :class:`EncoderSeen` instead of encoding."""
    frames: list[int] = []
    encode = whisper.encode

    def counting(features):
        frames.append(features.shape[-1])
        if stop:
            raise EncoderSeen
        return encode(features)

    monkeypatch.setattr(whisper, "encode", counting)
    return frames


def reuse_encoder_outputs(whisper, monkeypatch) -> None:
    """From now on, the CTranslate2 encoder of ``whisper`` (and of every fitted view made of it) encodes each
    distinct input once: the same mel features (the same frames, the same values) get the encoder output already
    made (a pure function of its input; ~0.6 CPU-s for a 30 s window, ~0.2 for a fitted 3.6 s clip on the AVX2
    EPYC). Every decode still runs faster-whisper's decoder on it, with its own prompt and options."""
    import hashlib

    outputs: dict[tuple, object] = {}
    encode = whisper.encode

    def reused(features):
        array = np.ascontiguousarray(features)
        key = (array.shape, array.dtype.str, hashlib.blake2b(array.tobytes()).hexdigest())
        if key not in outputs:
            outputs[key] = encode(features)
        return outputs[key]

    monkeypatch.setattr(whisper, "encode", reused)


@pytest.fixture(scope="module")
def jfk_decoded(tiny_model_dir, jfk_path) -> tuple[Transcript, list[tuple[str, str]], list[int]]:
    """jfk.flac transcribed with the default settings, the events the run published and the mel frames of each
    encoder input: decoded once for the tests that read different things of the same transcription (a decode
    costs ~1 s of CPU)."""
    from voice_transcriber.testing import FakePlugin, isolated_environment, make_plugin_manager

    events = FakePlugin()
    with isolated_environment(), pytest.MonkeyPatch.context() as monkeypatch:  # as isolated as each test
        settings = load_settings(overrides={"transcription.local.model": str(tiny_model_dir)})
        backend = LocalBackend(RunContext(settings, pm=make_plugin_manager(fake=events)))
        frames = encoder_frames(backend.loaded().whisper, monkeypatch)
        transcript = backend.transcribe(Audio.from_file(jfk_path))
    return transcript, list(events.events), frames


def test_jfk_is_transcribed_with_a_low_word_error_rate(jfk_decoded):
    transcript, _, _ = jfk_decoded
    assert wer(JFK_TEXT, transcript.text) <= 0.15, transcript.text
    assert (transcript.backend, transcript.model, transcript.language) == ("local", "model", "en")
    assert transcript.audio_duration == pytest.approx(11.0, abs=0.1)
    assert transcript.segments[-1].end == pytest.approx(11.0, abs=1.0)


def test_espeak_speech_given_as_stdin_bytes(make_backend, espeak_wav):
    wav = espeak_wav(SENTENCES)
    transcript = make_backend(language="en").transcribe(Audio.from_bytes(wav.read_bytes()))
    assert wer(SENTENCES, transcript.text) <= 0.15, transcript.text


def test_format_libsndfile_cannot_read_is_decoded_by_pyav(make_backend, espeak_wav, tmp_path):
    m4a = aac_copy(espeak_wav(SENTENCES), tmp_path / "speech.m4a")
    with pytest.raises(AudioError):
        Audio.from_file(m4a).pcm()  # the core's decoder gives up on AAC
    transcript = make_backend().transcribe(Audio.from_file(m4a))
    assert wer(SENTENCES, transcript.text) <= 0.15, transcript.text


def test_partial_text_grows_segment_by_segment_to_the_final_text(jfk_decoded):
    transcript, events, _ = jfk_decoded
    partials = [text for kind, text in events if kind == "partial"]
    assert len(partials) == len(transcript.segments) >= 2
    assert all(later.startswith(earlier) for earlier, later in zip(partials, partials[1:]))
    assert partials[-1] == transcript.text


def test_a_file_of_one_window_is_decoded_in_a_fitted_window_with_the_words_of_the_padded_one(
        jfk_decoded, make_backend, jfk_path, monkeypatch):
    """A whole recording of at most 30 s (jfk.flac, 11 s) reaches the encoder as its audio plus 10 s of silence,
    not Whisper's 30 s window (``fitWindow``, on by default: ~0.7 of the CPU, docs/streaming.md), and tiny.en
    hears the same words in it as in the padded window (``fitWindow: false``, decoded here on the same CPU)."""
    fitted, _, fitted_frames = jfk_decoded
    assert fitted_frames and all(frames < 3000 for frames in fitted_frames), fitted_frames
    backend = make_backend(fitWindow=False)
    padded_frames = encoder_frames(backend.loaded().whisper, monkeypatch)
    padded = backend.transcribe(Audio.from_file(jfk_path))
    assert padded_frames and set(padded_frames) == {3000}, padded_frames
    assert normalise(fitted.text) == normalise(padded.text), (fitted.text, padded.text)


def test_a_file_over_30_s_is_never_fitted_even_when_its_speech_is_shorter(make_backend, jfk_path, monkeypatch):
    """jfk.flac and 25 s of silence: the VAD filter leaves 11 s of speech, but a file over 30 s is not one
    window: fitting would reach its short last window, where tiny.en lost or repeated words (docs/streaming.md).
    (Later windows of a long file: test_local_long_files.py.) Only the encoder's first input is needed."""
    backend = make_backend()
    frames = encoder_frames(backend.loaded().whisper, monkeypatch, stop=True)
    speech = Audio.from_file(jfk_path).pcm()
    audio = Audio.from_samples(np.concatenate([speech, np.zeros(25 * 16_000, dtype=np.float32)]), 16_000)
    with pytest.raises(EncoderSeen):
        backend.transcribe(audio)
    assert frames == [3000]


def test_a_fitted_decode_that_loops_is_heard_again_in_the_30_s_window(make_backend, jfk_path, monkeypatch):
    """jfk.flac cut inside "ask" (3.6 s, 0.4 s of silence before): in the fitted window tiny.en heard "And so my
    fellow Americans, and, and, and, …" (16 times, under the runaway guard's words-per-second bound; AMD EPYC,
    2026-12-07), as a file and as the first phrase of a recording the stop cut there, where the 30 s window
    heard "And so, my fellow Americans. And...". A fitted decode with a phrase said 3+ times in a row is decoded
    again in the 30 s window, so no loop reaches the text whatever this CPU's fitted decode hears; and a loop
    from the fitted window (forced here) gives way to the 30 s window's text: for a file, a phrase heard alone
    and a phrase heard after the one before. The test asks for the same encoder input up to three times (the
    same clip in the fitted window, then in the 30 s one, unforced, forced and in the padded backend): each is
    encoded once (:func:`reuse_encoder_outputs`; 13 encoder inputs, 4 distinct on the EPYC), every decode is made."""
    from voice_transcriber_backends.runaway import collapse_repeats

    speech = Audio.from_file(jfk_path).pcm()
    silence = lambda seconds: np.zeros(int(seconds * 16_000), np.float32)  # noqa: E731
    clip = Audio.from_samples(np.concatenate([silence(0.4), speech[:int(3.6 * 16_000)], silence(0.3)]), 16_000)
    before = Audio.from_samples(np.concatenate([silence(0.4), speech[:int(2.9 * 16_000)]]), 16_000)
    rest = Audio.from_samples(np.concatenate([speech[int(2.9 * 16_000):int(3.6 * 16_000)], silence(0.3)]), 16_000)
    backend, padded = make_backend(), make_backend(fitWindow=False)
    for whisper in {id(chosen.loaded().whisper): chosen.loaded().whisper for chosen in (backend, padded)}.values():
        reuse_encoder_outputs(whisper, monkeypatch)
    decodes = {
        "file": lambda chosen: chosen.transcribe(clip).text,
        "phrase heard alone": lambda chosen: chosen.transcribe_segment(clip, "").text,
        "phrase heard after the one before": lambda chosen: chosen.transcribe_continuation(
            before, "And so my fellow Americans,", rest, "").text,
    }
    for kind in ("file", "phrase heard alone"):
        text = decodes[kind](backend)
        assert text and collapse_repeats(text) == text, (kind, text)

    fitted = fitted_decodes_ending_with(monkeypatch, "and, and, and, and")
    for kind, decode in decodes.items():
        fitted.clear()
        assert decode(backend) == decode(padded), kind
        assert len(fitted) == 1, f"{kind}: the fitted window was used, then the 30 s one"


class ArgumentsSeen(Exception):
    """faster-whisper was called: its arguments are what the test reads, not a decode."""


def whisper_arguments(backend: LocalBackend, monkeypatch, decode: bool = True) -> dict:
    """The keyword arguments the backend's next transcription gives faster-whisper (filled in as it runs).
    ``decode=False``: faster-whisper raises :class:`ArgumentsSeen` instead of decoding (~1.2 s of CPU for jfk.flac).
    Wrapped on the model's class (for this test), not on the loaded model: a fitted window's view is a copy of the
    model, which would copy a wrapper bound to the model itself and decode in Whisper's 30 s window."""
    seen: dict = {}
    whisper = backend.loaded().whisper
    monkeypatch.setattr(type(whisper), "transcribe", transcribing(type(whisper).transcribe, seen.update, decode))
    return seen


def transcribing(real, note, decode: bool = True):
    """faster-whisper's ``transcribe`` (``real``, the class's) that first gives ``note`` its keyword arguments."""

    def transcribe(self, samples, **kw):
        note(kw)
        if not decode:
            raise ArgumentsSeen
        return real(self, samples, **kw)

    return transcribe


def test_language_prompt_hot_words_beam_and_vad_are_passed_through(make_backend, jfk_path, monkeypatch):
    backend = make_backend(language="en", beamSize=2, vadFilter=False, hotwords=["Americans", "country"])
    seen = whisper_arguments(backend, monkeypatch, decode=False)  # (the text is not what is tested)
    with pytest.raises(ArgumentsSeen):
        backend.transcribe(Audio.from_file(jfk_path))
    assert seen.pop("max_new_tokens") == 24 + 12 * 11, "bounded by the 11 s of audio (runaway.max_new_tokens)"
    assert seen == {"language": "en", "beam_size": 2, "vad_filter": False, "hotwords": "Americans, country",
                    "initial_prompt": "This is an English audio recording. Transcribe it in English.",
                    "prefix": None, "without_timestamps": False,  # a whole recording: held to no text, timed
                    "temperature": 0.0}  # no sampled fallback: the same audio gives the same text (test_local_determinism)


def test_vocabulary_joins_the_prompt_and_the_hot_words(make_backend, jfk_path, monkeypatch):
    backend = make_backend(language="en", hotwords="Americans")
    backend.ctx.settings.vocabulary = ["Kennedy", "Americans"]
    seen = whisper_arguments(backend, monkeypatch)
    transcript = backend.transcribe(Audio.from_file(jfk_path))
    assert seen["hotwords"] == "Americans, Kennedy"
    assert seen["initial_prompt"] == ("This is an English audio recording. Transcribe it in English. "
                                      "Vocabulary: Kennedy, Americans.")
    assert wer(JFK_TEXT, transcript.text) <= 0.15, transcript.text


def silence(seconds: float) -> Audio:
    """Audio faster-whisper's VAD filter (on by default) finds no speech in: the backend calls faster-whisper with
    all its arguments, and nothing is decoded (~0.8 s of CPU less than jfk.flac) — for tests of what is passed."""
    return Audio.from_samples(np.zeros(int(seconds * 16_000), dtype=np.float32), 16_000)


def test_configured_transcription_prompt_replaces_the_language_prompt(make_backend, monkeypatch):
    backend = make_backend(language="en")
    backend.ctx.settings.transcription_prompt = "Kennedy, inaugural address."
    seen = whisper_arguments(backend, monkeypatch)
    backend.transcribe(silence(2.0))
    assert seen["initial_prompt"] == "Kennedy, inaugural address."


def test_a_streamed_phrase_gets_the_user_prompt_first_then_the_latest_decided_text_within_the_model_limit(
        make_backend, jfk_path, monkeypatch):
    """Context across phrases (issue 16): a phrase alone (``transcribe_segment``) and a phrase heard after
    the one before (``transcribe_continuation``, that one's text as the decoder's prefix) are prompted with
    the user's prompt and vocabulary whole, in front, then the most recent decided words, cut from the
    oldest so that prompt and prefix fit the 223 tokens Whisper reads."""
    from voice_transcriber_backends.whisper_window import PROMPT_TOKENS, prompt_token_count

    backend = make_backend(language="en", beamSize=1)
    backend.ctx.settings.transcription_prompt = "Kennedy, inaugural address."
    backend.ctx.settings.vocabulary = ["Americans"]
    whisper = backend.loaded().whisper
    seen = whisper_arguments(backend, monkeypatch)
    samples = Audio.from_file(jfk_path).pcm()
    cut = int(2.7 * 16_000)
    before, after = Audio.from_samples(samples[:cut].copy(), 16_000), Audio.from_samples(samples[cut:].copy(), 16_000)
    decided = " ".join(f"word{n}" for n in range(300))
    user = "Kennedy, inaugural address. Vocabulary: Americans."

    backend.transcribe_segment(silence(after.duration), decided)  # the prompt is what is tested: nothing to decode
    assert seen["initial_prompt"].startswith(user + " word"), seen["initial_prompt"]
    assert seen["initial_prompt"].endswith("word298 word299") and "word0 " not in seen["initial_prompt"]
    assert prompt_token_count(whisper, seen["initial_prompt"]) <= PROMPT_TOKENS
    assert seen["prefix"] is None

    calls: list[dict] = []  # the continuation's own decode first (then maybe the phrase alone, its guard)
    monkeypatch.setattr(type(whisper), "transcribe", transcribing(type(whisper).transcribe, calls.append))
    heard = backend.transcribe_continuation(before, "And so, my fellow Americans,", after, decided)
    held = calls[0]
    assert held["prefix"] == "And so, my fellow Americans,"
    assert held["initial_prompt"].startswith(user + " word") and held["initial_prompt"].endswith("word299")
    assert prompt_token_count(whisper, held["initial_prompt"]) + prompt_token_count(whisper, held["prefix"]) <= PROMPT_TOKENS
    assert "americans" not in heard.text.lower() and "country" in heard.text.lower(), heard.text


@pytest.mark.parametrize(("seconds", "label"), [(0.0, "empty"), (0.2, "0.2 s"), (60.0, "60 s of silence")])
def test_no_speech_gives_an_empty_transcript(make_backend, seconds, label):
    audio = Audio.from_samples(np.zeros(int(seconds * 16_000), dtype=np.float32), 16_000, label=label)
    transcript = make_backend().transcribe(audio)
    assert transcript.text == ""
    assert transcript.audio_duration == pytest.approx(seconds)


def test_a_fraction_of_a_second_of_speech_does_not_fail(make_backend, jfk_path):
    speech = Audio.from_file(jfk_path).pcm()[16_000 * 3: int(16_000 * 3.2)]
    transcript = make_backend().transcribe(Audio.from_samples(speech, 16_000))
    assert len(transcript.text.split()) <= 3  # a word or nothing, never a hallucinated sentence


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path) -> Path:
    """The tiny.en weights under a new path (symlinks), so the backend loads them afresh."""
    copy = tmp_path / "tiny-copy"
    copy.mkdir()
    for file in tiny_model_dir.iterdir():
        (copy / file.name).symlink_to(file)
    return copy


@pytest.fixture
def count_loads(monkeypatch):
    import faster_whisper

    loads = []
    real = faster_whisper.WhisperModel

    def counting(*args, **kwargs):
        loads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(faster_whisper, "WhisperModel", counting)
    return loads


def test_prepare_in_the_background_then_transcribe_loads_once(make_backend, model_copy, count_loads, jfk_path):
    backend = make_backend(model=str(model_copy))
    preparing = threading.Thread(target=backend.prepare)
    preparing.start()
    transcript = backend.transcribe(Audio.from_file(jfk_path))  # waits for the load prepare() started
    preparing.join(timeout=60)
    backend.prepare()
    make_backend(model=str(model_copy)).transcribe(silence(2.0))  # next file, new backend instance (its load is tested)
    assert count_loads == [str(model_copy)]
    assert wer(JFK_TEXT, transcript.text) <= 0.15


def test_configurations_that_differ_only_in_how_they_decode_share_the_load(make_backend, model_copy, count_loads):
    """A daemon whose reloaded config changed the beam size, the hot words or the VAD keeps its model (each
    decodes as its own config says: test_language_prompt_hot_words_beam_and_vad_are_passed_through); a config
    that loads differently (here the CPU threads) loads its own."""
    first = make_backend(model=str(model_copy))
    second = make_backend(model=str(model_copy), beamSize=1, hotwords="Americans", vadFilter=False, fitWindow=False,
                          continuationMarginSeconds=3)
    assert second.loaded().whisper is first.loaded().whisper and count_loads == [str(model_copy)]
    own = make_backend(model=str(model_copy), cpuThreads=1)
    assert own.loaded().whisper is not first.loaded().whisper and count_loads == [str(model_copy)] * 2


def test_english_only_model_refuses_another_language_before_any_load(make_backend, model_copy, count_loads, jfk_path):
    """The model's vocabulary on disk tells it is English-only: French is refused with the core's config line
    (exit 2) by prepare() and transcribe() alike, and neither loads the weights (a model loaded for English
    stays the only copy)."""
    english = make_backend(model=str(model_copy), language="en")
    asked = []
    real_languages = english.languages
    english.languages = lambda: asked.append(1) or real_languages()  # type: ignore[method-assign]
    for _ in range(3):  # every streamed phrase asks for the model: the vocabulary is counted once (~5 ms)
        english.loaded()
    assert asked == [1]
    french = make_backend(model=str(model_copy), language="fr")
    for step in (french.prepare, lambda: french.transcribe(Audio.from_file(jfk_path))):
        with pytest.raises(ConfigError) as refused:
            step()
        assert str(refused.value) == ("language: 'fr': backend 'local' knows only English (en); set "
                                      "transcription.local.model to a multilingual model such as \"base\" or "
                                      f"\"small\" (now {str(model_copy)!r}), or use a language it knows")
        assert refused.value.exit_code == 2
    make_backend(model=str(model_copy)).loaded()  # no language: the same model, the same copy
    assert count_loads == [str(model_copy)]


def test_corrupted_model_is_one_clear_error_and_a_fixed_one_loads(make_backend, model_copy, count_loads, jfk_path):
    good = (model_copy / "model.bin").resolve()
    (model_copy / "model.bin").unlink()
    (model_copy / "model.bin").write_bytes(good.read_bytes()[:1_000_000])
    backend = make_backend(model=str(model_copy))
    with pytest.raises(BackendError) as caught:
        backend.transcribe(Audio.from_file(jfk_path))
    assert str(caught.value).startswith(f"cannot load local model 'tiny-copy' from {model_copy}: ")
    assert str(caught.value).endswith("(the files are damaged or not CTranslate2 Whisper weights; "
                                      "point transcription.local.model to a good directory)")
    (model_copy / "model.bin").unlink()
    (model_copy / "model.bin").symlink_to(good)
    assert wer(JFK_TEXT, backend.transcribe(Audio.from_file(jfk_path)).text) <= 0.15  # a failed load is retried


@pytest.mark.parametrize(("local", "fix"), [
    ({"device": "cuda"}, 'set transcription.local.device to "cpu"'),
    ({"device": "cpu", "computeType": "float16"}, 'set transcription.local.computeType to "auto"'),
])
def test_unusable_device_or_compute_type_names_the_key_to_change(make_backend, model_copy, jfk_path, local, fix):
    import ctranslate2

    if local["device"] == "cuda" and ctranslate2.get_cuda_device_count():
        pytest.skip("this machine has a GPU")
    if local.get("computeType") in ctranslate2.get_supported_compute_types("cpu"):
        pytest.skip("this CPU computes in float16")
    with pytest.raises(BackendError) as caught:
        make_backend(model=str(model_copy), **local).transcribe(Audio.from_file(jfk_path))
    assert str(caught.value).startswith("cannot load local model 'tiny-copy' from ")
    assert str(caught.value).endswith(f"({fix})")


def test_the_core_prepares_it_while_recording_and_the_pipeline_reuses_the_load(make_backend, model_copy, count_loads,
                                                                              jfk_path, fake_plugin):
    from voice_transcriber import pipeline

    backend = make_backend(model=str(model_copy), language="en")
    plan = pipeline.Plan(backends=[backend])
    for thread in pipeline.prepare_in_background(plan, backend.ctx):  # what capture does when the mic opens
        thread.join(timeout=60)
    transcript = pipeline.run(Audio.from_file(jfk_path), plan, backend.ctx)
    assert count_loads == [str(model_copy)]
    assert "prepare:local" in backend.ctx.timings
    assert backend.ctx.timings["local model wait"] < backend.ctx.timings["prepare:local"]
    assert ("transcript", transcript.text) in fake_plugin.events
    assert wer(JFK_TEXT, transcript.text) <= 0.15


def test_callers_share_one_failing_load_and_a_later_call_tries_again():
    from voice_transcriber_backends.local_loading import shared_model

    attempts, started = [], threading.Event()

    def failing_load():
        attempts.append(1)
        started.set()
        threading.Event().wait(0.3)  # still loading when the second caller arrives
        raise BackendError("model files damaged")

    outcomes = []

    def call():
        try:
            shared_model(("test-key",), failing_load)
        except BackendError as exc:
            outcomes.append(str(exc))

    first = threading.Thread(target=call)
    first.start()
    started.wait(timeout=10)
    call()  # arrives during the load: waits for it and gets its error
    first.join(timeout=10)
    assert (len(attempts), outcomes) == (1, ["model files damaged"] * 2)
    call()
    assert len(attempts) == 2
