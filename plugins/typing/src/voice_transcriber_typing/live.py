"""Live typing (``--live``): the focused window shows the text recognised so far, corrected as it changes.

Only the difference is sent: BackSpace back to the first character that changed, then the
rest of the new text. One BackSpace deletes one character — one Unicode code point — in X11
and Wayland text fields (Tk, GTK, Qt) and in terminals (``iutf8``), emoji and a combining
accent typed after its letter included; so texts are compared code point by code point, after
the same line-break handling the typing itself applies.

Keys go only to the window the dictation is for (focused when the recording started): every
burst of every update is checked against it (atomically on X11), so backspaces never reach
another window. When the focus moves away, nothing more is typed and the final text goes to
the clipboard. Where the focused window cannot be found out, nothing is typed live and the
final text is typed as usual.
"""

from __future__ import annotations

import os
import threading
import time

from voice_transcriber import RunContext, SinkError
from voice_transcriber_clipboard.config import ClipboardConfig
from voice_transcriber_clipboard.focus import FocusMoved, Guard, Target, current_target, recorded_target
from voice_transcriber_clipboard.keys import KeyTool, key_tool
from voice_transcriber_clipboard.paste import around_keys
from voice_transcriber_clipboard.tools import detect_session

from .typer import Piece, TypingConfig, as_typed, pieces, send, terminal_name, type_text


def edit(shown: str, wanted: str) -> tuple[int, str]:
    """``(backspaces, to_type)`` turning ``shown`` into ``wanted``: delete back to their common prefix.

    No fewer backspaces can do it: a character that differs must go, and so must all after it."""
    keep = len(os.path.commonprefix([shown, wanted]))
    return len(shown) - keep, wanted[keep:]


def as_received(text: str, config: TypingConfig, terminal: bool = False) -> str:
    """``text`` as the window receives it: no control characters (a tab is a space unless ``tab: tab``),
    CRLF is one line break, which is a space with ``newline: space`` — and always in a terminal,
    where a typed Return would run a command (live corrections cannot go by bracketed paste)."""
    text = as_typed(text, config)
    return text.replace("\n", " ") if config.newline == "space" or terminal else text


class LiveTyping:
    """Keeps the focused window's text equal to the latest partial text, then corrects it to the final one.

    :meth:`show` returns at once: a worker thread sends the keys, and only the latest text
    counts, so a slow window gets fewer, larger updates. The worker is not a daemon thread: a
    correction under way completes before the process exits.
    """

    def __init__(self, ctx: RunContext, config: TypingConfig, clipboard_config: ClipboardConfig) -> None:
        self.ctx, self.config, self.clipboard_config = ctx, config, clipboard_config
        self.shown = ""  #: what the window has received, as it received it
        self.terminal = False  #: the window is a terminal: line breaks are typed as spaces
        self.doubts: list[str] = []  #: reasons to doubt the text arrived (tool warnings, focus moved)
        self.failure: SinkError | None = None  #: the typing tool failed: no more live updates
        self._wanted = ""
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._keys: KeyTool | None = None
        self._guard: Guard | None = None
        self.target: Target | None = None  #: the window the text is for
        self.moved: FocusMoved | None = None  #: the focus left the target: nothing more is typed
        self._started = False
        self._unavailable = False  #: the focused window cannot be found out: type only the final text

    @property
    def stopped(self) -> bool:
        return self.failure is not None or bool(self.doubts) or self._unavailable or self.moved is not None

    def show(self, text: str) -> None:
        """Have the window show ``text`` soon."""
        with self._lock:
            self._wanted = text
            if self._worker is None and not self.stopped:
                self._worker = threading.Thread(target=self._work, name="live-typing")
                self._worker.start()

    def finish(self, final: str) -> list[str]:
        """Wait for the updates under way, then leave exactly ``final`` in the window; return the doubts.

        Raises :class:`SinkError` when the typing tool failed (the text did not arrive)."""
        worker = self._worker
        if worker is not None:
            worker.join()
        try:
            return self._finish(final)
        finally:
            if self._keys is not None:
                self._keys.close()  # the virtual keyboard leaves the seat with the dictation

    def _finish(self, final: str) -> list[str]:
        if self.failure is not None:
            raise self.failure
        if not self._started and self.moved is None:  # nothing shown yet: the ordinary way, with its own checks
            return type_text(self.ctx, final, self.config, self.clipboard_config,
                             self.target or recorded_target(self.ctx.info))
        try:
            if not self.doubts and self.moved is None:
                self._update(final)
            if not self.doubts and self.moved is None and self.config.press_enter:
                self.doubts += send(self.ctx, Piece("key", "Return", ""), self._guarded(), self.clipboard_config)
        except FocusMoved as moved:
            self.moved = moved
        if self.moved is not None:  # the window holds part of it, or an earlier guess: the whole text goes
            self.moved.rest, self.moved.sent = final, len(self.shown)
            raise self.moved
        return self.doubts

    def _work(self) -> None:
        while True:
            with self._lock:
                wanted = self._wanted
                if as_received(wanted, self.config, self.terminal) == self.shown or self.stopped:
                    self._worker = None
                    return
            try:
                self._update(wanted)
            except FocusMoved as moved:
                self.moved = moved
            except SinkError as exc:
                self.failure = exc

    def _update(self, text: str) -> None:
        """Send the keys turning the window's text into ``text``; raises :class:`FocusMoved`
        (nothing more is sent) when the target lost the focus."""
        if not self._start():
            return
        wanted = as_received(text, self.config, self.terminal)
        backspaces, rest = edit(self.shown, wanted)
        guard = self._guarded()
        keys = guard.keys
        with around_keys(self.ctx):
            if backspaces:
                guard.check()
                self.doubts += _said(keys, guard.backspace(backspaces))
                self.shown = self.shown[: len(self.shown) - backspaces]
            for piece in pieces(rest, keys, self.config.model_copy(update={"press_enter": False})):
                self.doubts += send(self.ctx, piece, guard, self.clipboard_config)
                self.shown += piece.source
        self.shown = wanted

    def _start(self) -> bool:
        """Before the first keys: find the window to type into, let the hotkey's keys go. False: not live."""
        if self._started:
            return True
        self.target = recorded_target(self.ctx.info) or current_target(self.config.session)
        if not self.target.known:
            self.ctx.warn("typing: --live needs to know which window has the focus (X11, sway or Hyprland); "
                          "the text is typed when it is final")
            self._unavailable = True
            return False
        self._guarded().check()  # no window, or the focus moved since the recording started: FocusMoved
        self._started = True
        self.terminal = terminal_name(self.target.window, self.clipboard_config) is not None
        time.sleep(self.config.start_delay)
        if self.config.release_modifiers:
            self._tool().release_modifiers()
        return True

    def _guarded(self) -> Guard:
        if self._guard is None:
            assert self.target is not None
            self._guard = Guard(self.target, self._tool(), self.config.burst_chars)
        return self._guard

    def _tool(self) -> KeyTool:
        if self._keys is None:
            config = self.config
            self._keys = key_tool(config.tool, detect_session(config.session), key_delay_ms=config.key_delay_ms,
                                  settle_ms=config.wtype_settle_ms, unicode_delay_ms=config.unicode_delay_ms,
                                  consent_timeout=config.portal_consent_timeout)
        return self._keys


def _said(keys: KeyTool, stderr: str) -> list[str]:
    from voice_transcriber_clipboard.tools import first_line

    return [f"{keys.name} said: {first_line(stderr)}"] if stderr.strip() else []
