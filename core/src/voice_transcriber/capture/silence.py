"""``--silence-stop``: end the recording after some silence that follows speech.

Speech is told from silence by the Silero voice activity detector (:mod:`.vad`), not by
loudness: a fan or a keyboard is loud and is not speech.
"""

from __future__ import annotations

from .vad import RATE, THRESHOLD, WINDOW, VoiceActivity, check_available

__all__ = ["SilenceDetector", "check_available"]


class SilenceDetector:
    """Reads the recording's voice activity; says when ``seconds`` of silence followed speech.

    ``activity`` is the recording's one :class:`VoiceActivity` (the recorder feeds it and shares
    it with the segmenter, so the Silero VAD runs once over the audio); without one, the detector
    has its own and :meth:`feed` feeds it.
    """

    def __init__(self, seconds: float, activity: VoiceActivity | None = None) -> None:
        self.limit = int(seconds * RATE)
        self.heard_speech = False
        self.last_speech_end = 0
        self._own = activity is None
        self._activity = activity or VoiceActivity()
        self._read = 0  #: windows looked at so far

    def feed(self, chunk: bytes) -> None:
        """Append int16 samples (16 kHz mono) to the detector's own activity (a shared one is fed by its owner)."""
        if self._own:
            self._activity.feed(chunk)

    def silent_long_enough(self) -> bool:
        """Judge the new audio (once the model is loaded); True after enough silence past speech."""
        first, self._read = self._read, self._activity.judge()
        voiced = (self._activity.since(first) >= THRESHOLD).nonzero()[0]
        if voiced.size:
            self.heard_speech = True
            self.last_speech_end = (first + int(voiced[-1]) + 1) * WINDOW
        return self.heard_speech and self._read * WINDOW - self.last_speech_end >= self.limit
