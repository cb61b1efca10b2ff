"""Preparing audio for an HTTP upload: a silence gate, compact encodings, and splitting at pauses.

Everything works on 16 kHz mono float32 samples (``Audio.pcm()``), the rate Whisper
resamples to anyway, so uploading more would only cost bandwidth. numpy and soundfile are
imported inside the functions: plugin discovery must stay light.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voice_transcriber import BackendError

if TYPE_CHECKING:
    import numpy as np

RATE = 16_000
_FRAME = 480  # 30 ms at 16 kHz: short enough to find the gap between two words
#: ≈ 16 kbit/s Opus: 0.07 of 16-bit WAV, and Whisper's transcript does not change.
_OPUS_BITRATE = 16_000
#: libsndfile's Opus "compression level" that gives about the same bitrate (fallback encoder).
_OPUS_LEVEL = 0.96
#: Seconds encoded to estimate the bytes per second of a long recording, and the share of the
#: upload limit a planned piece aims at (encodings vary with the content: leave room).
_PROBE_SECONDS = 60
_FILL = 0.8


@dataclass(frozen=True)
class Encoding:
    """How an upload is encoded: the file name (servers read the extension) and MIME type."""

    name: str
    filename: str
    content_type: str


ENCODINGS = {
    "flac": Encoding("flac", "audio.flac", "audio/flac"),
    "opus": Encoding("opus", "audio.ogg", "audio/ogg"),
    "wav": Encoding("wav", "audio.wav", "audio/wav"),
}


@dataclass(frozen=True)
class Chunk:
    """One encoded upload and where it starts in the whole recording."""

    data: bytes
    offset: float
    duration: float


def encode(samples: np.ndarray, encoding: str) -> bytes:
    """Encode 16 kHz mono samples as FLAC (lossless), Ogg/Opus (smallest) or 16-bit WAV."""
    import soundfile

    buffer = io.BytesIO()
    if encoding == "opus":
        encoded = _opus_with_pyav(samples)
        if encoded is not None:
            return encoded
        soundfile.write(buffer, samples, RATE, format="OGG", subtype="OPUS", compression_level=_OPUS_LEVEL)
    elif encoding == "flac":
        soundfile.write(buffer, samples, RATE, format="FLAC", subtype="PCM_16")
    else:
        soundfile.write(buffer, samples, RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _opus_with_pyav(samples: np.ndarray) -> bytes | None:
    """Ogg/Opus through PyAV (installed with faster-whisper): 4x faster than libsndfile's
    encoder at the same size, thanks to libopus' lower complexity setting; None without PyAV."""
    try:
        import av
    except ImportError:
        return None
    import numpy as np

    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)[None, :]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=RATE)
        stream.bit_rate, stream.layout = _OPUS_BITRATE, "mono"
        stream.codec_context.options = {"compression_level": "5", "application": "voip"}
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return buffer.getvalue()


def frame_levels_db(samples: np.ndarray) -> np.ndarray:
    """RMS level of each 30 ms frame in dBFS (digital silence ≈ -120)."""
    import numpy as np

    if len(samples) < _FRAME:
        samples = np.pad(samples, (0, _FRAME - len(samples)))
    usable = len(samples) - len(samples) % _FRAME
    frames = samples[:usable].reshape(-1, _FRAME).astype(np.float64)
    return 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-6)


def no_frame_above(peak: float, threshold_db: float) -> bool:
    """True when audio whose loudest sample is ``peak`` (0..1) has no 30 ms frame louder than ``threshold_db``
    (:func:`frame_levels_db`), judged without its samples: a frame's RMS is at most its peak. 0.01 dB of margin
    covers the rounding of the RMS; a take that close to the threshold is measured frame by frame."""
    import math

    return 20 * math.log10(peak + 1e-6) < threshold_db - 0.01


def speech_seconds(samples: np.ndarray, threshold_db: float) -> float:
    """Seconds of 30 ms frames louder than ``threshold_db``: a cheap energy gate, no model needed."""
    levels = frame_levels_db(samples)
    return float((levels > threshold_db).sum()) * _FRAME / RATE


def split_for_upload(samples: np.ndarray, encoding: str, max_bytes: int | None,
                     encoder: Callable[[np.ndarray, str], bytes] = encode) -> list[Chunk]:
    """Encode ``samples``; while a piece is over ``max_bytes``, cut it in two at its quietest
    moment near the middle, so no word is cut and every upload fits the server's limit.

    Long audio is first cut near the length a probe's encoding says fits (so a two-hour file is
    not encoded whole, then in halves, quarters …); each piece is then checked and halved as needed.
    """
    pieces: list[Chunk] = []
    for start, end in _planned(samples, encoding, max_bytes, encoder):
        _split(samples[start:end], start, encoding, max_bytes, encoder, pieces)
    return pieces


def _planned(samples: np.ndarray, encoding: str, max_bytes: int | None,
             encoder: Callable[[np.ndarray, str], bytes]) -> list[tuple[int, int]]:
    """``(start, end)`` sample ranges expected to encode under ``max_bytes`` (one range when short)."""
    probe = samples[:_PROBE_SECONDS * RATE]
    if max_bytes is None or len(samples) <= len(probe):
        return [(0, len(samples))]
    per_sample = max(len(encoder(probe, encoding)) / max(1, len(probe)), 1e-6)
    target = int(_FILL * max_bytes / per_sample)
    if target < 4 * RATE or len(samples) * per_sample <= max_bytes:
        return [(0, len(samples))]
    bounds, start = [], 0
    while len(samples) - start > target:
        cut = quietest_point(samples, start + int(0.8 * target), start + target)
        bounds.append((start, cut))
        start = cut
    return [*bounds, (start, len(samples))]


def _split(samples: np.ndarray, start: int, encoding: str, max_bytes: int | None,
           encoder: Callable[[np.ndarray, str], bytes], out: list[Chunk]) -> None:
    data = encoder(samples, encoding)
    if max_bytes is None or len(data) <= max_bytes:
        out.append(Chunk(data, start / RATE, len(samples) / RATE))
        return
    if len(samples) < 2 * RATE:
        raise BackendError(f"cannot split the audio into uploads under {max_bytes} bytes: {len(data)} bytes for "
                           f"{len(samples) / RATE:.1f} s — fix: raise maxUploadBytes, or use uploadFormat \"opus\"")
    cut = quietest_point(samples, len(samples) // 4, 3 * len(samples) // 4)
    _split(samples[:cut], start, encoding, max_bytes, encoder, out)
    _split(samples[cut:], start + cut, encoding, max_bytes, encoder, out)


def quietest_point(samples: np.ndarray, low: int, high: int) -> int:
    """Sample index at the start of the quietest 30 ms frame between ``low`` and ``high``."""
    import numpy as np

    first, last = low // _FRAME, max(low // _FRAME + 1, high // _FRAME)
    levels = frame_levels_db(samples[first * _FRAME:last * _FRAME])
    return (first + int(np.argmin(levels))) * _FRAME
