"""The key-injection tool interface: :class:`KeyTool` and key chords (``ctrl+shift+v``).

The tools themselves (xdotool, the virtual keyboard, wtype, ydotool) are in :mod:`.keys`, XTest's in :mod:`.xtest`, the
RemoteDesktop portal's in :mod:`.portal`; :func:`.keys.key_tool` picks one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from voice_transcriber import SinkError
from voice_transcriber.safe_text import safe_text

from .tools import ToolResult, find_tool, run_tool

MODIFIERS = ("ctrl", "shift", "alt", "super")
#: Keys a chord may end with besides single letters and digits.
NAMED_KEYS = ("Insert", "Return", "Tab", "space", "BackSpace", "Escape")
#: BackSpaces per command when deleting many characters (a short argv; a failure stops early).
BACKSPACE_BATCH = 200


def parse_chord(chord: str) -> tuple[list[str], str]:
    """``"ctrl+shift+v"`` → ``(["ctrl", "shift"], "v")``; raises :class:`SinkError` when invalid."""
    *mods, key = [part.strip() for part in chord.split("+")]
    mods = [m.lower() for m in mods]
    named = {k.lower(): k for k in NAMED_KEYS}
    bad_mods = [m for m in mods if m not in MODIFIERS]
    if bad_mods or not (len(key) == 1 and key.isalnum() and key.isascii() or key.lower() in named):
        raise SinkError(f"invalid key chord '{chord}' (use modifiers {'/'.join(MODIFIERS)} and a letter or "
                        f"{', '.join(NAMED_KEYS)}, e.g. ctrl+shift+v or shift+Insert)")
    return mods, named.get(key.lower(), key.lower())


@dataclass
class KeyTool(ABC):
    """One key-injection tool; ``key_delay_ms`` is the pause between typed characters."""

    key_delay_ms: int = 12
    timeout: float = 30.0

    name = ""
    #: Added to the one-line error when the tool fails.
    fix = ""

    def available(self) -> None:
        """Raise :class:`SinkError` with the fix when the tool cannot work here."""
        find_tool(self.name)

    def can_type(self, char: str) -> bool:
        """Whether :meth:`type_argv` delivers ``char`` exactly (else the caller pastes it)."""
        return True

    @abstractmethod
    def chord_argv(self, chord: str) -> list[str]: ...

    @abstractmethod
    def type_argv(self, text: str) -> list[str]: ...

    def release_argv(self) -> list[str] | None:
        """Argv releasing held modifiers, or None when the tool cannot affect physical keys."""
        return None

    def backspace_argv(self, count: int) -> list[str]:
        """Argv pressing BackSpace ``count`` times (each deletes one character before the cursor)."""
        raise SinkError(f"{self.name} cannot press BackSpace here")

    def press(self, chord: str) -> ToolResult:
        return run_tool(self.chord_argv(chord), timeout=self.timeout, fix=self.fix)

    def type(self, text: str) -> ToolResult:
        text = safe_text(text)  # the pipeline already did; a guard for any other caller
        return run_tool(self.type_argv(text), timeout=self.timeout + len(text) * self.key_delay_ms / 1000, fix=self.fix)

    def backspace(self, count: int) -> ToolResult:
        """Delete the ``count`` characters before the cursor (live typing corrects itself so)."""
        results = [run_tool(self.backspace_argv(size), timeout=self.timeout + size * self.key_delay_ms / 1000,
                            fix=self.fix) for size in _batches(count, BACKSPACE_BATCH)]
        return ToolResult("".join(r.stdout for r in results), "".join(r.stderr for r in results))

    def close(self) -> None:
        """Let go of what the tool keeps open between keys (our virtual keyboard): a delivery ends with it."""

    def release_modifiers(self) -> ToolResult | None:
        argv = self.release_argv()
        return run_tool(argv, timeout=self.timeout, fix=self.fix) if argv else None


def _batches(count: int, size: int) -> list[int]:
    return [min(size, count - start) for start in range(0, count, size)]
