"""A fake freedesktop RemoteDesktop portal on a private session bus, for what GNOME 43 cannot show.

GNOME 43's portal (the one the headless GNOME tests run) is RemoteDesktop version 1: no
persistent sessions. GNOME 45+ and KDE are version 2: ``SelectDevices`` takes ``persist_mode``
and ``restore_token``, and ``Start`` answers with a new single-use token. This fake speaks that
version (or 1) as the specification says, counts the consent dialogs it would have shown (a
``Start`` without a valid token), can refuse, and logs every call to a JSON-lines file.

``fake_portal(version=2, refuse=False)`` starts it and points ``DBUS_SESSION_BUS_ADDRESS`` at
its bus for the test; ``.calls(member)`` lists the logged calls, ``.consents`` the dialogs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vt_testing.dbus import Bus
from vt_testing.desktop import require, stop

#: A session bus that activates nothing: a test's "no portal" must not start the real one.
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def private_bus(folder: Path) -> Bus:
    """A session bus with no service files: only what a test starts is on it."""
    require("dbus-daemon")
    config = folder / "bus.conf"
    config.write_text(BUS_CONFIG)
    proc = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    address = proc.stdout.readline().strip()
    assert address, "dbus-daemon did not start"
    return Bus(address, proc)

FAKE_PORTAL = r'''
import asyncio, json, secrets, sys
from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

LOG, VERSION, REFUSE = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "refuse"
RD = "org.freedesktop.portal.RemoteDesktop"
valid_tokens, sessions = set(), {}

def log(member, **data):
    with open(LOG, "a") as f:
        f.write(json.dumps({"member": member, **data}) + "\n")

def plain(options):
    return {key: value.value for key, value in options.items()}

async def main():
    bus = await MessageBus().connect()

    def respond(sender, token, code, results):
        path = f"/org/freedesktop/portal/desktop/request/{sender[1:].replace('.', '_')}/{token}"
        bus.send(Message.new_signal(path, "org.freedesktop.portal.Request", "Response", "ua{sv}", [code, results]))
        return path

    def handle(msg):
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        if msg.interface == "org.freedesktop.DBus.Properties" and msg.member == "Get" and msg.body[0] == RD:
            value = {"version": Variant("u", VERSION), "AvailableDeviceTypes": Variant("u", 7)}[msg.body[1]]
            return Message.new_method_return(msg, "v", [value])
        if msg.interface == "org.freedesktop.portal.Session" and msg.member == "Close":
            log("Close", session=msg.path)
            return Message.new_method_return(msg)
        if msg.interface != RD:
            return None
        options = plain(msg.body[-1]) if msg.member != "NotifyKeyboardKeysym" else plain(msg.body[1])
        token = options.pop("handle_token", "")
        if msg.member == "CreateSession":
            handle_path = f"/org/freedesktop/portal/desktop/session/{msg.sender[1:].replace('.', '_')}/{options['session_handle_token']}"
            sessions[handle_path] = {}
            log("CreateSession", options=options)
            reply = Message.new_method_return(msg, "o", [respond(msg.sender, token, 0, {"session_handle": Variant("s", handle_path)})])
            return reply
        if msg.member == "SelectDevices":
            sessions[msg.body[0]] = options
            log("SelectDevices", options=options)
            return Message.new_method_return(msg, "o", [respond(msg.sender, token, 0, {})])
        if msg.member == "Start":
            selected = sessions.get(msg.body[0], {})
            restored = selected.get("restore_token") in valid_tokens
            valid_tokens.discard(selected.get("restore_token"))  # single use
            if not restored:
                log("Dialog", refused=REFUSE)
            if REFUSE and not restored:
                return Message.new_method_return(msg, "o", [respond(msg.sender, token, 1, {})])
            results = {"devices": Variant("u", 1)}
            if VERSION >= 2 and selected.get("persist_mode"):
                new = "token-" + secrets.token_hex(4)
                valid_tokens.add(new)
                results["restore_token"] = Variant("s", new)
            log("Start", restored=restored, token=results.get("restore_token").value if "restore_token" in results else None)
            return Message.new_method_return(msg, "o", [respond(msg.sender, token, 0, results)])
        if msg.member == "NotifyKeyboardKeysym":
            log("NotifyKeyboardKeysym", keysym=msg.body[2], state=msg.body[3])
            return Message.new_method_return(msg)
        return None

    bus.add_message_handler(handle)
    await bus.request_name("org.freedesktop.portal.Desktop")
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
'''


@dataclass
class FakePortal:
    log: Path
    proc: subprocess.Popen
    address: str

    def calls(self, member: str | None = None) -> list[dict]:
        if not self.log.exists():
            return []
        entries = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [entry for entry in entries if member is None or entry["member"] == member]

    @property
    def consents(self) -> int:
        return len(self.calls("Dialog"))

    def keys(self) -> list[tuple[int, int]]:
        return [(call["keysym"], call["state"]) for call in self.calls("NotifyKeyboardKeysym")]


@pytest.fixture
def fake_portal(tmp_path, monkeypatch) -> Iterator[Callable[..., FakePortal]]:
    """``fake_portal(version=2, refuse=False)``: the portal on a fresh private bus, for this test."""
    from voice_transcriber_clipboard import portal

    started: list[tuple[FakePortal, subprocess.Popen]] = []

    def start(version: int = 2, refuse: bool = False) -> FakePortal:
        folder = tmp_path / f"bus-{len(started)}"
        folder.mkdir()
        bus = private_bus(folder)
        log = tmp_path / f"portal-{len(started)}.jsonl"
        proc = subprocess.Popen([sys.executable, "-c", FAKE_PORTAL, str(log), str(version),
                                 "refuse" if refuse else "accept"],
                                env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus.address},
                                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        assert proc.stdout.readline().strip() == "ready"
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        fake = FakePortal(log, proc, bus.address)
        started.append((fake, bus.proc))
        return fake

    portal.end_session()  # no session left over from another test's bus
    try:
        yield start
    finally:
        portal.end_session()
        for fake, bus_proc in started:
            stop(fake.proc)
            stop(bus_proc)
