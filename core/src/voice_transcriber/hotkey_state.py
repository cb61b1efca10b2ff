"""What the hotkey commands read, decide and say, with the cheapest parts of the standard library.

A held key runs its binding again and again (autorepeat: 5-7 times a second after the repeat
delay), each time as a whole ``voice-transcriber`` process. The executable answers the runs that
only look, ignore or signal before click, pydantic or a plugin loads (:mod:`voice_transcriber.hotkey`),
and the command line (:mod:`voice_transcriber.control`, ``cli/control_cmd.py``) decides with the same
functions here. So this module imports only ``os``, ``fcntl`` and ``time`` — not ``pathlib``,
``json`` (``re``) or ``signal`` (``enum``), a few milliseconds each on a 15 ms start — and takes
paths as strings; starting a recorder imports ``subprocess``. The files it reads and writes are small flat JSON objects (the PID file,
``last-stop.json``, ``last-toggle.json``). What a held key's autorepeat is, is decided in :mod:`.autorepeat`.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import time

from .files import open_private, private_dir

TYPE_CHECKING = False  # `typing` costs milliseconds on the hotkey path
if TYPE_CHECKING:
    from typing import Any

#: Shells a hotkey daemon runs a binding's command through (i3/sway ``exec`` run ``sh -c``).
SHELLS = frozenset({"sh", "dash", "bash", "zsh", "fish"})
#: Generous: under heavy load 50 queued toggles each hold the lock for a fork and an exec.
LOCK_TIMEOUT = 30.0


# --- process identity ------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` after the command name (which may contain spaces); None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def start_ticks(pid: int) -> int | None:
    """The kernel start time of a live process (None if it is gone or a zombie)."""
    fields = _stat_fields(pid)
    return None if fields is None or fields[0] in ("Z", "X") else int(fields[19])


def is_alive(pid: int, ticks: int | None) -> bool:
    """True if ``pid`` still runs and is the same process (not a later one reusing the PID)."""
    current = start_ticks(pid)
    return current is not None and (ticks is None or current == ticks)


def read_bytes(path: str) -> bytes:
    """The whole file at ``path`` (a small one: /proc entries, the state files)."""
    with open(path, "rb") as file:
        return file.read()


def fired_ticks(pid: int) -> int | None:
    """When the command run as process ``pid`` was fired, in kernel clock ticks since boot: its start
    time, or its parent's when the parent is a shell running just this one command (``sh -c CMD``)
    started less than a second before it — the ``sh -c`` a window manager runs a key binding
    through, forked at the key event, in order."""
    own = start_ticks(pid)
    fields = _stat_fields(pid)
    if own is None or fields is None:
        return own
    parent = int(fields[1])
    parent_ticks = start_ticks(parent)
    try:
        argv = read_bytes(f"/proc/{parent}/cmdline").rstrip(b"\0").split(b"\0")
        # a binding's `sh -c COMMAND`: one command, not a script running several (`stop; start`)
        shell = read_bytes(f"/proc/{parent}/comm").decode(errors="replace").strip() in SHELLS and len(argv) == 3 \
            and argv[1] == b"-c" and not any(mark in argv[2] for mark in (b";", b"&", b"|", b"\n"))
    except OSError:
        shell = False
    if shell and parent_ticks is not None and 0 <= own - parent_ticks <= os.sysconf("SC_CLK_TCK"):
        return parent_ticks
    return own


def boot_id() -> str:
    """This boot's id: kernel ticks from an earlier boot mean nothing now."""
    try:
        return read_bytes("/proc/sys/kernel/random/boot_id").decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""


# --- small JSON files ------------------------------------------------------------------------


class _ScannerContext:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder``: plain ``json.loads`` rules."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return float(name)  # NaN, Infinity, -Infinity, as json.loads reads them


def _loads(text: str) -> Any:
    """``json.loads(text)``; through ``_json``'s C scanner (the one ``json`` itself uses) when it can
    read all of ``text``, without importing ``json``'s Python layer and ``re``."""
    try:
        import _json

        start = len(text) - len(text.lstrip(" \t\n\r"))
        value, end = _json.make_scanner(_ScannerContext())(text, start)
        if not text[end:].strip(" \t\n\r"):
            return value
    except Exception:  # noqa: BLE001 - anything odd (bad JSON, another Python's scanner): json judges
        pass
    import json

    return json.loads(text)


def read_json(path: str | os.PathLike[str]) -> dict | None:
    """The JSON object in ``path``; None if it is missing, unreadable, malformed or not an object."""
    try:
        data = _loads(read_bytes(os.fspath(path)).decode("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _plain(value: object) -> bool:
    """A value :func:`_dumps` writes exactly as ``json.dumps`` does."""
    if value is None or type(value) is int:
        return True
    if type(value) is float:
        return value - value == 0  # finite: json writes nan and inf its own way
    return type(value) is str and value.isascii() and value.isprintable() and '"' not in value and "\\" not in value


def _dumps(data: dict) -> str:
    """``json.dumps(data)``: written here for a flat object of plain values, else by ``json``."""
    if all(type(key) is str and _plain(key) and _plain(value) for key, value in data.items()):
        return "{" + ", ".join(f'"{key}": ' + ("null" if value is None else f'"{value}"' if type(value) is str
                                               else repr(value)) for key, value in data.items()) + "}"
    import json

    return json.dumps(data)


def write_json_atomic(path: str | os.PathLike[str], data: dict) -> None:
    """Write ``data`` so readers see the old file or the new one, never half of one."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(_dumps(data))
    os.replace(tmp, path)


# --- the control lock ------------------------------------------------------------------------


def lock(path: str, timeout: float = LOCK_TIMEOUT) -> int | None:
    """A descriptor of ``path`` holding its exclusive ``flock`` (close it to release), or None when
    another process held the lock for ``timeout`` seconds (or ``flock`` failed otherwise)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline, pause = time.monotonic() + timeout, 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(pause)
            pause = min(pause * 2, 0.02)


def lock_held(path: str, timeout: float) -> str:
    return (f"another voice-transcriber command has held {path} for over {timeout:.0f} s "
            "(is one stopped with Ctrl-Z?); end it and retry")


# --- starting a background recorder --------------------------------------------------------

#: Set in a background recorder's environment (a reserved name, not a config key).
BACKGROUND_ENV = "VOICE_TRANSCRIBER_BACKGROUND"
#: Set by the user (or a test): background recorders run with ``--debug``, the hotkey commands as they are.
RECORDER_DEBUG_ENV = "VOICE_TRANSCRIBER_RECORDER_DEBUG"
LOG_ROTATE_BYTES = 1 << 20


def log_path() -> str:
    """``$XDG_STATE_HOME/voice-transcriber/recorder.log`` (``~/.local/state`` when the variable is unset,
    empty or relative, as the XDG Base Directory specification says)."""
    state = os.environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(state):
        state = os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "voice-transcriber", "recorder.log")


def open_log(runtime: str) -> tuple[int, str] | None:
    """The background recorder's log, opened for appending (rotated at 1 MiB): in the state dir, else in
    ``runtime`` (the state dir unwritable); None if neither can be written."""
    for log in (log_path(), os.path.join(runtime, "recorder.log")):
        try:
            private_dir(os.path.dirname(log), follow_symlink=True)
            if os.path.exists(log) and os.stat(log).st_size > LOG_ROTATE_BYTES:
                os.replace(log, log + ".1")
            return open_private(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND), log
        except OSError:
            continue
    return None


def spawn_recorder(argv: list[str], log: int) -> int:
    """Start ``python -m voice_transcriber ARGV`` in a session of its own, its output to the file ``log``;
    its PID. OSError if it cannot start. It starts with the signals a recorder understands blocked
    (SIGTERM/SIGUSR1 stop and transcribe, SIGUSR2 cancels), so one sent before its handlers exist
    waits instead of killing it; the capture unblocks them once its handlers are installed."""
    import signal
    import subprocess

    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2})
    try:
        process = subprocess.Popen([sys.executable, "-m", "voice_transcriber", *argv], stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=log, start_new_session=True, close_fds=True,
                                   env={**os.environ, BACKGROUND_ENV: "1", **_recorder_debug()})
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    process.returncode = 0  # never waited for: the recorder outlives the command by design
    return process.pid


def _recorder_debug() -> dict[str, str]:
    """``VOICE_TRANSCRIBER_RECORDER_DEBUG`` set: the recorder runs as with ``--debug`` (its log gets the
    timeline), while the hotkey commands keep their fast path (``--debug`` would send them through click)."""
    return {"VOICE_TRANSCRIBER_DEBUG": "1"} if os.environ.get(RECORDER_DEBUG_ENV) else {}


def recording_started(pid: int, log: str) -> str:
    return f"recording in the background (pid {pid}); stop with `voice-transcriber stop`, log: {log}"


def no_log(state_dir: str, runtime: str) -> str:
    return f"cannot write the recorder log in {state_dir} or {runtime} (check the permissions and free space)"


def cannot_start(reason: str) -> str:
    return f"cannot start the recorder: {reason} ({sys.executable})"


# --- what the commands say -------------------------------------------------------------------

NOTHING_RECORDING = "no recording is running (start one with `voice-transcriber start` or `toggle`)"


def already_recording(pid: int, started: float) -> str:
    return (f"already recording (pid {pid}, since {time.strftime('%H:%M:%S', time.localtime(started))}); "
            "stop it with `voice-transcriber stop`")


def signalled(pid: int, cancel: bool) -> str:
    verb = "cancelling (the audio is kept)" if cancel else "stopping; the text goes to the sinks"
    return f"{verb} — recorder pid {pid}"


def not_allowed(pid: int) -> str:
    return f"not allowed to signal the recorder (pid {pid}); was it started by another user?"
