"""A warm daemon in a private world (short runtime dir, own XDG dirs, the virtual mic), for tests and bench/.

:class:`DaemonWorld` starts ``voice-transcriber daemon`` as users do and runs the installed
executable against it; :class:`EventLog` records the daemon's pushed event stream (the
``events`` request) in a thread, as an outside subscriber sees it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from vt_testing.core import seed_plugin_index
from vt_testing.desktop import stop
from vt_testing.recorder import heard_until_now

VT = str(Path(sys.executable).with_name("voice-transcriber"))


class DaemonWorld:
    """XDG dirs of its own under a short /tmp root (Unix socket paths are limited); the daemon process in it.

    The config file says: formatter off, backend ``local`` (``model``), every dictation appended to
    ``dictations``; ``config`` adds or replaces top-level keys (:meth:`write_config` rewrites it).
    As a context manager (``with DaemonWorld(...) as world:``) it is closed at the end of the block.
    """

    def __init__(self, pulse_env: dict[str, str], model: Path, config: dict[str, Any] | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="vtw-", dir="/tmp"))
        self.runtime = self.root / "run"
        self.runtime.mkdir(mode=0o700)
        self.dictations = self.root / "dictations.txt"
        env = {**os.environ, **pulse_env, "XDG_RUNTIME_DIR": str(self.runtime),
               "XDG_STATE_HOME": str(self.root / "state"), "XDG_CONFIG_HOME": str(self.root / "config"),
               "XDG_CACHE_HOME": str(self.root / "cache"), "XDG_DATA_HOME": str(self.root / "data"),
               "HF_HUB_OFFLINE": "1"}
        self.env = {k: v for k, v in env.items() if not k.startswith("VOICE_TRANSCRIBER_")}
        self.env["VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL"] = str(model)
        self.env.update(extra_env or {})
        self.config_file = self.root / "config" / "voice-transcriber" / "config.json"
        self.config_file.parent.mkdir(parents=True)
        seed_plugin_index(self.root / "cache")  # a user's cache holds it after their first command
        self.write_config(config or {})
        self.process: subprocess.Popen | None = None
        self.log = self.root / "daemon.log"

    @property
    def socket(self) -> Path:
        return self.runtime / "voice-transcriber" / "daemon.sock"

    @property
    def recordings(self) -> Path:
        return self.root / "state" / "voice-transcriber" / "recordings"

    def write_config(self, config: dict[str, Any] | str) -> None:
        """The default config with ``config``'s top-level keys on top; a string is written as it is."""
        data = config if isinstance(config, str) else json.dumps({
            "formatterEnabled": False, "transcription": {"backend": "local"},
            "output": {"sinks": ["append-file"], "appendFile": {"path": str(self.dictations), "timestamp": False}},
            **config})
        self.config_file.write_text(data, encoding="utf-8")

    def start_daemon(self, timeout: float = 60) -> subprocess.Popen:
        """Start ``voice-transcriber daemon``; return once it answers on its socket."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([VT, "daemon"], env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        # asked over the socket from here: a `daemon status` process every poll took more CPU than the start-up
        while (status := self.ask("status")) is None or status.get("data", {}).get("pid") != self.process.pid:
            assert self.process.poll() is None, f"the daemon exited: {self.log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "the daemon did not answer"
            time.sleep(0.05)
        return self.process

    def ask(self, command: str, timeout: float = 30) -> dict[str, Any] | None:
        """The daemon's final reply to ``command`` (``status``, ``reload``, …) sent over its socket as
        ``voice-transcriber daemon COMMAND`` sends it; None when no daemon listens there."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            try:
                sock.connect(str(self.socket))
            except (FileNotFoundError, ConnectionRefusedError):
                return None
            sock.sendall(json.dumps({"v": 1, "command": command, "args": [], "config": None, "debug": False,
                                     "quiet": False, "session": {}}).encode() + b"\n")
            for line in sock.makefile("rb"):
                message = json.loads(line)
                if "exit" in message:
                    return message
            return None  # closed without a final reply
        finally:
            sock.close()

    def vt(self, *args: str, timeout: float = 90, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """``voice-transcriber ARGS`` in this world (``env``: variables added for this command)."""
        return subprocess.run([VT, *args], env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout)

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen:
        return subprocess.Popen([VT, *args], **{"env": self.env, **kwargs})

    def daemon_status(self) -> dict[str, Any]:
        """What ``voice-transcriber daemon status --json`` prints, asked over the socket from this process."""
        final = self.ask("status")
        assert final is not None and final.get("exit") == 0, final
        return final["data"]

    def run_status(self, linger: float = 60) -> dict[str, Any]:
        return json.loads(self.vt("status", "--json", "--linger", str(linger)).stdout)

    def stop_daemon(self) -> None:
        if self.process is not None:
            stop(self.process, timeout=30)

    def kill_recorders(self) -> None:
        """Background recorders or trays started in this world (found by their environment)."""
        marker = f"XDG_RUNTIME_DIR={self.runtime}".encode()
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and int(proc.name) != os.getpid() and \
                        marker in (proc / "environ").read_bytes().split(b"\0") and \
                        b"voice_transcriber" in (proc / "cmdline").read_bytes():
                    os.kill(int(proc.name), signal.SIGKILL)
            except OSError:
                continue

    def __enter__(self) -> DaemonWorld:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the daemon and what else runs in this world; remove the world."""
        self.stop_daemon()
        self.kill_recorders()
        shutil.rmtree(self.root, ignore_errors=True)


def speak(pulse, wav: Path, world: DaemonWorld, since: float, preroll: float = 0.0) -> None:
    """Play ``wav`` into the virtual mic; return once the recording of ``world``'s daemon, asked for after
    ``since`` (``time.monotonic()``), holds all of it (``preroll``: the seconds of pre-roll it may begin with)."""
    pulse.play(wav).wait(timeout=60)
    heard_until_now(world.process.pid, since, preroll)


class EventLog:
    """Subscribes to the daemon's event stream over its socket and keeps every message, in order."""

    def __init__(self, socket_path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(socket_path))
        self.sock.sendall(json.dumps({"v": 1, "command": "events", "args": [], "config": None, "debug": False,
                                      "quiet": False, "session": {}}).encode() + b"\n")
        self.messages: list[dict[str, Any]] = []
        #: (producer pid, seq) → time.time() when the event's line arrived here
        self.received: dict[tuple[int, int], float] = {}
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.sock.makefile("rb"):
            arrived = time.time()
            message = json.loads(line)
            with self.changed:
                if "event" in message:
                    self.received[(message["event"].get("pid"), message["event"].get("seq"))] = arrived
                self.messages.append(message)
                self.changed.notify_all()

    @property
    def events(self) -> list[dict[str, Any]]:
        with self.changed:
            return [m["event"] for m in self.messages if "event" in m]

    def wait_for(self, predicate, timeout: float = 60) -> list[dict[str, Any]]:
        """Wait until ``predicate(events)`` holds; the events either way."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self.events) and time.monotonic() < deadline:
                self.changed.wait(timeout=max(0.0, deadline - time.monotonic()))
        return self.events

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
