"""``doctor`` lines saying how this desktop gets its text typed, and why.

* ``typing method`` (and ``auto method``): the key tool (``auto`` picks it: xtest on X11; on Wayland our virtual keyboard where the
  compositor offers the virtual-keyboard protocol, the RemoteDesktop portal on GNOME and KDE,
  else ydotool) and the reason.
* ``typing consent`` (portal): whether the desktop will ask, once or at every new session.
* ``typing tested`` (portal): what of this desktop's path the test suite verified on a real desktop
  (GNOME Shell 43) and what only against a simulated portal (restore tokens: GNOME 45+, KDE).
* ``typing layout`` (Wayland): the compositor's layouts, and what happens to characters they lack.

Nothing here shows the consent dialog: the portal is only asked what it offers.
"""

from __future__ import annotations

import os

from voice_transcriber import Check, SinkError
from voice_transcriber_clipboard.keys import choose
from voice_transcriber_clipboard.tools import detect_session


def method_checks(sink: str, tool: str, session_setting: str) -> list[Check]:
    try:
        session = detect_session(session_setting)
    except SinkError:
        return []  # the session line already says why
    try:
        if tool == "auto":
            choice = choose(session)
            name, why = choice.name, choice.reason
        else:
            name, why = tool, "set by output.typing.tool"
    except SinkError as exc:
        return [Check(f"{sink} method", False, str(exc), "use --output clipboard, or install one of the tools named")]
    checks = [Check(f"{sink} method", True, f"{name}: {why}")]
    if name == "portal":
        checks += portal_checks(sink)
    if session == "wayland":
        layout = _layout(sink, name)
        if layout is not None:
            checks.append(layout)
    return checks


def portal_checks(sink: str) -> list[Check]:
    """``consent`` (will the desktop ask, once or every session) and ``tested`` (what of this
    desktop's portal the test suite verified for real, and what only against a simulated portal)."""
    from voice_transcriber_clipboard import portal

    try:
        info = portal.probe()
    except SinkError as exc:
        return [Check(f"{sink} consent", False, str(exc), "start xdg-desktop-portal with its GNOME or KDE backend")]
    return [_consent(sink, info), Check(f"{sink} tested", True, tested_on(info.version))]


def _consent(sink: str, info) -> Check:
    from voice_transcriber_clipboard import portal

    if portal._Shared.token_problem:
        return Check(f"{sink} consent", False, f"the restore token could not be kept: {portal._Shared.token_problem}",
                     "make $XDG_STATE_HOME/voice-transcriber writable")
    if not info.persistent:
        return Check(f"{sink} consent", True,
                     f"this portal (RemoteDesktop version {info.version}; GNOME 43/44) keeps no restore token: the "
                     "desktop asks at every new session, and the daemon keeps its session, so once per daemon "
                     "start (GNOME 45+ and KDE remember the answer)")
    if portal.load_token():
        return Check(f"{sink} consent", True,
                     f"given: the restore token in {portal.token_path()} starts the next session without asking")
    return Check(f"{sink} consent", True, "the desktop asks once, at the first dictation typed; the answer is then "
                                         f"kept as a restore token in {portal.token_path()}")


#: What the test suite runs for real: a headless GNOME Shell 43 (its portal is version 1).
REAL = ("typing through the portal is verified on a real headless GNOME Shell 43 (de and fr layouts exact, "
        "emoji pasted, one consent per session)")
SIMULATED = ("the restore token (consent once, kept and replaced at every session) is verified only against a "
             "simulated version-2 portal written from the specification")


def tested_on(version: int) -> str:
    """What of this desktop's portal path the test suite verified for real, and what only through a simulation."""
    desktop = os.environ.get("XDG_CURRENT_DESKTOP", "").upper()
    if "KDE" in desktop:
        return (f"KDE Plasma is not run by the test suite: {SIMULATED}; {REAL}, and which characters "
                "are typed follows mutter's keymap rule, not checked on KWin")
    if version >= 2:
        return f"this portal (version {version}, GNOME 45+) is not run by the test suite: {SIMULATED}; {REAL}"
    if "GNOME" in desktop:
        return f"verified on this kind of desktop: {REAL}"
    return f"this portal (version {version}) is not one the test suite runs: {REAL}"


def _layout(sink: str, tool: str) -> Check | None:
    from voice_transcriber_clipboard.active_layout import compositor_keymap

    keymap = compositor_keymap()
    if keymap is None or not keymap.names:
        return None
    names = ", ".join(keymap.names)
    if tool == "ydotool":
        us = all(name.startswith("English (US)") for name in keymap.names)
        return Check(f"{sink} layout", us, f"{names}: ydotool presses US-layout keys" +
                     ("" if us else ", so letters and symbols come out wrong under this layout"),
                     "use the portal (GNOME, KDE) or virtual-keyboard (wlroots), or a US layout")
    if tool == "portal":
        return Check(f"{sink} layout", True, f"{names}: characters this layout lacks (emoji, other scripts, "
                                            "dead-key letters) are pasted, and the clipboard given back")
    return Check(f"{sink} layout", True, f"{names}: {tool} brings its own keymap, every character is typed")

