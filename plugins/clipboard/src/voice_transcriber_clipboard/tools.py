"""Finding the desktop session and running its command-line tools safely.

Every tool runs from an argv list, never through a shell, and every run is checked: a
non-zero exit status becomes a :class:`SinkError` of one line naming the tool, what it
said, and the fix. Output goes to temporary files rather than pipes because ``xclip``,
``xsel`` and ``wl-copy`` leave a child serving the selection that would hold a pipe open.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from voice_transcriber import RunContext, SinkError

Session = Literal["x11", "wayland"]

#: The Debian/Ubuntu package that provides each tool (Fedora and Arch use the same names).
PACKAGES: dict[str, str] = {
    "xclip": "xclip", "xsel": "xsel", "xdotool": "xdotool", "xprop": "x11-utils",
    "wl-copy": "wl-clipboard", "wl-paste": "wl-clipboard", "wtype": "wtype", "ydotool": "ydotool",
    "swaymsg": "sway", "hyprctl": "hyprland",
}


@dataclass(frozen=True)
class ToolResult:
    """What a tool printed. ``stderr`` non-empty on success means: look closer."""

    stdout: str
    stderr: str


def detect_session(preferred: str = "auto", environ: Mapping[str, str] | None = None) -> Session:
    """``wayland`` when ``WAYLAND_DISPLAY`` is set, else ``x11`` when ``DISPLAY`` is; ``preferred``
    forces one. Raises :class:`SinkError` naming the missing variable."""
    env = os.environ if environ is None else environ
    if preferred in ("wayland", "x11"):
        var = "WAYLAND_DISPLAY" if preferred == "wayland" else "DISPLAY"
        if not env.get(var):
            raise SinkError(f"session is set to {preferred} but ${var} is not set "
                            f"(run from your desktop session, or export {var}=...)")
        return preferred  # type: ignore[return-value]
    if env.get("WAYLAND_DISPLAY"):
        return "wayland"
    if env.get("DISPLAY"):
        return "x11"
    raise SinkError("no graphical session: neither $WAYLAND_DISPLAY nor $DISPLAY is set "
                    "(run it from your desktop session, or export DISPLAY=:0)")


def install_hint(tool: str) -> str:
    package = PACKAGES.get(tool, tool)
    return f"install the '{package}' package (e.g. sudo apt install {package})"


def is_installed(tool: str) -> bool:
    return shutil.which(tool) is not None


def find_tool(tool: str) -> str:
    """The tool's path, or a :class:`SinkError` saying which package provides it."""
    path = shutil.which(tool)
    if path is None:
        raise SinkError(f"{tool} not found: {install_hint(tool)}")
    return path


def run_tool(argv: Sequence[str], *, input: str | None = None, timeout: float = 10.0,
             fix: str = "", env: Mapping[str, str] | None = None) -> ToolResult:
    """Run ``argv`` (no shell), feeding ``input`` on stdin (``env``: its environment, default ours); raise
    on a non-zero exit status."""
    path = find_tool(argv[0])
    if any("\0" in arg for arg in argv):
        raise SinkError(f"{argv[0]}: the text contains a NUL character, which no program can receive as an argument")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp:
        if input is not None:
            inp.write(input.encode("utf-8", errors="replace"))  # a lone surrogate is not UTF-8
            inp.seek(0)
        try:
            proc = subprocess.run([path, *argv[1:]], stdin=inp if input is not None else subprocess.DEVNULL,
                                  stdout=out, stderr=err, timeout=timeout, check=False, env=env)
        except subprocess.TimeoutExpired:
            raise SinkError(f"{argv[0]} did not finish within {timeout:g} s{_fix(fix)}") from None
        except OSError as exc:
            raise SinkError(f"{argv[0]} could not be started: {exc.strerror or exc}{_fix(fix)}") from None
        result = ToolResult(_read(out), _read(err))
    if proc.returncode != 0:
        said = first_line(result.stderr) or f"exit status {proc.returncode}"
        raise SinkError(f"{argv[0]} failed: {said}{_fix(fix)}")
    return result


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _read(file) -> str:
    file.seek(0)
    return file.read().decode("utf-8", errors="replace")


def _fix(fix: str) -> str:
    return f" ({fix})" if fix else ""


_kept: set[tuple[str, str]] = set()


def keep_text(ctx: RunContext, text: str) -> None:
    """Print undelivered ``text`` to stderr (once per run) so it is never lost, even with --quiet."""
    key = (ctx.run_id, text)
    if key in _kept:
        return
    _kept.add(key)
    print(f"voice-transcriber: the text that was not delivered:\n{text}", file=sys.stderr, flush=True)


def display_problem(session: Session, environ: Mapping[str, str] | None = None) -> str | None:
    """Why the session's display server cannot be reached (its socket is missing), or None."""
    env = os.environ if environ is None else environ
    if session == "wayland":
        name = env.get("WAYLAND_DISPLAY", "")
        path = name if name.startswith("/") else os.path.join(env.get("XDG_RUNTIME_DIR", ""), name)
        if os.path.exists(path):
            return None
        return f"no Wayland socket at {path} (is the compositor running, and $XDG_RUNTIME_DIR right?)"
    display = env.get("DISPLAY", "")
    host, _, number = display.partition(":")
    if host and host != "unix":  # a remote display (ssh -X): only connecting would tell
        return None
    socket = f"/tmp/.X11-unix/X{number.split('.')[0]}"
    if os.path.exists(socket):
        return None
    return f"no X server socket at {socket} (is the X server for DISPLAY={display} running?)"
