"""The daemon's event stream: every run's events pushed to the clients of ``events`` (``status --follow``).

The daemon's own runs publish to :data:`voice_transcriber.events.hub` directly; the runs of other processes
(a terminal's dictation, a background recorder) reach it through the event journal, relayed here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import events
from .dictation import log

if TYPE_CHECKING:
    from .protocol import Reply


def stream_events(reply: Reply, hello: Callable[[], dict[str, Any]]) -> None:
    """Send ``hello()`` (the daemon's status, once subscribed), then every event of every run, until the client
    hangs up."""
    subscription = events.hub.subscribe()
    try:
        reply.send({"hello": hello()})
        while not reply.gone:
            event = subscription.get()
            if event is None:
                break
            reply.send({"event": event})
            if event.get("event") == "overflow":
                break
        reply.done(0)
    finally:
        subscription.close()


def relay_other_runs(stopped: threading.Event) -> None:
    """Relay the journal's events of runs in other processes (terminal, background recorders) to subscribers,
    in a thread, until ``stopped`` is set."""
    try:
        tail = events.JournalTail()
    except OSError as exc:
        log(f"cannot follow the event journal ({exc}); `status --follow` sees only the daemon's own runs")
        return

    def relay() -> None:
        import select

        own = os.getpid()
        while not stopped.is_set():
            select.select([tail], [], [])
            for event in tail.read():
                if event.get("pid") != own:
                    events.hub.publish(event)

    threading.Thread(target=relay, name="journal-relay", daemon=True).start()
