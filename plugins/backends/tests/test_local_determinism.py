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

import numpy as np
import pytest

from voice_transcriber import Audio, RunContext
from voice_transcriber.config import load_settings
from voice_transcriber.streaming import replay
from voice_transcriber_backends.local_backend import SAMPLED_FALLBACK, LocalBackend

pytestmark = pytest.mark.slow

DECIDED = "And so my fellow Americans. Ask not what your country can do for you."
#: jfk.flac at 16 kHz, "ask what you can do" cut mid-word, decoded as a streamed phrase after DECIDED: its
#: decode at temperature 0 is too repetitive for Whisper (compression ratio 2.8 > 2.4), so the sampled
#: fallback fires on it (tiny.en then said "Ask what? ask", "", "Ask what? Ask" in three processes)
CLIP = (128000, 139839)

DECODE_IN_ANOTHER_PROCESS = """
import json, sys
import numpy as np
from voice_transcriber import Audio, RunContext
from voice_transcriber.config import load_settings
from voice_transcriber_backends.local_backend import LocalBackend
model, jfk, first, end, decided = sys.argv[1:]
backend = LocalBackend(RunContext(load_settings(overrides={"transcription.local.model": model}), quiet=True))
samples = Audio.from_file(jfk).pcm()
clip = Audio.from_samples(np.ascontiguousarray(samples[int(first):int(end)]), 16_000)
print(json.dumps(backend.transcribe_segment(clip, decided).text))
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


def test_a_doubtful_decode_gives_the_same_text_after_other_decodes_and_in_another_process(
        tiny_model_dir, jfk_path, plugin_manager, monkeypatch):
    ctx = RunContext(load_settings(overrides={"transcription.local.model": str(tiny_model_dir)}), pm=plugin_manager)
    backend = LocalBackend(ctx)
    samples = Audio.from_file(jfk_path).pcm()
    clip = Audio.from_samples(np.ascontiguousarray(samples[CLIP[0]:CLIP[1]]), 16_000)
    kept = decoded_results(monkeypatch)
    first = backend.transcribe_segment(clip, DECIDED).text
    assert len(kept) == 1
    allowed, temperature, log_probability, compression = kept[0]
    assert compression > 2.4 or log_probability < -1.0, "Whisper's thresholds failed: its sampled fallback would fire"
    assert allowed == (0.0,) and temperature == 0.0, "no sampling"

    # other decodes in the same process: a whole recording, other phrases, a streamed replay
    backend.transcribe(Audio.from_file(jfk_path))
    for first_sample, end in ((126400, 133119), (129600, 135999)):
        backend.transcribe_segment(Audio.from_samples(np.ascontiguousarray(samples[first_sample:end]), 16_000), DECIDED)
    audio = Audio.from_samples(np.ascontiguousarray(samples[:140000]), 16_000)
    replay(ctx, backend, audio).result(audio)
    assert len(kept) >= 6 and all(allowed == (0.0,) for allowed, _, _, _ in kept)
    assert backend.transcribe_segment(clip, DECIDED).text == first

    done = subprocess.run([sys.executable, "-c", DECODE_IN_ANOTHER_PROCESS, str(tiny_model_dir), str(jfk_path),
                           str(CLIP[0]), str(CLIP[1]), DECIDED], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == first


def test_the_sampled_fallback_is_opt_in_and_samples_the_doubtful_decode(plugin_manager, tiny_model_dir, jfk_path,
                                                                        monkeypatch):
    settings = load_settings(overrides={"transcription.local.model": str(tiny_model_dir),
                                        "transcription.local.sampledFallback": True})
    backend = LocalBackend(RunContext(settings, pm=plugin_manager))
    kept = decoded_results(monkeypatch)
    samples = Audio.from_file(jfk_path).pcm()
    backend.transcribe_segment(Audio.from_samples(np.ascontiguousarray(samples[CLIP[0]:CLIP[1]]), 16_000), DECIDED)
    allowed, temperature, _, _ = kept[0]
    assert allowed == SAMPLED_FALLBACK == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert temperature > 0, "the doubtful decode was sampled again"
