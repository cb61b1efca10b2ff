"""Running backends on the same audio and timing them; which backends to compare by default.

Each backend × model gets a fresh backend instance: its first run pays the cold costs (model
load, connection, server warm-up) and is reported on its own; the later runs are the warm ones.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from voice_transcriber import UsageError, VoiceTranscriberError

if TYPE_CHECKING:
    from voice_transcriber import Audio, Backend, RunContext, Settings, Transcript

#: Settings with extra dotted overrides (a model for one backend), loaded like the command line's.
SettingsLoader = Callable[[dict[str, Any]], "Settings"]
#: Told about each run before it starts: (backend, model or None, run number from 1).
Progress = Callable[[str, "str | None", int], None]


@dataclass
class Result:
    """What one backend × model did on one audio clip."""

    backend: str
    model: str | None
    seconds: list[float] = field(default_factory=list)
    text: str = ""
    uploaded_bytes: int | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        return f"{self.backend} {self.model}" if self.model else self.backend

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.seconds)

    @property
    def first(self) -> float | None:
        return self.seconds[0] if self.ok else None

    @property
    def median(self) -> float | None:
        """Median of the warm runs (all but the first); the first run when there was only one."""
        if not self.ok:
            return None
        return statistics.median(self.seconds[1:] or self.seconds)

    def rtf(self, audio_seconds: float) -> float | None:
        """Real-time factor: median seconds of work per second of audio (< 1 is faster than real time)."""
        return self.median / audio_seconds if self.median is not None and audio_seconds > 0 else None


def decoded(audio: Audio) -> Audio:
    """``audio`` as 16 kHz samples, decoded once, so no backend's time includes decoding the file."""
    from voice_transcriber import Audio

    return Audio.from_samples(audio.pcm(), 16_000, label=audio.label)


def candidates(backends: Sequence[str], models: Sequence[str]) -> list[tuple[str, str | None]]:
    """Backend × model pairs: ``MODEL`` applies to every backend, ``BACKEND=MODEL`` to that one;
    a backend without any model is run with its configured model (``None``)."""
    pairs: list[tuple[str, str | None]] = []
    for backend in backends:
        mine = [m.split("=", 1)[1] for m in models if m.split("=", 1)[0] == backend and "=" in m]
        mine += [m for m in models if "=" not in m]
        pairs += [(backend, model) for model in mine] or [(backend, None)]
    return pairs


def quiet_context(ctx: RunContext, settings: Settings | None = None) -> RunContext:
    """A context for a compared backend: its own timings and facts, and its partial text kept
    from the run's observers (a notification must show the delivered backend's words only)."""
    quiet = replace(ctx, settings=settings or ctx.settings, timings={}, info={}, transcript=None)
    quiet.partial_text = lambda text: None  # type: ignore[method-assign]
    return quiet


def backend_with_model(ctx: RunContext, name: str, model: str | None, load: SettingsLoader | None) -> Backend:
    """Backend ``name`` set up with ``model`` in its config section's ``model`` key (None: as configured)."""
    backend = ctx.create_backend(name)
    if model is None:
        return backend
    fields = backend.config_model.model_fields if backend.config_model is not None else {}
    if backend.config_section is None or "model" not in fields or load is None:
        raise UsageError(f"backend '{name}' has no model setting (drop it from --models)")
    return quiet_context(ctx, load({f"{backend.config_section}.model": model})).create_backend(name)


def run(ctx: RunContext, name: str, model: str | None, audio: Audio, runs: int,
        load: SettingsLoader | None = None, progress: Progress | None = None) -> Result:
    """Transcribe ``audio`` ``runs`` times with one backend instance; an error ends in the result, not raised."""
    result = Result(name, model)
    backend = None
    try:
        backend = backend_with_model(quiet_context(ctx), name, model, load)
        for number in range(1, runs + 1):
            if progress:
                progress(name, model, number)
            start = time.perf_counter()
            transcript = backend.transcribe(audio)
            result.seconds.append(time.perf_counter() - start)
    except VoiceTranscriberError as exc:
        result.error = str(exc)
    except Exception as exc:  # a plugin bug: this row says so, the other backends still run
        result.error = f"backend '{name}' crashed: {type(exc).__name__}: {exc}"
    else:
        return record(result, transcript)
    result.model = result.model or _configured_model(backend)
    return result


def _configured_model(backend: Backend | None) -> str | None:
    """The model a backend that failed was set up with, when its config says (the row names it)."""
    try:
        model = getattr(backend.config, "model", None) if backend is not None else None
    except VoiceTranscriberError:  # the section itself is invalid: the error says so
        return None
    return model if isinstance(model, str) else None


def record(result: Result, transcript: Transcript) -> Result:
    """Copy what the benchmark reports from a backend's transcript into ``result``."""
    result.text = transcript.raw_text if transcript.raw_text is not None else transcript.text
    result.model = result.model or transcript.model
    uploaded = transcript.extra.get("uploaded_bytes")
    result.uploaded_bytes = uploaded if isinstance(uploaded, int) else None
    return result


def configured_backends(ctx: RunContext, chosen: Iterable[str] | None) -> list[str]:
    """``chosen`` if given; else the ``transcription.backend`` chain, then every other installed
    backend whose config section sets something (a key away from its default, in the config file,
    the environment such as ``OPENAI_API_KEY``, or flags). A section ``config init`` wrote with
    the defaults does not count: an OpenAI backend without a key, or a Speaches server that was
    never set up, would only add a failing row to every comparison."""
    if chosen:
        return list(dict.fromkeys(chosen))
    names = ctx.settings.transcription.chain()
    return names + [name for name in ctx.backend_names() if name not in names and _customised(ctx.create_backend(name))]


def _customised(backend: Backend) -> bool:
    if backend.config_model is None:
        return False
    try:
        return backend.config.model_dump() != backend.config_model.model_validate({}).model_dump()
    except (VoiceTranscriberError, ValueError):  # an invalid section, or one with required keys left unset
        return False
