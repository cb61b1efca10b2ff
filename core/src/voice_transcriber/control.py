"""Recorders started from hotkeys: who is recording, starting one in the background, stopping it.

Everything lives in ``$XDG_RUNTIME_DIR/voice-transcriber/`` (mode 0700):

``control.lock``
    ``flock``-ed by ``toggle``/``start``/``stop``/``cancel`` (and by a recorder registering
    itself) for the few milliseconds they look and act, so concurrent commands — 50 rapid
    toggles — see one consistent state. The kernel drops the lock when its holder dies, so
    a killed command never leaves it stuck.
``recorder.json``
    The PID file of the recorder currently listening: its PID and kernel start time (which
    tells it from a later process reusing the PID), when it started and its log file. It is
    removed as soon as the recorder is told to stop or stops by itself, so the next toggle
    starts a new recording while the previous one is still being transcribed. A file naming a
    process that no longer exists is stale: the next command removes it.
``runs/``
    The state each pipeline process publishes (:mod:`voice_transcriber.runstate`).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from . import autorepeat, hotkey_state
from .errors import ControlError
from .paths import runtime_dir

BACKGROUND_ENV = hotkey_state.BACKGROUND_ENV
LOCK_TIMEOUT = hotkey_state.LOCK_TIMEOUT
LOG_ROTATE_BYTES = hotkey_state.LOG_ROTATE_BYTES


# The state files and process identity live in :mod:`.hotkey_state`, the key-autorepeat rules in :mod:`.autorepeat`,
# which the executable's fast path (:mod:`.hotkey`) uses before anything heavy is imported; these names stay here.
write_json_atomic = hotkey_state.write_json_atomic
read_json = hotkey_state.read_json
start_ticks = hotkey_state.start_ticks
is_alive = hotkey_state.is_alive
fired_ticks = hotkey_state.fired_ticks
STALE_START = autorepeat.STALE_START
repeated_toggle_message = autorepeat.repeated_toggle_message


# --- push-to-talk: a start fired by the key hold that the last stop ended ----------------------


def note_stop(fired: int | None) -> None:
    """A ``stop`` fired at ``fired`` ticks was handled (hold the lock): starts fired before it are stale."""
    if fired is not None:
        write_json_atomic(runtime_dir() / "last-stop.json", autorepeat.stop_record(fired))


def stale_start(fired: int | None) -> bool:
    """True for a ``start`` fired no later than the last ``stop`` (hold the lock): the same key hold,
    repeated by the keyboard's autorepeat while the key was down, reaching us after the release's stop."""
    return fired is not None and autorepeat.stale_start(fired, read_json(runtime_dir() / "last-stop.json"))


def repeated_toggle(fired: int | None, guard: float, own: int | None = None) -> float | None:
    """For a ``toggle --repeat-guard GUARD`` fired at ``fired`` ticks (hold the lock): the seconds
    since the previous guarded toggle was fired when that is less than ``guard`` (a held key's
    autorepeat), else None; see :func:`.autorepeat.toggle_repeat`. ``own``: the PID of the toggle
    process asking (the command line's), whose fellow toggles still running count too."""
    if fired is None or guard <= 0:
        return None
    path = runtime_dir() / "last-toggle.json"
    gap, record = autorepeat.guarded_toggle(fired, guard, read_json(path), own)
    if record is not None:
        write_json_atomic(path, record)
    return gap


# --- the lock and the PID file ---------------------------------------------------------------


@contextmanager
def control_lock(timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold ``control.lock`` (exclusive ``flock``) for the duration of the block."""
    path = str(runtime_dir() / "control.lock")
    fd = hotkey_state.lock(path, timeout)
    if fd is None:
        raise ControlError(hotkey_state.lock_held(path, timeout))
    try:
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@dataclass(frozen=True)
class Recorder:
    """The process registered as the one recording now."""

    pid: int
    ticks: int | None
    started: float
    log: str | None = None

    def alive(self) -> bool:
        return is_alive(self.pid, self.ticks)


def _pid_file() -> Path:
    return runtime_dir() / "recorder.json"


def read_recorder() -> Recorder | None:
    """The registered recorder as the PID file says (it may be stale; see :func:`claim`)."""
    data = read_json(_pid_file())
    if not data or not isinstance(data.get("pid"), int):
        return None
    return Recorder(data["pid"], data.get("ticks"), float(data.get("started", 0)), data.get("log"))


def current_recorder(on_stale: Callable[[Recorder], None] | None = None) -> Recorder | None:
    """The live registered recorder; a PID file naming a dead process is removed. Hold the lock."""
    recorder = read_recorder()
    if recorder is None or recorder.alive():
        return recorder
    _pid_file().unlink(missing_ok=True)
    if on_stale:
        on_stale(recorder)
    return None


def register(recorder: Recorder) -> None:
    write_json_atomic(_pid_file(), asdict(recorder))


def unregister(pid: int) -> None:
    """Remove the PID file if it names ``pid``. Hold the lock."""
    recorder = read_recorder()
    if recorder is not None and recorder.pid == pid:
        _pid_file().unlink(missing_ok=True)


# --- what the recorder process itself calls --------------------------------------------------


def recorder_listening() -> None:
    """The recording started (``RunContext.recording_started``): a terminal recording registers itself.

    Then ``stop``/``toggle`` reach it too, unless another recorder is registered (and only if it
    handles SIGUSR1, as the capture does: a library user's process is left alone). A background
    recorder does nothing here: :func:`spawn_recorder` registered it, and if it is no longer
    registered it was told to stop already.
    """
    if os.environ.get(BACKGROUND_ENV) or signal.getsignal(signal.SIGUSR1) in (signal.SIG_DFL, signal.SIG_IGN, None):
        return  # a process that does not handle SIGUSR1 would be killed, not stopped, by `stop`
    pid = os.getpid()
    try:
        with control_lock(timeout=1.0):
            if current_recorder() is None:
                register(Recorder(pid, start_ticks(pid), time.time()))
    except (ControlError, OSError):
        pass  # the recording itself matters more than being reachable by `stop`


def recorder_done() -> None:
    """This process stopped recording: the next ``toggle`` may start a new recorder."""
    try:
        recorder = read_recorder()
        if recorder is not None and recorder.pid == os.getpid():
            with control_lock(timeout=1.0):
                unregister(recorder.pid)
    except (ControlError, OSError):
        pass  # a PID file left behind names a process that will be gone: it is stale, and cleaned


# --- what control commands call (under :func:`control_lock`) ---------------------------------


def log_path() -> Path:
    return Path(hotkey_state.log_path())


def spawn_recorder(argv: Sequence[str]) -> Recorder:
    """Start ``voice-transcriber ARGV`` detached from the terminal and register it. Hold the lock."""
    opened = hotkey_state.open_log(str(runtime_dir()))
    if opened is None:
        raise ControlError(hotkey_state.no_log(str(log_path().parent), str(runtime_dir())))
    fd, log = opened
    try:
        pid = hotkey_state.spawn_recorder(list(argv), fd)
    except OSError as exc:
        raise ControlError(hotkey_state.cannot_start(str(exc.strerror or exc))) from None
    finally:
        os.close(fd)
    recorder = Recorder(pid, start_ticks(pid), time.time(), str(Path(log)))
    register(recorder)
    return recorder


def signal_recorder(recorder: Recorder, signum: int) -> None:
    """Send ``signum`` and unregister: a recorder told to stop or cancel is no longer listening."""
    try:
        os.kill(recorder.pid, signum)
    except ProcessLookupError:
        pass  # it ended on its own between the check and now; nothing left to stop
    except PermissionError:
        raise ControlError(hotkey_state.not_allowed(recorder.pid)) from None
    unregister(recorder.pid)
