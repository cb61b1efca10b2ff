"""X11 keys over our own X connection (the XTEST extension, through python-xlib), guarded by the focus.

Every burst of keys is sent while this connection holds a server grab, right after checking
that the focus is still on the target window: between the check and the keys nothing — not
the window manager, not a click, not another program — can move the focus, so not one key
reaches another window. The grab lasts the time of a few requests (well under a millisecond);
the pause between characters (``keyDelayMs``) is taken outside it.

Characters are typed with the keys of the current keyboard map, on spare keycodes borrowed for those it
lacks (:mod:`.xkeymap`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from voice_transcriber import SinkError

from .xkeymap import XKeyboardMap


#: Keysyms of the modifiers a chord may name.
MODIFIER_KEYSYMS = {"ctrl": "Control_L", "shift": "Shift_L", "alt": "Alt_L", "super": "Super_L"}
#: Keysyms released before typing (a hotkey's modifiers may still be held).
HELD_MODIFIERS = ("Control_L", "Control_R", "Shift_L", "Shift_R", "Alt_L", "Alt_R", "Super_L", "Super_R",
                  "Meta_L", "Meta_R", "ISO_Level3_Shift")
SPECIAL = {"\n": "Return", "\t": "Tab", "\b": "BackSpace"}


def keysym_of(char: str) -> int:
    """The X keysym of one character (Latin-1 keysyms equal the code point; others are 0x01000000 + it)."""
    from Xlib import XK

    if char in SPECIAL:
        return XK.string_to_keysym(SPECIAL[char])
    code = ord(char)
    return code if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF else 0x01000000 | code


class XFocusMoved(Exception):
    """The focus is not on the target (``now``: the window that has it); ``sent`` characters went out before."""

    def __init__(self, now: int | None, sent: int = 0) -> None:
        super().__init__(now)
        self.now, self.sent = now, sent


class XConnection(XKeyboardMap):
    """One X connection: the keyboard map, the focus as window managers report it, XTEST keys."""

    def __init__(self) -> None:
        try:
            from Xlib import X, XK, Xatom, display, error
            from Xlib.ext import xtest
        except ImportError:
            raise SinkError("python-xlib is missing (reinstall voice-transcriber)") from None
        self.X, self.XK, self.Xatom, self.xtest = X, XK, Xatom, xtest
        try:
            self.d = display.Display()
        except (error.DisplayError, error.ConnectionClosedError, OSError) as exc:
            raise SinkError(f"cannot connect to the X server: {exc} (is $DISPLAY right?)") from None
        if not self.d.has_extension("XTEST"):
            raise SinkError("the X server lacks the XTEST extension")
        self.root = self.d.screen().root
        self._atoms: dict[str, int] = {}
        super().__init__()

    def close(self) -> None:
        try:
            self.d.close()
        except Exception:  # noqa: BLE001 - already gone
            pass

    # --- the focus --------------------------------------------------------------------------

    def atom(self, name: str) -> int:
        if name not in self._atoms:
            self._atoms[name] = self.d.intern_atom(name)
        return self._atoms[name]

    def _window_prop(self, window, name: str) -> list[int]:
        prop = window.get_full_property(self.atom(name), self.X.AnyPropertyType)
        return list(prop.value) if prop is not None and prop.format == 32 else []

    def window_manager(self) -> bool:
        """A EWMH window manager runs (``_NET_SUPPORTING_WM_CHECK`` names a live window)."""
        check = self._window_prop(self.root, "_NET_SUPPORTING_WM_CHECK")
        if not check:
            return False
        try:
            self.d.create_resource_object("window", check[0]).get_geometry()
        except Exception:  # a window manager that died left the property behind
            return False
        return True

    def settled_client(self, wait: float = 0.3) -> int | None:
        """:meth:`focused_client`, waiting up to ``wait`` seconds while the window manager and the
        input focus disagree (a focus change under way: a window taking the focus itself)."""
        deadline = time.monotonic() + wait
        while True:
            client = self.focused_client()
            if client is not None or time.monotonic() >= deadline:
                return client
            active = (self._window_prop(self.root, "_NET_ACTIVE_WINDOW") or [0])[0]
            if not active or not self.window_manager():
                return None  # no window really: nothing to wait for
            time.sleep(0.02)

    def focused_client(self) -> int | None:
        """The top-level window with the keyboard focus; None for none, the root, a desktop or a panel.

        Under a window manager: ``_NET_ACTIVE_WINDOW``, when the input focus is in it. Without
        one: the child of the root that holds the input focus."""
        focus = self.d.get_input_focus().focus
        if isinstance(focus, int) or focus.id == self.root.id:  # None or PointerRoot
            return None
        chain = self._ancestors(focus)
        if self.window_manager():
            active = (self._window_prop(self.root, "_NET_ACTIVE_WINDOW") or [0])[0]
            if not active:
                return None
            # the input focus must be in the active window (or its frame): both agree, or no one
            if active != focus.id and active not in chain and not self._is_ancestor(focus.id, active):
                return None
            client = active
        else:
            client = chain[-1] if chain else focus.id
        return None if self._is_desktop(client) else client

    def _ancestors(self, window) -> list[int]:
        """Ids from ``window``'s parent up to the child of the root (excluded: the root)."""
        ids: list[int] = []
        current = window
        while True:
            parent = current.query_tree().parent
            if parent is None or parent == 0 or parent.id == self.root.id:
                return ids if ids else []
            ids.append(parent.id)
            current = parent

    def _is_ancestor(self, ancestor: int, window_id: int) -> bool:
        return ancestor in self._ancestors(self.d.create_resource_object("window", window_id))

    def _is_desktop(self, window_id: int) -> bool:
        window = self.d.create_resource_object("window", window_id)
        types = self._window_prop(window, "_NET_WM_WINDOW_TYPE")
        return any(t in (self.atom("_NET_WM_WINDOW_TYPE_DESKTOP"), self.atom("_NET_WM_WINDOW_TYPE_DOCK"))
                   for t in types)

    def describe(self, window_id: int) -> tuple[str, str, str]:
        """The window's ``(class, instance, title)``: ``WM_CLASS``, and ``_NET_WM_NAME`` else ``WM_NAME``."""
        window = self.d.create_resource_object("window", window_id)
        names = window.get_wm_class() or ("", "")
        title = window.get_full_property(self.atom("_NET_WM_NAME"), self.atom("UTF8_STRING"))
        if title is not None:
            text = title.value.decode("utf-8", "replace") if isinstance(title.value, bytes) else str(title.value)
        else:
            name = window.get_wm_name()
            text = name.decode("latin-1") if isinstance(name, bytes) else (name or "")
        return names[1], names[0], text

    @contextmanager
    def grabbed(self) -> Iterator[None]:
        """Hold the server: no other client's request (a focus change) runs until the block ends."""
        self.d.grab_server()
        try:
            yield
        finally:
            self.d.ungrab_server()
            self.d.sync()

    # --- keys ------------------------------------------------------------------------------

    def tap(self, code: int, shifted: bool) -> None:
        fake = self.xtest.fake_input
        if shifted:
            fake(self.d, self.X.KeyPress, self.shift)
        fake(self.d, self.X.KeyPress, code)
        fake(self.d, self.X.KeyRelease, code)
        if shifted:
            fake(self.d, self.X.KeyRelease, self.shift)

    def chord(self, modifiers: list[int], code: int) -> None:
        fake = self.xtest.fake_input
        for mod in modifiers:
            fake(self.d, self.X.KeyPress, mod)
        fake(self.d, self.X.KeyPress, code)
        fake(self.d, self.X.KeyRelease, code)
        for mod in reversed(modifiers):
            fake(self.d, self.X.KeyRelease, mod)

    def caps_lock(self) -> bool:
        """Whether Caps Lock is on (the Lock modifier is latched)."""
        return bool(self.root.query_pointer().mask & self.X.LockMask)

    def release_held(self, names: tuple[str, ...]) -> None:
        """Release the modifier keys that are down (a hotkey's Ctrl or Super)."""
        keymap = self.d.query_keymap()
        down = {byte * 8 + bit for byte, value in enumerate(keymap) for bit in range(8) if value & (1 << bit)}
        for name in names:
            place = self.places.get(self.keysym(name))
            if place is not None and place[0] in down:
                self.xtest.fake_input(self.d, self.X.KeyRelease, place[0])
        self.d.sync()
