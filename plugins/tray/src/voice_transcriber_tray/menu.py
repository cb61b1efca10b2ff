"""What the tray host shows: the menu's entries and ids, the tooltip's titles, transcripts shortened to a line.

:class:`~voice_transcriber_tray.app.Tray` builds the menu for its state here; :mod:`.sni` exports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sni import MenuItem

SINKS = (("clipboard", "Clipboard"), ("typing", "Type into the window"), ("auto", "Auto (type, else clipboard)"),
         ("paste", "Paste (clipboard + Ctrl+V)"))
TITLES = {"idle": "Idle — click to dictate", "recording": "Recording… click to stop",
          "transcribing": "Transcribing…", "delivered": "Delivered", "error": "Dictation failed"}
RECENT = 5

# Menu item ids
START, STOP, CANCEL, OUTPUT, BACKEND, RECENT_MENU, CONFIG, QUIT = 1, 4, 2, 10, 20, 30, 41, 42


def shorten(text: str, width: int = 60) -> str:
    """``text`` on one line, cut at ``width`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def menu_layout(*, recording: bool, output: str, backend: str | None, configured_backends: list[str],
                backends: list[str], recent: Sequence[tuple[str, str]]) -> MenuItem:
    """The menu for the tray's state: start/stop/cancel (``recording``: one runs), the ``output`` and ``backend``
    chosen (None: the configured ones), the ``recent`` transcripts (run id, text), newest first."""

    def radio(item_id: int, label: str, on: bool) -> MenuItem:
        return (item_id, {"label": label, "toggle-type": "radio", "toggle-state": 1 if on else 0}, [])

    choices = [(None, f"Configured ({', '.join(configured_backends)})"), *((b, b) for b in backends)]
    return (0, {"children-display": "submenu"}, [
        (START, {"label": "Start recording", "enabled": not recording, "icon-name": "media-record"}, []),
        (STOP, {"label": "Stop recording", "enabled": recording, "icon-name": "media-playback-stop"}, []),
        (CANCEL, {"label": "Cancel recording", "enabled": recording, "icon-name": "process-stop"}, []),
        (3, {"type": "separator"}, []),
        (OUTPUT, {"label": "Output", "children-display": "submenu"},
         [radio(OUTPUT + 1 + i, label, sink == output) for i, (sink, label) in enumerate(SINKS)]),
        (BACKEND, {"label": "Backend", "children-display": "submenu"},
         [radio(BACKEND + 1 + i, label, name == backend) for i, (name, label) in enumerate(choices[:9])]),
        (RECENT_MENU, {"label": "Recent transcripts", "children-display": "submenu", "enabled": bool(recent)},
         [(RECENT_MENU + 1 + i, {"label": shorten(text, 50).replace("_", "__")}, [])
          for i, (_, text) in enumerate(recent)]),
        (40, {"type": "separator"}, []),
        (CONFIG, {"label": "Open configuration", "icon-name": "preferences-system"}, []),
        (QUIT, {"label": "Quit", "icon-name": "application-exit"}, []),
    ])
