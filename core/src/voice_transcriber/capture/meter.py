"""The live line on a terminal's stderr while recording: elapsed time and input level."""

from __future__ import annotations

import math
import sys
from typing import TextIO

WIDTH = 20
FLOOR_DB = -60.0


class LevelMeter:
    """Redraws one ``\\r`` line; does nothing unless ``stream`` is a terminal."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True, hint: str = "") -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.hint = hint

    def show(self, seconds: float, peak: float, note: str = "") -> None:
        """``peak`` is the loudest sample since the last call, 0..1."""
        if not self.enabled:
            return
        db = 20 * math.log10(peak) if peak > 0 else FLOOR_DB
        filled = round(WIDTH * max(0.0, min(1.0, (db - FLOOR_DB) / -FLOOR_DB)))
        bar = "█" * filled + "·" * (WIDTH - filled)
        minutes, secs = divmod(seconds, 60)
        self.stream.write(f"\r\x1b[2K● REC {int(minutes):02d}:{secs:04.1f} {bar} {note or self.hint}")
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
