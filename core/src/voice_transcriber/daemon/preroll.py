"""The pre-roll: the microphone kept open between dictations, holding its last few hundred ms.

Off by default (``daemon.prerollMs``: 0). When on, the words spoken just before the hotkey
are at the start of the recording. The price is privacy: the microphone is open for as long
as the daemon runs (desktops show their "microphone in use" indicator), although the audio
only lives in memory, at most ``prerollMs`` of it, and reaches the disk only as the start of
a recording the user asked for.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

from ..errors import VoiceTranscriberError

if TYPE_CHECKING:
    from ..capture.microphone import Microphone

TRIM_EVERY = 0.05  #: seconds between two trims of the buffer


class PreRoll:
    """An open microphone whose queue is trimmed to the last ``ms`` milliseconds until a recording takes it."""

    def __init__(self, ms: int, device: str | None) -> None:
        self.ms, self.device = ms, device
        self._mic: Microphone | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._trim_loop, name="preroll", daemon=True).start()

    def open(self) -> None:
        """Open the microphone (again, after a recording took it); a failure is logged, not raised."""
        from ..capture.microphone import Microphone

        with self._lock:
            if self._mic is not None or self._closed.is_set():
                return
            try:
                self._mic = Microphone(self.device)
            except VoiceTranscriberError as exc:
                print(f"voice-transcriber daemon: no pre-roll: {exc}", file=sys.stderr, flush=True)

    def take(self, device: str | None) -> Microphone | None:
        """The running microphone with its buffered audio, if it is ``device``; the pre-roll is then empty."""
        with self._lock:
            mic = self._mic
            if mic is None or device != self.device or not mic.stream.active:
                return None
            self._mic = None
            return mic

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self._mic is not None:
                self._mic.close()
                self._mic = None

    def _trim_loop(self) -> None:
        while not self._closed.wait(TRIM_EVERY):
            with self._lock:
                if self._mic is not None:
                    _trim(self._mic, self._mic.rate * 2 * self.ms // 1000)


def reconfigured(preroll: PreRoll | None, ms: int, device: str | None, *, idle: bool) -> PreRoll | None:
    """The pre-roll for ``ms`` and ``device``: ``preroll`` when it is that already, else a new one (opened now
    when no recording is listening) or none for 0 ms; the one replaced is closed."""
    if preroll is not None and (preroll.ms, preroll.device) == (ms, device):
        return preroll
    if preroll is not None:
        preroll.close()
    if not ms:
        return None
    new = PreRoll(ms, device)
    if idle:
        new.open()
    return new


def _trim(mic: Microphone, keep_bytes: int) -> None:
    """Drop the oldest blocks beyond ``keep_bytes`` (PortAudio's thread appends at the other end)."""
    blocks = mic.blocks
    try:
        total = sum(map(len, list(blocks)))
    except RuntimeError:  # appended to while copied: trim at the next tick
        return
    while blocks and total - len(blocks[0]) >= keep_bytes:
        total -= len(blocks.popleft())
