"""Keysyms and keymaps through libxkbcommon (ctypes; the library every Wayland desktop has).

* :func:`keysym` — the X keysym for a character (``ö`` → ``0xf6``, ``€`` → ``0x20ac``).
* :class:`Keymap` — an XKB keymap (the compositor's text, or compiled from layout names) and
  the characters each of its layouts can type when a keysym is sent.

:meth:`Keymap.typeable` follows how mutter turns a keysym into a key press: the first key
(lowest keycode, then lowest shift level) of the active layout that carries the keysym, with
Shift added for level 2 and AltGr for level 3. A keysym missing from the layout is dropped
("No keycode found for keyval"), and one whose first place needs a higher level would come
out as a different character: both are not typeable, and the caller pastes them instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

#: Levels a keysym may sit on and still be typed: 1 (plain), 2 (Shift), 3 (AltGr).
MAX_LEVEL = 3
KEYMAP_FORMAT_TEXT_V1 = 1
#: The modifier key the compositor presses for a level: Shift_L (level 2), ISO_Level3_Shift (AltGr, 3).
LEVEL_KEYS = {2: 0xFFE1, 3: 0xFE03}


class XkbUnavailable(Exception):
    """libxkbcommon is not installed, or the keymap does not compile."""


class _RuleNames(ctypes.Structure):
    _fields_ = [(name, ctypes.c_char_p) for name in ("rules", "model", "layout", "variant", "options")]


@cache
def _lib() -> ctypes.CDLL:
    path = ctypes.util.find_library("xkbcommon") or "libxkbcommon.so.0"
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        raise XkbUnavailable("libxkbcommon is not installed (package libxkbcommon0)") from None
    lib.xkb_utf32_to_keysym.restype = ctypes.c_uint32
    lib.xkb_utf32_to_keysym.argtypes = [ctypes.c_uint32]
    lib.xkb_context_new.restype = ctypes.c_void_p
    lib.xkb_context_new.argtypes = [ctypes.c_int]
    lib.xkb_context_unref.argtypes = [ctypes.c_void_p]
    lib.xkb_keymap_new_from_string.restype = ctypes.c_void_p
    lib.xkb_keymap_new_from_string.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.xkb_keymap_new_from_names.restype = ctypes.c_void_p
    lib.xkb_keymap_new_from_names.argtypes = [ctypes.c_void_p, ctypes.POINTER(_RuleNames), ctypes.c_int]
    lib.xkb_keymap_unref.argtypes = [ctypes.c_void_p]
    for name in ("xkb_keymap_min_keycode", "xkb_keymap_max_keycode", "xkb_keymap_num_layouts"):
        getattr(lib, name).restype = ctypes.c_uint32
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.xkb_keymap_layout_get_name.restype = ctypes.c_char_p
    lib.xkb_keymap_layout_get_name.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.xkb_keymap_num_levels_for_key.restype = ctypes.c_uint32
    lib.xkb_keymap_num_levels_for_key.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32]
    lib.xkb_keymap_key_get_syms_by_level.restype = ctypes.c_int
    lib.xkb_keymap_key_get_syms_by_level.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(ctypes.POINTER(ctypes.c_uint32))]
    return lib


def keysym(char: str) -> int:
    """The keysym that types ``char`` (0 when there is none, e.g. for most control characters)."""
    return int(_lib().xkb_utf32_to_keysym(ord(char)))


class Keymap:
    """The keysyms each layout of a keymap can type, as ``{layout: {keysym: level}}``."""

    def __init__(self, layouts: dict[str, dict[int, int]]) -> None:
        self.layouts = layouts

    @classmethod
    def from_string(cls, text: str) -> Keymap:
        return cls._compile(lambda lib, ctx: lib.xkb_keymap_new_from_string(ctx, text.encode(), KEYMAP_FORMAT_TEXT_V1, 0))

    @classmethod
    def from_names(cls, layout: str, variant: str = "", options: str = "") -> Keymap:
        names = _RuleNames(b"evdev", b"pc105", layout.encode(), variant.encode(), options.encode() or None)
        return cls._compile(lambda lib, ctx: lib.xkb_keymap_new_from_names(ctx, ctypes.byref(names), 0))

    @classmethod
    def _compile(cls, make) -> Keymap:
        lib = _lib()
        ctx = lib.xkb_context_new(0)
        if not ctx:
            raise XkbUnavailable("xkb_context_new failed")
        try:
            keymap = make(lib, ctx)
            if not keymap:
                raise XkbUnavailable("the keymap does not compile")
            try:
                return cls(_first_places(lib, keymap))
            finally:
                lib.xkb_keymap_unref(keymap)
        finally:
            lib.xkb_context_unref(ctx)

    @property
    def names(self) -> list[str]:
        return list(self.layouts)

    def typeable(self, char: str) -> bool:
        """Whether sending ``char``'s keysym types exactly ``char`` in every layout (the active one
        is not known to a client that has no window, so all must agree)."""
        sym = keysym(char)
        return bool(sym) and bool(self.layouts) and all(_reachable(places, sym) for places in self.layouts.values())


def _reachable(places: dict[int, int], sym: int) -> bool:
    level = places.get(sym, 0)
    return 0 < level <= MAX_LEVEL and (level == 1 or LEVEL_KEYS[level] in places)


def _first_places(lib: ctypes.CDLL, keymap: int) -> dict[str, dict[int, int]]:
    """Per layout: keysym → the level (1-based) of its first place, scanning as mutter does."""
    result: dict[str, dict[int, int]] = {}
    low, high = lib.xkb_keymap_min_keycode(keymap), lib.xkb_keymap_max_keycode(keymap)
    syms = ctypes.POINTER(ctypes.c_uint32)()
    for layout in range(lib.xkb_keymap_num_layouts(keymap)):
        name = (lib.xkb_keymap_layout_get_name(keymap, layout) or b"").decode(errors="replace") or f"layout {layout + 1}"
        places: dict[int, int] = {}
        for keycode in range(low, high):
            for level in range(lib.xkb_keymap_num_levels_for_key(keymap, keycode, layout)):
                count = lib.xkb_keymap_key_get_syms_by_level(keymap, keycode, layout, level, ctypes.byref(syms))
                for index in range(count):
                    places.setdefault(int(syms[index]), level + 1)
        result[name if name not in result else f"{name} ({layout + 1})"] = places
    return result
