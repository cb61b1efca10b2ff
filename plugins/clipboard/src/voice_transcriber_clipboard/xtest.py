"""Keys through XTEST on our own X connection (X11): any character under any layout, focus-guarded.

A character the keyboard map lacks is typed on a spare keycode borrowed for it (:meth:`XTest._borrow_ahead`),
each burst of keys under a server grab that checks the focus is still on the target window. The X
protocol side is :mod:`.xkeys`; :func:`.keys.key_tool` picks this tool on X11.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from voice_transcriber import SinkError
from voice_transcriber.safe_text import safe_text

from .keytool import KeyTool, parse_chord
from .tools import ToolResult

if TYPE_CHECKING:
    from .xkeys import XConnection


@dataclass
class XTest(KeyTool):
    """Keys through XTEST on our own X connection; with ``target`` set, every burst is focus-guarded."""

    unicode_delay_ms: int = 40
    #: The X window id (the top-level client) keys may go to; None: unguarded.
    target: int | None = None
    _x: XConnection | None = field(default=None, repr=False)

    name = "xtest"
    fix = "is $DISPLAY right and the X server running (with the XTEST extension)?"

    def available(self) -> None:
        self.x  # noqa: B018 - connecting is the check

    @property
    def x(self) -> XConnection:
        if self._x is None:
            from .xkeys import XConnection

            self._x = XConnection()
        return self._x

    def chord_argv(self, chord: str) -> list[str]:
        return []  # no external tool

    def type_argv(self, text: str) -> list[str]:
        return []

    def guard(self, window_id: str | None) -> None:
        """Send keys only while the window ``window_id`` (as :func:`.window.active_window` gives it) has the focus."""
        self.target = int(window_id) if window_id and window_id.isdigit() else None

    def type(self, text: str) -> ToolResult:
        """Type ``text``; raises :class:`XFocusMoved` (with how many characters were sent) when
        the focus left the target."""
        from . import xkeys

        x = self.x
        chars = safe_text(text)  # the pipeline already did; "\b" would be BackSpace here
        sent = 0
        caps = x.caps_lock()  # Caps Lock inverts the case of letter keys: press Shift the other way
        try:
            while sent < len(chars):
                end, held, remapped = self._borrow_ahead(chars, sent)
                if remapped:  # applications read the new map late: give them time before its keys
                    time.sleep(self.unicode_delay_ms / 1000)
                try:
                    for char in chars[sent:end]:
                        place = x.find(xkeys.keysym_of(char)) or (0, False)  # all mapped by _borrow_ahead
                        cased = len(char.lower()) == len(char.upper()) == 1 and char.lower() != char.upper()
                        if caps and cased:
                            place = (place[0], not place[1])
                        self._burst(lambda place=place: x.tap(*place))
                        time.sleep(self.key_delay_ms / 1000)
                        sent += 1
                finally:
                    if held:
                        x.typed(held)  # when, for their reuse
        except xkeys.XFocusMoved as moved:
            moved.sent = sent
            raise
        return ToolResult("", "")

    def _borrow_ahead(self, chars: str, start: int) -> tuple[int, set[int], bool]:
        """Map spare keycodes to the characters from ``start`` on that the keyboard map lacks, as many
        different ones as there are spare keycodes (those already borrowed for them included); return where
        that run of text ends, the borrowed keycodes it types with, and whether the map changed. A letter's
        keycode gets both its cases (Caps Lock works on it as on any letter)."""
        from . import xkeys

        x = self.x
        room = x.spare_count()
        wanted: dict[int, tuple[int, int] | None] = {}  # keycode's keysyms: a letter's pair, else one keysym
        held: set[int] = set()  # borrowed keycodes the run types with: not to be remapped before it is typed
        end = start
        while end < len(chars):
            char = chars[end]
            keysym = xkeys.keysym_of(char)
            place = x.find(keysym)
            if place is not None and x.is_borrowed(place[0]) and place[0] not in held:
                if len(wanted) + len(held) == room:
                    break
                held.add(place[0])
            elif place is None and not any(keysym == k or (pair and keysym in pair) for k, pair in wanted.items()):
                if len(wanted) + len(held) == room:
                    break
                cased = len(char.lower()) == len(char.upper()) == 1 and char.lower() != char.upper()
                wanted[keysym] = (xkeys.keysym_of(char.lower()), xkeys.keysym_of(char.upper())) if cased else None
            end += 1
        if wanted:
            x.note_others()
        for keysym, pair in wanted.items():
            code, _ = x.borrow(keysym, pair, keep=held)
            held.add(code)
        if wanted:
            x.sync()
        return end, held, bool(wanted)

    def press(self, chord: str) -> ToolResult:
        from . import xkeys

        mods, key = parse_chord(chord)
        x = self.x
        codes = [x.code_of(xkeys.MODIFIER_KEYSYMS[m]) for m in mods]
        place = x.find(xkeys.keysym_of(key.lower()) if len(key) == 1 else x.keysym(key))
        if place is None:
            raise SinkError(f"xtest: no key produces {key!r} in the current keyboard map")
        self._burst(lambda: x.chord(codes, place[0]))
        return ToolResult("", "")

    def backspace(self, count: int) -> ToolResult:
        x = self.x
        place = x.find(x.keysym("BackSpace"))
        if place is None:
            raise SinkError("xtest: no BackSpace key in the keyboard map")
        for _ in range(count):
            self._burst(lambda: x.tap(*place))
            time.sleep(self.key_delay_ms / 1000)
        return ToolResult("", "")

    def release_modifiers(self) -> ToolResult | None:
        from . import xkeys

        self.x.release_held(xkeys.HELD_MODIFIERS)
        return None

    def _burst(self, keys: Callable[[], None]) -> None:
        from . import xkeys

        with self.x.grabbed():
            if self.target is not None:
                now = self.x.focused_client()
                if now != self.target:
                    raise xkeys.XFocusMoved(now)
            keys()
