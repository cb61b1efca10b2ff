"""Which window has the keyboard focus: its class (app id on Wayland) and title.

Used to pick the paste chord (terminals want ``ctrl+shift+v``) and by profiles that match
applications. ``active_window()`` never raises: when the desktop does not say (GNOME or KDE
on Wayland, no window manager, a tool missing) it returns None.

* X11 (over our own X connection, :mod:`.xkeys`): ``_NET_ACTIVE_WINDOW`` when an EWMH window
  manager runs and the input focus is in that window, else the top-level window holding the
  input focus; then its ``WM_CLASS`` and title. None for no window: the root, an empty
  workspace (``_NET_ACTIVE_WINDOW`` unset), a desktop or a panel (``_NET_WM_WINDOW_TYPE``).
* Sway (``$SWAYSOCK``): the focused node of ``swaymsg -t get_tree``.
* Hyprland (``$HYPRLAND_INSTANCE_SIGNATURE``): ``hyprctl activewindow -j``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from voice_transcriber import SinkError

from .tools import Session, detect_session, run_tool


@dataclass(frozen=True)
class WindowInfo:
    """The focused window. ``class_`` is the X11 WM_CLASS class (e.g. ``XTerm``) or the Wayland
    app id (``foot``); ``instance`` the WM_CLASS instance (``xterm``); ``id`` the X11 window id,
    sway container id or Hyprland address (tells two windows of one class apart); ``source``
    how it was found (``xdotool``, ``sway``, ``hyprland``)."""

    class_: str
    title: str
    instance: str = ""
    id: str = ""
    source: str = ""

    def matches(self, name: str) -> bool:
        """Case-insensitive match of ``name`` against the class or the instance."""
        wanted = name.lower()
        return wanted in (self.class_.lower(), self.instance.lower())


def active_window(session: Session | None = None) -> WindowInfo | None:
    """The focused window, or None when it cannot be found out."""
    try:
        return focused_window(session)
    except SinkError:
        return None


def focused_window(session: Session | None = None) -> WindowInfo | None:
    """The focused window; None for no window (or a desktop that cannot tell). Raises
    :class:`SinkError` when asking failed (a tool missing, failing or too slow)."""
    try:
        session = session or detect_session()
        if session == "x11":
            return _x11_window()
        if os.environ.get("SWAYSOCK"):
            return _sway_window()
        if os.environ.get("HYPRLAND_INSTANCE_SIGNATURE"):
            return _hyprland_window()
    except (ValueError, KeyError, TypeError) as exc:
        raise SinkError(f"could not read which window has the focus: {exc}") from None
    return None


def probe_window(session: Session) -> tuple[bool, WindowInfo | None]:
    """``(known, window)``: whether this desktop can say which window has the focus, and that
    window (None: no window — the root, an empty workspace, a desktop or a panel)."""
    if session == "x11":
        try:
            return True, _x11_window()
        except SinkError:  # no X server we can talk to
            return False, None
    if os.environ.get("SWAYSOCK") or os.environ.get("HYPRLAND_INSTANCE_SIGNATURE"):
        return True, active_window(session)
    return False, None


def _x11_window() -> WindowInfo | None:
    from .xkeys import XConnection

    try:
        x = XConnection()
    except SinkError:  # python-xlib cannot reach the server: ask xdotool (SinkError if it cannot either)
        return _xdotool_window()
    try:
        client = x.settled_client()
        if client is None:
            return None
        class_, instance, title = x.describe(client)
        return WindowInfo(class_=class_, title=title, instance=instance, id=str(client), source="x11")
    except Exception:  # noqa: BLE001 - an X error (the window just closed under us): no window
        return None
    finally:
        x.close()


def window_now(session: Session) -> WindowInfo | None:
    """For messages: the focused window, or on X11 the one the window manager calls active while
    the input focus is still on its way there (the focus just moved)."""
    window = active_window(session)
    if window is not None or session != "x11":
        return window
    from .xkeys import XConnection

    try:
        x = XConnection()
    except SinkError:
        return None
    try:
        active = (x._window_prop(x.root, "_NET_ACTIVE_WINDOW") or [0])[0]
        if not active or x._is_desktop(active):
            return None
        class_, instance, title = x.describe(active)
        return WindowInfo(class_=class_, title=title, instance=instance, id=str(active), source="x11")
    except Exception:  # noqa: BLE001 - it closed meanwhile
        return None
    finally:
        x.close()


def _xdotool_window() -> WindowInfo | None:
    try:
        window_id = run_tool(["xdotool", "getactivewindow"], timeout=5).stdout.strip()
    except SinkError:  # no window manager: ask for the input focus instead
        window_id = run_tool(["xdotool", "getwindowfocus"], timeout=5).stdout.strip()
    if not window_id.isdigit():
        return None
    title = run_tool(["xdotool", "getwindowname", window_id], timeout=5).stdout.rstrip("\n")
    wm_class = run_tool(["xprop", "-id", window_id, "WM_CLASS"], timeout=5).stdout
    names = re.findall(r'"((?:[^"\\]|\\.)*)"', wm_class)
    instance, class_ = (names + ["", ""])[:2] if len(names) != 1 else (names[0], names[0])
    return WindowInfo(class_=class_, title=title, instance=instance, id=window_id, source="xdotool")


def _sway_window() -> WindowInfo | None:
    tree = json.loads(run_tool(["swaymsg", "-t", "get_tree", "--raw"], timeout=5).stdout)
    node = _focused(tree)
    if node is None:
        return None
    props = node.get("window_properties") or {}
    return WindowInfo(class_=node.get("app_id") or props.get("class") or "", title=node.get("name") or "",
                      instance=props.get("instance") or "", id=str(node.get("id", "")), source="sway")


def _focused(node: dict[str, Any]) -> dict[str, Any] | None:
    if node.get("focused") and node.get("type") in ("con", "floating_con"):
        return node
    for child in [*node.get("nodes", []), *node.get("floating_nodes", [])]:
        found = _focused(child)
        if found is not None:
            return found
    return None


def _hyprland_window() -> WindowInfo | None:
    data = json.loads(run_tool(["hyprctl", "activewindow", "-j"], timeout=5).stdout or "{}")
    if not data.get("class") and not data.get("title"):
        return None
    return WindowInfo(class_=data.get("class", ""), title=data.get("title", ""),
                      instance=data.get("initialClass", ""), id=str(data.get("address", "")), source="hyprland")
