"""``--silence-stop``: end the recording after some silence that follows speech.

Speech is told from silence by the Silero voice activity detector that faster-whisper
ships (``faster_whisper.vad``, an ONNX model run by onnxruntime), not by loudness: a fan
or a keyboard is loud and is not speech. The model loads in a thread while recording.
"""

from __future__ import annotations

import threading
from typing import Any

from ..errors import ConfigError

RATE = 16_000
WINDOW = 512  #: samples per Silero decision (32 ms)
STEP = 16 * WINDOW  #: audio judged per call (0.512 s), after as much context
THRESHOLD = 0.5


def check_available() -> None:
    """Fail before recording when the detector cannot be loaded."""
    import importlib.util

    if importlib.util.find_spec("faster_whisper") is None or importlib.util.find_spec("onnxruntime") is None:
        raise ConfigError("--silence-stop needs the Silero VAD of faster-whisper "
                          "(pip install 'voice-transcriber-backends[local]'), or record without it")


class SilenceDetector:
    """Feed it the recording as it comes (:meth:`feed`); it says when ``seconds`` of silence followed speech."""

    def __init__(self, seconds: float) -> None:
        import numpy as np

        self.limit = int(seconds * RATE)
        self.heard_speech = False
        self.last_speech_end = 0
        self._judged = 0  #: samples already judged
        self._audio = np.zeros(0, dtype=np.float32)  #: the previous step (context) and what is not judged yet
        self._model: Any = None
        threading.Thread(target=self._load, daemon=True, name="silero-vad").start()

    def _load(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._model = get_vad_model()

    def feed(self, chunk: bytes) -> None:
        """Append int16 samples (16 kHz mono)."""
        import numpy as np

        self._audio = np.concatenate([self._audio, np.frombuffer(chunk, dtype=np.int16).astype(np.float32) / 32768.0])

    def silent_long_enough(self) -> bool:
        """Judge the new audio (once the model is loaded); True after enough silence past speech."""
        context = min(self._judged, STEP)
        while self._model is not None and len(self._audio) - context >= STEP:
            probs = self._model(self._audio[: context + STEP]).reshape(-1)
            voiced = (probs[context // WINDOW:] >= THRESHOLD).nonzero()[0]
            if voiced.size:
                self.heard_speech = True
                self.last_speech_end = self._judged + (int(voiced[-1]) + 1) * WINDOW
            self._audio = self._audio[context:]  # the step just judged is the next one's context
            self._judged += STEP
            context = STEP
        return self.heard_speech and self._judged - self.last_speech_end >= self.limit
