"""The window a dictation is for, and the check made before every burst of keys.

The *target* is the window that had the focus when the recording started (or, without a
recording, when delivery began). Keys go there or nowhere: before each burst of keystrokes
the sink checks that the focus is still on the target; when it moved, nothing more is
pressed and :class:`FocusMoved` says how much was sent.

On X11 the check and the keys go over one X connection holding a server grab
(:mod:`.xkeys`): nothing can move the focus between the check and the keys. Elsewhere
(sway, Hyprland) the check asks the compositor before each burst of ``burstChars``
characters, so a focus change mid-text stops within one burst.

"No window" — the root window, an empty workspace, a desktop or a panel — is a target too:
nothing is typed, the text goes to the clipboard. Where the desktop cannot say which
window has the focus (GNOME or KDE on Wayland, a missing tool), the target is unknown and
keys are sent unchecked, as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from voice_transcriber import SinkError

from .keytool import KeyTool
from .xtest import XTest
from .tools import Session, detect_session
from .window import WindowInfo, active_window, focused_window, probe_window, window_now
from .xkeys import XFocusMoved

#: Key in ``RunContext.info`` holding the :class:`TargetProbe` started when the recording started.
TARGET_INFO = "focus_target"


class FocusMoved(SinkError):
    """The focus left the target: ``sent`` characters of the current piece went out before."""

    def __init__(self, sent: int, now: WindowInfo | None) -> None:
        super().__init__(f"the focus moved to {describe(now)}")
        self.sent = sent
        self.now = now
        #: The dictated text not delivered (set by whoever knows the whole text).
        self.rest = ""
        #: Why, when it is not a focus change (the focus could not be checked).
        self.reason = ""


@dataclass(frozen=True)
class Target:
    """Where keys may go. ``known`` False: this desktop cannot tell (keys are sent unchecked).
    ``window`` None with ``known``: no window had the focus (root, empty workspace, desktop, panel)."""

    window: WindowInfo | None
    known: bool
    session: Session

    def holds(self) -> WindowInfo | None | bool:
        """True while the focus is on the target; else the window that has it now (None: none).
        Raises :class:`FocusMoved` when the focus cannot be checked (after two more tries)."""
        if not self.known:
            return True
        for attempt in range(3):
            try:
                now = focused_window(self.session)
                break
            except SinkError as exc:
                if attempt == 2:
                    moved = FocusMoved(0, None)
                    moved.reason = f"the focus could not be checked before typing on ({exc})"
                    raise moved from None
                time.sleep(0.05)
        if now is not None and self.window is not None and identity(now) == identity(self.window):
            return True
        return now


def identity(window: WindowInfo) -> str:
    return window.id or f"{window.class_}/{window.instance}"


def describe(window: WindowInfo | None) -> str:
    if window is None:
        return "no window (the desktop, an empty workspace or a panel)"
    name = window.class_ or window.instance or "?"
    return f"{name} '{window.title}'" if window.title else name


def current_target(session: str = "auto") -> Target:
    """The window focused now, as a target (unknown where the desktop cannot tell)."""
    resolved = detect_session(session)
    known, window = probe_window(resolved)
    return Target(window, known, resolved)


class TargetProbe:
    """Finds the focused window in a thread, so the recording's start is not delayed by it."""

    def __init__(self) -> None:
        self._target: Target | None = None
        self._thread = threading.Thread(target=self._probe, name="focus-target", daemon=True)
        self._thread.start()

    def _probe(self) -> None:
        try:
            self._target = current_target()
        except SinkError:  # no graphical session: the sinks will say so
            self._target = None

    def result(self, timeout: float = 5.0) -> Target | None:
        self._thread.join(timeout)
        return self._target


def recorded_target(info: dict) -> Target | None:
    """The target found when this run's recording started, if any."""
    probe = info.get(TARGET_INFO)
    return probe.result() if isinstance(probe, TargetProbe) else None


class Guard:
    """Sends keys to the target only: a focus check before each burst (atomic with ``xtest``)."""

    def __init__(self, target: Target, keys: KeyTool, burst_chars: int = 8) -> None:
        self.target, self.keys, self.burst_chars = target, keys, max(1, burst_chars)
        #: xtest checks the focus itself, under a server grab, before every key
        self.atomic = isinstance(keys, XTest) and target.known
        if isinstance(keys, XTest):
            keys.guard(target.window.id if target.known and target.window is not None else None)

    def check(self, sent: int = 0) -> None:
        """Raise :class:`FocusMoved` unless the focus is on the target (no window: never)."""
        if not self.target.known:
            return
        if self.target.window is None:
            raise FocusMoved(sent, None)
        try:
            held = self.target.holds()
        except FocusMoved as moved:
            moved.sent = sent
            raise
        if held is not True:
            raise FocusMoved(sent, held or None)

    def type(self, text: str) -> str:
        """Type ``text`` burst by burst; return what the tool said on stderr."""
        if self.atomic:
            return self._atomically(lambda: self.keys.type(text).stderr)
        if not self.target.known:  # nothing to check between bursts
            return self.keys.type(text).stderr
        said, sent = "", 0
        for start in range(0, len(text), self.burst_chars):
            burst = text[start:start + self.burst_chars]
            self.check(sent)
            said += self.keys.type(burst).stderr
            sent += len(burst)
        return said

    def press(self, chord: str) -> str:
        if self.atomic:
            return self._atomically(lambda: self.keys.press(chord).stderr)
        self.check()
        return self.keys.press(chord).stderr

    def backspace(self, count: int) -> str:
        if self.atomic:
            return self._atomically(lambda: self.keys.backspace(count).stderr)
        said = ""
        for start in range(0, count, self.burst_chars):
            self.check()
            said += self.keys.backspace(min(self.burst_chars, count - start)).stderr
        return said

    def _atomically(self, send: Callable[[], str]) -> str:
        if self.target.window is None:
            raise FocusMoved(0, None)
        try:
            return send()
        except XFocusMoved as moved:
            raise FocusMoved(moved.sent, window_now(self.target.session)) from None


# --- consecutive dictations into one window ------------------------------------------------------

LAST_DELIVERY = "last-delivery.json"


def _last_delivery_path():
    from voice_transcriber.paths import runtime_dir

    return runtime_dir() / LAST_DELIVERY


def separator_for(target: Target | None, text: str, separator: str) -> str:
    """What to type before ``text``: ``separator`` when the previous dictation went into the same
    window and did not end a line (nor this one starts with a space or a line break); else ""."""
    if not separator or not text or text[0].isspace() or target is None or target.window is None:
        return ""
    import json

    try:
        last = json.loads(_last_delivery_path().read_text(encoding="utf-8"))
    except (OSError, ValueError, SinkError):
        return ""
    if not isinstance(last, dict) or last.get("window") != identity(target.window) or last.get("ended_line", True):
        return ""
    if last.get("class") != target.window.class_:  # the id of a closed window, reused by another program
        return ""
    return separator


def note_delivery(target: Target | None, text: str, *, ended_line: bool = False) -> None:
    """Remember that ``text`` went into ``target`` (for :func:`separator_for`); never fails a delivery."""
    if target is None or target.window is None or not text:
        return
    import json

    from voice_transcriber.files import write_private_atomic

    ended = ended_line or text.endswith(("\n", "\r"))
    record = {"window": identity(target.window), "class": target.window.class_, "ended_line": ended, "at": time.time()}
    try:
        write_private_atomic(_last_delivery_path(), json.dumps(record))
    except (OSError, SinkError):
        pass
