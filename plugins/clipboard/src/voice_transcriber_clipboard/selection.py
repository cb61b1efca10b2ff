"""Reading and writing the clipboard and primary selection with wl-copy/wl-paste, xclip or xsel.

:func:`copy_verified` reads the selection back until it holds the new text: with wl-copy
that is how we know it owns the selection before a paste chord is sent (otherwise the
application may paste stale text), and with every tool it proves the copy worked.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from voice_transcriber import SinkError

from .tools import Session, find_tool, is_installed, run_tool

SELECTIONS = ("clipboard", "primary")


class SelectionTool(ABC):
    name = ""
    #: Tools that must exist for this one to work (e.g. wl-paste next to wl-copy).
    requires: tuple[str, ...] = ()

    def available(self) -> None:
        for tool in (self.name, *self.requires):
            find_tool(tool)

    @abstractmethod
    def copy_argv(self, selection: str) -> list[str]: ...

    @abstractmethod
    def read_argv(self, selection: str) -> list[str]: ...

    def copy(self, text: str, selection: str, env: Mapping[str, str] | None = None) -> None:
        run_tool(self.copy_argv(selection), input=text, fix=self.fix, env=env)

    def read(self, selection: str) -> str | None:
        """The selection's text, or None when it is empty or holds no text."""
        try:
            return run_tool(self.read_argv(selection), timeout=5, fix=self.fix).stdout or None
        except SinkError:
            return None

    fix = "is the display variable right and the display server running?"

    # --- saving a selection with its type, to give it back after a paste ---

    #: Names under which a selection offers text (X11 targets and Wayland MIME types).
    TEXT_TYPES = ("UTF8_STRING", "text/plain;charset=utf-8", "text/plain", "STRING", "TEXT")

    def types_argv(self, selection: str) -> list[str] | None:
        """Argv listing the types the selection's owner offers (None: this tool cannot)."""
        return None

    def read_type_argv(self, selection: str, mime: str) -> list[str] | None:
        return None

    def copy_type_argv(self, selection: str, mime: str) -> list[str] | None:
        return None

    def save(self, selection: str) -> Saved | None:
        """What ``selection`` holds now, as one type: its text if it has text, else its first MIME
        type (an image, say). None when it is empty or unreadable."""
        argv = self.types_argv(selection)
        if argv is None:
            text = self.read(selection)
            return Saved(selection, "text", text.encode("utf-8")) if text is not None else None
        offered = [line.strip() for line in _run_bytes(argv).decode("utf-8", "replace").splitlines() if line.strip()]
        if not offered:
            return None
        if any(t in self.TEXT_TYPES for t in offered):
            text = self.read(selection)
            return Saved(selection, "text", text.encode("utf-8")) if text is not None else None
        mime = next((t for t in offered if "/" in t), None)
        read = self.read_type_argv(selection, mime) if mime else None
        data = _run_bytes(read) if read else b""
        return Saved(selection, mime, data) if mime and data else None

    def restore(self, saved: Saved) -> None:
        if saved.mime == "text":
            self.copy(saved.data.decode("utf-8"), saved.selection)
            return
        argv = self.copy_type_argv(saved.selection, saved.mime)
        if argv is not None:
            _run_bytes(argv, saved.data)


@dataclass(frozen=True)
class Saved:
    """A selection's content as it was: ``mime`` is ``"text"`` or the owner's MIME type."""

    selection: str
    mime: str
    data: bytes


def _run_bytes(argv: list[str], data: bytes | None = None, timeout: float = 5.0) -> bytes:
    """Run a selection tool on bytes (no shell; files, not pipes: the tools leave a child holding them)."""
    path = find_tool(argv[0])
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as inp:
        if data is not None:
            inp.write(data)
            inp.seek(0)
        try:
            proc = subprocess.run([path, *argv[1:]], stdin=inp if data is not None else subprocess.DEVNULL,
                                  stdout=out, stderr=subprocess.DEVNULL, timeout=timeout, check=False)
        except (subprocess.TimeoutExpired, OSError):
            return b""
        out.seek(0)
        return out.read() if proc.returncode == 0 else b""


class WlCopy(SelectionTool):
    name = "wl-copy"
    requires = ("wl-paste",)
    fix = "is $WAYLAND_DISPLAY right, and does the compositor support the data-control protocol?"

    def copy_argv(self, selection: str) -> list[str]:
        return ["wl-copy", *(["--primary"] if selection == "primary" else []), "--type", "text/plain;charset=utf-8"]

    def read_argv(self, selection: str) -> list[str]:
        return ["wl-paste", "--no-newline", "--type", "text", *(["--primary"] if selection == "primary" else [])]

    def types_argv(self, selection: str) -> list[str]:
        return ["wl-paste", "--list-types", *(["--primary"] if selection == "primary" else [])]

    def read_type_argv(self, selection: str, mime: str) -> list[str]:
        return ["wl-paste", "--no-newline", "--type", mime, *(["--primary"] if selection == "primary" else [])]

    def copy_type_argv(self, selection: str, mime: str) -> list[str]:
        return ["wl-copy", *(["--primary"] if selection == "primary" else []), "--type", mime]


class Xclip(SelectionTool):
    name = "xclip"

    def copy_argv(self, selection: str) -> list[str]:
        return ["xclip", "-selection", selection, "-in"]

    def read_argv(self, selection: str) -> list[str]:
        return ["xclip", "-selection", selection, "-out", "-target", "UTF8_STRING"]

    def types_argv(self, selection: str) -> list[str]:
        return ["xclip", "-selection", selection, "-out", "-target", "TARGETS"]

    def read_type_argv(self, selection: str, mime: str) -> list[str]:
        return ["xclip", "-selection", selection, "-out", "-target", mime]

    def copy_type_argv(self, selection: str, mime: str) -> list[str]:
        return ["xclip", "-selection", selection, "-in", "-target", mime]


class Xsel(SelectionTool):
    name = "xsel"

    def copy_argv(self, selection: str) -> list[str]:
        return ["xsel", f"--{selection}", "--input"]

    def read_argv(self, selection: str) -> list[str]:
        return ["xsel", f"--{selection}", "--output"]


TOOLS: dict[str, type[SelectionTool]] = {"wl-copy": WlCopy, "xclip": Xclip, "xsel": Xsel}


def selection_tool(name: str, session: Session) -> SelectionTool:
    """The configured tool (``auto``: wl-copy on Wayland; xclip, else xsel, on X11), checked present."""
    if name == "auto":
        if session == "wayland":
            name = "wl-copy"
        else:
            name = "xclip" if is_installed("xclip") or not is_installed("xsel") else "xsel"
    if name not in TOOLS:
        raise SinkError(f"unknown clipboard tool '{name}' (choose auto, {', '.join(TOOLS)})")
    tool = TOOLS[name]()
    tool.available()
    return tool


def selections(setting: str) -> list[str]:
    """``"both"`` → clipboard and primary; otherwise the one named."""
    return list(SELECTIONS) if setting == "both" else [setting]


def copy_verified(tool: SelectionTool, text: str, selection: str, timeout: float = 1.0,
                  env: Mapping[str, str] | None = None) -> None:
    """Copy ``text`` (the tool run with ``env``) and wait until reading the selection back gives exactly ``text``."""
    tool.copy(text, selection, env)
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        if tool.read(selection) == text:
            return
        if time.monotonic() >= deadline:
            raise SinkError(f"{tool.name}: the {selection} selection does not hold the text {timeout:g} s after "
                            "copying (another program may own it; a clipboard manager?)")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
