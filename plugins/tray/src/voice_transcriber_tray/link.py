"""The tray's link to the warm daemon: its pushed event stream, and the commands the tray sends.

The tray is a small process of its own *attached* to the daemon over the daemon's socket
(``$XDG_RUNTIME_DIR/voice-transcriber/daemon.sock``): it subscribes to the ``events``
stream (every state change of every run, whoever started it) and sends ``toggle`` /
``cancel`` requests like a hotkey does. So the model stays loaded in the daemon, and the
tray's own memory stays small. With no daemon running, the tray starts one
(``tray.startDaemon``) and stops it again on Quit.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

LINE_LIMIT = 16 * 1024 * 1024  #: a delivered transcript travels in one line
START_TIMEOUT = 60.0  #: seconds a daemon we started may take to answer (it loads the model first)


class LinkError(Exception):
    """No daemon to talk to, and none could be started: one line saying why and what to do."""


def _socket() -> str:
    from voice_transcriber.daemon import socket_path

    return str(socket_path())


def _request(command: str, args: list[str] | None, config_file: str | None) -> bytes:
    from voice_transcriber.daemon import request

    return request(command, args, config_file)


class DaemonLink:
    def __init__(self, config_file: str | None, start_daemon: bool) -> None:
        self.config_file = config_file
        self.start_daemon = start_daemon
        self.started: subprocess.Popen | None = None  #: the daemon this tray started (stopped on Quit)
        self.log: Path | None = None

    async def subscribe(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, dict[str, Any]]:
        """Connect to the event stream (starting a daemon if none runs); returns it and the daemon's hello."""
        try:
            return await self._subscribe_once()
        except (FileNotFoundError, ConnectionRefusedError):
            if not self.start_daemon:
                raise LinkError("no voice-transcriber daemon is running (start one with `voice-transcriber daemon`, "
                                "or set tray.startDaemon to true)") from None
        self._spawn_daemon()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                return await self._subscribe_once()
            except (FileNotFoundError, ConnectionRefusedError):
                pass
            if self.started is not None and self.started.poll() is not None:
                raise LinkError(f"the daemon started by the tray exited with code {self.started.returncode}: "
                                f"{self._log_tail()} (full log: {self.log})")
            if time.monotonic() > deadline:
                raise LinkError(f"the daemon did not open its socket within {START_TIMEOUT:.0f} s (see {self.log})")
            await asyncio.sleep(0.1)  # only while the daemon starts: it has no socket to wait on yet

    async def _subscribe_once(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, dict[str, Any]]:
        reader, writer = await asyncio.open_unix_connection(_socket(), limit=LINE_LIMIT)
        writer.write(_request("events", None, self.config_file))
        await writer.drain()
        first = json.loads(await reader.readline() or b"{}")
        if "hello" not in first:
            writer.close()
            raise LinkError(first.get("err") or "the daemon does not offer an event stream (restart it after an upgrade)")
        return reader, writer, first["hello"]

    @staticmethod
    async def events(reader: asyncio.StreamReader) -> AsyncIterator[dict[str, Any]]:
        """The pushed events, until the daemon stops or hangs up."""
        while line := await reader.readline():
            message = json.loads(line)
            if "event" in message:
                yield message["event"]
            elif "exit" in message:
                return

    async def command(self, name: str, args: list[str] | None = None) -> tuple[int, list[str]]:
        """Send ``toggle``/``start``/``stop``/``cancel``; the exit code and the lines the daemon said."""
        try:
            reader, writer = await asyncio.open_unix_connection(_socket(), limit=LINE_LIMIT)
        except (FileNotFoundError, ConnectionRefusedError):
            return 1, ["the voice-transcriber daemon is not running (start it with `voice-transcriber daemon`)"]
        lines: list[str] = []
        try:
            writer.write(_request(name, args, self.config_file))
            await writer.drain()
            while raw := await reader.readline():
                message = json.loads(raw)
                lines += [message[key] for key in ("out", "err") if isinstance(message.get(key), str)]
                if message.get("fallback"):  # a recorder the daemon did not start: the CLI handles it
                    return await self._cli(name, args)
                if "exit" in message:
                    return int(message["exit"]), lines
            return 1, [*lines, "the daemon closed the connection without an answer"]
        finally:
            writer.close()

    async def _cli(self, name: str, args: list[str] | None) -> tuple[int, list[str]]:
        argv = [sys.executable, "-m", "voice_transcriber", *(["--config", self.config_file] if self.config_file else []),
                name, *(args or [])]
        process = await asyncio.create_subprocess_exec(*argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                       stderr=subprocess.STDOUT)
        out, _ = await process.communicate()
        return process.returncode or 0, out.decode(errors="replace").splitlines()

    async def stop_started_daemon(self) -> None:
        """Quit: stop the daemon if this tray started it (it finishes a running dictation first)."""
        if self.started is None or self.started.poll() is not None:
            return
        await self.command_shutdown()
        try:
            await asyncio.to_thread(self.started.wait, 30)
        except subprocess.TimeoutExpired:
            self.started.kill()

    async def command_shutdown(self) -> None:
        try:
            reader, writer = await asyncio.open_unix_connection(_socket(), limit=LINE_LIMIT)
        except OSError:
            self.started.terminate() if self.started else None
            return
        writer.write(_request("shutdown", None, self.config_file))
        await writer.drain()
        while raw := await reader.readline():
            if "exit" in json.loads(raw):
                break
        writer.close()

    def _spawn_daemon(self) -> None:
        from xdg_base_dirs import xdg_state_home

        self.log = xdg_state_home() / "voice-transcriber" / "tray-daemon.log"
        self.log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        argv = [sys.executable, "-m", "voice_transcriber", *(["--config", self.config_file] if self.config_file else []),
                "daemon"]
        fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.started = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, start_new_session=True)
        finally:
            os.close(fd)
        print(f"voice-transcriber tray: started the daemon (pid {self.started.pid}, log {self.log}); "
              "it stops when the tray quits", file=sys.stderr, flush=True)

    def _log_tail(self) -> str:
        try:
            lines = [line for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
        except (OSError, AttributeError):
            return "no log"
        return lines[-1] if lines else "no output"
