"""Sending keys and typing text: XTest or xdotool (X11); our virtual keyboard, wtype, the RemoteDesktop portal or ydotool (Wayland).

XTest's tool is :mod:`.xtest`, the portal's :mod:`.portal`; this module has the others and picks one (:func:`key_tool`).

Each :class:`KeyTool` knows its tool's argv for a key chord (``ctrl+shift+v``), for typing
text (always after ``--``, the text as one argument), and for releasing modifiers still held
from a hotkey. The typing sink and the clipboard's paste both use this module.
"""

from __future__ import annotations

import os
import re
import stat
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from voice_transcriber import SinkError
from voice_transcriber.safe_text import safe_text

from .keytool import KeyTool, parse_chord
from .tools import Session, ToolResult, find_tool, is_installed
from .xtest import XTest

if TYPE_CHECKING:
    from .vkeyboard import VirtualKeyboard

#: Runs of non-ASCII characters, with the spaces between them (split keeps them as separate parts).
NON_ASCII_RUNS = re.compile(r"([^\x00-\x7f](?:\s*[^\x00-\x7f])*)")
#: The least pause (ms) before the first key when our virtual keyboard is the seat's only one.
NEW_KEYBOARD_SETTLE_MS = 300


@dataclass
class Xdotool(KeyTool):
    """xdotool types a character missing from the keyboard map by remapping a spare key for a
    moment; an application that reads the map late then drops it (measured on Xvfb: 2-5 of 10
    non-ASCII runs lost a character at 0-12 ms per key, none of 20 at 25 ms). So non-ASCII runs
    are typed separately, with at least ``unicode_delay_ms`` between keys."""

    unicode_delay_ms: int = 40

    name = "xdotool"
    fix = "is $DISPLAY right and the X server running? Under Wayland, xdotool reaches only Xwayland windows"
    #: Left and right variants of every modifier a hotkey may hold.
    MODIFIER_KEYSYMS = ("Control_L", "Control_R", "Shift_L", "Shift_R", "Alt_L", "Alt_R",
                        "Super_L", "Super_R", "Meta_L", "Meta_R", "ISO_Level3_Shift")

    def chord_argv(self, chord: str) -> list[str]:
        mods, key = parse_chord(chord)
        return ["xdotool", "key", "--clearmodifiers", "+".join([*mods, key])]

    def type_argv(self, text: str) -> list[str]:
        delay = self.key_delay_ms if text.isascii() else max(self.key_delay_ms, self.unicode_delay_ms)
        return ["xdotool", "type", "--clearmodifiers", "--delay", str(delay), "--", text]

    def type(self, text: str) -> ToolResult:
        runs = [run for run in NON_ASCII_RUNS.split(safe_text(text)) if run]
        results = [super(Xdotool, self).type(run) for run in runs]
        return ToolResult("".join(r.stdout for r in results), "".join(r.stderr for r in results))

    def backspace_argv(self, count: int) -> list[str]:
        return ["xdotool", "key", "--clearmodifiers", "--delay", str(self.key_delay_ms), *["BackSpace"] * count]

    def release_argv(self) -> list[str]:
        return ["xdotool", "keyup", "--delay", "0", *self.MODIFIER_KEYSYMS]  # default: 12 ms per key


@dataclass
class Wtype(KeyTool):
    #: wtype creates a new virtual keyboard per run; sway may drop the first key if it comes at once.
    settle_ms: int = 100

    name = "wtype"
    fix = ("GNOME and KDE lack the virtual-keyboard protocol wtype needs: set output.typing.tool to portal "
           "(or auto), or use --output clipboard")
    WTYPE_MODIFIERS = {"ctrl": "ctrl", "shift": "shift", "alt": "alt", "super": "logo"}

    def chord_argv(self, chord: str) -> list[str]:
        mods, key = parse_chord(chord)
        names = [self.WTYPE_MODIFIERS[m] for m in mods]
        return ["wtype", *self._settle(), *_flags("-M", names), "-k", key, *_flags("-m", names[::-1])]

    def type_argv(self, text: str) -> list[str]:
        return ["wtype", *self._settle(), "-d", str(self.key_delay_ms), "--", text]

    def backspace_argv(self, count: int) -> list[str]:
        return ["wtype", *self._settle(), "-d", str(self.key_delay_ms), *_flags("-k", ["BackSpace"] * count)]

    def _settle(self) -> list[str]:
        return ["-s", str(self.settle_ms)] if self.settle_ms else []  # wtype refuses "-s 0"


@dataclass
class VirtualKeys(KeyTool):
    """Our own Wayland virtual keyboard (wlroots compositors): each key's press and release go to
    the compositor in one write, so a starved process cannot hold a key down (see :mod:`.vkeyboard`)."""

    settle_ms: int = 100
    _keyboard: VirtualKeyboard | None = field(default=None, repr=False)

    name = "virtual-keyboard"
    fix = ("GNOME and KDE lack the virtual-keyboard protocol: set output.typing.tool to portal (or auto), "
           "or use --output clipboard")

    def available(self) -> None:
        from . import wayland

        compositor = wayland.probe()
        if compositor is not None and not compositor.virtual_keyboard:
            raise SinkError(f"this compositor offers no virtual-keyboard protocol: {self.fix}")

    @property
    def keyboard(self) -> VirtualKeyboard:
        if self._keyboard is None:
            from .vkeyboard import VirtualKeyboard

            # a seat without a keyboard gains ours: applications need a moment to ask for it
            self._keyboard = VirtualKeyboard(settle=max(self.settle_ms, NEW_KEYBOARD_SETTLE_MS) / 1000,
                                             timeout=self.timeout)
        return self._keyboard

    def close(self) -> None:
        """Take the keyboard off the seat now (not whenever the garbage collector gets to it)."""
        if self._keyboard is not None:
            self._keyboard.close()
            self._keyboard = None

    def chord_argv(self, chord: str) -> list[str]:
        return []  # no external tool

    def type_argv(self, text: str) -> list[str]:
        return []

    def type(self, text: str) -> ToolResult:
        self.keyboard.type(list(safe_text(text)), self.key_delay_ms / 1000)
        return ToolResult("", "")

    def press(self, chord: str) -> ToolResult:
        mods, key = parse_chord(chord)
        self.keyboard.tap(key, tuple(mods))
        self.keyboard.sync()
        return ToolResult("", "")

    def backspace(self, count: int) -> ToolResult:
        self.keyboard.type(["BackSpace"] * count, self.key_delay_ms / 1000)
        return ToolResult("", "")


class Ydotool(KeyTool):
    """ydotool ≥ 1.0: needs its daemon ydotoold (and /dev/uinput); types US-layout ASCII only."""

    name = "ydotool"
    fix = "is ydotoold running, and may it open /dev/uinput?"
    #: Linux input event codes (linux/input-event-codes.h) for the keys a chord may use.
    KEYCODES = {
        **dict(zip("1234567890", range(2, 12))), **dict(zip("qwertyuiop", range(16, 26))),
        **dict(zip("asdfghjkl", range(30, 39))), **dict(zip("zxcvbnm", range(44, 51))),
        "ctrl": 29, "shift": 42, "alt": 56, "super": 125, "Return": 28, "Tab": 15, "space": 57,
        "BackSpace": 14, "Escape": 1, "Insert": 110,
    }
    TYPEABLE = frozenset(string.printable) - frozenset("\x0b\x0c\r")

    def available(self) -> None:
        find_tool(self.name)
        if daemon_socket() is None:
            raise SinkError("ydotool needs its daemon, but ydotoold is not running (no socket at "
                            f"{' or '.join(socket_candidates())}): start it with `sudo ydotoold &` or "
                            "`systemctl --user enable --now ydotool`, and give your user access to /dev/uinput")

    def can_type(self, char: str) -> bool:
        return char in self.TYPEABLE

    def chord_argv(self, chord: str) -> list[str]:
        mods, key = parse_chord(chord)
        codes = [self.KEYCODES[k] for k in [*mods, key.lower() if len(key) == 1 else key]]
        return ["ydotool", "key", *[f"{c}:1" for c in codes], *[f"{c}:0" for c in reversed(codes)]]

    def type_argv(self, text: str) -> list[str]:
        return ["ydotool", "type", "--key-delay", str(self.key_delay_ms), "--", text]

    def backspace_argv(self, count: int) -> list[str]:
        code = self.KEYCODES["BackSpace"]
        return ["ydotool", "key", "--key-delay", str(self.key_delay_ms), *[f"{code}:{state}" for _ in range(count)
                                                                            for state in (1, 0)]]


TOOLS: dict[str, type[KeyTool]] = {"xtest": XTest, "xdotool": Xdotool, "virtual-keyboard": VirtualKeys,
                                   "wtype": Wtype, "ydotool": Ydotool}
#: Every name ``tool``/``keyTool`` accepts besides ``auto`` (the portal's class is imported on use).
TOOL_NAMES = ("xtest", "xdotool", "virtual-keyboard", "wtype", "portal", "ydotool")


@dataclass(frozen=True)
class Choice:
    """The key tool ``auto`` picks for this desktop, and why (``doctor`` shows both)."""

    name: str
    reason: str


def choose(session: Session) -> Choice:
    """``auto``: xtest on X11 (xdotool when our own X connection fails). On Wayland, in order: our
    virtual keyboard where the compositor offers the virtual-keyboard protocol (wlroots: sway,
    Hyprland, river, Wayfire; wtype when the compositor cannot be asked), the RemoteDesktop
    portal where it offers a keyboard (GNOME, KDE), else ydotool (any compositor, but US
    layout only, and it needs its root daemon). Raises :class:`SinkError` when none can type."""
    if session == "x11":
        return Choice("xtest", "X11: keys over our own X connection (XTEST; xdotool when it fails), any character "
                               "under any layout")
    from . import wayland

    compositor = wayland.probe()
    desktop = os.environ.get("XDG_CURRENT_DESKTOP") or "this compositor"
    if compositor is None:  # cannot ask: the choice made before the compositor could be asked
        name = "wtype" if is_installed("wtype") or not is_installed("ydotool") else "ydotool"
        return Choice(name, "the Wayland compositor could not be asked what it offers")
    if compositor.virtual_keyboard:
        return Choice("virtual-keyboard", f"{desktop} offers the virtual-keyboard protocol (our own keyboard: "
                                          "each key's press and release in one write, never held down)")
    missed = [f"{desktop} has no virtual-keyboard protocol"]
    from .portal import PortalError, probe

    try:
        info = probe()
        if info.keyboard:
            return Choice("portal", f"{missed[0]}; its RemoteDesktop portal (version {info.version}) offers a keyboard")
        missed.append("the RemoteDesktop portal offers no keyboard")
    except PortalError as exc:
        missed.append(str(exc))
    if is_installed("ydotool"):
        return Choice("ydotool", "; ".join(missed) + "; ydotool types US-layout ASCII (the rest is pasted)")
    raise SinkError(f"no way to type here: {'; '.join(missed)}; and ydotool is not installed "
                    "(use --output clipboard, or install ydotool and run its daemon)")


def key_tool(name: str, session: Session, *, key_delay_ms: int = 12, settle_ms: int = 100,
             unicode_delay_ms: int = 40, consent_timeout: float = 120.0) -> KeyTool:
    """The configured tool (``auto``: see :func:`choose`), checked usable."""
    if name == "auto" and session == "x11":
        try:
            tool: KeyTool = XTest(key_delay_ms, unicode_delay_ms=unicode_delay_ms)
            tool.available()
            return tool
        except SinkError:
            name = "xdotool"
    if name == "auto":
        name = choose(session).name
    if name not in TOOL_NAMES:
        raise SinkError(f"unknown key tool '{name}' (choose auto, {', '.join(TOOL_NAMES)})")
    if name == "wtype":
        tool = Wtype(key_delay_ms, settle_ms=settle_ms)
    elif name == "virtual-keyboard":
        tool = VirtualKeys(key_delay_ms, settle_ms=settle_ms)
    elif name == "xdotool":
        tool = Xdotool(key_delay_ms, unicode_delay_ms=unicode_delay_ms)
    elif name == "xtest":
        tool = XTest(key_delay_ms, unicode_delay_ms=unicode_delay_ms)
    elif name == "portal":
        from .portal import PortalKeys

        tool = PortalKeys(key_delay_ms, consent_timeout=consent_timeout)
    else:
        tool = TOOLS[name](key_delay_ms)
    tool.available()
    return tool


def socket_candidates() -> list[str]:
    """Where ydotoold listens: ``$YDOTOOL_SOCKET``, else its defaults."""
    if os.environ.get("YDOTOOL_SOCKET"):
        return [os.environ["YDOTOOL_SOCKET"]]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return [*([f"{runtime}/.ydotool_socket"] if runtime else []), "/tmp/.ydotool_socket"]


def daemon_socket() -> str | None:
    for path in socket_candidates():
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                return path
        except OSError:
            continue
    return None


def _flags(flag: str, values: list[str]) -> list[str]:
    return [item for value in values for item in (flag, value)]
