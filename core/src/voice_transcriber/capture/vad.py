"""Voice activity of a live recording: the Silero VAD that faster-whisper ships, window by window.

Speech is told from silence by a neural detector (``faster_whisper.vad``, an ONNX model run
by onnxruntime), not by loudness: a fan or a keyboard is loud and is not speech. The model
loads in a thread while recording; audio fed before it is ready is judged once it is.
Used by ``--silence-stop`` (:mod:`.silence`) and by the segmenter (:mod:`.segmenter`).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

RATE = 16_000
WINDOW = 512  #: samples per Silero decision (32 ms)
CONTEXT = 16 * WINDOW  #: audio judged again before new windows, so the model's state is warm (0.512 s)
THRESHOLD = 0.5  #: a window at least this likely to be speech is speech


def check_available(feature: str = "--silence-stop") -> None:
    """Fail when the detector cannot be loaded (before recording, so the user can fix it)."""
    if not available():
        raise ConfigError(f"{feature} needs the Silero VAD of faster-whisper "
                          "(pip install 'voice-transcriber-backends[local]'), or record without it")


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("faster_whisper") is not None and importlib.util.find_spec("onnxruntime") is not None


class VoiceActivity:
    """Speech probabilities of a 16 kHz int16 stream: :meth:`feed` audio, :meth:`judge` the new windows.

    Window ``i`` covers samples ``i * WINDOW`` to ``(i + 1) * WINDOW`` of the stream.
    """

    def __init__(self) -> None:
        import numpy as np

        self.windows = 0  #: windows judged so far
        self.fed = 0  #: samples fed so far
        self._audio = np.zeros(0, dtype=np.float32)  #: context (already judged) followed by the unjudged audio
        self._context = 0  #: samples of context at the head of ``_audio``
        self._model: Any = None
        self.error: str | None = None  #: why the model could not be loaded
        self._loaded = threading.Event()
        threading.Thread(target=self._load, daemon=True, name="silero-vad").start()

    def _load(self) -> None:
        try:
            from faster_whisper.vad import get_vad_model

            self._model = get_vad_model()
        except Exception as exc:  # reported by the users of ``error``; the audio is still recorded
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._loaded.set()

    @property
    def ready(self) -> bool:
        return self._model is not None

    def wait_ready(self, timeout: float) -> bool:
        self._loaded.wait(timeout)
        return self.ready

    def feed(self, block: bytes) -> None:
        """Append int16 samples (16 kHz mono)."""
        import numpy as np

        samples = np.frombuffer(block, dtype=np.int16).astype(np.float32) / 32768.0
        self._audio = np.concatenate([self._audio, samples])
        self.fed += len(samples)

    def judge(self, final: bool = False) -> np.ndarray:
        """Probabilities of the windows complete since the last call (none while the model loads).

        ``final``: the stream has ended; a last partial window is padded with silence and judged.
        """
        import numpy as np

        new = len(self._audio) - self._context
        if self._model is None or new <= 0 or (new < WINDOW and not final):
            return np.zeros(0, dtype=np.float32)
        whole = -(-new // WINDOW) if final else new // WINDOW
        audio = self._audio[: self._context + whole * WINDOW]
        if len(audio) < self._context + whole * WINDOW:
            audio = np.pad(audio, (0, self._context + whole * WINDOW - len(audio)))
        probabilities = self._model(audio).reshape(-1)[self._context // WINDOW:]
        end = self._context + whole * WINDOW
        keep = min(CONTEXT, end)
        self._audio = self._audio[end - keep:]
        self._context = keep
        self.windows += whole
        return probabilities
