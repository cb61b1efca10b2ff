"""The warm daemon: ``voice-transcriber daemon`` keeps plugins imported and backends ready.

Hotkey commands (``toggle``, ``start``, ``stop``, ``cancel``) reach it through a Unix socket
in the runtime directory and fall back to today's background recorder when no daemon runs.

* :mod:`.protocol` — the socket, the line-delimited JSON messages, the peer-credential check;
* :mod:`.client` — the sending side, stdlib only: it runs before the CLI is imported;
* :mod:`.admin` — ``daemon status|stop|reload`` (and a second ``daemon``), answered before the CLI is imported;
* :mod:`.server` — the listening side: one thread per connection, one recording at a time;
* :mod:`.dictation` — one recording and its pipeline run in a worker thread;
* :mod:`.live_config` — config.json reloaded when it changes (a broken one keeps the last good);
* :mod:`.preroll` — the optional ring buffer that keeps the words spoken just before the hotkey.

For plugins that talk to the daemon (the tray, the launcher menu) this package is public: ``from
voice_transcriber.daemon import recording_now, request, socket_path`` (:data:`__all__`). The names
load from :mod:`.protocol` on first use, so that the hotkey path (:mod:`.client`, which imports this
package first) stays clear of ``json`` and ``pathlib``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing`: the hotkey path imports this package
if TYPE_CHECKING:
    from typing import Any

    from .protocol import ask_status, recording_now, request, socket_path

__all__ = ["ask_status", "recording_now", "request", "socket_path"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import protocol

        return getattr(protocol, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
