"""The run event stream: every state change of every run, pushed to whoever listens.

**Producers.** Every pipeline process — the daemon, a terminal ``record``, a background
recorder started by ``toggle`` without a daemon — emits an event from its
:class:`~voice_transcriber.context.RunContext` each time a run changes (:func:`emit_hook`).
Each event is

* appended to the journal ``$XDG_RUNTIME_DIR/voice-transcriber/events.jsonl`` — one line
  per event, written with one ``write()`` under ``events.lock`` (rotated to ``events.jsonl.1``
  past :data:`ROTATE_BYTES`), so lines of concurrent runs never interleave; and
* handed to this process's subscribers (:data:`hub`): in the daemon, the clients that sent
  the ``events`` request (``status --follow``, the tray).

**Consumers.** The daemon follows the journal (:class:`JournalTail`) and relays the events of
runs in *other* processes to its subscribers, so its stream holds every run on the machine
(for this user). ``status --follow`` subscribes to the daemon; without a daemon it follows
the journal itself. Following is inotify on the runtime directory: a blocked read, no CPU
while nothing happens, and no event is skipped (a line is read whole, in the order written).

An event is a JSON object::

    {"v": 1, "seq": 7, "run": "20260126-014455-3fa2c1", "pid": 4242, "time": 1769391895.2,
     "event": "recording", "state": "recording", "recording": "/…/20260126-014455-3fa2c1.flac"}

``event`` is one of :data:`EVENTS`; ``state`` is the run's state after it (``recording``,
``transcribing``, ``delivered``, ``failed``, or ``idle`` after a cancel); ``seq`` counts the
producing process's events (gaps would show a loss). Details: ``recording`` (the audio file,
for ``retry``), ``duration``, ``backend``, ``partial`` (the text decoded so far), ``sink``,
``text`` and ``sinks`` (delivered), ``error`` (failed), ``cancelled``.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import queue
import struct
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

VERSION = 1
JOURNAL = "events.jsonl"
ROTATE_BYTES = 512 * 1024
#: What a run goes through; ``partial``, ``transcript`` and ``sink`` keep the run's state.
EVENTS = ("recording", "recorded", "transcribing", "partial", "transcript", "sink", "delivered", "failed",
          "cancelled")
ENDINGS = ("delivered", "failed", "cancelled")
#: A subscriber that falls this far behind is cut off with an ``overflow`` event, never silently skipped.
SUBSCRIBER_LIMIT = 10_000


# --- the in-process hub ----------------------------------------------------------------------


class Subscription:
    """Events published after :meth:`Hub.subscribe`, in order; ``None`` from :meth:`get` ends the stream."""

    def __init__(self, hub: Hub, limit: int) -> None:
        self._hub, self._limit = hub, limit
        self._queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self.overflowed = False

    def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next event (blocks; :class:`queue.Empty` after ``timeout``); None when the hub closed."""
        return self._queue.get(timeout=timeout)

    def _put(self, event: dict[str, Any] | None) -> None:
        if self.overflowed:
            return
        if event is not None and self._queue.qsize() >= self._limit:
            self.overflowed = True
            self._queue.put({"v": VERSION, "event": "overflow", "error": f"more than {self._limit} events "
                             "were waiting for this subscriber: it was cut off (read faster, then subscribe again)"})
            self._queue.put(None)
            return
        self._queue.put(event)

    def close(self) -> None:
        self._hub.unsubscribe(self)


class Hub:
    """Fans events out to this process's subscribers. Publishing never blocks on a slow subscriber."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscription] = []
        self._seq = 0

    def subscribe(self, limit: int = SUBSCRIBER_LIMIT) -> Subscription:
        subscription = Subscription(self, limit)
        with self._lock:
            self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            subscription._put(event)

    def close(self) -> None:
        """End every subscription (the daemon is stopping)."""
        with self._lock:
            subscribers, self._subscribers = self._subscribers, []
        for subscription in subscribers:
            subscription._put(None)


hub = Hub()


# --- producing: from the run context's hooks ---------------------------------------------------


class _Runs:
    """What the events of each run in this process said so far (its state, the sinks that delivered)."""

    def __init__(self) -> None:
        self.state: dict[str, str] = {}
        self.sinks: dict[str, list[str]] = {}
        self.ended: deque[str] = deque(maxlen=64)


_runs = _Runs()
_emit_lock = threading.Lock()


def emit_hook(run: str, info: Mapping[str, Any], hook: str, kwargs: dict[str, Any],
              log: Callable[[str], None]) -> dict[str, Any] | None:
    """Turn one event hook of run ``run`` (its ``RunContext.info``) into an event (see the module
    docstring) and return the record published (None: nothing was); never raises: a failure
    goes to ``log``."""
    try:
        found = _translate(run, info, hook, kwargs)
        if found is not None:
            event, state, details = found
            return emit(run, event, state, **details) or None
    except Exception as exc:  # noqa: BLE001 - a status display is not worth failing a dictation
        log(f"could not publish the {hook} event: {type(exc).__name__}: {exc}")
    return None


def _translate(run: str, info: Mapping[str, Any], hook: str, kwargs: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    from .errors import Cancelled

    recording = info.get("recording")
    if hook == "vt_recording_started":
        return "recording", "recording", {"recording": recording}
    if hook == "vt_recording_stopped":
        audio = kwargs.get("audio")
        return "recorded", "transcribing", {"duration": round(audio.duration, 3) if audio is not None else None}
    if hook == "vt_transcription_started":
        return "transcribing", "transcribing", {"backend": kwargs.get("backend"), "recording": recording}
    if hook in ("vt_partial_text", "vt_transcript_ready", "vt_text_delivered") and run not in _runs.state:
        return None  # not a run of this process (`history show --output` delivers a stored text again)
    if hook == "vt_partial_text":
        return "partial", _runs.state.get(run, "transcribing"), {"partial": kwargs.get("text", "")}
    if hook == "vt_transcript_ready":
        return "transcript", "transcribing", {}
    if hook == "vt_text_delivered":
        _runs.sinks.setdefault(run, []).append(kwargs.get("sink", ""))
        return "sink", "transcribing", {"sink": kwargs.get("sink"), "text": kwargs.get("text")}
    if hook == "vt_pipeline_finished":
        text = kwargs["transcript"].text
        if not text.strip():
            return "failed", "failed", {"error": "no speech detected", "recording": recording}
        return "delivered", "delivered", {"text": text, "sinks": _runs.sinks.get(run, []),
                                          "backend": info.get("backend")}
    if hook == "vt_pipeline_failed":
        error = kwargs.get("error")
        if isinstance(error, (Cancelled, KeyboardInterrupt)):
            return "cancelled", "idle", {"cancelled": True, "recording": recording}
        from .redact import redact

        return "failed", "failed", {"error": redact(str(error)), "recording": recording,
                                    "outcome": getattr(error, "outcome", None)}  # DeliveredElsewhere: where the text is
    return None


def emit(run: str | None, event: str, state: str, **details: Any) -> dict[str, Any]:
    """Publish one event of run ``run`` of this process: to the journal and to :data:`hub`.

    Nothing is published for a run after its outcome (``{}`` is returned): events only move forward.
    """
    with _emit_lock:  # one process's events reach the journal in the order they happened
        if run is not None and run in _runs.ended:
            return {}  # a late partial text from a backend's thread: a run's outcome is its last event
        record = {"v": VERSION, "seq": hub.next_seq(), "run": run, "pid": os.getpid(), "time": time.time(),
                  "event": event, "state": state, **{k: v for k, v in details.items() if v is not None}}
        if run is not None:
            if event in ENDINGS:
                _runs.state.pop(run, None)
                _runs.sinks.pop(run, None)
                _runs.ended.append(run)
            else:
                _runs.state[run] = state
        try:
            append(record)
        except OSError:
            pass  # the runtime dir is gone or full: in-process subscribers still hear it
        hub.publish(record)
    return record


def ended(run: str | None) -> bool:
    """True once this process published ``run``'s outcome (delivered, failed or cancelled)."""
    return run is not None and run in _runs.ended


# --- the journal ------------------------------------------------------------------------------------


def journal_dir() -> Path:
    from .paths import runtime_dir

    return runtime_dir()


def append(record: dict[str, Any], directory: Path | None = None) -> None:
    """Append one event line to the journal (rotating it first when it grew past :data:`ROTATE_BYTES`)."""
    directory = directory or journal_dir()
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "replace")
    path = directory / JOURNAL
    lock = os.open(directory / "events.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_size > ROTATE_BYTES:
                os.replace(path, directory / (JOURNAL + ".1"))
        except FileNotFoundError:
            pass
        out = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(out, data)
        finally:
            os.close(out)
    finally:
        os.close(lock)  # releases the lock


IN_MODIFY, IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE = 0x2, 0x40, 0x80, 0x100
IN_NONBLOCK, IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
_HEADER = struct.Struct("iIII")


class JournalTail:
    """New journal lines as they are written, woken by inotify (no polling).

    Wait on :meth:`fileno` (``select``, ``loop.add_reader``), then call :meth:`read`. Lines
    written before the tail was opened are skipped; after that none is, across rotations.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or journal_dir()
        libc = ctypes.CDLL(None, use_errno=True)
        self._fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        mask = IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE
        if libc.inotify_add_watch(self._fd, os.fsencode(self.directory), mask) < 0:
            errno = ctypes.get_errno()
            os.close(self._fd)
            raise OSError(errno, f"cannot watch {self.directory}: {os.strerror(errno)}")
        self._file: Any = None
        self._partial = b""
        self._open(at_end=True)

    def fileno(self) -> int:
        return self._fd

    def _open(self, at_end: bool) -> None:
        try:
            self._file = open(self.directory / JOURNAL, "rb")  # noqa: SIM115 - kept open across reads
        except FileNotFoundError:
            self._file = None
            return
        if at_end:
            self._file.seek(0, os.SEEK_END)

    def _drain(self) -> list[dict[str, Any]]:
        if self._file is None:
            return []
        data = self._partial + self._file.read()
        lines = data.split(b"\n")
        self._partial = lines.pop()
        found = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # not ours (someone wrote into our runtime dir): skip it
            if isinstance(record, dict):
                found.append(record)
        return found

    def read(self) -> list[dict[str, Any]]:
        """Every complete line written since the last call (may be empty)."""
        try:
            raw = os.read(self._fd, 65536)
        except BlockingIOError:
            raw = b""
        found: list[dict[str, Any]] = []
        offset = 0
        while offset + _HEADER.size <= len(raw):
            _, mask, _, length = _HEADER.unpack_from(raw, offset)
            name = raw[offset + _HEADER.size: offset + _HEADER.size + length].rstrip(b"\0")
            offset += _HEADER.size + length
            if name != JOURNAL.encode():
                continue
            if mask & IN_MOVED_FROM:  # rotated: finish the old file, the next one starts empty
                found += self._drain()
                if self._file is not None:
                    self._file.close()
                self._file, self._partial = None, b""
            elif self._file is None:
                self._open(at_end=False)
        found += self._drain()
        return found

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        os.close(self._fd)


def follow_journal(directory: Path | None = None) -> Iterator[dict[str, Any]]:
    """Every event written to the journal from now on (blocks between them)."""
    import select

    tail = JournalTail(directory)
    try:
        while True:
            select.select([tail], [], [])
            yield from tail.read()
    finally:
        tail.close()
