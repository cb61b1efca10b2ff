"""Decoding audio files in bounded memory, and one clear line for every file that is not audio.

:func:`pcm_blocks` streams any :class:`~voice_transcriber.types.Audio` as 16 kHz mono float32
blocks: libsndfile reads the file a block at a time (WAV, FLAC, OGG/Opus, MP3) and soxr
resamples as a stream, so a two-hour file never sits in memory whole. What libsndfile cannot
read is given to PyAV (FFmpeg: m4a, webm …), frame by frame, when it is installed.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import AudioError

if TYPE_CHECKING:
    from typing import Protocol

    import numpy as np

    class AudioSource(Protocol):
        """What decoding reads of an :class:`~voice_transcriber.types.Audio` (which calls this module)."""

        samples: np.ndarray | None
        sample_rate: int | None
        path: Path | None
        data: bytes | None
        label: str

#: Seconds of audio per block: ~1.9 MB of 16 kHz float32, a few MB at the source rate.
BLOCK_SECONDS = 30.0
CONVERT_FIX = "use WAV, FLAC, OGG/Opus or MP3, or convert with `ffmpeg -i IN -ar 16000 -ac 1 OUT.flac`"


def check_file(path: Path) -> None:
    """One line for a path that cannot be an audio file: missing, a directory, empty, not a regular file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AudioError(f"audio file not found: {path} (check the path)") from None
    except OSError as exc:
        raise AudioError(f"cannot read audio file {path}: {exc.strerror} (check its permissions)") from None
    if stat.S_ISDIR(info.st_mode):
        raise AudioError(f"{path} is a directory, not an audio file (give a file, e.g. {path}/memo.flac)")
    if stat.S_ISREG(info.st_mode) and info.st_size == 0:
        raise AudioError(f"audio file {path} is empty (0 bytes): there is no audio in it (pick another file)")
    if not os.access(path, os.R_OK):
        raise AudioError(f"cannot read audio file {path}: permission denied (check its permissions)")


def decode_error(label: str, exc: BaseException) -> AudioError:
    """libsndfile's messages name a Python object or blame a pipe; say what is wrong with the file instead."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if text.startswith("Error opening "):
        text = text.split(": ", 1)[1] if ": " in text else text
    if "possibly a pipe" in text or "Format not recognised" in text or "unknown format" in text.lower():
        text = "not an audio format that can be read (or a damaged file)"
    return AudioError(f"cannot decode audio {label}: {text.rstrip('.')} ({CONVERT_FIX})")


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what C libraries print on fd 2 (libmpg123's "Note: Illegal Audio-MPEG-Header …")."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def pcm_blocks(audio: AudioSource, rate: int = 16_000, seconds: float = BLOCK_SECONDS) -> Iterator[np.ndarray]:
    """``audio`` as mono float32 blocks at ``rate`` Hz, decoded and resampled as a stream.

    Raises :class:`AudioError` (one line) when it cannot be decoded; an error after the first
    block (a file damaged half way) ends the stream with the blocks read so far.
    """
    import numpy as np

    if audio.samples is not None:
        samples = audio.samples if audio.samples.ndim == 1 else audio.samples.mean(axis=1)
        source_rate = int(audio.sample_rate or rate)
        step = max(1, int(seconds * source_rate))
        blocks: Iterator[np.ndarray] = (samples[i:i + step] for i in range(0, len(samples), step))
    else:
        blocks, source_rate = _file_blocks(audio, seconds)
    yield from _resampled(blocks, source_rate, rate)


def _resampled(blocks: Iterator[np.ndarray], source_rate: int, rate: int) -> Iterator[np.ndarray]:
    import numpy as np

    if source_rate == rate:
        for block in blocks:
            yield np.ascontiguousarray(block, dtype=np.float32)
        return
    import soxr

    stream = soxr.ResampleStream(source_rate, rate, 1, dtype="float32", quality="HQ")
    for block in blocks:
        out = stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32))
        if out.size:
            yield out
    tail = stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
    if tail.size:
        yield tail


def _file_blocks(audio: AudioSource, seconds: float) -> tuple[Iterator[np.ndarray], int]:
    import soundfile

    source = str(audio.path) if audio.path is not None else io.BytesIO(audio.data or b"")
    try:
        with quiet_native_stderr():
            sound = soundfile.SoundFile(source)
    except Exception as exc:  # libsndfile reports unknown formats with several types
        error = decode_error(audio.label, exc)
        av_blocks = _av_blocks(audio, seconds)
        if av_blocks is None:
            raise error from None
        return _or_raise(av_blocks, error), 16_000
    step = max(1, int(seconds * sound.samplerate))

    def read() -> Iterator[np.ndarray]:
        with sound:
            while True:
                try:
                    block = sound.read(step, dtype="float32", always_2d=True)
                except Exception:  # noqa: BLE001 - damaged after the start: keep what was read
                    return
                if not len(block):
                    return
                yield block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]

    return read(), int(sound.samplerate)


def _or_raise(blocks: Iterator[np.ndarray], error: AudioError) -> Iterator[np.ndarray]:
    """``blocks``, or ``error`` when they hold no audio at all: FFmpeg opens any bytes named ``*.flac`` as
    FLAC and decodes nothing, which is not an audio file without speech but no audio file."""
    empty = True
    for block in blocks:
        empty = False
        yield block
    if empty:
        raise error


def _av_blocks(audio: AudioSource, seconds: float) -> Iterator[np.ndarray] | None:
    """PyAV (FFmpeg) frames resampled to 16 kHz mono, for formats libsndfile does not read; None without PyAV
    or when FFmpeg cannot open it either."""
    try:
        import av
    except ImportError:
        return None
    source = str(audio.path) if audio.path is not None else io.BytesIO(audio.data or b"")
    try:
        with quiet_native_stderr():
            container = av.open(source, metadata_errors="ignore")
        if not container.streams.audio:
            container.close()
            return None
    except Exception:  # noqa: BLE001 - FFmpeg cannot read it either: the libsndfile error is reported
        return None
    return _av_frames(container, seconds)


def _av_frames(container, seconds: float) -> Iterator[np.ndarray]:
    import av
    import numpy as np

    resampler = av.AudioResampler(format="flt", layout="mono", rate=16_000)
    pending: list[np.ndarray] = []
    size, step = 0, int(seconds * 16_000)
    with container:
        try:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().reshape(-1))
                    size += pending[-1].size
                if size >= step:
                    yield np.concatenate(pending)
                    pending, size = [], 0
            for out in resampler.resample(None):
                pending.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError:  # damaged half way: keep what was decoded
            pass
    if pending:
        yield np.concatenate(pending)
