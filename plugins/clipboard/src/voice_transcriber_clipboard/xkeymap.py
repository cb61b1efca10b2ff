"""The X keyboard map as :class:`.xkeys.XConnection` types with it: the key of each character, and spare
keycodes borrowed for the characters the map lacks.

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

from voice_transcriber import SinkError


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


class XKeyboardMap:
    """The keyboard map side of :class:`.xkeys.XConnection`, which it is mixed into: it uses the connection's
    display (``d``), root window, atoms (``atom``, ``_window_prop``) and server grab (``grabbed``)."""

    def __init__(self) -> None:
        #: Borrowed keycodes → [keysym, keysym with Shift, when its last key was typed (Unix seconds)].
        self.borrowed: dict[int, list[float]] = {}
        #: A keycode in use lent for want of a spare one → its own keysyms, put back after the run.
        self._lent: dict[int, list[int]] = {}
        self._places: dict[int, tuple[int, bool]] | None = None
        self.spare: list[int] = []

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
