"""The ``tray`` config section."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from voice_transcriber import ConfigModel

Sink = Literal["clipboard", "typing", "auto", "paste"]


class TrayConfig(ConfigModel):
    output: Sink = Field("clipboard", description="Where the text of a dictation started from the tray goes: clipboard "
                                                  "(the original tray app's behaviour), typing, auto or paste.")
    backend: str | None = Field(None, description="Backend for dictations started from the tray (null: the configured "
                                                  "transcription.backend).")
    delivered_seconds: float = Field(2.0, ge=0, le=60, description="How long the green 'delivered' icon shows before idle.")
    theme_icons: bool = Field(False, description="Name freedesktop theme icons (IconName) besides the drawn coloured "
                                                 "pixmaps; hosts then usually show the theme's (monochrome) icons.")
    start_daemon: bool = Field(True, description="Start `voice-transcriber daemon` when none runs (stopped again on Quit).")
