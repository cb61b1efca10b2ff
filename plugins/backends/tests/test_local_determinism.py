"""The same audio with the same settings gives the same text, in any process and whatever was decoded
before it: what `retry` relies on to give the text that was delivered (the real tiny.en weights).

Whisper's temperature fallback re-decodes a doubtful decode by random sampling, and CTranslate2's sampler
is seeded once per worker thread: the sampled text depended on every decode made before it in the process
(CI once delivered "Please end the report on Friday." where `retry` of the same recording said "send").
The backend decodes at temperature 0 only unless ``sampledFallback`` is on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from voice_transcriber import Audio, RunContext, Transcript
from voice_transcriber.config import load_settings
from voice_transcriber.streaming import replay
from voice_transcriber_backends.local_backend import LocalBackend
from voice_transcriber_backends.local_decode import SAMPLED_FALLBACK

pytestmark = pytest.mark.slow

DECIDED = "And so my fellow Americans. Ask not what your country can do for you."
#: (first, end) samples of jfk.flac at 16 kHz: "ask what you can do" cut a syllable or two in, decoded as
#: streamed phrases after DECIDED. Whisper doubts some of them at temperature 0, so that its sampled fallback
#: fires on them: it said "S" in one process and "S X S T S" in another for the first one. Which ones it doubts
#: depends on the CPU's int8 kernels: on an AVX2 EPYC the two "S" ones (compression ratio 3.3 and 3.15 > 2.4),
#: on an AVX-512 Xeon also "Ask what? Ask" (2.8). Three tails, not the six there were (each tail is decoded three
#: times: ~0.4 CPU-s each on the EPYC); test_local_runaway decodes all six
TAILS = [(126400, 133119), (126400, 136959), (128000, 133119)]

DECODE_IN_ANOTHER_PROCESS = """
import json, sys
import numpy as np
from voice_transcriber import Audio, RunContext
from voice_transcriber.config import load_settings
from voice_transcriber_backends.local_backend import LocalBackend
model, jfk, decided, tails = sys.argv[1:]
backend = LocalBackend(RunContext(load_settings(overrides={"transcription.local.model": model}), quiet=True))
samples = Audio.from_file(jfk).pcm()
print(json.dumps([backend.transcribe_segment(Audio.from_samples(np.ascontiguousarray(samples[first:end]), 16_000),
                                             decided).text for first, end in json.loads(tails)]))
"""


def decoded_results(monkeypatch) -> list[tuple[tuple[float, ...], float, float, float]]:
    """(temperatures allowed, temperature kept, average log probability, compression ratio) of each decode
    Whisper makes (of each 30 s window), as they run."""
    from faster_whisper.transcribe import WhisperModel

    kept: list[tuple[tuple[float, ...], float, float, float]] = []
    real = WhisperModel.generate_with_fallback

    def recording(self, encoder_output, prompt, tokenizer, options):
        result = real(self, encoder_output, prompt, tokenizer, options)
        kept.append((tuple(options.temperatures), result[2], result[1], result[3]))
        return result

    monkeypatch.setattr(WhisperModel, "generate_with_fallback", recording)
    return kept


def doubtful(log_probability: float, compression: float) -> bool:
    """Whisper's thresholds failed: its sampled fallback decodes again."""
    return compression > 2.4 or log_probability < -1.0


def tail(samples: np.ndarray, first: int, end: int) -> Audio:
    return Audio.from_samples(np.ascontiguousarray(samples[first:end]), 16_000)


def test_doubtful_decodes_give_the_same_text_after_other_decodes_and_in_another_process(
        tiny_model_dir, jfk_path, plugin_manager, monkeypatch):
    ctx = RunContext(load_settings(overrides={"transcription.local.model": str(tiny_model_dir)}), pm=plugin_manager)
    backend = LocalBackend(ctx)
    samples = Audio.from_file(jfk_path).pcm()
    kept = decoded_results(monkeypatch)
    first = [backend.transcribe_segment(tail(samples, *span), DECIDED).text for span in TAILS]
    # one decode each in the fitted window, and one more in Whisper's 30 s window for a tail whose fitted text
    # said a phrase 3+ times in a row (the two "S" ones on the EPYC: 5 decodes; local_decode.decode)
    assert len(TAILS) <= len(kept) <= 2 * len(TAILS), "one decode each, again in the 30 s window after a loop"
    assert any(doubtful(log_probability, compression) for _, _, log_probability, compression in kept), kept
    assert all(allowed == (0.0,) for allowed, _, _, _ in kept), "no sampling"

    # other decodes in the same process: a whole recording (jfk.flac's first 3.5 s, "And so my fellow Americans":
    # 0.3 CPU-s, the whole file 0.7), a streamed replay; then the tails again, last first
    backend.transcribe(tail(samples, 0, 56000))
    audio = tail(samples, 0, 140000)
    replay(ctx, backend, audio).result(audio)
    again = [backend.transcribe_segment(tail(samples, *span), DECIDED).text for span in reversed(TAILS)]
    assert again[::-1] == first
    assert all(allowed == (0.0,) for allowed, _, _, _ in kept)

    done = subprocess.run([sys.executable, "-c", DECODE_IN_ANOTHER_PROCESS, str(tiny_model_dir), str(jfk_path), DECIDED,
                           json.dumps(TAILS)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == first


def test_the_sampled_fallback_is_opt_in_and_samples_doubtful_decodes(plugin_manager, tiny_model_dir, jfk_path,
                                                                     monkeypatch):
    """With ``sampledFallback`` a decode may use every fallback temperature, and one its thresholds doubt is
    decoded again by sampling. Which tails tiny.en doubts at temperature 0 depends on the CPU (int8 kernels:
    "Ask what? Ask", compression ratio 2.8, on an AVX-512 Xeon; not on an AVX2 EPYC), so the test makes the
    doubt certain: an average log probability threshold of 0 (and no "that was silence" exit) fails every
    decode, which then falls back through all six temperatures (~1 s of CPU for one short tail)."""
    from faster_whisper.transcribe import WhisperModel

    # in Whisper's 30 s window: a sampled text may say a phrase 3+ times in a row, which in the fitted window
    # is heard again in the 30 s one (local_decode.decode), a second decode this test is not about
    settings = load_settings(overrides={"transcription.local.model": str(tiny_model_dir),
                                        "transcription.local.sampledFallback": True,
                                        "transcription.local.fitWindow": False})
    backend = LocalBackend(RunContext(settings, pm=plugin_manager))
    kept = decoded_results(monkeypatch)
    recording = WhisperModel.generate_with_fallback
    sampled: list[float] = []  # the temperature of each decode CTranslate2 made

    class Counting:
        def __init__(self, model):
            self.model = model

        def __getattr__(self, name):
            return getattr(self.model, name)

        def generate(self, *args, **kwargs):
            sampled.append(kwargs.get("sampling_temperature", 1.0) if kwargs.get("sampling_topk") == 0 else 0.0)
            return self.model.generate(*args, **kwargs)

    def doubting(self, encoder_output, prompt, tokenizer, options):
        real, self.model = self.model, Counting(self.model)
        try:
            return recording(self, encoder_output, prompt, tokenizer, replace(options, log_prob_threshold=0.0,
                                                                                  no_speech_threshold=None))
        finally:
            self.model = real

    monkeypatch.setattr(WhisperModel, "generate_with_fallback", doubting)
    samples = Audio.from_file(jfk_path).pcm()
    backend.transcribe_segment(tail(samples, *TAILS[1]), DECIDED)
    assert len(kept) == 1, "one decode"
    (allowed, _, log_probability, _), = kept
    assert allowed == SAMPLED_FALLBACK == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert log_probability < 0.0 and sampled == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], "a doubtful decode was sampled again"


def test_re_decodes_in_the_background_thread_get_an_idle_instance_that_gives_the_same_transcripts(
        tiny_model_dir, jfk_path, plugin_manager):
    """The core runs re-decodes of the phrase being spoken in a thread of their own (``background_redecodes``):
    the backend serves them with a second instance of the model, loaded by a thread at the lowest CPU priority
    whose compute threads inherit it (so that they yield to the phrase's decode on the first instance) — the
    first instance until it is loaded. Both must give the same transcripts, words' timings included: a live run's
    commits are made again by ``retry`` in the one worker."""
    import os
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from voice_transcriber.context import enter_background

    settings = load_settings(overrides={"transcription.local.model": str(tiny_model_dir),
                                        "input.streamingCommitAtStop": True})  # (re-decodes with words' timings)
    ctx = RunContext(settings, pm=plugin_manager)
    backend = LocalBackend(ctx)
    assert backend.background_redecodes
    samples = Audio.from_file(jfk_path).pcm()
    before, spoken = tail(samples, 0, 56000), tail(samples, 56000, 104000)  # "And so my fellow Americans", "ask not …"

    def decodes() -> list[Transcript]:  # (one decode each side: the suite's time is short)
        return [backend.transcribe_continuation(before, "And so, my fellow Americans,", spoken, "", partial=True)]

    def idle_loaded() -> bool:
        deadline = time.monotonic() + 120
        while not backend.loaded().idle and time.monotonic() < deadline:
            time.sleep(0.05)
        return backend.loaded().idle

    def lower_threads() -> set[int]:
        """Threads at a higher nice value than this one (none when the process is at nice 19 already)."""
        found, mine = set(), os.getpriority(os.PRIO_PROCESS, 0)
        for tid in map(int, os.listdir("/proc/self/task")):
            try:
                if os.getpriority(os.PRIO_PROCESS, tid) > mine:
                    found.add(tid)
            except OSError:
                pass  # ended meanwhile
        return found

    main = decodes()
    assert not backend.loaded().idle
    with ThreadPoolExecutor(1, initializer=enter_background) as background:
        assert background.submit(backend.in_background).result() and not backend.in_background()
        assert background.submit(idle_loaded).result(), "the idle instance loads in the background"
        again = background.submit(decodes).result()
        assert background.submit(threading.get_native_id).result() not in lower_threads()  # the Python thread: as it was
    if os.getpriority(os.PRIO_PROCESS, 0) < 19:  # (a process at nice 19 has no lower priority to give)
        assert lower_threads(), "the second instance's compute threads run at a lower priority"
    assert [(t.text, t.words) for t in again] == [(t.text, t.words) for t in main]
    assert main[0].words and main[0].text
    assert ctx.info["local: re-decodes' decodes beside the phrases' ones"] == "1 of 1"


def test_the_idle_instance_loads_in_a_thread_the_interpreter_waits_for_at_exit():
    """A short recording's process may exit while the re-decodes' instance is still loading: CTranslate2 in
    a daemon thread cut off at exit aborted the process ("terminate called without an active exception",
    exit -6) after its text was delivered. The loader is not a daemon: the exit waits for the load."""
    import threading

    from voice_transcriber_backends.local_loading import idle_model

    loading, release = threading.Event(), threading.Event()

    def load():
        loading.set()
        release.wait(30)
        return "loaded"

    key = ("a model that only this test loads",)
    assert idle_model(key, load) is None, "None while it loads"
    assert loading.wait(30)
    [loader] = [thread for thread in threading.enumerate() if thread.name == "local-idle-model" and thread.is_alive()]
    assert not loader.daemon
    release.set()
    loader.join(30)
    assert idle_model(key, load) == "loaded"


def test_the_idle_instance_starts_loading_at_the_fourth_re_decode(tiny_model_dir, monkeypatch, plugin_manager):
    """Re-decodes come one a second of speech: a dictation shorter than ~4 s does not load a second copy of the
    model (nor wait for that load at exit); the first three re-decodes use the first instance."""
    from concurrent.futures import ThreadPoolExecutor

    from voice_transcriber.context import enter_background
    from voice_transcriber_backends import local_backend

    starts: list[bool] = []
    monkeypatch.setattr(local_backend, "idle_model", lambda key, load, start=True: starts.append(start))
    backend = LocalBackend(RunContext(load_settings(overrides={"transcription.local.model": str(tiny_model_dir)}),
                                      pm=plugin_manager))
    backend.loaded()  # the phrases' decodes: never the idle instance
    with ThreadPoolExecutor(1, initializer=enter_background) as background:
        for _ in range(5):
            assert not background.submit(backend.loaded).result().idle
    assert starts == [False, False, False, True, True]
