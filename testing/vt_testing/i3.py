"""X11 with a real window manager: Xvfb managed by i3, for the focus and push-to-talk tests.

* ``i3_session`` (session): Xvfb + i3; ``i3`` (per test) points ``DISPLAY`` at it, hides Wayland, starts on
  workspace 1 and closes the test's windows after it. :meth:`I3Desktop.open_tk` opens a focused Tk text window.
* :func:`launch_i3`: an Xvfb + i3 of a test's own, with key bindings and key autorepeat.

i3 is driven over its IPC socket from this process (:func:`i3_ipc`), not with an ``i3-msg`` process each time.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vt_testing.desktop import HIDDEN_SESSION_VARS, Target, file_reader, kill_clients, require, stop, wait_until
from vt_testing.x11 import give_x_focus, spawn_tk, start_xvfb

I3_CONFIG = """\
# i3 config file (v4)  (written by the test fixture)
ipc-socket {socket}
font pango:monospace 8
focus_follows_mouse no
default_border none
default_floating_border none
{bindings}
"""


#: i3's IPC message types (https://i3wm.org/docs/ipc.html) the tests use: 0 is RUN_COMMAND.
I3_MESSAGE_TYPES = {"get_tree": 4, "get_version": 7}


def i3_ipc(socket_path: str, kind: int, payload: str = "", timeout: float = 10) -> list | dict:
    """One i3 IPC request (``"i3-ipc"``, payload length and type as native uint32, the payload) and its JSON reply."""
    import socket
    import struct

    body = payload.encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(socket_path)
        conn.sendall(b"i3-ipc" + struct.pack("=II", len(body), kind) + body)

        def read(count: int) -> bytes:
            data = b""
            while len(data) < count:
                chunk = conn.recv(count - len(data))
                if not chunk:
                    raise ConnectionError(f"i3 closed its IPC socket {socket_path} mid-reply")
                data += chunk
            return data

        length, _ = struct.unpack("=II", read(14)[6:])
        return json.loads(read(length))


@dataclass
class I3Desktop:
    """An Xvfb (with key autorepeat: ``-ardelay``/``-arinterval``) managed by i3."""

    display: str
    socket: str
    config: Path
    xvfb: subprocess.Popen
    proc: subprocess.Popen
    tmp: Path
    windows: list[subprocess.Popen] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.display}

    def msg(self, *args: str) -> list | dict:
        """What ``i3-msg ARGS`` does (a command, or ``-t get_tree``/``get_version``), over i3's IPC socket
        from this process (tests poll the tree every 30 ms: an ``i3-msg`` process each time would cost
        more than what it waits for); the JSON reply. Raises when i3 says a command failed."""
        kind, payload = (I3_MESSAGE_TYPES[args[1]], "") if args[:1] == ("-t",) else (0, " ".join(args))
        reply = i3_ipc(self.socket, kind, payload)
        if isinstance(reply, list) and any(isinstance(r, dict) and r.get("success") is False for r in reply):
            raise RuntimeError(f"i3-msg {' '.join(args)}: {reply}")
        return reply

    def bind(self, bindings: str) -> None:
        """Replace the config's key bindings and reload it."""
        self.config.write_text(I3_CONFIG.format(socket=self.socket, bindings=bindings))
        self.msg("reload")
        time.sleep(0.3)  # i3 re-grabs the keys after answering

    def focused_node(self) -> dict | None:
        def find(node):
            if node.get("focused"):
                return node
            return next(filter(None, map(find, node.get("nodes", []) + node.get("floating_nodes", []))), None)

        return find(self.msg("-t", "get_tree"))

    def focused_title(self) -> str | None:
        node = self.focused_node()
        return node.get("name") if node and node.get("window") else None

    def _take_focus(self) -> None:
        """Tk answers i3's WM_TAKE_FOCUS lazily: give the X input focus to the window i3 focused, as
        the application itself would (a click does both)."""
        node = self.focused_node()
        if node and node.get("window"):
            give_x_focus(self.display, int(node["window"]))

    def open_tk(self, title: str, *, window_type: str | None = None) -> Target:
        """A Tk text window titled ``title``, focused by i3 (its text is read back from a file)."""
        proc, out = spawn_tk(self.tmp, title, self.env(), window_type=window_type)
        self.windows.append(proc)
        wait_until(lambda: out.exists() and self.focused_title() == title, 15, f"{title} to open with the focus")
        self._take_focus()
        return Target(file_reader(out), proc, extra={"title": title})

    def focus(self, title: str) -> None:
        self.msg(f'[title="^{title}$"] focus')
        wait_until(lambda: self.focused_title() == title, 5, f"{title} to get the focus")
        self._take_focus()

    def close_windows(self) -> None:
        for proc in self.windows:
            stop(proc)
        self.windows.clear()


@contextmanager
def launch_i3(tmp: Path, env: dict[str, str] | None = None, bindings: str = "",
              autorepeat: tuple[int, int] = (250, 40)) -> Iterator[I3Desktop]:
    """Xvfb + i3 4.x (``autorepeat``: a held key repeats after 250 ms, then every 40 ms, like a desktop's), run
    with ``env`` (default: ours) — the environment i3's ``exec`` bindings get."""
    require("Xvfb", "i3", "xdotool", "xclip")
    log = (tmp / "x.log").open("wb")
    xvfb, number = start_xvfb(log, "-ardelay", str(autorepeat[0]), "-arinterval", str(autorepeat[1]))
    display = f":{number}"
    env = {**(os.environ if env is None else env), "DISPLAY": display}
    socket, config = str(tmp / "i3.sock"), tmp / "i3.conf"
    config.write_text(I3_CONFIG.format(socket=socket, bindings=bindings))
    proc = None
    try:
        wait_until(lambda: xvfb.poll() is not None or subprocess.run(
            ["xdotool", "getdisplaygeometry"], env=env, capture_output=True).returncode == 0, 10, "Xvfb")
        proc = subprocess.Popen(["i3", "-c", str(config)], env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        desktop = I3Desktop(display, socket, config, xvfb, proc, tmp)
        wait_until(lambda: proc.poll() is not None or (Path(socket).exists() and _i3_answers(socket)), 15, "i3")
        assert proc.poll() is None, f"i3 exited: see {tmp / 'x.log'}"
        yield desktop
    finally:
        kill_clients("DISPLAY", display)
        if proc is not None:
            stop(proc)
        stop(xvfb)
        log.close()


def _i3_answers(socket_path: str) -> bool:
    try:
        return bool(i3_ipc(socket_path, I3_MESSAGE_TYPES["get_version"], timeout=2))
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="session")
def i3_session(tmp_path_factory) -> Iterator[I3Desktop]:
    """Xvfb + i3 for the session's focus tests."""
    with launch_i3(tmp_path_factory.mktemp("i3")) as desktop:
        yield desktop


@pytest.fixture
def i3(i3_session, monkeypatch) -> Iterator[I3Desktop]:
    """This test runs under i3: ``DISPLAY`` set, Wayland hidden; its windows are closed after it,
    and it starts on workspace 1."""
    monkeypatch.setenv("DISPLAY", i3_session.display)
    for var in ("WAYLAND_DISPLAY", *HIDDEN_SESSION_VARS):
        monkeypatch.delenv(var, raising=False)
    i3_session.msg("workspace 1")
    try:
        yield i3_session
    finally:
        i3_session.close_windows()
