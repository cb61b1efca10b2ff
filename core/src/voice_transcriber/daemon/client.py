"""The client side: hand a hotkey command to the running daemon, or say there is none.

:func:`fast_path` runs first thing in the executable (``voice_transcriber.__main__``), before
click, pydantic and the plugins: with a daemon running, ``voice-transcriber toggle`` costs
little more than starting the interpreter. So this module imports only what the interpreter
has loaded already, plus ``_socket``: the ``socket`` module (enum, selectors) and ``json``
(re) would each add about 5 ms to a 10 ms start, and the request line is written by hand
(:func:`request_line`). Replies are read after the daemon has the request, with ``json``.
"""

from __future__ import annotations

import _socket
import os
import sys

TYPE_CHECKING = False  # `typing` costs milliseconds on the hotkey path
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

VERSION = 1  # protocol.VERSION (not imported: protocol pulls in json and socket)
COMMANDS = ("toggle", "start", "stop", "cancel")
ROOT_FLAGS = ("--debug", "--quiet", "-q")
#: The graphical session a command runs in: a daemon started before it (systemd at login) learns it
#: from its clients, so that typing, the clipboard and notifications reach the right display.
SESSION_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "SWAYSOCK", "HYPRLAND_INSTANCE_SIGNATURE",
                "XDG_CURRENT_DESKTOP", "XDG_SESSION_TYPE", "DBUS_SESSION_BUS_ADDRESS")
#: How long the daemon may take to answer at all (it opens the microphone first, then answers).
FIRST_REPLY_TIMEOUT = 30.0

#: Set by :func:`fast_path` when the CLI must act itself (no daemon, or the daemon handed the
#: command back): the click command then does not ask again.
skip = False


def fast_path(argv: list[str]) -> None:
    """If ``argv`` is a hotkey command and a daemon answers, let it act and exit with its code."""
    global skip
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    request = parse(argv)
    if request is None or not runtime.startswith("/"):
        return  # not ours, or no runtime dir: the CLI finds the socket the careful way (control.runtime_dir)
    line = request_line(request)
    if line is None:
        return
    try:
        code = forward(line, f"{runtime}/voice-transcriber/daemon.sock")
    except KeyboardInterrupt:  # Ctrl-C on `stop --wait`: this client stops waiting, the daemon carries on
        relay({"err": "voice-transcriber: error: cancelled (the daemon carries on; see `voice-transcriber status`)"})
        sys.exit(130)
    if code is None:
        skip = True
        return
    sys.exit(code)


def parse(argv: list[str]) -> dict[str, Any] | None:
    """The request for ``[--config F] [--debug] [-q] [--strict] COMMAND ARGS…``; None if it is not a hotkey command."""
    request: dict[str, Any] = {"v": VERSION, "config": None, "debug": bool(os.environ.get("VOICE_TRANSCRIBER_DEBUG")),
                               "quiet": False}
    position = 0
    while position < len(argv) and argv[position].startswith("-"):
        arg = argv[position]
        if arg == "--config" and position + 1 < len(argv) and argv[position + 1]:
            request["config"] = os.path.abspath(argv[position + 1])
            position += 1
        elif arg.startswith("--config=") and len(arg) > 9:
            request["config"] = os.path.abspath(arg[9:])
        elif arg in ROOT_FLAGS:
            request["debug" if arg == "--debug" else "quiet"] = True
        elif arg == "--strict":
            request["strict"] = True
        else:
            return None
        position += 1
    if position >= len(argv) or argv[position] not in COMMANDS:
        return None
    args = argv[position + 1:]
    if "--help" in args or "-h" in args:
        return None  # the CLI prints the help
    request.update(command=argv[position], args=args, session=session())
    return request


def session() -> dict[str, str]:
    """This command's graphical-session variables (see :data:`SESSION_VARS`)."""
    return {name: os.environ[name] for name in SESSION_VARS if os.environ.get(name)}


def request_line(request: dict[str, Any]) -> bytes | None:
    """``request`` (str, int, bool, None, lists and dicts of them) as one JSON line; None if it cannot be encoded."""
    def value(item: Any) -> str:
        if item is None or isinstance(item, bool):
            return {None: "null", True: "true", False: "false"}[item]
        if isinstance(item, int):
            return str(item)
        if isinstance(item, list):
            return "[" + ", ".join(value(part) for part in item) + "]"
        if isinstance(item, dict):
            return "{" + ", ".join(f"{value(key)}: {value(part)}" for key, part in item.items()) + "}"
        # The daemon parses with strict=False: control characters may stay raw, except the newline that ends the line.
        text = str(item).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        return '"' + text + '"'

    try:
        return (value(request) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in argv (surrogates): the CLI reports them
        return None


def forward(line: bytes, path: str) -> int | None:
    """Send ``line`` to the daemon at ``path`` and relay its replies; its exit code, or None without a daemon."""
    final = exchange(line, path, relay)
    if final is None or final.get("fallback"):
        return None
    return int(final.get("exit", 1))


def relay(message: dict[str, Any]) -> None:
    """Print a reply line where the daemon says (stdout or stderr)."""
    for key, stream in (("out", sys.stdout), ("err", sys.stderr)):
        if isinstance(message.get(key), str) and stream is not None:
            try:
                stream.write(message[key] + "\n")
                stream.flush()
            except (OSError, ValueError):  # closed by whoever started us (a hotkey daemon): the exit code remains
                pass


def exchange(line: bytes, path: str, on_message: Callable[[dict[str, Any]], None], *,
             quiet: bool = False) -> dict[str, Any] | None:
    """Send one request; pass each reply to ``on_message``; return the final one (None: no daemon).
    ``quiet``: as :func:`connect`'s (for a caller that only asks whether a daemon answers)."""
    sock = connect(path, quiet=quiet)
    if sock is None:
        return None
    try:
        try:
            sock.sendall(line)
        except OSError:
            pass  # the daemon hung up first (it refused us): its reply is waiting to be read
        return _read_replies(sock, on_message)
    finally:
        sock.close()


def connect(path: str, *, quiet: bool = False) -> Any:
    """A connected socket to a daemon of this user; None when no daemon listens (a note if it died).

    ``quiet``: None, without a word, for anything but a daemon of this user answering (a stale socket,
    one that cannot be reached or is another user's)."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except (FileNotFoundError, NotADirectoryError):
        sock.close()
        return None
    except ConnectionRefusedError:
        sock.close()
        if not quiet:
            relay({"err": f"voice-transcriber: the daemon socket {path} is stale (the daemon is gone); "
                          "working without it — restart it with `voice-transcriber daemon`"})
        return None
    except OSError as exc:
        sock.close()
        if exc.errno is None or quiet:  # e.g. a path too long for a Unix socket: no daemon can listen there
            return None
        _fail(f"cannot reach the daemon at {path}: {exc.strerror} (is it another user's? remove the socket "
              "or fix $XDG_RUNTIME_DIR)")
    owner = int.from_bytes(sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)[4:8], sys.byteorder)
    if owner != os.getuid():
        sock.close()
        if quiet:
            return None
        _fail(f"the daemon socket {path} is served by uid {owner}, not by you (uid {os.getuid()}); "
              "remove it, and check $XDG_RUNTIME_DIR")
    return sock


def _read_replies(sock: Any, on_message: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    import json

    sock.settimeout(FIRST_REPLY_TIMEOUT)
    buffer = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            _fail(f"the daemon did not answer within {FIRST_REPLY_TIMEOUT:.0f} s (is it stuck? restart it: "
                  "`voice-transcriber daemon stop`, then start it again)")
        except OSError:
            chunk = b""  # reset by a dying daemon: reported below
        if not chunk:
            _fail("the daemon closed the connection without finishing (did it crash? see its log, e.g. "
                  "`journalctl --user -u voice-transcriber`)")
        sock.settimeout(None)  # it answered: with --wait the run may take as long as it takes
        buffer += chunk
        while b"\n" in buffer:
            raw, buffer = buffer.split(b"\n", 1)
            message = json.loads(raw.decode("utf-8"))
            on_message(message)
            if "exit" in message or message.get("fallback"):
                return message


def _fail(message: str) -> None:
    relay({"err": f"voice-transcriber: error: {message}"})
    sys.exit(1)
