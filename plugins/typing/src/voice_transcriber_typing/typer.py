"""Typing text into the focused window, piece by piece, and noticing when it may not have arrived.

The text is split into pieces: runs the key tool can type (sent in chunks of ``chunkSize``
characters, so a long dictation is not one giant argv and a failure stops early), line
breaks (per ``newline``), and runs it cannot type — ydotool knows only US-layout ASCII; the
RemoteDesktop portal only what the active layout produces (no emoji, no other scripts) —
which are pasted through the clipboard (and the clipboard put back) or refused, per ``unsupported``.

Only letters, spaces and the keys the settings name are ever pressed: control characters
never get here (``voice_transcriber.safe_text``, applied again as a guard), a tab is a space
unless ``tab`` says otherwise, and a text of several lines goes into a terminal by bracketed
paste, joined, or not at all, per ``terminalLineBreaks`` — a typed Return there runs a command.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import groupby
from typing import Literal

from pydantic import Field

from voice_transcriber import RunContext, SinkError
from voice_transcriber.safe_text import safe_text
from voice_transcriber_clipboard.config import ClipboardConfig, DesktopConfig
from voice_transcriber_clipboard.focus import FocusMoved, Guard, Target, current_target
from voice_transcriber_clipboard.focus import identity as focus_identity
from voice_transcriber_clipboard.keys import KeyTool, key_tool
from voice_transcriber_clipboard.paste import Clipboard, around_keys, is_terminal
from voice_transcriber_clipboard.tools import detect_session, first_line
from voice_transcriber_clipboard.wayland import focus_settle, settle_before_borrowing
from voice_transcriber_clipboard.window import WindowInfo, active_window

NEWLINE_KEYS = {"enter": "Return", "shift+enter": "shift+Return"}


class TypingConfig(DesktopConfig):
    tool: Literal["auto", "xtest", "xdotool", "virtual-keyboard", "wtype", "portal", "ydotool"] = Field(
        "auto", description="Typing tool: auto (xtest on X11: keys over our own X connection, each burst checked "
                            "against the target window; on Wayland our own virtual keyboard where the compositor "
                            "allows it (wlroots), else the RemoteDesktop portal (GNOME, KDE), else ydotool), xtest, "
                            "xdotool, virtual-keyboard, wtype, portal or ydotool.")
    key_delay_ms: int = Field(12, ge=0, description="Pause between typed characters (ms); raise it if characters get lost.")
    unicode_delay_ms: int = Field(
        40, ge=0, description="Characters missing from the X keyboard map (typed on a spare key mapped to them): "
                              "xtest waits this long (ms) after mapping the spare keys of a run of them; xdotool "
                              "pauses this long between non-ASCII characters. Below ~25 ms applications drop some "
                              "of them.")
    start_delay: float = Field(
        0.15, ge=0, description="Seconds to wait before typing, so the hotkey's keys are released first.")
    chunk_size: int = Field(200, ge=1, description="Characters per typing command; long text is sent in chunks.")
    newline: Literal["enter", "shift+enter", "space"] = Field(
        "enter", description="Line breaks in the text: enter (press Return), shift+enter (a line break that does "
                             "not send in chat apps) or space.")
    tab: Literal["space", "tab"] = Field(
        "space", description="Tabs in the text (from a server or formatter): space, or tab (press the Tab key, "
                             "which moves the focus in forms and completes in terminals).")
    terminal_line_breaks: Literal["paste", "space", "refuse"] = Field(
        "paste", description="Text of several lines into a terminal, where a typed Return runs a command: paste "
                             "(through the clipboard; the terminal wraps it in bracketed paste, so the shell waits "
                             "for your Enter), space (join the lines) or refuse (fail; the text is left on the "
                             "clipboard). Live typing joins the lines.")
    press_enter: bool = Field(False, description="Press Return after the text (to run a command or send a message).")
    separator: str = Field(
        " ", description="Typed before a dictation going into the same window as the previous one, so they do not "
                         "run together (none when that one ended with a line break or pressEnter; \"\" for none).")
    utterance_separator: str = Field(
        " ", description="--continuous: typed before each utterance but the first, so they do not run together "
                         "(\"\\n\" for a line each; \"\" for nothing).")
    release_modifiers: bool = Field(
        True, description="Release Ctrl/Shift/Alt/Super still held from the hotkey before typing (xdotool only; "
                          "on Wayland use output.beforeCommand).")
    unsupported: Literal["paste", "fail"] = Field(
        "paste", description="Characters the tool cannot type (ydotool: non-ASCII; portal: what the active "
                             "layout lacks, such as emoji): paste them through the clipboard, which is then put "
                             "back, or fail.")
    burst_chars: int = Field(
        8, ge=1, description="Characters typed between two checks that the focus is still on the target window "
                             "(virtual-keyboard, wtype, ydotool, xdotool; xtest checks before every key, atomically).")
    clipboard_on_doubt: bool = Field(
        True, description="When delivery is doubtful (tool warnings, focus changed), also leave the text on the clipboard.")


@dataclass(frozen=True)
class Piece:
    kind: Literal["type", "key", "paste"]
    value: str
    #: The dictated text a key stands for ("\n" for Return; "" for pressEnter); None: ``value``.
    text: str | None = None

    @property
    def source(self) -> str:
        return self.value if self.text is None else self.text


def pieces(text: str, keys: KeyTool, config: TypingConfig, terminal: str | None = None) -> list[Piece]:
    """What to send, in order; ``terminal``: the focused window is that terminal (its class).

    Raises :class:`SinkError` for untypeable text with ``unsupported: fail``, and for several
    lines into a terminal with ``terminalLineBreaks: refuse``."""
    text = as_typed(text, config)
    lines = text.split("\n")
    if terminal is not None and len(lines) > 1 and config.newline != "space":
        if config.terminal_line_breaks == "refuse":
            raise SinkError(f"the text has {len(lines)} lines and the focused window is a terminal ({terminal}), "
                            "where each line break would run a command; nothing typed (set "
                            "output.typing.terminalLineBreaks to \"paste\" or \"space\")")
        if config.terminal_line_breaks == "paste":
            return [Piece("paste", text), *([Piece("key", "Return", "")] if config.press_enter else [])]
        lines = [" ".join(lines)]
    result: list[Piece] = []
    for number, line in enumerate(lines):
        if number:
            newline_key = NEWLINE_KEYS.get(config.newline)
            result.append(Piece("key", newline_key, "\n") if newline_key else Piece("type", " "))
        runs = [(typeable, "".join(run)) for typeable, run in groupby(line, keys.can_type)]
        for index, (typeable, run_text) in enumerate(runs):
            if not typeable and config.unsupported == "fail":
                raise SinkError(f"{keys.name} cannot type {run_text!r} (set output.typing.unsupported to "
                                "\"paste\", or use another tool)")
            # spaces between two untypeable runs are pasted with them: one paste, not three
            between = typeable and run_text.isspace() and 0 < index < len(runs) - 1
            result.append(Piece("type" if typeable and not between else "paste", run_text))
    if config.press_enter:
        result.append(Piece("key", "Return", ""))
    return _chunked(_merged(result), config.chunk_size)


def as_typed(text: str, config: TypingConfig) -> str:
    """``text`` with only the characters typing may send: no control characters but ``\\n``
    (CRLF is one), and ``\\t`` only with ``tab: tab``."""
    text = safe_text(text)
    return text if config.tab == "tab" else text.replace("\t", " ")


def terminal_name(window: WindowInfo | None, clipboard_config: ClipboardConfig) -> str | None:
    """The class of ``window`` when it is a terminal, else None."""
    if window is None or not is_terminal(clipboard_config, window):
        return None
    return window.class_ or window.instance or "a terminal"


def type_text(ctx: RunContext, text: str, config: TypingConfig, clipboard_config: ClipboardConfig,
              target: Target | None = None) -> list[str]:
    """Type ``text`` into the ``target`` window (default: the one focused now); return the reasons
    to doubt it arrived (none: it did).

    Raises :class:`FocusMoved` (``rest``: the text not typed) when the target does not have the
    focus before a burst: nothing more is typed anywhere."""
    session = detect_session(config.session)
    keys = key_tool(config.tool, session, key_delay_ms=config.key_delay_ms, settle_ms=config.wtype_settle_ms,
                    unicode_delay_ms=config.unicode_delay_ms, consent_timeout=config.portal_consent_timeout)
    try:
        return _type_with(ctx, keys, session, text, config, clipboard_config,
                          target or current_target(config.session))
    finally:
        keys.close()


def _type_with(ctx: RunContext, keys: KeyTool, session: str, text: str, config: TypingConfig,
               clipboard_config: ClipboardConfig, target: Target) -> list[str]:
    window = target.window if target.known else active_window(session)
    plan = pieces(text, keys, config, terminal_name(window, clipboard_config))
    guard = Guard(target, keys, config.burst_chars)
    guard.check()  # no window, or another one: not even the modifiers are touched
    doubts: list[str] = []
    time.sleep(config.start_delay)
    with around_keys(ctx):
        if config.release_modifiers:
            keys.release_modifiers()
        for index, piece in enumerate(plan):
            try:
                doubts += send(ctx, piece, guard, clipboard_config)
            except FocusMoved as moved:
                moved.rest = piece.source[moved.sent:] + "".join(later.source for later in plan[index + 1:])
                raise
    return doubts


def send(ctx: RunContext, piece: Piece, guard: Guard, clipboard_config: ClipboardConfig) -> list[str]:
    """Send one piece through the guard (raises :class:`FocusMoved` when the focus left the target)."""
    keys = guard.keys
    if piece.kind == "paste":  # borrowed in the middle of typing: the clipboard is given back
        clipboard = Clipboard(ctx, clipboard_config.model_copy(update={"restore": True}))
        settle_before_borrowing(clipboard.session)  # GNOME: the keys just typed reach the window first
        empty = clipboard.tool.read("clipboard") is None
        report = clipboard.paste(piece.value, keys, run_hooks=False, guard=guard)
        if empty and report.served is None:  # paste() could not tell when the application read the selection:
            time.sleep(clipboard_config.restore_delay)  # keys typed before it did would come first
        doubts = report.doubts
        time.sleep(focus_settle(clipboard.session))  # GNOME: restoring borrowed the focus, give it time back
        return doubts
    said = guard.type(piece.value) if piece.kind == "type" else guard.press(piece.value)
    return [f"{keys.name} said: {first_line(said)}"] if said.strip() else []


identity = focus_identity  # the name live typing and older plugins import


def _merged(plan: list[Piece]) -> list[Piece]:
    merged: list[Piece] = []
    for piece in plan:
        if merged and piece.kind != "key" and merged[-1].kind == piece.kind:
            merged[-1] = Piece(piece.kind, merged[-1].value + piece.value)
        else:
            merged.append(piece)
    return merged


def _chunked(plan: list[Piece], size: int) -> list[Piece]:
    return [Piece("type", chunk) if piece.kind == "type" else piece
            for piece in plan for chunk in (chunks(piece.value, size) if piece.kind == "type" else [piece.value])]


def chunks(text: str, size: int) -> list[str]:
    """Split ``text`` into pieces of at most ``size`` characters, after a space where possible."""
    parts: list[str] = []
    while len(text) > size:
        cut = text.rfind(" ", 0, size) + 1 or size
        parts.append(text[:cut])
        text = text[cut:]
    return [*parts, text] if text else parts
