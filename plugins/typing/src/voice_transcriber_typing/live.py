"""Live typing (``--live``): the focused window shows the text recognised so far, corrected as it changes.

Only the difference is sent: BackSpace back to the first character that changed, then the
rest of the new text. One BackSpace deletes one character — one Unicode code point — in X11
and Wayland text fields (Tk, GTK, Qt) and in terminals (``iutf8``), emoji and a combining
accent typed after its letter included; so texts are compared code point by code point, after
the same line-break handling the typing itself applies.

Keys go to whatever window has the focus, so every update first checks that the window that
received the first text still has it: backspaces must never reach another window. Where the
focused window cannot be found out, nothing is typed live and the final text is typed as usual.
"""

from __future__ import annotations

import os
import threading
import time

from voice_transcriber import RunContext, SinkError
from voice_transcriber_clipboard.config import ClipboardConfig
from voice_transcriber_clipboard.keys import KeyTool, key_tool
from voice_transcriber_clipboard.paste import around_keys
from voice_transcriber_clipboard.tools import detect_session
from voice_transcriber_clipboard.window import WindowInfo, active_window

from .typer import Piece, TypingConfig, as_typed, identity, pieces, send, terminal_name, type_text


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
        self._window: WindowInfo | None = None
        self._started = False
        self._unavailable = False  #: the focused window cannot be found out: type only the final text

    @property
    def stopped(self) -> bool:
        return self.failure is not None or bool(self.doubts) or self._unavailable

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
        if self.failure is not None:
            raise self.failure
        if not self._started:  # nothing shown yet: the ordinary way, with its own checks
            return type_text(self.ctx, final, self.config, self.clipboard_config)
        if not self.doubts:
            self._update(final)
        if not self.doubts and self.config.press_enter:
            self.doubts += send(self.ctx, Piece("key", "Return"), self._tool(), self.clipboard_config)
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
            except SinkError as exc:
                self.failure = exc

    def _update(self, text: str) -> None:
        """Send the keys turning the window's text into ``text``, if it still has the focus."""
        if not self._start() or not self._same_window():
            return
        wanted = as_received(text, self.config, self.terminal)
        backspaces, rest = edit(self.shown, wanted)
        keys = self._tool()
        with around_keys(self.ctx):
            if backspaces:
                self.doubts += _said(keys, keys.backspace(backspaces).stderr)
                self.shown = self.shown[: len(self.shown) - backspaces]
            for piece in pieces(rest, keys, self.config.model_copy(update={"press_enter": False})):
                self.doubts += send(self.ctx, piece, keys, self.clipboard_config)
        self.shown = wanted

    def _start(self) -> bool:
        """Before the first keys: find the window to type into, let the hotkey's keys go. False: not live."""
        if self._started:
            return True
        self._window = active_window(detect_session(self.config.session))
        if self._window is None:
            self.ctx.warn("typing: --live needs to know which window has the focus (X11, sway or Hyprland); "
                          "the text is typed when it is final")
            self._unavailable = True
            return False
        self._started = True
        self.terminal = terminal_name(self._window, self.clipboard_config) is not None
        time.sleep(self.config.start_delay)
        if self.config.release_modifiers:
            self._tool().release_modifiers()
        return True

    def _same_window(self) -> bool:
        now = active_window(detect_session(self.config.session))
        if now is not None and self._window is not None and identity(now) == identity(self._window):
            return True
        self.doubts.append(f"the focus moved from {_describe(self._window)} to {_describe(now)} while typing live; "
                           "nothing more was typed")
        return False

    def _tool(self) -> KeyTool:
        if self._keys is None:
            config = self.config
            self._keys = key_tool(config.tool, detect_session(config.session), key_delay_ms=config.key_delay_ms,
                                  settle_ms=config.wtype_settle_ms, unicode_delay_ms=config.unicode_delay_ms)
        return self._keys


def _describe(window: WindowInfo | None) -> str:
    if window is None:
        return "an unknown window"
    return f"{window.class_ or '?'} '{window.title}'" if window.title else window.class_ or "?"


def _said(keys: KeyTool, stderr: str) -> list[str]:
    from voice_transcriber_clipboard.tools import first_line

    return [f"{keys.name} said: {first_line(stderr)}"] if stderr.strip() else []
