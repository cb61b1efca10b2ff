"""Long files in bounded memory: decoded as a stream, transcribed in windows cut at pauses.

The memory figure itself (a 2-hour WAV ≤ 400 MB peak RSS) is measured by bench/long_files.py;
test_a_long_file_never_is_in_memory_whole pins the bound without the model.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile

from voice_transcriber import Audio
from voice_transcriber.context import RunContext
from voice_transcriber.config import load_settings
from voice_transcriber_backends import whisper_window
from voice_transcriber_backends.local_backend import LocalBackend
from voice_transcriber_backends.whisper_window import quietest_cut, windows
from vt_testing.speech import JFK_TEXT, normalise, wer


def test_blocks_stream_any_rate_and_layout_to_16k_mono(tmp_path):
    t = np.arange(44_100 * 7) / 44_100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], axis=1).astype(np.float32) * 0.5
    path = tmp_path / "tone.wav"
    soundfile.write(path, stereo, 44_100, subtype="PCM_16")
    blocks = list(Audio.from_file(path).blocks(16_000, seconds=2.0))
    assert len(blocks) >= 3 and all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    whole = np.concatenate(blocks)
    assert abs(whole.size - 16_000 * 7) <= 16  # the resampler's flush gives the tail back
    reference = Audio.from_file(path).pcm()
    assert np.abs(whole[1000:-1000] - reference[1000:-1000]).max() < 0.01


def test_windows_cover_the_audio_once_and_cut_at_the_quietest_moment():
    rate = 16_000
    loud = np.full(rate * 50, 0.3, dtype=np.float32)
    loud[rate * 22: rate * 22 + rate // 5] = 0.0  # a pause at 22 s, inside the last 20 s of a 30 s window
    parts = list(windows(Audio.from_samples(loud, rate), window_seconds=30))
    assert [round(start, 2) for start, _ in parts][0] == 0.0
    first_end = parts[0][1].size / rate
    assert 22.0 <= first_end <= 22.2  # cut inside the pause
    assert sum(p.size for _, p in parts) == loud.size
    assert all(abs(start - sum(p.size for _, p in parts[:i]) / rate) < 1e-9 for i, (start, _) in enumerate(parts))


def test_a_long_file_never_is_in_memory_whole(tmp_path):
    """Issue 18 row 9 (a 2-hour WAV cost 1.84 GB: decoded whole). Thirty minutes of audio are 110 MiB as
    float32; the windows the local backend transcribes are read from the file as a stream, so what is
    allocated at once stays at a few windows (one is 120 s, 7.3 MiB), whatever the length."""
    path = tmp_path / "half-hour.wav"
    rng = np.random.default_rng(18)
    with soundfile.SoundFile(path, "w", 16_000, 1, "PCM_16") as out:
        for _ in range(30):  # a minute at a time: the file is never whole here either
            out.write((rng.standard_normal(16_000 * 60) * 300).astype(np.int16))
    tracemalloc.start()
    try:
        parts = [(start, window.size) for start, window in windows(Audio.from_file(path))]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(parts) >= 15 and sum(size for _, size in parts) == 16_000 * 60 * 30
    assert peak < 48 * 2**20, f"{peak / 2**20:.0f} MiB allocated at once for {len(parts)} windows"


def test_quietest_cut_of_a_short_window_is_its_end():
    assert quietest_cut(np.zeros(100, dtype=np.float32)) == 100


def test_an_empty_file_of_no_samples_is_one_empty_window(tmp_path):
    path = tmp_path / "header-only.wav"
    soundfile.write(path, np.zeros(0, dtype=np.int16), 16_000)
    parts = list(windows(Audio.from_file(path)))
    assert len(parts) == 1 and parts[0][1].size == 0


@pytest.mark.slow
def test_a_recording_longer_than_a_window_is_transcribed_whole(jfk_audio, tiny_model_dir, monkeypatch, isolated_dirs):
    """Three JFK passages, windows of 15 s: every passage heard once, segments in order and offset, each
    window (the first, 15 s, too) in Whisper's 30 s one: only a file that is one window is fitted."""
    monkeypatch.setattr(whisper_window, "WINDOW_SECONDS", 15.0)
    samples = jfk_audio.samples
    gap = np.zeros(16_000, dtype=np.float32)
    three = Audio.from_samples(np.concatenate([samples, gap, samples, gap, samples]), 16_000)
    monkeypatch.setenv("VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL", str(tiny_model_dir))
    monkeypatch.setenv("VOICE_TRANSCRIBER_LANGUAGE", "en")
    partials: list[str] = []
    ctx = RunContext(load_settings())
    ctx.partial_text = partials.append
    backend = LocalBackend(ctx)
    whisper = backend.loaded().whisper
    frames: list[int] = []  # the mel frames of each encoder input: never a fitted window in a file of windows
    monkeypatch.setattr(whisper, "encode", lambda features, encode=whisper.encode: frames.append(features.shape[-1])
                        or encode(features))
    transcript = backend.transcribe(three)
    assert len(frames) >= 3 and set(frames) == {3000}, frames
    heard = normalise(transcript.text)
    assert heard.count("ask not what your country") == 3, transcript.text
    assert wer(" ".join([JFK_TEXT] * 3), transcript.text) < 0.3
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and starts[-1] > 20  # later windows' segments are offset
    assert abs(transcript.audio_duration - three.duration) < 0.01
    assert partials[-1] == transcript.text and partials[0] != partials[-1]
