"""Typing through the freedesktop RemoteDesktop portal: GNOME and KDE on Wayland.

GNOME and KDE offer no virtual-keyboard protocol to clients (wtype cannot type there), but
their portals let an application, once the user agreed, send key presses by keysym:
``org.freedesktop.portal.RemoteDesktop`` — ``CreateSession``, ``SelectDevices`` (keyboard),
``Start`` (the consent dialog), then ``NotifyKeyboardKeysym``. The compositor turns each
keysym into a key of the *active layout*, so ``ö`` arrives as ``ö`` under a German layout.

* Consent: ``SelectDevices`` asks for a persistent session (``persist_mode`` 2) where the
  portal supports it (version 2: GNOME 45+, KDE), and ``Start`` then hands back a *restore
  token*, kept in ``$XDG_STATE_HOME/voice-transcriber/portal-restore-token`` (0600) and given
  back next time: the dialog is a one-time step. Each token is good once; every ``Start``
  returns the next one. Older portals (GNOME 43/44) ask at every new session, so a
  long-lived process (the daemon) keeps its session open and asks only once.
* Characters the active layout cannot produce (emoji, other scripts, dead-key-only
  characters) would be dropped or mistyped by the compositor: :meth:`PortalKeys.can_type`
  says no for them, from the compositor's own keymap (:mod:`.wayland`, :mod:`.xkb`), and the
  typing sink pastes them.
* The product never clicks its own consent dialog.

D-Bus goes through dbus-fast (pure Python, asyncio) on a private event loop in a background
thread (:mod:`.remote_desktop`); the key tool's methods are synchronous like the other tools'.
The layout's characters come from :mod:`.active_layout`.
"""

from __future__ import annotations

import os
import string
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice_transcriber import SinkError
from voice_transcriber.safe_text import safe_text

from .active_layout import compositor_keymap
from .keytool import KeyTool, parse_chord
from .remote_desktop import CALL_TIMEOUT, PortalError, PortalInfo, RemoteDesktopSession, run_on_loop
from .tools import ToolResult

#: Keysyms of the chord keys (X11 keysymdef.h).
MODIFIER_KEYSYMS = {"ctrl": 0xFFE3, "shift": 0xFFE1, "alt": 0xFFE9, "super": 0xFFEB}
NAMED_KEYSYMS = {"Return": 0xFF0D, "Tab": 0xFF09, "space": 0x20, "BackSpace": 0xFF08, "Escape": 0xFF1B,
                 "Insert": 0xFF63}
#: When the compositor's keymap cannot be read: characters every Latin layout types by keysym.
FALLBACK_TYPEABLE = frozenset(string.ascii_letters + string.digits + " .,:;!?-()/'\"")

# --- the restore token --------------------------------------------------------------------


def token_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "voice-transcriber" / "portal-restore-token"


def load_token() -> str | None:
    try:
        fd = os.open(token_path(), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, encoding="utf-8", errors="replace") as file:
        token = file.read(4096).strip()
    return token or None


def save_token(token: str | None) -> None:
    """Keep ``token`` (0600, in a 0700 directory, never through a symlink), or forget it when None."""
    from voice_transcriber.files import write_private_atomic

    path = token_path()
    if token is None:
        path.unlink(missing_ok=True)
        return
    write_private_atomic(path, token)


# --- the process-wide session ------------------------------------------------------------


class _Shared:
    """The session this process types through; reused while it lives (one consent per process
    on portals without restore tokens), started again when the desktop closed it."""

    lock = threading.RLock()
    session: RemoteDesktopSession | None = None
    token_problem: str | None = None  #: why the last restore token could not be kept


def probe(timeout: float = 5.0) -> PortalInfo:
    """What the RemoteDesktop portal offers on this session bus; :class:`PortalError` when none."""
    session = RemoteDesktopSession(consent_timeout=0)

    async def ask() -> PortalInfo:
        try:
            return await session.connect()
        finally:
            if session.bus is not None:
                session.bus.disconnect()

    try:
        return run_on_loop(ask(), timeout)
    except FutureTimeout:
        raise PortalError(f"the portal did not answer within {timeout:g} s") from None


def session(consent_timeout: float) -> RemoteDesktopSession:
    """The started session, starting one (and maybe showing the consent dialog) when needed."""
    with _Shared.lock:
        current = _Shared.session
        if current is not None and not current.closed:
            return current
        current = RemoteDesktopSession(consent_timeout=consent_timeout)
        _Shared.session = None

        async def begin() -> str | None:
            await current.connect()
            try:
                return await current.start(load_token())
            except BaseException:
                await current.close()
                raise

        try:
            token = run_on_loop(begin(), consent_timeout + 3 * CALL_TIMEOUT)
        except FutureTimeout:
            raise PortalError("the portal did not answer (consent dialog or session start)") from None
        if current.info is not None and current.info.persistent:
            try:
                save_token(token)  # single-use: keep the new one (or forget a spent one)
                _Shared.token_problem = None
            except OSError as exc:  # typing goes on; the dialog will show again next time (doctor says why)
                _Shared.token_problem = str(exc)
        _Shared.session = current
        return current


def end_session() -> None:
    """Close this process's session (the daemon keeps it; tests and one-shot runs may end it)."""
    with _Shared.lock:
        current, _Shared.session = _Shared.session, None
    if current is not None:
        try:
            run_on_loop(current.close(), CALL_TIMEOUT)
        except (FutureTimeout, Exception):  # noqa: BLE001 - closing is best effort
            pass


# --- the key tool ---------------------------------------------------------------------------


@dataclass
class PortalKeys(KeyTool):
    """Keys by keysym through the RemoteDesktop portal (GNOME, KDE on Wayland)."""

    consent_timeout: float = 120.0

    name = "portal"
    fix = ("the desktop's RemoteDesktop portal (xdg-desktop-portal with its GNOME or KDE backend) must be running "
           "and remote keyboard access allowed in its dialog")

    def __post_init__(self) -> None:
        self._typeable: Any = None
        self.first_start = False

    def available(self) -> None:
        info = probe()
        if not info.keyboard:
            raise PortalError("the RemoteDesktop portal offers no keyboard here")

    def can_type(self, char: str) -> bool:
        return self._layout()(char)

    def chord_argv(self, chord: str) -> list[str]:
        raise SinkError("the portal sends keys over D-Bus, not through a command")

    def type_argv(self, text: str) -> list[str]:
        raise SinkError("the portal sends keys over D-Bus, not through a command")

    def type(self, text: str) -> ToolResult:
        from .xkb import keysym

        events: list[tuple[int, bool]] = []
        for char in safe_text(text):  # the pipeline already did; "\b" would be BackSpace here
            sym = keysym(char)
            if not sym:
                raise SinkError(f"portal: no keysym for {char!r} (U+{ord(char):04X})")
            events += [(sym, True), (sym, False)]
        self._send(events)
        return ToolResult("", "")

    def press(self, chord: str) -> ToolResult:
        mods, key = parse_chord(chord)
        from .xkb import keysym

        syms = [MODIFIER_KEYSYMS[m] for m in mods] + [NAMED_KEYSYMS.get(key) or keysym(key)]
        self._send([(s, True) for s in syms] + [(s, False) for s in reversed(syms)])
        return ToolResult("", "")

    def backspace(self, count: int) -> ToolResult:
        self._send([(NAMED_KEYSYMS["BackSpace"], state) for _ in range(count) for state in (True, False)])
        return ToolResult("", "")

    def _send(self, events: list[tuple[int, bool]]) -> None:
        current = self._session()
        delay = self.key_delay_ms / 1000
        try:
            run_on_loop(current.keysyms(events, delay), self.timeout + len(events) * delay)
        except FutureTimeout:
            current.closed = True  # a session that stopped answering is not used again
            raise PortalError(f"portal: keys not sent within {self.timeout:g} s") from None
        except PortalError:
            current.closed = True
            raise

    def _session(self) -> RemoteDesktopSession:
        with _Shared.lock:
            fresh = _Shared.session is None or _Shared.session.closed
            current = session(self.consent_timeout)
        if fresh:
            self.first_start = True
            # After the consent dialog closes, the first key only gives the focus back to the
            # window (seen on GNOME 43): a lone Shift tap, which types nothing, takes that role.
            run_on_loop(current.keysyms([(MODIFIER_KEYSYMS["shift"], True), (MODIFIER_KEYSYMS["shift"], False)], 0.3),
                      CALL_TIMEOUT)
        return current

    def _layout(self):
        if self._typeable is None:
            self._session()  # a headless compositor has no keyboard (no keymap) before the session
            keymap = compositor_keymap()
            self._typeable = keymap.typeable if keymap is not None else FALLBACK_TYPEABLE.__contains__
        return self._typeable
