"""Config sections: ``output.clipboard`` and the ``output.beforeCommand``/``afterCommand`` hooks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from voice_transcriber import ConfigModel, SinkError

from .keys import parse_chord


class DesktopConfig(ConfigModel):
    """Settings every sink that talks to the desktop shares."""

    session: Literal["auto", "x11", "wayland"] = Field(
        "auto", description="Desktop session: auto (Wayland when $WAYLAND_DISPLAY is set, else X11), x11 or wayland.")
    wtype_settle_ms: int = Field(
        100, ge=0, description="wtype: pause (ms) after it connects, before the first key (sway drops the first "
                               "key without it); virtual-keyboard: pause before the first key when the seat had no "
                               "keyboard (at least 300 ms).")
    portal_consent_timeout: float = Field(
        120, gt=0, description="portal only (GNOME, KDE): seconds to wait for you to allow remote keyboard access "
                               "in the desktop's dialog (asked once: the portal's restore token is kept).")


class ClipboardConfig(DesktopConfig):
    tool: Literal["auto", "wl-copy", "xclip", "xsel"] = Field(
        "auto", description="Clipboard tool: auto (wl-copy on Wayland; xclip, else xsel, on X11), wl-copy, xclip or xsel.")
    selection: Literal["clipboard", "primary", "both"] = Field(
        "clipboard", description="Which selection receives the text: clipboard (ctrl+v), primary (middle click) or both.")
    paste: bool = Field(False, description="After copying, send the paste chord to the focused window.")
    paste_chord: str = Field(
        "auto", description="Paste chord: auto (by the focused window's class, see pasteChords; else ctrl+v), "
                            "or a chord such as ctrl+v, ctrl+shift+v, shift+Insert.")
    paste_chords: dict[str, str] = Field(
        default_factory=dict, description="Window class (X11 WM_CLASS or Wayland app id) → paste chord; "
                                          "added to the built-in terminal defaults, and wins over them.")
    key_tool: Literal["auto", "xtest", "xdotool", "virtual-keyboard", "wtype", "portal", "ydotool"] = Field(
        "auto", description="Tool sending the paste chord: auto (xtest on X11; on Wayland our own virtual keyboard "
                            "where the compositor allows it (wlroots), else the RemoteDesktop portal (GNOME, KDE), "
                            "else ydotool), xtest, xdotool, virtual-keyboard, wtype, portal or ydotool.")
    paste_delay: float = Field(0.05, ge=0, description="Seconds between copying and sending the paste chord.")
    restore: bool = Field(
        False, description="After pasting, give back what the selections the paste used (CLIPBOARD, and PRIMARY for "
                           "shift+Insert) held: their text, else their first MIME type (an image).")
    restore_delay: float = Field(
        2.0, ge=0, description="With restore: the most seconds to wait after the paste chord for the application to "
                               "fetch the text before restoring anyway (restoring happens as soon as it fetched it; "
                               "where that cannot be seen, this whole wait).")
    verify_timeout: float = Field(
        5.0, gt=0, description="Seconds to wait until the selection reads back as the new text "
                               "(wl-copy must own it before pasting).")

    @field_validator("paste_chord")
    @classmethod
    def _chord(cls, value: str) -> str:
        return value if value == "auto" else _valid_chord(value)

    @field_validator("paste_chords")
    @classmethod
    def _chords(cls, value: dict[str, str]) -> dict[str, str]:
        return {name: _valid_chord(chord) for name, chord in value.items()}


class OutputHooksConfig(ConfigModel):
    """``output.beforeCommand`` / ``output.afterCommand``: run around sending keys (no shell)."""

    before_command: str | list[str] | None = Field(
        None, description="Command run before keys are sent (typing, paste chord), e.g. to release a "
                          "compositor's key grab: a string split like a shell would, or a list; never a shell.")
    after_command: str | list[str] | None = Field(None, description="Command run after keys were sent.")


def _valid_chord(chord: str) -> str:
    try:
        parse_chord(chord)
    except SinkError as exc:
        raise ValueError(str(exc)) from None
    return chord
