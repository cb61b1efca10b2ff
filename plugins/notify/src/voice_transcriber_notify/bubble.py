"""Desktop notifications through ``notify-send`` or ``gdbus``: one bubble, updated in place.

Every update replaces the previous notification (freedesktop ``replaces_id``), so
"Recording…", "Transcribing…" and the result share one bubble. Updates are sent from a
background thread so a slow notification server never delays recording; the last update
of a run is flushed before the process exits. Without a session bus or a notification
server the bubble silently does nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "voice-transcriber"
URGENCY_BYTES = {"low": 0, "normal": 1, "critical": 2}
SEND_TIMEOUT = 3.0


@dataclass(frozen=True)
class Message:
    summary: str
    body: str = ""
    icon: str = "audio-input-microphone"
    urgency: str = "normal"
    #: Milliseconds before it closes; 0 = stays until replaced, -1 = the server's default.
    timeout_ms: int = -1


#: Sends ``message`` replacing notification ``replace_id`` (0: a new one); returns its id, None on failure.
Transport = Callable[[Message, int], "int | None"]


def session_bus_available(environ: dict[str, str] | os._Environ = os.environ) -> bool:
    """A session bus is reachable without starting one (GLib would autolaunch dbus-daemon)."""
    if environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return True
    runtime = environ.get("XDG_RUNTIME_DIR")
    return bool(runtime) and Path(runtime, "bus").exists()


def find_transport(tool: str) -> Transport | None:
    """``notify-send`` or ``gdbus`` (``auto``: the first installed), or None when neither is."""
    candidates = {"notify-send": send_with_notify_send, "gdbus": send_with_gdbus}
    names = list(candidates) if tool == "auto" else [tool]
    for name in names:
        if shutil.which(name):
            return candidates[name]
    return None


def escape_markup(text: str) -> str:
    """Bodies may be markup on most servers: a transcript's ``<`` or ``&`` must show as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def send_with_notify_send(message: Message, replace_id: int) -> int | None:
    argv = ["notify-send", f"--app-name={APP_NAME}", f"--icon={message.icon}", f"--urgency={message.urgency}",
            f"--expire-time={message.timeout_ms}", "--print-id"]
    if replace_id:
        argv.append(f"--replace-id={replace_id}")
    output = _run([*argv, "--", message.summary, escape_markup(message.body)])
    return int(output.strip()) if output is not None and output.strip().isdigit() else None


def send_with_gdbus(message: Message, replace_id: int) -> int | None:
    argv = ["gdbus", "call", "--session", "--dest", "org.freedesktop.Notifications",
            "--object-path", "/org/freedesktop/Notifications",
            "--method", "org.freedesktop.Notifications.Notify",
            gvariant_string(APP_NAME), f"uint32 {replace_id}", gvariant_string(message.icon),
            gvariant_string(message.summary), gvariant_string(escape_markup(message.body)), "@as []",
            f"{{'urgency': <byte {URGENCY_BYTES[message.urgency]}>}}", f"int32 {message.timeout_ms}"]
    output = _run(argv)
    found = re.search(r"uint32 (\d+)", output or "")
    return int(found.group(1)) if found else None


def server_information() -> str | None:
    """``NAME VERSION`` of the notification server on the session bus, or None (needs gdbus)."""
    output = _run(["gdbus", "call", "--session", "--dest", "org.freedesktop.Notifications", "--object-path",
                   "/org/freedesktop/Notifications", "--method", "org.freedesktop.Notifications.GetServerInformation"])
    fields = re.findall(r"'((?:[^'\\]|\\.)*)'", output or "")
    return f"{fields[0]} {fields[2]}" if len(fields) >= 3 else None


def gvariant_string(text: str) -> str:
    """A GVariant text-format string literal (gdbus would otherwise parse ``[1]`` as an array)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _run(argv: list[str]) -> str | None:
    """Run a notification tool without a shell; its stdout, or None if it failed."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=SEND_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


class Bubble:
    """One notification, updated in place from a background thread. An update not yet sent is replaced by a
    newer one of the same stage (summary: the partial text while recording); a new stage waits behind it, so each
    stage is shown at least once, even one shorter than a send ("Transcribing…" after a stop in streamed speech)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._condition = threading.Condition()
        self._pending: list[Message] = []  #: at most one per stage, in order
        self._sending = False
        self._worker: threading.Thread | None = None
        self.notification_id = 0
        self.failed = False
        self.sent: list[Message] = []

    def show(self, message: Message) -> None:
        """Queue ``message``; an update of the same stage not yet sent is replaced by this newer one."""
        with self._condition:
            if self.failed:
                return
            if self._pending and self._pending[-1].summary == message.summary:
                self._pending[-1] = message
            else:
                self._pending.append(message)
            if self._worker is None:
                self._worker = threading.Thread(target=self._send_loop, name="notify", daemon=True)
                self._worker.start()
            self._condition.notify_all()

    def flush(self, timeout: float = SEND_TIMEOUT) -> None:
        """Wait until every queued update was sent (or ``timeout`` passed)."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while (self._pending or self._sending) and not self.failed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._condition.wait(remaining)

    def _send_loop(self) -> None:
        while True:
            with self._condition:
                while not self._pending:
                    self._condition.wait()
                message, self._sending = self._pending.pop(0), True
            new_id = self._transport(message, self.notification_id)
            with self._condition:
                self._sending = False
                if new_id is None:  # no server (or it went away): stay silent from now on
                    self.failed, self._pending = True, []
                else:
                    self.notification_id = new_id
                    self.sent.append(message)
                self._condition.notify_all()
