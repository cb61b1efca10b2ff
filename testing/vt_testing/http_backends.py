"""The openai and speaches backends wired to the replica API (``openai_api``), and a replica
that really transcribes (faster-whisper tiny.en) for round trips with real speech."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug import Request, Response

from .openai_api import (
    SPEACHES_BAD_AUDIO,
    ApiReplay,
    json_reply,
    speaches_stream,
    sse_reply,
    text_reply,
    verbose_segment,
    verbose_transcription,
)


# --- backends wired to the replica ---------------------------------------------------------

#: The API key every backend of :func:`http_backend` sends (a test may give its own as ``apiKey``).
API_KEY = "sk-test-0123456789abcdef"

@dataclass
class BackendUnderTest:
    """A backend instance with its run context; ``partials`` collects ``ctx.partial_text`` calls."""

    backend: Any
    ctx: Any
    partials: list[str]

    def transcribe(self, audio: Any) -> Any:
        return self.backend.transcribe(audio)


@pytest.fixture
def http_backend(openai_api: ApiReplay) -> Callable[..., BackendUnderTest]:
    """Factory: ``http_backend("speaches", model=..., language="fr")`` → a backend pointed at the replica.

    Keyword arguments go to the backend's config section (camelCase or snake_case), except
    ``language`` and ``transcription_prompt``, which are top-level settings. Retries wait
    10 ms so retry tests stay fast.
    """
    from importlib.metadata import entry_points

    from voice_transcriber import RunContext
    from voice_transcriber.config import load_settings

    def make(name: str, *, language: str | None = None, transcription_prompt: str | None = None,
             **section: Any) -> BackendUnderTest:
        url_key = "baseUrl" if name == "openai" else "url"
        section = {url_key: openai_api.url, "retryBackoff": 0.01, "apiKey": API_KEY, **section}
        settings = load_settings(overrides={f"transcription.{name}": section, "language": language,
                                            "transcriptionPrompt": transcription_prompt})
        module = entry_points(group="voice_transcriber")[name].load()
        registered: list[type] = []
        module.vt_register_backends(register=registered.append)
        ctx = RunContext(settings, debug=True)
        partials: list[str] = []
        ctx.partial_text = partials.append  # type: ignore[method-assign]
        return BackendUnderTest(registered[0](ctx), ctx, partials)

    return make


# --- a replica that really transcribes --------------------------------------------------------

class WhisperReplica:
    """``/v1/audio/transcriptions`` served by faster-whisper (tiny.en), answering like Speaches:
    json, text and verbose_json bodies with real segment fields, SSE deltas per segment with an
    empty ``done`` text when ``stream`` is true, 415 when the upload does not decode."""

    def __init__(self, model_dir: str) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=2)
        self._lock = threading.Lock()  # one decode at a time, like a single Speaches worker

    def reply(self, request: Request) -> Response:
        import io

        import soundfile

        try:
            samples, rate = soundfile.read(io.BytesIO(request.files["file"].read()), dtype="float32")
        except Exception:
            return json_reply(SPEACHES_BAD_AUDIO, 415)(request)
        if rate != 16000:
            import soxr

            samples = soxr.resample(samples, rate, 16000).astype("float32")
        form = request.form
        with self._lock:
            found, info = self.model.transcribe(samples, language=form.get("language") or None,
                                                initial_prompt=form.get("prompt"), beam_size=1)
            segments = [verbose_segment(i + 1, s.start, s.end, s.text.strip(), s.no_speech_prob, s.avg_logprob)
                        for i, s in enumerate(found)]
        if form.get("stream") in ("true", "1"):
            return sse_reply(speaches_stream([s["text"].strip() for s in segments]))(request)
        text = "".join(s["text"] for s in segments)
        fmt = form.get("response_format", "json")
        if fmt == "text":
            return text_reply(text)(request)
        if fmt == "verbose_json":
            return json_reply(verbose_transcription(segments, info.language, info.duration))(request)
        return json_reply({"text": text, "logprobs": None, "usage": None})(request)


@pytest.fixture(scope="session")
def whisper_replica(tiny_model_dir) -> WhisperReplica:
    """A :class:`WhisperReplica` with the bundled tiny.en weights (loaded once per session)."""
    return WhisperReplica(str(tiny_model_dir))
