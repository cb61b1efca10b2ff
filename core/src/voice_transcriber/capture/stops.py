"""How a recording ends: signals, Enter and Ctrl-C become a stop or a cancel request.

While recording (handlers installed by :meth:`StopControl.install`, as early as possible):

* SIGINT (Ctrl-C), SIGTERM, SIGUSR1 — stop, keep a short tail, transcribe;
* a second SIGINT, or SIGUSR2 — cancel: stop at once, keep the file, do not transcribe (exit 130);
* Enter, when stdin is a terminal — stop and transcribe.

After the recording (:meth:`StopControl.after_recording`): SIGUSR1 is ignored (the
recording is already stopping), SIGINT and SIGUSR2 cancel the rest of the run (exit 130),
SIGTERM terminates as usual.

In the daemon a recording runs in a worker thread, where signal handlers cannot be
installed: :class:`ThreadStopControl` takes the same requests from other threads instead.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

from ..errors import Cancelled

TYPE_CHECKING = False  # imported before the microphone opens: no `typing`
if TYPE_CHECKING:
    from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
#: A pipe the signal handlers write a byte to, so that the recorder's sleep (:meth:`StopControl.wait`)
#: ends as soon as a stop or cancel arrives, not at its next look (one per process, made by ``install``)
_wake: tuple[int, int] | None = None


class StopControl:
    """Collects stop/cancel requests from signal handlers and the terminal."""

    def __init__(self) -> None:
        self.requested_at: float | None = None
        self.reason = ""
        self.cancelled = False
        #: True while the recorder's loop watches these requests; before that, a cancel aborts at once
        self.watched = False
        #: True when the stop was already pending as the handlers were installed, before any device
        #: opened (a hotkey's ``stop`` reached a recorder that was still starting): nothing to record
        self.before_recording = False
        self._previous: dict[int, Any] = {}

    def install(self) -> StopControl:
        """Take over SIGINT, SIGTERM, SIGUSR1 and SIGUSR2 (main thread only)."""
        global _wake
        if _wake is None:
            _wake = os.pipe()
            for end in _wake:
                os.set_blocking(end, False)
        handled = (signal.SIGINT, *STOP_SIGNALS, signal.SIGUSR2)
        for sig in handled:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        # A launcher may start us with these blocked so an early one cannot kill us; they are safe now.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, handled)
        return self

    def after_recording(self) -> None:
        """Signal meanings once the audio is captured (see the module docstring)."""
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGUSR2, _raise_cancelled)
        signal.signal(signal.SIGTERM, self._previous.get(signal.SIGTERM, signal.SIG_DFL))

    # These run inside signal handlers: plain assignments only. A lock here (threading.Event.set)
    # deadlocks when the signal lands while the main thread holds that same lock.
    def request_stop(self, reason: str) -> None:
        if self.requested_at is None:
            self.requested_at = time.monotonic()
            self.reason = reason

    def cancel(self, reason: str) -> None:
        self.cancelled = True
        self.reason = reason

    def wait(self, seconds: float, watch_stdin: bool) -> None:
        """Sleep ``seconds`` (the caller then looks at the requests), or until Enter if stdin is watched,
        or until a signal's request arrives (once :meth:`install` ran)."""
        watched = ([_wake[0]] if _wake is not None else []) + ([sys.stdin] if watch_stdin else [])
        if not watched:
            time.sleep(seconds)
            return
        try:
            ready, _, _ = select.select(watched, [], [], seconds)
        except (OSError, ValueError):  # stdin closed meanwhile (or the wake-up pipe: then a plain sleep)
            if not watch_stdin:
                time.sleep(seconds)
            return
        if _wake is not None and _wake[0] in ready:
            _drain(_wake[0])
        if watch_stdin and sys.stdin in ready:
            sys.stdin.readline()
            self.request_stop("Enter")

    def _on_signal(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if _wake is not None:
            try:  # wake the recorder's sleep (a plain write: no lock)
                os.write(_wake[1], b"\0")
            except OSError:  # full: a wake-up is pending anyway
                pass
        if signum == signal.SIGUSR2 or (signum == signal.SIGINT and self.requested_at is not None):
            self.cancel(name if signum == signal.SIGUSR2 else "second Ctrl-C")
            if not self.watched:  # still starting up (plugins, model, config): nothing to keep yet
                raise KeyboardInterrupt
        else:
            self.request_stop("Ctrl-C" if signum == signal.SIGINT else name)


def _drain(fd: int) -> None:
    """Read the wake-up pipe empty."""
    try:
        while os.read(fd, 512):
            pass
    except OSError:  # empty (BlockingIOError)
        pass


def _raise_cancelled(signum: int, frame: Any) -> None:
    raise Cancelled("cancelled by SIGUSR2 (the recording is kept; see `voice-transcriber retry`)")


class ThreadStopControl(StopControl):
    """Stop/cancel requests made by other threads (the daemon's clients); no signal handlers.

    Usable from a thread other than the main one. The recorder's wait wakes as soon as a
    request arrives (no signal handler here, so an event is safe).
    """

    def __init__(self) -> None:
        import threading

        super().__init__()
        self._event = threading.Event()

    def install(self) -> ThreadStopControl:
        return self

    def after_recording(self) -> None:
        """Nothing to restore: no handler was installed."""

    def request_stop(self, reason: str) -> None:
        super().request_stop(reason)
        self._event.set()

    def cancel(self, reason: str) -> None:
        super().cancel(reason)
        self._event.set()

    def wait(self, seconds: float, watch_stdin: bool) -> None:
        if self._event.wait(seconds):
            self._event.clear()  # one early wake-up per request, then the usual ticks (the tail)
