"""The recordings store: every recording is on disk while it is being made.

A recording is a 16 kHz mono 16-bit WAV named by the run id, in
``$XDG_STATE_HOME/voice-transcriber/recordings/`` (directory 0700, files 0600). The writer
rewrites the WAV header at every flush (about twice a second), so after a crash or a
``kill -9`` the file is a valid WAV up to the last flush; :func:`load` also repairs a
header that lags behind the data. When the state directory cannot be written (read-only,
disk full) the recording moves to :func:`fallback_dir` with a warning.

A recording is kept until its text was delivered (:func:`settle` marks it with a
``.delivered`` file beside it); delivered ones beyond the newest ``input.keepRecordings``
are deleted. Public helpers (``__all__``) for commands such as ``retry`` and for plugins: :func:`recordings_dir`,
:func:`find`, :func:`load`, :func:`list_recordings`, :func:`prune`, :func:`settle`.
"""

from __future__ import annotations

import io
import os
import struct
import wave
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UsageError
from .files import open_private
from .paths import make_private_dir

if TYPE_CHECKING:
    from .context import RunContext
    from .types import Audio

__all__ = ["find", "list_recordings", "load", "prune", "recordings_dir", "settle"]

RATE = 16_000
SUFFIX = ".wav"
DELIVERED = ".delivered"
#: A flush every this many samples (0.5 s): what a `kill -9` can cost at most.
FLUSH_EVERY = RATE // 2


def recordings_dir() -> Path:
    """``$XDG_STATE_HOME/voice-transcriber/recordings`` (not created here)."""
    from xdg_base_dirs import xdg_state_home

    return xdg_state_home() / "voice-transcriber" / "recordings"


def fallback_dir() -> Path:
    """Where recordings go when the state dir is unwritable: ``$XDG_RUNTIME_DIR`` (tmpfs) or /tmp."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "voice-transcriber" if runtime else Path(f"/tmp/voice-transcriber-{os.getuid()}")
    return base / "recordings"


def list_recordings() -> list[Path]:
    """Every stored recording, oldest first (run ids sort by time), from both directories."""
    found: dict[str, Path] = {}
    for folder in (fallback_dir(), recordings_dir()):
        if folder.is_dir():
            found.update({p.stem: p for p in folder.glob(f"*{SUFFIX}")})
    return [found[stem] for stem in sorted(found)]


def find(id_or_last: str) -> Path:
    """The recording named by a run id (or a unique prefix of one), or ``last`` for the newest."""
    recordings = list_recordings()
    if not recordings:
        raise UsageError(f"no recordings yet in {recordings_dir()} (record one: run `voice-transcriber`)")
    if id_or_last == "last":
        return recordings[-1]
    matches = [p for p in recordings if p.stem == id_or_last] or [p for p in recordings if p.stem.startswith(id_or_last)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no recording '{id_or_last}' in {recordings_dir()} (use an id such as {recordings[-1].stem}, or 'last')")
    raise UsageError(f"recording id '{id_or_last}' is ambiguous ({len(matches)} match): give more characters")


def load(id_or_last: str) -> Audio:
    """The stored recording as :class:`Audio`, its header repaired first if a crash left it behind."""
    from .types import Audio

    path = find(id_or_last)
    repair(path)
    return Audio.from_file(path)


def is_delivered(path: Path) -> bool:
    return path.with_suffix(DELIVERED).exists()


def settle(ctx: RunContext) -> None:
    """The run's text was delivered: mark its recording and apply ``input.keepRecordings``."""
    recording = ctx.info.get("recording")
    if not recording or not Path(recording).exists():
        return
    try:
        os.close(open_private(Path(recording).with_suffix(DELIVERED), os.O_WRONLY | os.O_CREAT))
        removed = prune(ctx.settings.input.keep_recordings)
    except OSError as exc:
        ctx.warn(f"could not tidy the recordings in {Path(recording).parent}: {exc.strerror}")
        return
    if removed:
        ctx.log(f"pruned {len(removed)} old recording(s)")


def prune(keep: int) -> list[Path]:
    """Delete delivered recordings older than the newest ``keep``; undelivered ones always stay."""
    recordings = list_recordings()
    old = recordings[: max(len(recordings) - keep, 0)]
    removed = [p for p in old if is_delivered(p)]
    for path in removed:
        path.unlink(missing_ok=True)
        path.with_suffix(DELIVERED).unlink(missing_ok=True)
    return removed


def repair(path: Path) -> bool:
    """Make the WAV header cover every whole sample in the file (a killed writer may lag). True if fixed."""
    size = path.stat().st_size
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:  # a symlink (never written through) or unwritable: read it as it is
        return False
    with open(fd, "r+b") as f:
        header = f.read(44)
        if len(header) < 44 or header[:4] != b"RIFF" or header[36:40] != b"data":
            return False
        data_bytes = (size - 44) // 2 * 2
        if struct.unpack("<I", header[40:44])[0] == data_bytes:
            return False
        f.seek(4)
        f.write(struct.pack("<I", 36 + data_bytes))
        f.seek(40)
        f.write(struct.pack("<I", data_bytes))
    return True


class RecordingFile:
    """The WAV being recorded. Falls back to :func:`fallback_dir` when the store cannot be written.

    Samples (int16 bytes, 16 kHz mono) are appended with :meth:`write`; they reach the disk, with
    an up-to-date header, at least every :data:`FLUSH_EVERY` samples. Every sample is also
    kept in memory, so a failing disk never loses audio: the whole recording is rewritten
    to the fallback directory.
    """

    def __init__(self, run_id: str, warn: Callable[[str], None]) -> None:
        self.name = run_id + SUFFIX
        self._warn = warn
        self._written: list[bytes] = []
        self._pending: list[bytes] = []
        self._pending_samples = 0
        self._wav: wave.Wave_write | None = None
        self.path: Path | None = None
        self._open_first_writable()

    def write(self, samples: bytes) -> None:
        self._pending.append(samples)
        self._pending_samples += len(samples) // 2
        if self._pending_samples >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        chunk, self._pending, self._pending_samples = self._pending, [], 0
        self._written.extend(chunk)
        if self._wav is None:
            return
        try:
            self._append(chunk)
        except OSError as exc:
            self._move_to_fallback(exc)

    def close(self) -> None:
        self.flush()
        if self._wav is not None:
            try:
                self._wav.close()
                os.fsync(self._wav_file.fileno())
            except (OSError, ValueError):
                pass
            self._wav_file.close()
            self._wav = None

    def _append(self, chunks: list[bytes]) -> None:
        self._wav.writeframes(b"".join(chunks))  # wave rewrites the header after the data
        self._wav_file.flush()

    def _open_first_writable(self) -> None:
        primary = recordings_dir()
        try:
            self._open(primary)
            return
        except OSError as exc:
            problem = exc
        self._open_fallback(f"cannot write recordings to {primary}: {problem.strerror or problem}")

    def _move_to_fallback(self, exc: OSError) -> None:
        self._discard_current()
        self._open_fallback(f"writing {self.path} failed: {exc.strerror or exc}")
        if self._wav is not None:
            try:
                self._append(self._written)
            except OSError as again:
                self._discard_current()
                self._warn(f"cannot write the fallback recording either ({again.strerror}); keeping it in memory only")

    def _open_fallback(self, reason: str) -> None:
        folder = fallback_dir()
        try:
            self._open(folder)
        except OSError as exc:
            self._warn(f"{reason}; the fallback {folder} failed too ({exc.strerror or exc}): "
                       "recording in memory only (free some space or fix the permissions)")
            return
        self._warn(f"{reason}; recording to {self.path} instead (free some space or fix the permissions; "
                   "files there may vanish at logout)")

    def _open(self, folder: Path) -> None:
        make_private_dir(folder)
        path = folder / self.name
        fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        self._wav_file = os.fdopen(fd, "wb")
        self._wav = wave.open(self._wav_file, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(RATE)
        self.path = path
        self._wav.writeframes(b"")  # the header goes to disk now: the file is a valid (empty) WAV at once
        self._wav_file.flush()

    def _discard_current(self) -> None:
        if self._wav is None:
            return
        for close in (self._wav.close, self._wav_file.close):  # the wave writer first: it flushes the file
            try:
                close()
            except (OSError, ValueError):
                pass
        self._wav = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def wav_bytes(samples: bytes) -> bytes:
    """A 16 kHz mono 16-bit WAV of ``samples`` in memory (when no file could be written)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(samples)
    return buffer.getvalue()
