"""config.json as the daemon sees it: reloaded when the file changes, the last good one kept.

Every request looks at the file's signature (mtime, size, inode); a changed file is loaded
and checked like a run would (settings, every chosen component's section). A broken file
leaves the daemon on the last configuration that loaded, and every reply says so in one
line until the file is fixed. ``voice-transcriber daemon reload`` (or SIGHUP) forces a reload.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field

from ..config import ConfigModel, Settings, config_path, load_settings
from ..errors import VoiceTranscriberError
from ..files import open_private

SNAPSHOT_NAME = "daemon-config.json"


class DaemonSettings(ConfigModel):
    """The ``daemon`` section of config.json."""

    preroll_ms: int = Field(0, ge=0, le=10_000, description=(
        "Keep this many milliseconds of audio from before the hotkey (the microphone stays open while the "
        "daemon runs; the audio stays in memory until a recording starts). 0 turns it off."))
    stop_timeout_seconds: float = Field(10, ge=0, le=3600, description=(
        "`daemon stop` (or SIGTERM) waits this long for a dictation still being transcribed; then it gives "
        "it up (the recording stays on disk for `voice-transcriber retry`) and the daemon exits."))


class LiveConfig:
    """The daemon's configuration file, the last settings that loaded, and the current error."""

    def __init__(self, explicit: str | None, check: Callable[[Settings], None], snapshot: Path) -> None:
        #: --config given to the daemon (None: $VOICE_TRANSCRIBER_CONFIG or the XDG default)
        self.explicit = explicit
        self.file = config_path(explicit)
        self.check = check
        self.snapshot = snapshot
        self.settings: Settings | None = None
        self.error: str | None = None
        self._signature: tuple[int, int, int] | None | str = "never read"
        self._lock = threading.Lock()

    def refresh(self, force: bool = False) -> bool:
        """Reload if the file changed (or ``force``); True when a new configuration is in effect.

        Raises the :class:`VoiceTranscriberError` of the first load, when there is no previous one.
        """
        with self._lock:
            signature = _signature(self.file)
            if not force and signature == self._signature:
                return False
            self._signature = signature
            try:
                settings = load_settings(self.explicit)  # first: a damaged file is one ConfigError naming it
                self.check(settings)
                text = self.file.read_bytes() if signature else b"{}"
            except (VoiceTranscriberError, OSError) as exc:
                if self.settings is None:
                    raise
                self.error = f"{exc} — the daemon keeps its previous configuration (fix the file; it is reloaded on the next command)"
                return False
            self._keep(text)
            self.settings, self.error = settings, None
            return True

    def load(self, config_file: str | None, overrides: dict[str, Any] | None = None) -> Settings:
        """A run's settings: its flags over the current file, or over the last good one while the file is broken."""
        if config_file and Path(config_file) != self.file:
            return load_settings(config_file, overrides=overrides)  # another file, named by this request
        if self.error is None:
            return load_settings(self.explicit, overrides=overrides)
        return load_settings(self.snapshot, overrides=overrides)

    def daemon_settings(self) -> DaemonSettings:
        assert self.settings is not None
        return self.settings.section("daemon", DaemonSettings)

    def _keep(self, text: bytes) -> None:
        """Keep the good file's text (0600: it may hold API keys) for when the file breaks."""
        with os.fdopen(open_private(self.snapshot, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), "wb") as out:
            out.write(text)

    def close(self) -> None:
        self.snapshot.unlink(missing_ok=True)


def _signature(file: Path) -> tuple[int, int, int] | None:
    try:
        stat = file.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino
