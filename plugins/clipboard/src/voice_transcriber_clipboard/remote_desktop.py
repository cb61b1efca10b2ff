"""The freedesktop RemoteDesktop portal over D-Bus: one connection and its remote-desktop session.

:class:`RemoteDesktopSession` asks what the portal offers (``connect``), creates and starts a session with
the keyboard (``start``: the consent dialog, unless a restore token restores it) and sends keysyms; every
call runs on one asyncio loop in a daemon thread (:func:`run_on_loop`), through dbus-fast, imported when a
call is made. :mod:`.portal` keeps the process's session and types through it.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from voice_transcriber import SinkError

DESKTOP = "org.freedesktop.portal.Desktop"
DESKTOP_PATH = "/org/freedesktop/portal/desktop"
REMOTE_DESKTOP = "org.freedesktop.portal.RemoteDesktop"
REQUEST = "org.freedesktop.portal.Request"
SESSION = "org.freedesktop.portal.Session"
KEYBOARD = 1  #: device type bit
PERSIST_UNTIL_REVOKED = 2
#: Seconds for a portal call that shows no dialog.
CALL_TIMEOUT = 10.0


class PortalError(SinkError):
    """The portal refused, is missing, or the session ended."""


@dataclass
class PortalInfo:
    """What the portal offers: ``version`` of the RemoteDesktop interface, and whether it has a keyboard."""

    version: int
    keyboard: bool

    @property
    def persistent(self) -> bool:
        """Whether it can restore a session without asking again (restore tokens: version 2+)."""
        return self.version >= 2


# --- the event loop every portal call runs on -------------------------------------------


class _Loop:
    """One asyncio loop in a daemon thread for this process; ``run`` waits for a coroutine."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def run(cls, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, name="portal-dbus", daemon=True).start()
        future = asyncio.run_coroutine_threadsafe(coro, cls._loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise


def run_on_loop(coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
    """Run ``coro`` on the portal's event loop and wait for its result (``TimeoutError`` after ``timeout`` s)."""
    return _Loop.run(coro, timeout)


# --- one connection and its remote-desktop session ----------------------------------------


@dataclass
class RemoteDesktopSession:
    """A RemoteDesktop session on a session-bus connection (all methods run on the loop)."""

    consent_timeout: float
    bus: Any = None
    handle: str | None = None
    info: PortalInfo | None = None
    closed: bool = False
    restored: bool = False  #: Start used a restore token (no dialog was shown)
    _responses: dict[str, asyncio.Future] = field(default_factory=dict)

    async def connect(self) -> PortalInfo:
        from dbus_fast import BusType, Message, MessageType
        from dbus_fast.aio import MessageBus

        try:
            self.bus = await MessageBus(bus_type=BusType.SESSION).connect()
        except Exception as exc:  # noqa: BLE001 - any failure to reach the bus is the same to the user
            raise PortalError(f"cannot reach the D-Bus session bus ({exc or type(exc).__name__})") from None
        self.bus.add_message_handler(self._on_message)
        for rule in (f"type='signal',interface='{REQUEST}',member='Response'",
                     f"type='signal',interface='{SESSION}',member='Closed'"):
            await self._call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                                     interface="org.freedesktop.DBus", member="AddMatch", signature="s",
                                     body=[rule]))
        values = []
        for prop in ("version", "AvailableDeviceTypes"):
            reply = await self._call(Message(destination=DESKTOP, path=DESKTOP_PATH,
                                             interface="org.freedesktop.DBus.Properties", member="Get",
                                             signature="ss", body=[REMOTE_DESKTOP, prop]))
            if reply.message_type == MessageType.ERROR:
                raise PortalError(f"no RemoteDesktop portal on the session bus ({_error(reply)})")
            values.append(int(reply.body[0].value))
        self.info = PortalInfo(version=values[0], keyboard=bool(values[1] & KEYBOARD))
        return self.info

    async def _call(self, message):
        try:
            return await self.bus.call(message)
        except Exception as exc:  # noqa: BLE001 - the bus went away: one line, not a traceback
            raise PortalError(f"the D-Bus connection to the portal failed ({exc or type(exc).__name__})") from None

    async def start(self, token: str | None) -> str | None:
        """Create, select the keyboard, start (the dialog, unless ``token`` restores); the new token."""
        from dbus_fast import Variant

        assert self.info is not None
        if not self.info.keyboard:
            raise PortalError("the RemoteDesktop portal offers no keyboard here")
        results = await self._request("CreateSession", "a{sv}", [], {
            "session_handle_token": Variant("s", "vt" + secrets.token_hex(6))}, CALL_TIMEOUT)
        self.handle = str(results["session_handle"].value)
        options: dict[str, Variant] = {"types": Variant("u", KEYBOARD)}
        if self.info.persistent:
            options["persist_mode"] = Variant("u", PERSIST_UNTIL_REVOKED)
            if token:
                options["restore_token"] = Variant("s", token)
        await self._request("SelectDevices", "oa{sv}", [self.handle], options, CALL_TIMEOUT)
        results = await self._request("Start", "osa{sv}", [self.handle, ""], {}, self.consent_timeout)
        devices = int(results["devices"].value) if "devices" in results else KEYBOARD
        if not devices & KEYBOARD:
            raise PortalError("remote keyboard access was not granted (the keyboard was left unticked)")
        self.restored = bool(token) and self.info.persistent
        new_token = results.get("restore_token")
        return str(new_token.value) if new_token is not None else None

    async def keysyms(self, events: list[tuple[int, bool]], delay: float) -> None:
        """Press (True) and release (False) keysyms in order, ``delay`` seconds after each release."""
        from dbus_fast import Message, MessageType

        for sym, pressed in events:
            if self.closed:
                raise PortalError("the remote-desktop session was closed (by the desktop or the user)")
            try:
                reply = await self.bus.call(Message(destination=DESKTOP, path=DESKTOP_PATH,
                                                    interface=REMOTE_DESKTOP, member="NotifyKeyboardKeysym",
                                                    signature="oa{sv}iu", body=[self.handle, {}, sym, int(pressed)]))
            except Exception as exc:  # noqa: BLE001 - the bus went away: one line, not a traceback
                raise PortalError(f"the D-Bus connection to the portal failed ({exc or type(exc).__name__})") from None
            if reply.message_type == MessageType.ERROR:
                raise PortalError(f"the portal refused a key ({_error(reply)})")
            if not pressed and delay:
                await asyncio.sleep(delay)

    async def close(self) -> None:
        from dbus_fast import Message

        try:
            if self.handle and not self.closed:
                await self.bus.call(Message(destination=DESKTOP, path=self.handle, interface=SESSION, member="Close"))
        finally:
            self.closed = True
            if self.bus is not None:
                self.bus.disconnect()

    async def _request(self, method: str, signature: str, args: list, options: dict, timeout: float) -> dict:
        """Call a portal method that answers through a Request object's Response signal."""
        from dbus_fast import Message, MessageType, Variant

        token = "vt" + secrets.token_hex(6)
        path = f"{DESKTOP_PATH}/request/{self.bus.unique_name[1:].replace('.', '_')}/{token}"
        response = self._responses[path] = asyncio.get_running_loop().create_future()
        try:
            try:
                reply = await self.bus.call(Message(destination=DESKTOP, path=DESKTOP_PATH, interface=REMOTE_DESKTOP,
                                                    member=method, signature=signature,
                                                    body=[*args, {**options, "handle_token": Variant("s", token)}]))
            except Exception as exc:  # noqa: BLE001 - the bus went away: one line, not a traceback
                raise PortalError(f"the D-Bus connection to the portal failed ({exc or type(exc).__name__})") from None
            if reply.message_type == MessageType.ERROR:
                raise PortalError(f"the portal's {method} failed ({_error(reply)})")
            try:
                code, results = await asyncio.wait_for(response, timeout)
            except asyncio.TimeoutError:
                what = "nobody answered the consent dialog" if method == "Start" else "the portal did not answer"
                raise PortalError(f"{what} within {timeout:g} s") from None
        finally:
            self._responses.pop(path, None)
        if code == 1:
            raise PortalError("remote keyboard access was refused in the desktop's consent dialog")
        if code != 0:
            raise PortalError(f"the portal's {method} ended with an error (response {code})")
        return results

    def _on_message(self, message) -> None:
        from dbus_fast import MessageType

        if message.message_type != MessageType.SIGNAL:
            return
        if message.interface == REQUEST and message.member == "Response":
            future = self._responses.get(message.path)
            if future is not None and not future.done():
                future.set_result((int(message.body[0]), dict(message.body[1])))
        elif message.interface == SESSION and message.member == "Closed" and message.path == self.handle:
            self.closed = True


def _error(reply) -> str:
    detail = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
    return f"{reply.error_name}: {detail}" if detail else str(reply.error_name)
