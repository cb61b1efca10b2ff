"""What the Wayland compositor offers: its globals, and the keymap it gives keyboards.

A few lines of the Wayland wire protocol (no library needed): connect to the compositor's
socket, list the registry's globals — ``zwp_virtual_keyboard_manager_v1`` there means a virtual keyboard
can type (wlroots compositors: sway, Hyprland, river, Wayfire); GNOME and KDE do not offer it
— and, when asked, bind the seat's keyboard to receive the XKB keymap the compositor uses,
which tells which characters the active layouts can produce.

Every function returns None when the compositor cannot be asked (no socket, protocol error,
timeout): callers then fall back to what they did without knowing.
"""

from __future__ import annotations

import mmap
import os
import socket
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

VIRTUAL_KEYBOARD = "zwp_virtual_keyboard_manager_v1"
#: Clipboard managers' protocols: wl-copy/wl-paste work through them without taking the focus.
DATA_CONTROL = ("zwlr_data_control_manager_v1", "ext_data_control_manager_v1")
#: wl_seat capability bit: the seat has a keyboard.
SEAT_KEYBOARD = 2
#: wl_keyboard keymap format: XKB text v1.
KEYMAP_XKB_V1 = 1
#: Refuse keymaps larger than this (a real one is 50-100 kB).
MAX_KEYMAP = 4 * 1024 * 1024


@dataclass
class Compositor:
    """What one connection learnt: ``globals`` (interface → version), ``keymap`` (XKB text or None)."""

    globals: dict[str, int] = field(default_factory=dict)
    keymap: str | None = None
    has_keyboard: bool = False

    @property
    def virtual_keyboard(self) -> bool:
        return VIRTUAL_KEYBOARD in self.globals

    @property
    def data_control(self) -> bool:
        """False on GNOME: wl-copy and wl-paste then map a tiny window for a moment to get the
        focus, and keys sent meanwhile go to it (they are lost)."""
        return any(name in self.globals for name in DATA_CONTROL)


#: Seconds for the focus to come back after wl-copy/wl-paste borrowed it (compositors without data-control).
FOCUS_SETTLE = 0.3


def focus_settle(session: str) -> float:
    """How long to wait after a clipboard operation before sending keys: on GNOME (no
    data-control protocol) wl-copy and wl-paste take the focus for a moment, and keys sent
    then go to their window (they are lost)."""
    if session != "wayland":
        return 0.0
    compositor = probe()
    return FOCUS_SETTLE if compositor is not None and not compositor.data_control else 0.0


def settle_before_borrowing(session: str) -> None:
    """Before wl-paste/wl-copy borrow the focus on a compositor without data-control (GNOME): give the
    keys just typed time to reach the window, or they go to the borrowing window (lost). The portal
    answers a key before mutter has delivered it; a compositor busy with something else (a new keymap,
    a loaded machine) delivers later. After the settle a round trip to the compositor: one still busy
    answers only once it has caught up."""
    delay = focus_settle(session)
    if delay:
        time.sleep(delay)
        probe(timeout=5.0)


def socket_path(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    name = env.get("WAYLAND_DISPLAY")
    if not name:
        return None
    return name if name.startswith("/") else os.path.join(env.get("XDG_RUNTIME_DIR", ""), name)


def probe(*, keymap: bool = False, timeout: float = 2.0, environ: Mapping[str, str] | None = None) -> Compositor | None:
    """Ask the compositor for its globals (and the seat's keymap with ``keymap=True``)."""
    path = socket_path(environ)
    if path is None:
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            return _Connection(sock, time.monotonic() + timeout).run(keymap)
    except (OSError, ValueError, struct.error, TimeoutError):
        return None


class _Connection:
    DISPLAY, REGISTRY, SYNC1, SEAT, SYNC2, KEYBOARD, SYNC3 = range(1, 8)

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline
        self.buffer = b""
        self.fds: list[int] = []
        self.result = Compositor()
        self.seat_name: int | None = None
        self.done: set[int] = set()

    def run(self, keymap: bool) -> Compositor:
        try:
            self._send(self.DISPLAY, 1, _u32(self.REGISTRY))  # wl_display.get_registry
            self._send(self.DISPLAY, 0, _u32(self.SYNC1))  # wl_display.sync
            self._until(self.SYNC1)
            if keymap and self.seat_name is not None:
                # wl_registry.bind(name, "wl_seat", version 1, new id)
                self._send(self.REGISTRY, 0, _u32(self.seat_name) + _string("wl_seat") + _u32(1) + _u32(self.SEAT))
                self._send(self.DISPLAY, 0, _u32(self.SYNC2))
                self._until(self.SYNC2)
                if self.result.has_keyboard:
                    self._send(self.SEAT, 1, _u32(self.KEYBOARD))  # wl_seat.get_keyboard
                    self._send(self.DISPLAY, 0, _u32(self.SYNC3))
                    self._until(self.SYNC3)
            return self.result
        finally:
            for fd in self.fds:
                os.close(fd)

    def _send(self, obj: int, opcode: int, args: bytes) -> None:
        self.sock.sendall(struct.pack("<II", obj, (8 + len(args)) << 16 | opcode) + args)

    def _until(self, callback: int) -> None:
        while callback not in self.done:
            self._read_message()

    def _read_message(self) -> None:
        while len(self.buffer) < 8 or len(self.buffer) < struct.unpack_from("<I", self.buffer, 4)[0] >> 16:
            if time.monotonic() > self.deadline:
                raise TimeoutError("the compositor did not answer")
            data, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, 4)
            if not data:
                raise OSError("the compositor closed the connection")
            self.buffer += data
            self.fds += fds
        obj, header = struct.unpack_from("<II", self.buffer)
        size, opcode = header >> 16, header & 0xFFFF
        if size < 8:
            raise ValueError("malformed message")
        body, self.buffer = self.buffer[8:size], self.buffer[size:]
        self._event(obj, opcode, body)

    def _event(self, obj: int, opcode: int, body: bytes) -> None:
        if obj == self.DISPLAY and opcode == 0:  # wl_display.error
            raise ValueError(f"protocol error: {_read_string(body, 8)[0]}")
        if obj in (self.SYNC1, self.SYNC2, self.SYNC3):  # wl_callback.done
            self.done.add(obj)
        elif obj == self.REGISTRY and opcode == 0:  # wl_registry.global(name, interface, version)
            name = struct.unpack_from("<I", body)[0]
            interface, offset = _read_string(body, 4)
            self.result.globals[interface] = struct.unpack_from("<I", body, offset)[0]
            if interface == "wl_seat" and self.seat_name is None:
                self.seat_name = name
        elif obj == self.SEAT and opcode == 0:  # wl_seat.capabilities
            self.result.has_keyboard = bool(struct.unpack_from("<I", body)[0] & SEAT_KEYBOARD)
        elif obj == self.KEYBOARD and opcode == 0:  # wl_keyboard.keymap(format, fd, size)
            fmt, size = struct.unpack_from("<II", body)
            if not self.fds:
                raise ValueError("keymap event without a file descriptor")
            fd = self.fds.pop(0)
            try:
                if fmt == KEYMAP_XKB_V1 and 0 < size <= MAX_KEYMAP:
                    with mmap.mmap(fd, size, prot=mmap.PROT_READ, flags=mmap.MAP_PRIVATE) as mapped:
                        self.result.keymap = bytes(mapped).rstrip(b"\0").decode("utf-8", errors="replace")
            finally:
                os.close(fd)


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def _string(text: str) -> bytes:
    data = text.encode() + b"\0"
    return _u32(len(data)) + data + b"\0" * (-len(data) % 4)


def _read_string(body: bytes, offset: int) -> tuple[str, int]:
    length = struct.unpack_from("<I", body, offset)[0]
    start = offset + 4
    text = body[start:start + max(length - 1, 0)].decode("utf-8", errors="replace")
    return text, start + length + (-length % 4)
