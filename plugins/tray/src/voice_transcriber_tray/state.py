"""What the daemon's events say, as the tray shows it: the runs under way, the partial text, the last failure,
a delivery just made and the recent transcripts.

:class:`~voice_transcriber_tray.app.Tray` hands every pushed event to :meth:`TrayState.on_event` and draws
:meth:`TrayState.shown_state`; the one timer is here: *delivered* turns back into *idle* after
``tray.deliveredSeconds``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from .menu import RECENT


class TrayState:
    """The state the daemon's events leave; ``redraw`` is called after each change."""

    def __init__(self, delivered_seconds: float, redraw: Callable[[], None]) -> None:
        self.delivered_seconds, self.redraw = delivered_seconds, redraw
        self.active: dict[str | None, str] = {}  # run → recording/transcribing
        self.run_backend: str | None = None
        self.partial = ""
        self.error: str | None = None
        self.delivered = False
        self._delivered_timer: asyncio.TimerHandle | None = None
        self.recent: deque[tuple[str, str]] = deque(maxlen=RECENT)  # (run id, text), newest first
        self.ended: deque[str] = deque(maxlen=64)

    def on_event(self, event: dict[str, Any]) -> None:
        run, kind, state = event.get("run"), event.get("event"), event.get("state")
        if run is not None and run in self.ended:
            return  # nothing moves a finished run back (a producer older than this tray might send a late partial)
        if kind in ("delivered", "failed", "cancelled") and run is not None:
            self.ended.append(run)
        if kind == "recording":
            self.error = None  # a new dictation: the last failure is old news
            self.partial = ""
            self._end_delivered()
        if kind == "overflow":
            self.error = event.get("error")
        elif state in ("recording", "transcribing") and (kind in ("recording", "recorded", "transcribing")
                                                          or run in self.active):
            self.active[run] = state
            if event.get("backend"):
                self.run_backend = event["backend"]
            if kind == "partial":
                self.partial = event.get("partial") or ""
        elif kind in ("delivered", "failed", "cancelled"):
            self.active.pop(run, None)
            if kind == "delivered":
                self.partial = ""
                text = event.get("text") or ""
                if run:
                    self.recent = deque([(r, t) for r, t in self.recent if r != run], maxlen=RECENT)
                    self.recent.appendleft((run, text))
                self.delivered = True
                if self._delivered_timer is not None:
                    self._delivered_timer.cancel()
                self._delivered_timer = asyncio.get_running_loop().call_later(self.delivered_seconds,
                                                                              self._end_delivered, True)
            elif kind == "failed":
                retry = f"voice-transcriber retry {run}" if event.get("recording") and run else "voice-transcriber retry last"
                self.error = f"{event.get('error') or 'unknown error'} — `{retry}` recovers the audio"
        self.redraw()

    def _end_delivered(self, redraw: bool = False) -> None:
        if self._delivered_timer is not None:
            self._delivered_timer.cancel()
            self._delivered_timer = None
        self.delivered = False
        if redraw:
            self.redraw()

    def shown_state(self) -> str:
        states = set(self.active.values())
        if "recording" in states:
            return "recording"
        if "transcribing" in states:
            return "transcribing"
        if self.error:
            return "error"
        return "delivered" if self.delivered else "idle"

    def seed_recent(self) -> None:
        """The recent transcripts from the history, as the tray starts."""
        from voice_transcriber import history

        try:
            entries = history.load(limit=RECENT, warn=lambda message: None)
        except Exception:  # noqa: BLE001 - a damaged history must not keep the tray from starting
            return
        for entry in entries:  # oldest first
            if entry.text.strip():
                self.recent.appendleft((entry.id, entry.text))
