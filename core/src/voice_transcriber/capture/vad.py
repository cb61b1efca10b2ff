"""Voice activity of a live recording: the Silero VAD that faster-whisper ships, window by window.

Speech is told from silence by a neural detector (Silero VAD v6, the ONNX model that
faster-whisper ships, run by onnxruntime), not by loudness: a fan or a keyboard is loud and is
not speech. The model loads in a thread while recording; audio fed before it is ready is judged
once it is. Used by ``--silence-stop`` (:mod:`.silence`) and by the segmenter (:mod:`.segmenter`).

The model is run here as ``faster_whisper.vad.SileroVADModel`` runs it, without importing the
``faster_whisper`` package: that would load CTranslate2 and tokenizers (~45 MB more) into a
recorder whose backend may be an HTTP one.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

RATE = 16_000
WINDOW = 512  #: samples per Silero decision (32 ms)
CONTEXT = 16 * WINDOW  #: audio judged again before new windows, so the model's state is warm (0.512 s)
GROUP = 4  #: windows judged per model call (128 ms), always the same ones whatever the blocks fed
THRESHOLD = 0.5  #: a window at least this likely to be speech is speech
MODEL_FILE = "silero_vad_v6.onnx"
MODEL_CONTEXT = 64  #: samples of the previous window the model sees with each window
RECENT = 24  #: windows after the last speech in which a pause is still judged before its group is whole (0.77 s)


def check_available(feature: str = "--silence-stop") -> None:
    """Fail when the detector cannot be loaded (before recording, so the user can fix it)."""
    if not available():
        raise ConfigError(f"{feature} needs the Silero VAD of faster-whisper "
                          "(pip install 'voice-transcriber-backends[local]'), or record without it")


def available() -> bool:
    import importlib.util

    return model_path() is not None and importlib.util.find_spec("onnxruntime") is not None


def model_path() -> Path | None:
    """faster-whisper's copy of the Silero model, found without importing faster_whisper."""
    import importlib.util

    spec = importlib.util.find_spec("faster_whisper")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "assets" / MODEL_FILE
        if path.is_file():
            return path
    return None


class SileroModel:
    """Speech probability of each 512-sample window of 16 kHz audio (a multiple of 512 samples)."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = options.intra_op_num_threads = 1  # 1 ms per 0.5 s of audio: one core is plenty
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 4
        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"], sess_options=options)

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        import numpy as np

        windows = audio.reshape(-1, WINDOW)
        context = np.zeros((len(windows), MODEL_CONTEXT), dtype=np.float32)  # each window sees the end of the one before
        context[1:] = windows[:-1, -MODEL_CONTEXT:]
        state = np.zeros((1, 1, 128), dtype=np.float32)
        probabilities, _, _ = self.session.run(None, {"input": np.concatenate([context, windows], axis=1),
                                                      "h": state, "c": state})
        return probabilities.reshape(-1)


class VoiceActivity:
    """Speech probabilities of a 16 kHz int16 stream: :meth:`feed` audio, :meth:`judge` it, read :meth:`since`.

    Window ``i`` covers samples ``i * WINDOW`` to ``(i + 1) * WINDOW`` of the stream. Windows are
    judged in fixed groups of :data:`GROUP`, each after the :data:`CONTEXT` audio before it, so a
    window's probability depends on the audio only, not on how it arrived: a stored recording
    judged at once (``retry``) gets the same probabilities, hence the same phrases, as the live
    recording judged 50 ms at a time. One instance serves every reader of a recording (the silence
    stop, the segmenter): each keeps its own position in :attr:`probabilities`.

    A live recording does not wait for a group to be complete when a pause may be under way (the
    last window judged is not speech, and speech was judged less than :data:`RECENT` windows
    before): the windows of the unfinished group are judged at once, after the same context. The model is causal (a
    window's probability depends only on the audio up to it), so they get exactly the numbers the
    whole group gives them later. So a pause is heard as soon as its windows are recorded, not up to
    96 ms later when its group is whole: the rest left at the stop starts that much sooner. These extra
    calls come only in the first 0.77 s of a pause (nothing in speech or in a long silence).
    """

    def __init__(self) -> None:
        import numpy as np

        self.windows = 0  #: windows judged so far
        self.fed = 0  #: samples fed so far
        self.passes = 0  #: model calls on whole groups so far (each judges one group of windows after its context)
        self.early_passes = 0  #: model calls on the windows of a group not yet complete (live, in a pause)
        self._early = 0  #: windows of the group under way judged already (by early passes)
        self._speech_at = -RECENT - 1  #: the last window judged speech
        self._probabilities = np.zeros(0, dtype=np.float32)
        self._audio = np.zeros(0, dtype=np.float32)  #: context (already judged) followed by the unjudged audio
        self._context = 0  #: samples of context at the head of ``_audio``
        self._model: Any = None
        self.error: str | None = None  #: why the model could not be loaded
        self._loaded = threading.Event()
        # Not a daemon: the interpreter waits for the load (well under a second, a few under load)
        # before it finalizes. A daemon thread still inside onnxruntime's import or session set-up
        # when a short recording's process exits is cut off by CPython 3.11's pthread_exit and can
        # leave the exiting main thread waiting forever on a futex (cpython gh-87135).
        threading.Thread(target=self._load, daemon=False, name="silero-vad").start()

    def _load(self) -> None:
        try:
            path = model_path()
            if path is None:
                raise FileNotFoundError(f"{MODEL_FILE} not found (is faster-whisper installed?)")
            self._model = SileroModel(path)
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

    def judge(self, final: bool = False) -> int:
        """Judge the groups of windows complete since the last call (none while the model loads);
        return :attr:`windows`. ``final``: the stream has ended; the rest is judged, a last
        partial window padded with silence."""
        import numpy as np

        if self._model is None:
            return self.windows
        found = []
        while True:
            new = len(self._audio) - self._context
            if new < GROUP * WINDOW and not final:
                if self._pause_may_start(new // WINDOW):
                    found.append(self._early_pass(new // WINDOW))
                break
            if new <= 0:
                break
            whole = min(GROUP, -(-new // WINDOW))
            audio = self._audio[: self._context + whole * WINDOW]
            if len(audio) < self._context + whole * WINDOW:
                audio = np.pad(audio, (0, self._context + whole * WINDOW - len(audio)))
            found.append(self._judged(audio, whole))
            self.passes += 1
            end = self._context + whole * WINDOW
            keep = min(CONTEXT, end)
            self._audio = self._audio[end - keep:]
            self._context = keep
            self._early = 0
        if found:
            self._probabilities = np.concatenate([self._probabilities, *found])
        return self.windows

    def _pause_may_start(self, complete: int) -> bool:
        """Whether to judge the ``complete`` windows of the group under way before it is whole: new ones are
        there, the last window judged is not speech, and speech was judged less than :data:`RECENT` windows ago."""
        return complete > self._early and 0 < self.windows - 1 - self._speech_at < RECENT

    def _judged(self, audio: np.ndarray, count: int) -> np.ndarray:
        """One model call on the context and the first ``count`` windows of the group under way (``audio``): the
        probabilities of those not judged yet (the early passes judged the first ``self._early``), counted in
        :attr:`windows`, the last speech among them noted."""
        import numpy as np

        probabilities = self._model(audio).reshape(-1)[self._context // WINDOW + self._early:]
        speech = np.flatnonzero(probabilities >= THRESHOLD)
        if len(speech):
            self._speech_at = self.windows + int(speech[-1])
        self.windows += count - self._early
        return probabilities

    def _early_pass(self, complete: int) -> np.ndarray:
        """Probabilities of the windows ``self._early`` to ``complete`` of the group under way (the same
        numbers the whole group gives them: the model is causal)."""
        self.early_passes += 1
        found = self._judged(self._audio[: self._context + complete * WINDOW], complete)
        self._early = complete
        return found

    def since(self, first: int) -> np.ndarray:
        """Probabilities of the windows judged from window ``first`` on."""
        return self._probabilities[first:self.windows]
