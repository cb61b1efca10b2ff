"""Keys on a Wayland virtual keyboard of our own (``zwp_virtual_keyboard_v1``, wlroots compositors).

Why not wtype: on Wayland the *application* repeats a held key (``wl_keyboard.repeat_info``:
sway repeats after 600 ms). wtype sends a key's press, waits for the compositor's answer,
sleeps, then sends its release: a wtype the machine starves between the two (a build running
while you dictate) makes the window type "vvvvv" for one "v". Here every key — press and
release, with a chord's modifiers around them — goes to the compositor in **one write**, which
the compositor reads and forwards in one piece: however long this process is stopped, no key
is ever held down meanwhile. The pause between keys (``keyDelayMs``) is taken between writes.

Like wtype, the keyboard carries a keymap of its own made of exactly the characters it types
(any character, under any layout); it is created once per :class:`VirtualKeyboard` and grows
when a new character comes. A seat without a keyboard of its own (a kiosk, a remote or headless
session) gains one when ours appears, and each application must first ask for it: a key sent
before that is lost, so then the first key waits ``settle`` seconds.
"""

from __future__ import annotations

import os
import socket
import struct
import time
import weakref
from collections.abc import Mapping

from voice_transcriber import SinkError

from .wayland import KEYMAP_XKB_V1, SEAT_KEYBOARD, VIRTUAL_KEYBOARD, _Connection, _read_string, _string, _u32, socket_path

#: wl_keyboard key states.
RELEASED, PRESSED = 0, 1
#: Modifier masks of the keymap's core modifiers (Shift, Lock, Control, Mod1..5 in this order).
MODIFIER_MASKS = {"shift": 1, "ctrl": 4, "alt": 8, "super": 64}
#: Keysym names of the keys that are not characters.
NAMED = {"\n": "Return", "\t": "Tab", "Return": "Return", "Tab": "Tab", "BackSpace": "BackSpace",
         "Escape": "Escape", "Insert": "Insert", "space": "space"}
#: XKB keycodes run 8-255; ours start at 9 (evdev code 1).
MAX_KEYS = 240


class VirtualKeyboard:
    """One connection to the compositor with one virtual keyboard on its seat."""

    def __init__(self, *, settle: float = 0.1, timeout: float = 5.0, environ: Mapping[str, str] | None = None) -> None:
        path = socket_path(environ)
        if path is None:
            raise SinkError("no Wayland session ($WAYLAND_DISPLAY is not set)")
        self.timeout = timeout
        self.codes: dict[str, int] = {}  # character or key name → evdev code on our keymap
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._closer = weakref.finalize(self, self.sock.close)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(path)
            self.wire = _Wire(self.sock, time.monotonic() + timeout)
            self.wire.start()
        except (OSError, ValueError, struct.error) as exc:
            self.close()
            raise SinkError(f"cannot use the compositor's virtual keyboard ({exc})") from None
        self.pending_settle = 0.0 if self.wire.result.has_keyboard else settle

    def close(self) -> None:
        self._closer()

    def tap(self, key: str, modifiers: tuple[str, ...] = ()) -> None:
        """Press and release ``key`` (a character, or a name in :data:`NAMED`), with ``modifiers`` held."""
        self._need([key])
        mask = 0
        for name in modifiers:
            mask |= MODIFIER_MASKS[name]
        stamp = int(time.monotonic() * 1000) & 0xFFFFFFFF
        code = self.codes[key]
        message = (self._modifiers(mask) if mask else b"") + self._key(stamp, code, PRESSED) + \
            self._key(stamp, code, RELEASED) + (self._modifiers(0) if mask else b"")
        self._write(message)

    def type(self, keys: list[str], delay: float) -> None:
        """Tap each of ``keys`` in order, ``delay`` seconds apart; return once the compositor has them all."""
        for start in range(0, len(keys), MAX_KEYS // 2):  # a keymap holds at most MAX_KEYS keys
            part = keys[start:start + MAX_KEYS // 2]
            self._need(part)
            for index, key in enumerate(part):
                if index or start:
                    time.sleep(delay)
                self.tap(key)
        self.sync()

    def sync(self) -> None:
        """Wait until the compositor has handled everything sent (a protocol error raises)."""
        try:
            self.wire.deadline = time.monotonic() + self.timeout
            self.wire.roundtrip()
        except (OSError, ValueError, struct.error) as exc:
            raise SinkError(f"the compositor's virtual keyboard failed ({exc})") from None

    def _need(self, keys: list[str]) -> None:
        new = [key for key in dict.fromkeys(keys) if key not in self.codes]
        if not new:
            return
        if len(self.codes) + len(new) > MAX_KEYS:
            self.codes = {}
            new = list(dict.fromkeys(keys))
        for key in new:
            self.codes[key] = len(self.codes) + 1
        self._keymap()

    def _keymap(self) -> None:
        """Give the keyboard a keymap with one key per character or named key we type."""
        names = "\n".join(f"<K{code}> = {code + 8};" for code in self.codes.values())
        symbols = "\n".join(f"key <K{code}> {{[ {_keysym_name(key)} ]}};" for key, code in self.codes.items())
        text = (f'xkb_keymap {{\nxkb_keycodes "vt" {{\nminimum = 8;\nmaximum = {len(self.codes) + 9};\n{names}\n}};\n'
                'xkb_types "vt" { include "complete" };\nxkb_compatibility "vt" { include "complete" };\n'
                f'xkb_symbols "vt" {{\n{symbols}\n}};\n}};\n').encode() + b"\0"
        fd = os.memfd_create("vt-keymap", os.MFD_CLOEXEC)
        try:
            os.write(fd, text)
            body = _u32(KEYMAP_XKB_V1) + _u32(len(text))
            header = struct.pack("<II", self.wire.keyboard, (8 + len(body)) << 16 | 0)  # keymap(format, fd, size)
            try:
                socket.send_fds(self.sock, [header + body], [fd])
            except OSError as exc:
                raise SinkError(f"the compositor's virtual keyboard failed ({exc})") from None
        finally:
            os.close(fd)
        self.sync()  # the keymap is in place before any key of it comes
        if self.pending_settle:  # the seat had no keyboard: applications ask for ours now
            time.sleep(self.pending_settle)
            self.pending_settle = 0.0

    def _key(self, stamp: int, code: int, state: int) -> bytes:
        return struct.pack("<IIIII", self.wire.keyboard, 20 << 16 | 1, stamp, code, state)

    def _modifiers(self, depressed: int) -> bytes:
        return struct.pack("<IIIIII", self.wire.keyboard, 24 << 16 | 2, depressed, 0, 0, 0)

    def _write(self, message: bytes) -> None:
        try:
            self.sock.sendall(message)  # one write: the compositor reads press and release together
        except OSError as exc:
            raise SinkError(f"the compositor's virtual keyboard failed ({exc})") from None


class _Wire(_Connection):
    """The registry, the seat (its capabilities) and the virtual keyboard, on ``wayland``'s reader."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__(sock, deadline)
        self.next_id = self.REGISTRY + 1  # the compositor wants new ids in sequence
        self.seat = self.manager = self.keyboard = 0
        self.callbacks: set[int] = set()
        self.manager_name: int | None = None

    def start(self) -> None:
        self._send(self.DISPLAY, 1, _u32(self.REGISTRY))  # wl_display.get_registry
        self.roundtrip()
        if self.seat_name is None or self.manager_name is None:
            raise ValueError("the compositor offers no virtual-keyboard protocol (GNOME, KDE): use the portal")
        self.seat, self.manager = self.new_id(), self.new_id()
        self._send(self.REGISTRY, 0, _u32(self.seat_name) + _string("wl_seat") + _u32(1) + _u32(self.seat))
        self._send(self.REGISTRY, 0, _u32(self.manager_name) + _string(VIRTUAL_KEYBOARD) + _u32(1) + _u32(self.manager))
        self.roundtrip()  # the seat's capabilities: has it a keyboard before ours?
        self.keyboard = self.new_id()
        self._send(self.manager, 0, _u32(self.seat) + _u32(self.keyboard))  # create_virtual_keyboard(seat, id)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def roundtrip(self) -> None:
        callback = self.new_id()
        self._send(self.DISPLAY, 0, _u32(callback))  # wl_display.sync
        self.callbacks.add(callback)
        self._until(callback)

    def _event(self, obj: int, opcode: int, body: bytes) -> None:
        if obj in self.callbacks:  # wl_callback.done
            self.callbacks.discard(obj)
            self.done.add(obj)
        elif obj == self.REGISTRY and opcode == 0:
            super()._event(obj, opcode, body)
            if _read_string(body, 4)[0] == VIRTUAL_KEYBOARD and self.manager_name is None:
                self.manager_name = struct.unpack_from("<I", body)[0]
        elif obj == self.seat and opcode == 0:  # wl_seat.capabilities
            self.result.has_keyboard = bool(struct.unpack_from("<I", body)[0] & SEAT_KEYBOARD)
        elif obj == self.DISPLAY:
            super()._event(obj, opcode, body)  # error raises; delete_id is nothing to us


def _keysym_name(key: str) -> str:
    if key in NAMED:
        return NAMED[key]
    code = ord(key)
    if code < 0x20 or 0x7F <= code < 0xA0:
        raise SinkError(f"virtual keyboard: cannot type the control character U+{code:04X}")
    return f"U{code:04X}"
