"""``--silence-stop``: end the recording after some silence that follows speech.

Speech is told from silence by the Silero voice activity detector (:mod:`.vad`), not by
loudness: a fan or a keyboard is loud and is not speech.
"""

from __future__ import annotations

from .vad import RATE, THRESHOLD, WINDOW, VoiceActivity, check_available

__all__ = ["SilenceDetector", "check_available"]


class SilenceDetector:
    """Feed it the recording as it comes (:meth:`feed`); it says when ``seconds`` of silence followed speech."""

    def __init__(self, seconds: float) -> None:
        self.limit = int(seconds * RATE)
        self.heard_speech = False
        self.last_speech_end = 0
        self._activity = VoiceActivity()

    def feed(self, chunk: bytes) -> None:
        """Append int16 samples (16 kHz mono)."""
        self._activity.feed(chunk)

    def silent_long_enough(self) -> bool:
        """Judge the new audio (once the model is loaded); True after enough silence past speech."""
        first = self._activity.windows
        voiced = (self._activity.judge() >= THRESHOLD).nonzero()[0]
        if voiced.size:
            self.heard_speech = True
            self.last_speech_end = (first + int(voiced[-1]) + 1) * WINDOW
        return self.heard_speech and self._activity.windows * WINDOW - self.last_speech_end >= self.limit
