"""The values that flow through the pipeline: :class:`Audio` in, :class:`Transcript` out, and the
:class:`ActiveWindow` a run is for."""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import AudioError

TYPE_CHECKING = False  # not `typing`: the launcher menu reads the history before rofi can draw
if TYPE_CHECKING:
    from typing import Any
  # numpy is imported lazily: `--help` and `plugins` never load it
    import numpy as np

WHISPER_RATE = 16_000


@dataclass(frozen=True)
class Audio:
    """Audio to transcribe: PCM samples with their rate, a file path, or encoded bytes.

    Exactly one of ``samples`` (float32 mono, -1..1), ``path`` or ``data`` is set.
    Decoding is lazy; :meth:`pcm` gives 16 kHz mono float32 whatever the source.
    """

    samples: np.ndarray | None = None
    sample_rate: int | None = None
    path: Path | None = None
    data: bytes | None = None
    label: str = ""
    #: The loudest sample of :meth:`pcm` at 16 kHz (0..1) when known without decoding it (the recorder measures
    #: each block it stores), else None: a silence gate may judge a silent recording without decoding it.
    peak: float | None = None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Audio:
        """A file to decode; one clear line (AudioError) when it is missing, a directory or empty."""
        from .decode import check_file

        p = Path(path)
        check_file(p)
        return cls(path=p, label=str(p))

    @classmethod
    def from_bytes(cls, data: bytes, label: str = "<stdin>") -> Audio:
        if not data:
            raise AudioError(f"no audio data on {label} (pipe an audio file, e.g. `< speech.flac`)")
        return cls(data=data, label=label)

    @classmethod
    def from_samples(cls, samples: np.ndarray, sample_rate: int, label: str = "<memory>") -> Audio:
        return cls(samples=samples, sample_rate=sample_rate, label=label)

    def pcm(self, rate: int = WHISPER_RATE) -> np.ndarray:
        """Mono float32 samples at ``rate`` Hz (decoded, downmixed and resampled as needed)."""
        import numpy as np

        samples, source_rate = self._decode()
        if samples.ndim == 2:
            samples = samples.mean(axis=1)
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        if source_rate != rate and samples.size:
            import soxr

            samples = soxr.resample(samples, source_rate, rate, quality="HQ").astype(np.float32)
        return samples

    def blocks(self, rate: int = WHISPER_RATE, seconds: float = 30.0) -> Iterator[np.ndarray]:
        """Mono float32 blocks of about ``seconds`` at ``rate`` Hz, decoded and resampled as a stream:
        a long file is never in memory whole (:func:`voice_transcriber.decode.pcm_blocks`)."""
        from .decode import pcm_blocks

        return pcm_blocks(self, rate, seconds)

    @property
    def known_empty(self) -> bool:
        """True when the audio certainly holds no sample, seen without decoding it: no samples, or a WAV
        of its header alone (a recording stopped before the microphone opened). False says nothing."""
        if self.samples is not None:
            return len(self.samples) == 0
        if self.data is not None:
            return _header_only_wav(self.data)
        try:
            with open(self.path, "rb") as file:  # type: ignore[arg-type]
                return _header_only_wav(file.read(_WAV_HEADER + 1))
        except (OSError, TypeError):
            return False

    @property
    def duration(self) -> float:
        """Length in seconds (reads only the header for files)."""
        if self.samples is not None and self.sample_rate:
            return len(self.samples) / self.sample_rate
        plain = self._plain_wav_duration()
        if plain is not None:  # a recording's WAV: no soundfile (nor numpy) for its length
            return plain
        import soundfile

        try:
            info = soundfile.info(self.path if self.path else io.BytesIO(self.data or b""))
        except Exception:  # not a libsndfile format (m4a …): count the samples, a block at a time
            return sum(block.size for block in self.blocks()) / WHISPER_RATE
        return float(info.duration)

    def _plain_wav_duration(self) -> float | None:
        """The length of a canonical PCM WAV (as the recorder and Python's ``wave`` write it) whose data
        chunk ends where the file does, from its header: what libsndfile says of it; None for anything else."""
        try:
            if self.data is not None:
                return _canonical_wav_seconds(self.data[:_WAV_HEADER], len(self.data))
            with open(self.path, "rb") as file:  # type: ignore[arg-type]
                return _canonical_wav_seconds(file.read(_WAV_HEADER), os.fstat(file.fileno()).st_size)
        except (OSError, TypeError):
            return None

    def _decode(self) -> tuple[np.ndarray, int]:
        if self.samples is not None:
            return self.samples, int(self.sample_rate or WHISPER_RATE)
        import soundfile

        from .decode import decode_error, quiet_native_stderr

        source = self.path if self.path is not None else io.BytesIO(self.data or b"")
        try:
            with quiet_native_stderr():  # libmpg123 prints "Note: …" lines on fd 2 for a damaged MP3
                samples, rate = soundfile.read(source, dtype="float32", always_2d=False)
        except Exception as exc:  # libsndfile reports unknown formats with several types
            raise decode_error(self.label, exc) from exc
        return samples, int(rate)


_WAV_HEADER = 44  #: bytes of a canonical RIFF/WAVE header (as the recorder and Python's ``wave`` write it)


def _header_only_wav(head: bytes) -> bool:
    """``head`` is a whole canonical WAV file whose data chunk is empty."""
    return (len(head) == _WAV_HEADER and head[:4] == b"RIFF" and head[8:16] == b"WAVEfmt "
            and head[36:40] == b"data" and head[40:44] == b"\0\0\0\0")


def _canonical_wav_seconds(head: bytes, size: int) -> float | None:
    """Seconds of a WAV of ``size`` bytes whose first bytes are ``head``: a 44-byte header (a 16-byte PCM
    format chunk, then the data chunk) whose sizes add up to ``size`` exactly; None for any other file."""
    if len(head) != _WAV_HEADER or head[:4] != b"RIFF" or head[8:16] != b"WAVEfmt " or head[36:40] != b"data":
        return None
    riff, fmt_size, pcm, _channels, rate, _byte_rate, frame_bytes = struct.unpack_from("<4xI8xIHHIIH", head)
    data = int.from_bytes(head[40:44], "little")
    if (fmt_size, pcm) != (16, 1) or riff != size - 8 or data != size - _WAV_HEADER or not rate or not frame_bytes \
            or data % frame_bytes:
        return None
    return data // frame_bytes / rate


@dataclass(frozen=True)
class Segment:
    """A timed piece of a transcript, in seconds from the start of the audio."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """What a backend heard. Formatters receive it and return new text.

    ``raw_text`` keeps the backend's text after formatters replaced ``text``.
    """

    text: str
    backend: str
    language: str | None = None
    model: str | None = None
    segments: tuple[Segment, ...] = ()
    audio_duration: float | None = None
    raw_text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: Each word of ``text`` with its timing, when the backend knows them (the local backend, for a
    #: streamed phrase): the streaming core hears only the end of a phrase again before the next one
    words: tuple[Segment, ...] = ()

    def with_text(self, text: str) -> Transcript:
        return replace(self, text=text, raw_text=self.raw_text if self.raw_text is not None else self.text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "raw_text": self.raw_text if self.raw_text is not None else self.text,
            "language": self.language,
            "backend": self.backend,
            "model": self.model,
            "audio_duration": self.audio_duration,
            "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in self.segments],
        }


@dataclass(frozen=True)
class ActiveWindow:
    """The window that has the keyboard focus, as a ``vt_active_window`` plugin saw it."""

    #: X11 WM_CLASS class name (``XTerm``), or the Wayland app_id (``foot``).
    window_class: str = ""
    title: str = ""
    #: X11 WM_CLASS instance name (``xterm``); ``match.windowClass`` is tried on it too.
    instance: str = ""
    #: How it was detected (``xdotool``, ``sway``, ``hyprland`` …), shown with ``--debug``.
    source: str = ""
