"""Copying text and pasting it into the focused window with the right chord.

Terminals do not paste on ``ctrl+v``; the chord comes from the focused window's class,
looked up in ``pasteChords`` over :data:`DEFAULT_CHORDS`. ``shift+Insert`` reads the
PRIMARY selection in xterm, urxvt and foot but CLIPBOARD in GTK/Qt applications, so for
that chord the text goes to both.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from voice_transcriber import RunContext, SinkError
from voice_transcriber.safe_text import safe_text

from .config import ClipboardConfig, OutputHooksConfig
from .focus import Guard, Target, current_target
from .keys import KeyTool, key_tool
from .selection import Saved, SelectionTool, WlCopy, copy_verified, selection_tool, selections
from .served import WlServed, XOwner
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


#: Seconds the X11 owner keeps answering after giving the selections back, until the tool owns them.
HANDOVER_TIMEOUT = 5.0


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
    #: With ``restore``: True once the target fetched the text, False when ``restoreDelay`` ran out
    #: first, None when nothing could tell (the whole delay was waited).
    served: bool | None = None


class Clipboard:
    """The clipboard of the current session, as configured by ``output.clipboard``."""

    def __init__(self, ctx: RunContext, config: ClipboardConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.session: Session = detect_session(config.session)
        self.tool: SelectionTool = selection_tool(config.tool, self.session)

    def copy(self, text: str, where: list[str] | None = None, env: Mapping[str, str] | None = None) -> None:
        """Put ``text`` on each selection (default: the configured ones; the tool run with ``env``) and check
        it is there."""
        for selection in where or selections(self.config.selection):
            copy_verified(self.tool, text, selection, self.config.verify_timeout, env)

    def paste(self, text: str, keys: KeyTool | None = None, *, run_hooks: bool = True,
              guard: Guard | None = None, target: Target | None = None) -> PasteReport:
        """Copy ``text``, send the paste chord to the target window, and give back what the
        selections held if ``restore`` is on.

        ``keys`` sends the chord (default: ``keyTool``); ``run_hooks=False`` when the caller
        already runs ``output.beforeCommand``/``afterCommand`` around its own keys. The chord
        goes only to ``target`` (default: the window focused now): raises :class:`FocusMoved`
        when it does not have the focus (the text is then on the clipboard, and stays there).
        The chord is sent only once the selection holds ``text`` (read back; or owned by this process:
        with ``restore`` on X11): never the old one. With ``restore`` the selections are given back once
        the target fetched the text, at most ``restoreDelay`` after the chord (:mod:`.served`)."""
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
        saved = {s.selection: s for s in (self.tool.save(sel) for sel in sorted(where)) if s is not None} \
            if self.config.restore else {}
        signal = self._served_signal(text, sorted(where), guard.target) if self.config.restore else None
        try:
            if not isinstance(signal, XOwner):  # the X owner holds the selections already
                self.copy(text, sorted(where), signal.env() if isinstance(signal, WlServed) else None)
            time.sleep(max(self.config.paste_delay, focus_settle(self.session)))  # GNOME: wl-copy borrowed the focus
            with around_keys(self.ctx) if run_hooks else nullcontext():
                if signal is not None:
                    signal.arm()
                said = guard.press(report.chord)  # FocusMoved: the text stays on the clipboard, nothing restored
            if said.strip():
                report.doubts.append(f"{keys.name} said: {first_line(said)}")
            if signal is not None or (saved and not report.doubts):
                report.served = self._wait_served(signal)
        except BaseException:
            saved = {}  # the text stays on the clipboard for the user
            raise
        finally:
            if self.config.restore:
                self._give_back(text, sorted(where), {} if report.doubts else saved, signal)
        return report

    def _served_signal(self, text: str, where: list[str], target: Target) -> XOwner | WlServed | None:
        """What tells when the target fetched the paste (None: nothing can; the caller waits the cap)."""
        try:
            if self.session == "x11":
                window = target.window.id if target.known and target.window is not None else ""
                return XOwner(text, where, int(window) if window.isdigit() else None)
            if isinstance(self.tool, WlCopy):
                return WlServed()
        except (SinkError, OSError) as exc:
            self.ctx.log(f"clipboard: cannot tell when the paste is fetched ({exc}); restoring "
                         f"{self.config.restore_delay:g} s after the chord")
        return None

    def _wait_served(self, signal: XOwner | WlServed | None) -> bool | None:
        """Wait until the target fetched the text, at most ``restoreDelay`` (the whole delay without a signal)."""
        cap = self.config.restore_delay
        if signal is None:
            time.sleep(cap)
            return None
        self.ctx.log(f"clipboard: paste chord sent; restoring once the target fetched the text ({signal.name}), "
                     f"at most {cap:g} s (restoreDelay) from now")
        served = signal.wait_served(cap)
        if isinstance(signal, XOwner) and self.ctx.debug:
            self.ctx.log(f"clipboard: requests so far: {signal.requests() or 'none'} "
                         f"(the target window is {signal.target_window or 'unknown'})")
        if served:
            self.ctx.log(f"clipboard: the target fetched the paste {signal.served:.3f} s after the chord "
                         f"({signal.name}; {signal.others} other read(s) did not count); restoring now")
            return True
        self.ctx.log(f"clipboard: the target did not fetch the paste within restoreDelay ({cap:g} s; "
                     f"{signal.others} other read(s) did not count); restoring anyway")
        return False

    def _give_back(self, text: str, where: list[str], saved: dict[str, Saved],
                   signal: XOwner | WlServed | None) -> None:
        """Give each selection back what it held; one without (empty, or the text must stay) keeps the text.
        Restoring is not the delivery: a failure is one warning line, the text was pasted."""
        failed = []
        try:
            for selection in where:
                previous = saved.get(selection)
                try:
                    if previous is not None and previous.mime == "text" and not isinstance(signal, XOwner):
                        # read back: the one line below if it did not take (on X11 the owner sees the tool take over)
                        self.copy(previous.data.decode("utf-8"), [selection])
                    elif previous is not None:
                        self.tool.restore(previous)
                    elif isinstance(signal, XOwner):  # our process leaves: a tool keeps the text on offer
                        self.tool.copy(text, selection)
                except SinkError as exc:
                    failed.append(selection)
                    what = "your previous" if previous is not None else "the dictated text on the"
                    now = "it is empty now" if isinstance(signal, XOwner) else "it still holds the dictated text"
                    self.ctx.warn(f"clipboard: could not put {what} {selection} back after pasting ({exc}); {now}")
            if isinstance(signal, XOwner):
                kept = signal.wait_given_up([s for s in where if s not in failed], HANDOVER_TIMEOUT)
                if kept:
                    self.ctx.warn(f"clipboard: {self.tool.name} did not take the {' and '.join(kept)} selection "
                                  f"over within {HANDOVER_TIMEOUT:g} s after pasting; it is empty now")
        finally:
            if signal is not None:
                signal.close()


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
