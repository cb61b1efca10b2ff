"""Long recordings against an upload limit: planned pieces near the limit, each checked, none over it."""

from __future__ import annotations

import numpy as np
import pytest

from voice_transcriber import BackendError
from voice_transcriber_backends.upload import RATE, split_for_upload


def speech_like(minutes: float) -> np.ndarray:
    """Bursts of tone (1.6 s) separated by pauses (0.4 s): a pause every two seconds to cut at."""
    samples = np.zeros(int(minutes * 60 * RATE), dtype=np.float32)
    period, burst = 2 * RATE, int(1.6 * RATE)
    tone = (0.3 * np.sin(2 * np.pi * 200 * np.arange(burst) / RATE)).astype(np.float32)
    for start in range(0, len(samples) - burst, period):
        samples[start:start + burst] = tone
    return samples


class CountingEncoder:
    """2 bytes per sample, like 16-bit WAV; remembers how many samples it was asked to encode."""

    def __init__(self) -> None:
        self.encoded = 0

    def __call__(self, samples: np.ndarray, encoding: str) -> bytes:
        self.encoded += len(samples)
        return bytes(2 * len(samples) + 44)


def test_a_long_recording_is_planned_in_pieces_not_encoded_whole_first():
    samples = speech_like(10)  # 10 minutes, 19.2 MB as WAV
    encoder = CountingEncoder()
    limit = 2_000_000  # ~62 s per upload
    chunks = split_for_upload(samples, "wav", limit, encoder)
    assert len(chunks) >= 10 and all(len(chunk.data) <= limit for chunk in chunks)
    starts = [round(chunk.offset * RATE) for chunk in chunks]
    lengths = [round(chunk.duration * RATE) for chunk in chunks]
    assert starts[0] == 0 and all(a + n == b for a, n, b in zip(starts, lengths, starts[1:]))
    assert starts[-1] + lengths[-1] == len(samples)  # nothing lost, nothing doubled
    for start in starts[1:]:  # every cut is in a pause, not in a word
        assert not samples[start:start + 480].any()
    # the one-minute probe plus each piece once: not the whole file, then halves, then quarters …
    assert encoder.encoded <= 60 * RATE + 1.05 * len(samples)


def test_a_piece_that_cannot_get_under_the_limit_is_refused_in_one_line():
    with pytest.raises(BackendError) as refused:
        split_for_upload(speech_like(0.5), "wav", 1000, CountingEncoder())
    message = str(refused.value)
    assert message.startswith("cannot split the audio into uploads under 1000 bytes:")
    assert "maxUploadBytes" in message and "\n" not in message
