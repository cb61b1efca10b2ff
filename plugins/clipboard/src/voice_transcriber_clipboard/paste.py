"""Copying text and pasting it into the focused window with the right chord.

Terminals do not paste on ``ctrl+v``; the chord comes from the focused window's class,
looked up in ``pasteChords`` over :data:`DEFAULT_CHORDS`. ``shift+Insert`` reads the
PRIMARY selection in xterm, urxvt and foot but CLIPBOARD in GTK/Qt applications, so for
that chord the text goes to both.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from voice_transcriber import RunContext, SinkError
from voice_transcriber.safe_text import safe_text

from .config import ClipboardConfig, OutputHooksConfig
from .focus import Guard, Target, current_target
from .keys import KeyTool, key_tool
from .selection import SelectionTool, copy_verified, selection_tool, selections
from .tools import Session, detect_session, first_line, run_tool
from .wayland import focus_settle
from .window import WindowInfo, active_window

_CTRL_SHIFT_V = ("gnome-terminal-server", "gnome-terminal", "org.gnome.terminal", "org.gnome.console", "kgx",
                 "org.gnome.ptyxis", "konsole", "org.kde.konsole", "xfce4-terminal", "terminator", "tilix",
                 "com.gexperts.tilix", "alacritty", "kitty", "foot", "footclient", "wezterm",
                 "org.wezfurlong.wezterm", "st", "st-256color", "lxterminal", "mate-terminal", "qterminal",
                 "sakura", "terminology", "guake", "tilda", "yakuake", "ghostty", "com.mitchellh.ghostty",
                 "rio", "contour", "blackbox", "com.raggesilver.blackbox", "deepin-terminal", "cool-retro-term")
_SHIFT_INSERT = ("xterm", "uxterm", "urxvt", "rxvt", "urxvt-unicode", "rxvt-unicode", "emacs")
#: Window classes (lower case) of terminals: a line break typed there runs a command.
TERMINALS = frozenset(_CTRL_SHIFT_V + _SHIFT_INSERT) - {"emacs"}
#: Built-in paste chords by window class (lower case); anything else gets ctrl+v.
DEFAULT_CHORDS: dict[str, str] = {**dict.fromkeys(_CTRL_SHIFT_V, "ctrl+shift+v"),
                                  **dict.fromkeys(_SHIFT_INSERT, "shift+Insert")}


def choose_chord(config: ClipboardConfig, window: WindowInfo | None) -> str:
    """The configured chord, or (``auto``) the one for ``window``'s class, else ``ctrl+v``."""
    if config.paste_chord != "auto":
        return config.paste_chord
    if window is not None:
        chords = {**DEFAULT_CHORDS, **{name.lower(): chord for name, chord in config.paste_chords.items()}}
        for name in (window.class_, window.instance):
            if name and name.lower() in chords:
                return chords[name.lower()]
    return "ctrl+v"


def is_terminal(config: ClipboardConfig, window: WindowInfo | None) -> bool:
    """Whether ``window`` is a terminal: a built-in terminal class, or one ``pasteChords`` gives a
    terminal's chord (``ctrl+shift+v``, ``shift+Insert``)."""
    if window is None:
        return False
    configured = {name.lower() for name, chord in config.paste_chords.items()
                  if chord.lower().replace(" ", "") in ("ctrl+shift+v", "shift+insert")}
    return any(name and name.lower() in TERMINALS | configured for name in (window.class_, window.instance))


@dataclass
class PasteReport:
    """What a paste did, and why it might not have arrived (``doubts``)."""

    chord: str
    window: WindowInfo | None
    doubts: list[str] = field(default_factory=list)


class Clipboard:
    """The clipboard of the current session, as configured by ``output.clipboard``."""

    def __init__(self, ctx: RunContext, config: ClipboardConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.session: Session = detect_session(config.session)
        self.tool: SelectionTool = selection_tool(config.tool, self.session)

    def copy(self, text: str, where: list[str] | None = None) -> None:
        """Put ``text`` on each selection (default: the configured ones) and check it is there."""
        for selection in where or selections(self.config.selection):
            copy_verified(self.tool, text, selection, self.config.verify_timeout)

    def paste(self, text: str, keys: KeyTool | None = None, *, run_hooks: bool = True,
              guard: Guard | None = None, target: Target | None = None) -> PasteReport:
        """Copy ``text``, send the paste chord to the target window, and give back what the
        selections held if ``restore`` is on.

        ``keys`` sends the chord (default: ``keyTool``); ``run_hooks=False`` when the caller
        already runs ``output.beforeCommand``/``afterCommand`` around its own keys. The chord
        goes only to ``target`` (default: the window focused now): raises :class:`FocusMoved`
        when it does not have the focus (the text is then on the clipboard, and stays there).
        The chord is sent only once the selection reads back as ``text``: never the old one."""
        text = safe_text(text, self.ctx.log)  # an ESC inside a paste could end a terminal's bracketed paste
        if keys is not None:
            return self._paste(text, keys, run_hooks, guard, target)
        keys = key_tool(self.config.key_tool, self.session, settle_ms=self.config.wtype_settle_ms,
                        consent_timeout=self.config.portal_consent_timeout)
        try:
            return self._paste(text, keys, run_hooks, guard, target)
        finally:
            keys.close()

    def _paste(self, text: str, keys: KeyTool, run_hooks: bool, guard: Guard | None,
               target: Target | None) -> PasteReport:
        guard = guard or Guard(target or current_target(self.config.session), keys)
        guard.check()
        window = guard.target.window if guard.target.known else active_window(self.session)
        report = PasteReport(choose_chord(self.config, window), window)
        where = set(selections(self.config.selection)) | {"clipboard"}
        where |= {"primary"} if report.chord.lower() == "shift+insert" else set()
        saved = [s for s in (self.tool.save(sel) for sel in sorted(where)) if s is not None] \
            if self.config.restore else []
        self.copy(text, sorted(where))
        time.sleep(max(self.config.paste_delay, focus_settle(self.session)))  # GNOME: wl-copy borrowed the focus
        with around_keys(self.ctx) if run_hooks else nullcontext():
            said = guard.press(report.chord)  # FocusMoved: the text stays on the clipboard, nothing restored
        if said.strip():
            report.doubts.append(f"{keys.name} said: {first_line(said)}")
        if saved and not report.doubts:
            time.sleep(self.config.restore_delay)
            for previous in saved:
                self.tool.restore(previous)
        return report


@contextmanager
def around_keys(ctx: RunContext) -> Iterator[None]:
    """Run ``output.beforeCommand`` before and ``output.afterCommand`` after sending keys."""
    hooks = ctx.settings.section("output", OutputHooksConfig)
    _run_hook(ctx, "beforeCommand", hooks.before_command)
    try:
        yield
    finally:
        _run_hook(ctx, "afterCommand", hooks.after_command)


def _run_hook(ctx: RunContext, key: str, command: str | list[str] | None) -> None:
    """A failing hook is reported, not fatal: it helps delivery, it is not the delivery."""
    if not command:
        return
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    try:
        run_tool(argv, timeout=10)
    except SinkError as exc:
        ctx.warn(f"output.{key}: {exc}")


def doubt_message(sink: str, doubts: list[str]) -> str:
    return (f"{sink}: delivery uncertain ({'; '.join(doubts)}); the text is on the clipboard — "
            "paste it with ctrl+v (ctrl+shift+v in a terminal) if it did not arrive")
