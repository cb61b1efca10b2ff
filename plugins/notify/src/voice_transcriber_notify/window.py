"""The ``active-window`` plugin: which window has the focus, for choosing a profile.

A ``trylast`` implementation of ``vt_active_window``: a plugin that knows better (e.g. the
typing plugin) answers first. X11 through ``xdotool`` + ``xprop``, Sway through ``swaymsg``,
Hyprland through ``hyprctl``. Any failure means "cannot tell" (None), never an error.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from typing import Any

from voice_transcriber import ActiveWindow, RunContext, hookimpl

TOOL_TIMEOUT = 2.0


def _output(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 and done.stdout.strip() else None


def x11_window() -> ActiveWindow | None:
    """``_NET_ACTIVE_WINDOW`` when a window manager sets it, else the X input focus."""
    window_id = _output(["xdotool", "getactivewindow"]) or _output(["xdotool", "getwindowfocus"])
    if window_id is None:
        return None
    props = _output(["xprop", "-id", window_id.strip(), "WM_CLASS", "_NET_WM_NAME", "WM_NAME"]) or ""
    classes = re.findall(r'"((?:[^"\\]|\\.)*)"', _line(props, "WM_CLASS"))
    title = re.findall(r'"((?:[^"\\]|\\.)*)"', _line(props, "_NET_WM_NAME") or _line(props, "WM_NAME"))
    instance, window_class = (classes[0], classes[-1]) if classes else ("", "")
    return ActiveWindow(window_class=window_class, title=title[0] if title else "", instance=instance, source="xdotool")


def _line(props: str, name: str) -> str:
    return next((line for line in props.splitlines() if line.startswith(name + "(")), "")


def sway_window() -> ActiveWindow | None:
    tree = _output(["swaymsg", "-t", "get_tree", "-r"])
    try:
        windows = _nodes(json.loads(tree)) if tree else iter(())
        node = next((n for n in windows if n.get("focused") and n.get("type") in ("con", "floating_con")), None)
    except ValueError:
        return None
    if node is None:
        return None
    props = node.get("window_properties") or {}
    return ActiveWindow(window_class=node.get("app_id") or props.get("class") or "", title=node.get("name") or "",
                        instance=props.get("instance") or "", source="sway")


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("nodes", []) + node.get("floating_nodes", []):
        yield from _nodes(child)


def hyprland_window() -> ActiveWindow | None:
    try:
        data = json.loads(_output(["hyprctl", "activewindow", "-j"]) or "null")
    except ValueError:
        return None
    if not isinstance(data, dict) or not data.get("class"):
        return None
    return ActiveWindow(window_class=data["class"], title=data.get("title", ""),
                        instance=data.get("initialClass", ""), source="hyprland")


def detect(environ: Mapping[str, str] = os.environ) -> ActiveWindow | None:
    """The focused window of the running session, or None."""
    if environ.get("WAYLAND_DISPLAY"):
        if environ.get("SWAYSOCK"):
            return sway_window()
        if environ.get("HYPRLAND_INSTANCE_SIGNATURE"):
            return hyprland_window()
        return None  # other compositors do not tell; X11 tools would only see Xwayland windows
    return x11_window() if environ.get("DISPLAY") else None


@hookimpl(trylast=True)
def vt_active_window(ctx: RunContext) -> ActiveWindow | None:
    window = detect()
    ctx.log(f"active-window: {window}")
    return window
