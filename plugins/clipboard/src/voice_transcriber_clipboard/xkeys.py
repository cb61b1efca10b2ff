"""X11 keys over our own X connection (the XTEST extension, through python-xlib), guarded by the focus.

Every burst of keys is sent while this connection holds a server grab, right after checking
that the focus is still on the target window: between the check and the keys nothing — not
the window manager, not a click, not another program — can move the focus, so not one key
reaches another window. The grab lasts the time of a few requests (well under a millisecond);
the pause between characters (``keyDelayMs``) is taken outside it.

A character is typed with the key that produces it in the current keyboard map (plain or
with Shift), so the user's layout applies (AZERTY, QWERTZ…). A character the map lacks
(accents of another layout, symbols, emoji) is typed on a spare keycode (one no key of the
keyboard sends) mapped to its keysym; applications read the new map asynchronously, so the keys
wait ``unicodeDelayMs`` after the map changes. The characters of a run that the map lacks are
mapped together (one spare keycode each, as many as there are).

A borrowed keycode is not given back after the run, as xdotool does: X11 cannot tell when a
window has read its keys, and a window looks a key up in the keyboard map as it reads it, so a
window starved until after the give-back read the key as nothing (a Tk window at load ~20 lost
the last "à"). It stays mapped, recorded on the root window (:data:`BORROWED_PROPERTY`), and
later runs and later processes type that character with it as with any key. A borrowed keycode
is mapped to another character only when every spare keycode is taken, and only once its last
key is :data:`REUSE_AFTER` old. A new keyboard layout (``setxkbmap``) clears them all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from voice_transcriber import SinkError


#: Keysyms of the modifiers a chord may name.
MODIFIER_KEYSYMS = {"ctrl": "Control_L", "shift": "Shift_L", "alt": "Alt_L", "super": "Super_L"}
#: Keysyms released before typing (a hotkey's modifiers may still be held).
HELD_MODIFIERS = ("Control_L", "Control_R", "Shift_L", "Shift_R", "Alt_L", "Alt_R", "Super_L", "Super_R",
                  "Meta_L", "Meta_R", "ISO_Level3_Shift")
SPECIAL = {"\n": "Return", "\t": "Tab", "\b": "BackSpace"}
#: Root window property recording the spare keycodes borrowed (by any voice-transcriber process) and still
#: mapped: four CARDINALs each, the keycode, its keysyms without and with Shift, and when its last key was
#: typed (Unix seconds). An entry whose keycode no longer holds those keysyms (a new layout) is ignored.
BORROWED_PROPERTY = "_VOICE_TRANSCRIBER_BORROWED_KEYS"
#: Seconds after its last key before a borrowed keycode may be mapped to another character (all spare
#: keycodes taken): a window reading the earlier key after the change would type the new character.
REUSE_AFTER = 5.0
#: Without any spare keycode, the last keycode is lent and its own keysyms put back this long after the
#: run: the old way, with its risk (a window starved longer reads the key as the lent key's character).
GIVE_BACK_AFTER = 0.25


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


class XConnection:
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
        #: Borrowed keycodes → [keysym, keysym with Shift, when its last key was typed (Unix seconds)].
        self.borrowed: dict[int, list[float]] = {}
        #: A keycode in use lent for want of a spare one → its own keysyms, put back after the run.
        self._lent: dict[int, list[int]] = {}
        self._places: dict[int, tuple[int, bool]] | None = None
        self.spare: list[int] = []

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

    # --- the keyboard map ------------------------------------------------------------------

    @property
    def places(self) -> dict[int, tuple[int, bool]]:
        """keysym → (keycode, with Shift), from the current keyboard map (read once)."""
        if self._places is None:
            info = self.d.display.info
            first, count = info.min_keycode, info.max_keycode - info.min_keycode + 1
            rows = self.d.get_keyboard_mapping(first, count)
            places: dict[int, tuple[int, bool]] = {}
            for offset, row in enumerate(rows):
                code = first + offset
                if not any(row):
                    self.spare.append(code)
                    continue
                for level, keysym in enumerate(row[:2]):
                    if keysym and keysym not in places:
                        places[keysym] = (code, level == 1)
            for code, entry in self._recorded().items():
                if first <= code < first + count and list(rows[code - first][:2]) == entry[:2]:
                    self.borrowed[code] = entry  # still ours: reused as it is, or remapped
                    self.spare.append(code)
            if not self.spare:  # every keycode is used: lend the last one (its own characters are missing meanwhile)
                self.spare.append(first + count - 1)
                self._lent[first + count - 1] = list(rows[-1])
                places = {keysym: place for keysym, place in places.items() if place[0] != first + count - 1}
            self._places = places
            self.shift = self.code_of("Shift_L")
        return self._places

    def keysym(self, name: str) -> int:
        return self.XK.string_to_keysym(name)

    def code_of(self, name: str) -> int:
        place = self.places.get(self.keysym(name))
        if place is None:
            raise SinkError(f"xtest: no {name} key in the keyboard map")
        return place[0]

    def find(self, keysym: int) -> tuple[int, bool] | None:
        return self.places.get(keysym)

    def spare_count(self) -> int:
        """How many keysyms can be borrowed at the same time (one spare keycode each)."""
        self.places  # noqa: B018 - finds the spare keycodes
        return len(self.spare)

    def _recorded(self) -> dict[int, list[float]]:
        """:data:`BORROWED_PROPERTY` as keycode → [keysym, keysym with Shift, when last typed]."""
        values = self._window_prop(self.root, BORROWED_PROPERTY)
        return {code: [plain, shifted, typed] for code, plain, shifted, typed in zip(*[iter(values)] * 4)}

    def note_others(self) -> None:
        """Spare keycodes another process (a daemon beside a ``type-last``) borrowed since this one read the map
        count as borrowed, with their last key's time: not remapped at once, as an empty one would be."""
        self.places  # noqa: B018 - finds the spare keycodes
        for code, entry in self._recorded().items():
            if code in self.spare and code not in self.borrowed and code not in self._lent and self._holds(code, entry):
                self.borrowed[code] = entry

    def _holds(self, code: int, entry: list[float]) -> bool:
        """``code`` is still mapped to the keysyms ``entry`` records (no new layout since)."""
        return list(self.d.get_keyboard_mapping(code, 1)[0][:2]) == entry[:2]

    def is_borrowed(self, code: int) -> bool:
        return code in self.borrowed or code in self._lent

    def borrow(self, keysym: int, pair: tuple[int, int] | None, keep: set[int]) -> tuple[int, bool]:
        """Map a spare keycode, none of ``keep`` (the keycodes the text typed next needs as they are), to
        ``keysym`` (both levels; a letter: its lower and upper case, ``pair``, so Caps Lock works on it as on
        any letter key) and return where it is. An empty keycode first; else the borrowed keycode whose last
        key is oldest, once that is :data:`REUSE_AFTER` old. Not synced: a run's keysyms are mapped together,
        then :meth:`sync`."""
        plain, shifted = pair or (keysym, keysym)
        free = [code for code in self.spare if code not in keep]
        code = next((c for c in free if c not in self.borrowed), None)
        if code is None:
            code = min(free, key=lambda c: self.borrowed[c][2])
            time.sleep(max(0.0, self.borrowed[code][2] + REUSE_AFTER - time.time()))
        old = self.borrowed.get(code)
        for stale in (old[:2] if old else []):
            if self.places.get(int(stale), (0,))[0] == code:
                del self.places[int(stale)]
        self.d.change_keyboard_mapping(code, [(plain, shifted)])
        if code not in self._lent:
            self.borrowed[code] = [plain, shifted, time.time()]
        self.places.setdefault(plain, (code, False))
        self.places.setdefault(shifted, (code, True))
        return code, keysym == shifted != plain

    def sync(self) -> None:
        self.d.sync()

    def typed(self, codes: set[int]) -> None:
        """The borrowed ``codes`` were just typed with: record when, on the root window (later runs, later
        processes), and give back a lent keycode (after :data:`GIVE_BACK_AFTER`)."""
        now = time.time()
        for code in codes & self.borrowed.keys():
            self.borrowed[code][2] = now
        with self.grabbed():  # read, merge, write: another process's entries stay
            others = {code: entry for code, entry in self._recorded().items()
                      if code not in self.borrowed and self._holds(code, entry)}  # a new layout cleared the rest
            entries = {**others, **self.borrowed}
            record = [int(value) for code, (plain, shifted, when) in sorted(entries.items())
                      for value in (code, plain, shifted, when)]
            self.root.change_property(self.atom(BORROWED_PROPERTY), self.Xatom.CARDINAL, 32, record)
        if codes & self._lent.keys():
            time.sleep(GIVE_BACK_AFTER)
            for code in codes & self._lent.keys():
                self.d.change_keyboard_mapping(code, [self._lent[code]])
            self._places = None  # read again: the lent keycode is itself again
            self.spare.clear()
            self.borrowed.clear()
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
