"""What wakes the daemon's accept loop from ``select``: a signal, or another thread asking it to look at its flags."""

from __future__ import annotations

import signal
import socket
from typing import Any


class WakeUp:
    """A socket pair a ``select`` loop waits on: signals write to it (``signal.set_wakeup_fd``, while in a ``with``)
    and so does :meth:`wake`, from any thread."""

    def __init__(self) -> None:
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._previous = -1

    def __enter__(self) -> WakeUp:
        self._previous = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        return self

    def __exit__(self, *exc: Any) -> None:
        signal.set_wakeup_fd(self._previous)
        self._read.close()

    def fileno(self) -> int:
        return self._read.fileno()

    def drain(self) -> None:
        """Empty it, so that the next ``select`` waits again."""
        try:
            while self._read.recv(256):
                pass
        except BlockingIOError:
            pass

    def wake(self) -> None:
        """Make the loop's ``select`` return now."""
        try:
            self._write.send(b"\0")
        except OSError:
            pass  # full (it is awake anyway) or closed (it has stopped)
