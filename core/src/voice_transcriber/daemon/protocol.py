"""The daemon protocol: one JSON object per line over ``$XDG_RUNTIME_DIR/voice-transcriber/daemon.sock``.

A client connects, sends one request line and reads reply lines until one carries ``exit``::

    → {"v": 1, "command": "toggle", "args": ["--output", "typing"], "config": null, "debug": false,
       "quiet": false, "session": {"WAYLAND_DISPLAY": "wayland-1"}}
    ← {"out": "recording (run 20260126-014455-3fa2c1, daemon pid 4242); stop with `voice-transcriber stop`"}
    ← {"exit": 0}

``command`` is ``toggle``, ``start``, ``stop`` or ``cancel`` (``args`` as on their command
line, ``--wait`` included), or ``status``, ``reload`` or ``shutdown`` for ``voice-transcriber
daemon …``, or ``events``: a subscription to the run event stream (:mod:`voice_transcriber.events`)
answered by ``{"hello": STATUS}``, then one ``{"event": EVENT}`` line per event of every run, in
order, until the client hangs up (or ``{"exit": 0}`` when the daemon stops). ``config`` is the absolute path given with ``--config`` (null: the daemon's own);
``session`` holds the client's graphical-session variables (``DISPLAY``, ``WAYLAND_DISPLAY`` …,
see ``client.SESSION_VARS``), which the daemon adopts when a recording starts. Strings may hold
raw control characters except newlines (the client writes requests without the ``json`` module,
see :mod:`.client`).

Replies: ``{"out": LINE}`` and ``{"err": LINE}`` are printed by the client on stdout and
stderr; ``{"exit": CODE}`` ends the exchange (``"data"`` beside it carries the status
object); ``{"fallback": true}`` asks the client to do the job itself (a recorder the daemon
did not start is running).

The socket is mode 0600 in a 0700 directory, and the daemon checks every connection's
peer credentials (``SO_PEERCRED``): a process of another user (root included) is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..control import read_recorder
from ..errors import VoiceTranscriberError
from ..paths import runtime_dir
from ..redact import redact

TYPE_CHECKING = False  # socket, threading, struct and fcntl load in the functions that use them: the
if TYPE_CHECKING:      # launcher menu asks `recording_now()` and must start fast
    import socket
    from typing import Any

VERSION = 1
SOCKET_NAME = "daemon.sock"
#: A request line is a few hundred bytes; this bounds what a confused peer can make us buffer.
MAX_REQUEST = 64 * 1024
COMMANDS = ("toggle", "start", "stop", "cancel")
DAEMON_COMMANDS = ("status", "reload", "shutdown", "events")


class DaemonError(VoiceTranscriberError):
    """The daemon cannot start (another one runs, the socket cannot be created)."""


class ProtocolError(Exception):
    """A request that is not a line of JSON the daemon understands."""


def socket_path() -> Path:
    return runtime_dir() / SOCKET_NAME


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """The connected peer's (pid, uid, gid), as the kernel recorded them at ``connect()``."""
    import socket
    import struct

    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


def refusal(uid: int, allowed_uid: int) -> str | None:
    """Why a peer running as ``uid`` may not use a daemon of ``allowed_uid`` (None: it may)."""
    if uid == allowed_uid:
        return None
    return (f"the voice-transcriber daemon of uid {allowed_uid} only takes commands from its own user; "
            f"uid {uid} was refused (run the command as that user, or start your own daemon)")


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n"


def request(command: str, args: list[str] | None = None, config: str | None = None, debug: bool = False,
            quiet: bool = False, strict: bool = False) -> bytes:
    """A request line (``config``: the --config given to the command, made absolute here; ``strict``:
    unknown config keys are errors for this dictation)."""
    from .client import session

    return encode({"v": VERSION, "command": command, "args": args or [],
                   "config": os.path.abspath(config) if config else None, "debug": debug, "quiet": quiet,
                   "strict": strict, "session": session()})


def ask_status() -> dict[str, Any] | None:
    """The running daemon's status object; None when no daemon runs."""
    from .client import exchange

    final = exchange(request("status"), str(socket_path()), lambda message: None)
    return final.get("data") if final else None


def recording_now() -> bool:
    """True while a recording listens: a registered recorder (background or terminal) or the daemon's."""
    recorder = read_recorder()
    if recorder is not None and recorder.alive():
        return True
    status = ask_status()
    return bool(status and status.get("recording"))


def decode_request(line: bytes) -> dict[str, Any]:
    """Parse and check a request line; :class:`ProtocolError` says what is wrong with it."""
    try:
        request = json.loads(line.decode("utf-8"), strict=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"not a JSON line ({exc})") from None
    if not isinstance(request, dict):
        raise ProtocolError("a request is a JSON object")
    if request.get("v") != VERSION:
        raise ProtocolError(f"protocol version {request.get('v')!r}, this daemon speaks {VERSION} "
                            "(restart the daemon after an upgrade)")
    if request.get("command") not in (*COMMANDS, *DAEMON_COMMANDS):
        raise ProtocolError(f"unknown command {request.get('command')!r}")
    args = request.setdefault("args", [])
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise ProtocolError("args must be a list of strings")
    session = request.setdefault("session", {})
    if not isinstance(session, dict) or not all(isinstance(v, str) for v in session.values()):
        raise ProtocolError("session must map variable names to strings")
    config = request.get("config")
    if config is not None and not (isinstance(config, str) and os.path.isabs(config)):
        raise ProtocolError("config must be an absolute path or null")
    return request


def read_line(sock: socket.socket, limit: int = MAX_REQUEST) -> bytes:
    """Bytes up to the first newline (excluded); :class:`ProtocolError` if none within ``limit``."""
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ProtocolError("the client closed the connection before a full request line")
        data += chunk
        if len(data) > limit:
            raise ProtocolError(f"request longer than {limit} bytes")
    return data.split(b"\n", 1)[0]


class Reply:
    """Reply lines to one client. A client that went away is ignored: the dictation goes on."""

    def __init__(self, conn: socket.socket) -> None:
        import threading

        self.conn = conn
        self._lock = threading.Lock()
        self._gone = False

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            if self._gone:
                return
            try:
                self.conn.sendall(encode(message))
            except OSError:
                self._gone = True

    @property
    def gone(self) -> bool:
        """True once a send failed: the client hung up."""
        return self._gone

    def out(self, text: str) -> None:
        self.send({"out": text})

    def done(self, code: int = 0, **extra: Any) -> None:
        self.send({"exit": code, **extra})

    def fail(self, message: str, code: int = 1) -> None:
        self.send({"err": redact(f"voice-transcriber: error: {message}")})
        self.done(code)


def claim(lock_path: Path) -> int:
    """Hold ``daemon.lock`` for the daemon's life: a second daemon is refused, naming the first."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise already_running(owner) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def already_running(owner: str) -> DaemonError:
    """The refusal of a second daemon while daemon ``owner`` (its pid) holds the lock."""
    return DaemonError(f"a daemon is already running (pid {owner}); stop it with `voice-transcriber daemon stop` "
                       "or use it as it is")


def listen(path: str, accept_tick: float) -> socket.socket:
    """Bind the socket, 0600 from the start; a file left by a dead daemon is removed first (we hold the lock)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    import socket

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o177)
    try:
        listener.bind(path)
    except OSError as exc:
        listener.close()
        raise DaemonError(f"cannot create the daemon socket {path}: {exc.strerror or exc} "
                          "(a Unix socket path has at most 107 bytes: use a shorter $XDG_RUNTIME_DIR)") from None
    finally:
        os.umask(previous)
    listener.listen(64)
    listener.settimeout(accept_tick)
    return listener


class DaemonStream:
    """The daemon's event stream over its socket (the ``events`` request); None from :meth:`open` if no daemon runs.

    The first message is ``{"hello": {...daemon status...}}``; then ``{"event": {...}}`` lines,
    and ``{"exit": 0}`` when the daemon stops.
    """

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self._buffer = b""
        self.closed = False

    @classmethod
    def open(cls) -> DaemonStream | None:
        from .client import connect

        sock = connect(str(socket_path()))
        if sock is None:
            return None
        try:
            sock.sendall(request("events"))
        except OSError:
            sock.close()
            return None
        return cls(sock)

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self) -> list[dict[str, Any]]:
        """The messages that arrived (call when readable); sets :attr:`closed` when the daemon hung up."""
        try:
            chunk = self.sock.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            self.closed = True
            return []
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        messages = []
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                messages.append(message)
        return messages

    def close(self) -> None:
        self.sock.close()
