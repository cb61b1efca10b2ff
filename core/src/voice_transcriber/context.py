"""The run context every component and hook receives, and the typed calls to event hooks."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .redact import redact

if TYPE_CHECKING:
    from .components import Backend
    from .config import Settings
    from .plugins import PluginManager
    from .registry import Registry
    from .types import Audio, Transcript


def new_run_id() -> str:
    """Sortable id for a run/recording: UTC time plus a short random suffix."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


@dataclass
class RunContext:
    """One invocation of the pipeline: settings, diagnostics, timings and event hooks."""

    settings: Settings
    pm: PluginManager | None = None
    debug: bool = False
    quiet: bool = False
    run_id: str = field(default_factory=new_run_id)
    #: Seconds spent per stage (``transcribe``, ``format``, ``deliver`` …), shown with --debug.
    timings: dict[str, float] = field(default_factory=dict)
    #: Facts worth reporting with --debug (backend that answered, bytes uploaded …).
    info: dict[str, Any] = field(default_factory=dict)
    #: The run's transcript so far: the backend's, then the formatted one (None before the backend answers).
    transcript: Transcript | None = None

    def log(self, message: str) -> None:
        """A diagnostic line on stderr, only with ``--debug``. Secrets are masked."""
        if self.debug:
            print(redact(f"debug: {message}"), file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        """A warning on stderr (hidden by ``--quiet``). Secrets are masked."""
        if not self.quiet:
            print(redact(f"voice-transcriber: {message}"), file=sys.stderr, flush=True)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a block; the seconds add up in ``timings[name]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    # --- components, for plugins that run backends themselves (e.g. to compare them) ---

    def backend_names(self) -> list[str]:
        """Names of every installed backend (what ``--backend`` accepts), sorted."""
        return sorted(self._registry().backends)

    def create_backend(self, name: str) -> Backend:
        """A new instance of the installed backend ``name``, configured by this context's settings.

        Raises :class:`~voice_transcriber.ConfigError` naming the installed backends when
        ``name`` is unknown. To try other settings (another model), create it with a context
        built on those settings: ``dataclasses.replace(ctx, settings=other, timings={}, info={})``.
        """
        return self._registry().create("backend", name, self)  # type: ignore[return-value]

    def _registry(self) -> Registry:
        from .plugins import get_plugin_manager
        from .registry import collect

        # Collected per call (cheap: the plugins are loaded), so plugins registered later count too.
        return collect(self.pm if self.pm is not None else get_plugin_manager())

    # --- event hooks, each observer isolated so one failing plugin cannot break a run ---

    def recording_started(self) -> None:
        self._emit("vt_recording_started")

    def recording_stopped(self, audio: Audio) -> None:
        self._emit("vt_recording_stopped", audio=audio)

    def transcription_started(self, audio: Audio, backend: str) -> None:
        self._emit("vt_transcription_started", audio=audio, backend=backend)

    def partial_text(self, text: str) -> None:
        from .safe_text import safe_text  # partial text reaches live typing: no control characters

        self._emit("vt_partial_text", text=safe_text(text, self.log, "the partial text"))

    def transcript_ready(self, transcript: Transcript) -> None:
        self._emit("vt_transcript_ready", transcript=transcript)

    def text_delivered(self, text: str, sink: str, transcript: Transcript) -> None:
        self._emit("vt_text_delivered", text=text, sink=sink, transcript=transcript)

    def pipeline_finished(self, transcript: Transcript) -> None:
        self._emit("vt_pipeline_finished", transcript=transcript)

    def pipeline_failed(self, error: BaseException) -> None:
        self._emit("vt_pipeline_failed", error=error)

    def _emit(self, hook: str, **kwargs: Any) -> None:
        from . import events  # the pushed event stream (`status --follow`, the tray): every run, plugins or not

        if self.pm is None:  # a library call with no plugin manager is not a run anyone follows
            return
        ending = hook in ("vt_pipeline_finished", "vt_pipeline_failed")
        if not ending:  # as early as possible: a tray turns red the moment the microphone is open
            events.emit_hook(self, hook, kwargs)
        getattr(self.pm.hook, hook)(ctx=self, **kwargs)
        for plugin_name, failed_hook, exc in self.pm.take_hook_errors():
            self.warn(f"plugin {self.pm.describe(plugin_name)} failed in {failed_hook}: {type(exc).__name__}: {exc}")
        if ending:  # after the plugins: the history holds the run when its followers hear the outcome
            events.emit_hook(self, hook, kwargs)
