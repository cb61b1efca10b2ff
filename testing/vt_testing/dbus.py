"""D-Bus fixtures: a private session bus, a real notification server (dunst), and a monitor.

* ``session_bus`` (session): a private ``dbus-daemon --session``; nothing owns
  ``org.freedesktop.Notifications`` on it, so it is also "a desktop without a notification server".
* ``notification_server`` (session): a second private bus with ``dunst`` running on the
  ``xvfb`` display and owning ``org.freedesktop.Notifications``.
* ``notify_monitor`` (per test): ``dbus-monitor`` on that bus; ``.notifications()`` lists every
  ``Notify`` call with the id the server answered, ``.displayed()`` asks dunst how many are on screen.

Tests point a process at a bus with ``bus.env`` (``DBUS_SESSION_BUS_ADDRESS``); nothing here
touches the user's own session bus.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vt_testing.desktop import require, stop, wait_until

NOTIFICATIONS = "org.freedesktop.Notifications"


def run_client(env: dict[str, str], *argv: str, check: bool = False, timeout: float = 10) -> str:
    """Run a D-Bus client (gdbus, dunstctl…) with ``env`` over this environment: its stdout, or ''
    when it failed (with ``check``: AssertionError naming its stderr)."""
    done = subprocess.run(list(argv), env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv} failed: {done.stderr}")
    return done.stdout if done.returncode == 0 else ""


def name_owner(env: dict[str, str], name: str) -> str:
    """The unique name owning ``name`` on the session bus ``env`` points at ('' when nobody does)."""
    reply = run_client(env, "gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path",
                       "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.GetNameOwner", name)
    found = re.search(r"'(:[\d.]+)'", reply)
    return found.group(1) if found else ""


@dataclass
class Bus:
    address: str
    proc: subprocess.Popen

    @property
    def env(self) -> dict[str, str]:
        return {"DBUS_SESSION_BUS_ADDRESS": self.address}

    def call(self, *argv: str) -> str:
        return run_client(self.env, *argv)

    def owner(self, name: str) -> str:
        """The unique name owning ``name`` on this bus ('' when nobody does)."""
        return name_owner(self.env, name)


def start_bus(log: Path, env: dict[str, str] | None = None) -> Bus:
    """A private ``dbus-daemon --session``; ``env`` is the environment it gives the services it
    activates (default: this one, without its session bus)."""
    require("dbus-daemon", "gdbus")
    env = {k: v for k, v in (env if env is not None else os.environ).items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    with log.open("wb") as err:
        proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"], env=env,
                                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True)
    address = proc.stdout.readline().strip()
    assert address, f"dbus-daemon did not start: {log.read_text(errors='replace')}"
    return Bus(address, proc)


@pytest.fixture(scope="session")
def session_bus(tmp_path_factory) -> Iterator[Bus]:
    """A private session bus with no notification server on it."""
    bus = start_bus(tmp_path_factory.mktemp("dbus") / "dbus.log")
    try:
        yield bus
    finally:
        stop(bus.proc)


@dataclass
class NotificationServer:
    bus: Bus
    proc: subprocess.Popen
    unique_name: str


@pytest.fixture(scope="session")
def notification_server(xvfb, tmp_path_factory) -> Iterator[NotificationServer]:
    """dunst on the test X display, owning org.freedesktop.Notifications on its own bus."""
    require("dunst", "dunstctl", "dbus-monitor", "notify-send")
    logs = tmp_path_factory.mktemp("dunst")
    bus = start_bus(logs / "dbus.log")
    with (logs / "dunst.log").open("wb") as log:
        proc = subprocess.Popen(["dunst"], env={**os.environ, **bus.env, "DISPLAY": xvfb.display},
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        owner = wait_until(lambda: proc.poll() is None and bus.owner(NOTIFICATIONS), 10, "dunst on the bus")
        yield NotificationServer(bus, proc, str(owner))
    finally:
        stop(proc)
        stop(bus.proc)


@dataclass
class Notification:
    replaces_id: int
    app: str
    icon: str
    summary: str
    body: str
    urgency: int
    timeout: int
    #: The id the server answered; None if its reply was not seen.
    id: int | None = None


class NotifyMonitor:
    """``dbus-monitor`` recording Notify calls and the server's replies to them."""

    def __init__(self, server: NotificationServer, log: Path) -> None:
        self.server = server
        self.log = log
        rules = [f"interface={NOTIFICATIONS},member=Notify", f"type=method_return,sender={server.unique_name}"]
        with log.open("wb") as out:
            self.proc = subprocess.Popen(["dbus-monitor", "--address", server.bus.address, *rules],
                                         stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        wait_until(lambda: "NameAcquired" in log.read_text(errors="replace") or self.proc.poll() is not None, 5,
                   "dbus-monitor")
        time.sleep(0.1)

    def notifications(self) -> list[Notification]:
        blocks = re.split(r"\n(?=\S)", self.log.read_text(encoding="utf-8", errors="replace"))
        calls: dict[tuple[str, ...], Notification] = {}
        replies: dict[tuple[str, ...], int] = {}
        for block in blocks:
            head = block.splitlines()[0]
            if head.startswith("method call") and "member=Notify" in head:  # keyed by (client, serial)
                calls[re.search(r"sender=(\S+) .* serial=(\d+)", head).groups()] = _parse_notify(block)
            elif head.startswith("method return") and (uint := re.search(r"^\s+uint32 (\d+)$", block, re.M)):
                replies[re.search(r"destination=(\S+) .*reply_serial=(\d+)", head).groups()] = int(uint.group(1))
        for serial, call in calls.items():
            call.id = replies.get(serial)
        return list(calls.values())

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Notification]:
        """At least ``count`` answered Notify calls (fewer when ``timeout`` ran out)."""
        try:
            wait_until(lambda: len([n for n in self.notifications() if n.id is not None]) >= count, timeout,
                       f"{count} notifications")
        except TimeoutError:
            pass
        return self.notifications()

    def displayed(self) -> int:
        return int(self.server.bus.call("dunstctl", "count", "displayed").strip() or -1)


def _parse_notify(block: str) -> Notification:
    scalars = re.findall(r'^\s+(string|uint32|int32|byte) (?:"(.*)"|(-?\d+))$', block, re.M)
    values = [text if kind == "string" else int(number) for kind, text, number in scalars]
    urgency = re.search(r'string "urgency"\s+variant\s+byte (\d+)', block)
    return Notification(replaces_id=values[1], app=values[0], icon=values[2], summary=values[3], body=values[4],
                        urgency=int(urgency.group(1)) if urgency else 1, timeout=values[-1])


@pytest.fixture
def notify_monitor(notification_server, tmp_path) -> Iterator[NotifyMonitor]:
    """Watches the notification bus for this test; dunst's bubbles are closed afterwards."""
    monitor = NotifyMonitor(notification_server, tmp_path / "dbus-monitor.txt")
    try:
        yield monitor
    finally:
        stop(monitor.proc)
        notification_server.bus.call("dunstctl", "close-all")
