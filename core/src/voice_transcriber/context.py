"""The plugin contract: the run context every component and hook receives, and the components.

:class:`RunContext` is one run (settings, diagnostics, timings, the typed calls to event hooks,
creating backends by name); :class:`Backend`, :class:`Formatter` and :class:`Sink` are the three
kinds of component a plugin contributes. Each is a small class with a ``name``; the core creates
one instance per run with the run's context. A component that needs settings declares a pydantic
``config_model`` and the dotted ``config_section`` it lives at in config.json; ``self.config`` is
then the validated section. They live in one module because each names the other: a component
is made for a context, and a context creates components.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .errors import BackendError, FormatterError, PluginError, SinkError, VoiceTranscriberError
from .redact import redact
from .safe_text import safe_text
from .registry import Registry, collect

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .config import Settings
    from .plugin_manager import PluginManager
    from .types import Audio, Transcript

T = TypeVar("T")


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
            print(redact(safe_text(f"debug: {message}")), file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        """A warning on stderr (hidden by ``--quiet``). Secrets are masked, control characters (a
        server's escape sequences quoted in an error) dropped."""
        if not self.quiet:
            print(redact(safe_text(f"voice-transcriber: {message}")), file=sys.stderr, flush=True)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a block; the seconds add up in ``timings[name]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def remember_head_start(self, name: str, payload: Any) -> None:
        """Let the next ``transcribe`` with the same options, config file and environment start early what
        this run prepared: before it reads the configuration, it calls the function named ``name`` in the
        ``voice_transcriber.head_start`` entry-point group with ``payload`` (JSON values), which starts the
        work in a thread; the component then takes the result if it is what it needs
        (:mod:`voice_transcriber.head_start`). Does nothing in a run that takes no head starts."""
        from .head_start import remember

        remember(name, payload)

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
        if self.pm is None:
            raise PluginError("this run context has no plugin manager to create components with: "
                              "build it as RunContext(settings, pm=voice_transcriber.plugins.get_plugin_manager())")
        # Collected per call (cheap: the plugins are loaded), so plugins registered later count too.
        return collect(self.pm)

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
            self._publish(events.emit_hook(self.run_id, self.info, hook, kwargs, self.log))
        self.pm.call_event(hook, ctx=self, **kwargs)
        self._report_hook_errors()
        if ending:  # after the plugins: the history holds the run when its followers hear the outcome
            self._publish(events.emit_hook(self.run_id, self.info, hook, kwargs, self.log))

    def _publish(self, record: dict[str, Any] | None) -> None:
        """Hand a published stream event to the ``vt_run_event`` observers (notifications)."""
        if record and self.pm is not None:
            self.pm.call_event("vt_run_event", ctx=self, event=record)
            self._report_hook_errors()

    def _report_hook_errors(self) -> None:
        assert self.pm is not None
        for plugin_name, failed_hook, exc in self.pm.take_hook_errors():
            self.warn(f"plugin {self.pm.describe(plugin_name)} failed in {failed_hook}: {type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class Check:
    """One line of ``voice-transcriber doctor``: what was checked, the outcome, and the fix."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""


class Component(ABC):
    """Shared behaviour of backends, formatters and sinks."""

    #: The name users select on the command line and in config.
    name: ClassVar[str]
    #: One line shown by ``voice-transcriber plugins``.
    description: ClassVar[str] = ""
    #: Dotted path of this component's config section, e.g. ``"transcription.speaches"``.
    config_section: ClassVar[str | None] = None
    #: pydantic model validating that section (camelCase keys, like the rest of config.json).
    config_model: ClassVar[type[BaseModel] | None] = None
    #: Environment variables that override config keys: ``{"OPENAI_API_KEY": "apiKey"}``.
    config_env: ClassVar[dict[str, str]] = {}

    #: Set by the core: the plugin that registered this component, for error messages.
    plugin: str = "?"

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    @cached_property
    def config(self) -> Any:
        """The validated config section (an instance of ``config_model``), or None."""
        if self.config_model is None or self.config_section is None:
            return None
        return self.ctx.settings.section(self.config_section, self.config_model, env=self.config_env)

    def checks(self) -> Iterable[Check]:
        """Health checks for ``voice-transcriber doctor``; none by default."""
        return ()


class Backend(Component):
    """Turns audio into a :class:`~voice_transcriber.Transcript`.

    While the microphone records, the core cuts the speech into phrases at natural pauses and
    hands each finished phrase to :meth:`transcribe_segment` while the user goes on speaking
    (``input.streaming``); after the stop only the last phrase is left, and the text is the
    phrases' texts joined. Every backend streams this way unless it sets
    ``prefers_whole_file = True`` (e.g. a service that bills per request or needs the whole
    conversation); files given with ``--input`` always go to :meth:`transcribe` whole.
    """

    #: True: never stream; :meth:`transcribe` gets the whole recording after the stop.
    prefers_whole_file: ClassVar[bool] = False
    #: Phrases transcribed at once while streaming (1: one after the other in a worker
    #: thread, as a local model wants; an HTTP backend sends several requests concurrently).
    segment_concurrency: ClassVar[int] = 1
    #: Start cutting phrases only once the recording is this long (seconds; 0: from the start).
    #: Streaming loads the voice-activity model (numpy + onnxruntime, ~45 MB) into the recording
    #: process; a backend that answers a short recording as fast whole (one HTTP request) waits,
    #: so short dictations keep a light recorder. The audio before that point is segmented at once.
    stream_after_seconds: ClassVar[float] = 0.0
    #: False: :meth:`prepare` runs when the recording stops (while the microphone closes and the
    #: audio is read back) instead of when it starts — for quick work that would otherwise hold
    #: memory in the recorder for the whole recording (an HTTP client: httpx and TLS, ~8 MB).
    prepare_while_recording: ClassVar[bool] = True

    def prepare(self) -> None:
        """Get ready ahead of time (load a model, open a connection).

        Called in a background thread when recording starts (when it stops, with
        ``prepare_while_recording = False``), so the work is hidden behind the user's speech.
        Must be safe to call more than once; by default does nothing.
        """

    @abstractmethod
    def transcribe(self, audio: Audio) -> Transcript:
        """Transcribe ``audio``. Report progress with ``self.ctx.partial_text(text)``.

        Raise :class:`~voice_transcriber.BackendError` with one line naming the cause
        and the fix; a fallback chain then tries the next backend.
        """

    def languages(self) -> Collection[str] | None:
        """The languages (ISO-639-1 codes) this backend can transcribe as configured; None: it cannot tell.

        Before any audio is touched the core checks ``language`` against it: a code not in it is
        a config error (exit 2) listing close matches. A mapping of code → name lets the message
        name the languages. Must be cheap (no model load, no network).
        """
        return None

    def language_fix(self) -> str:
        """The fix shown when ``language`` is not in :meth:`languages` (e.g. "use a multilingual model")."""
        return "pick one it knows, or another backend"

    def transcribe_segment(self, audio: Audio, context: str) -> Transcript:
        """Transcribe one phrase of a recording still going on (called from a worker thread).

        ``context`` is the text already decided before this audio: the phrases before it ('' for
        the first; only those done when a concurrent call starts), or a ``--continuous`` session's
        earlier utterances. Give it to the model as prompt (after the user's own prompt, trimmed
        to what the model reads), so that sentences, spelling and style carry over. Partial text
        is reported by the core after each phrase.
        Errors as in :meth:`transcribe`: the core then transcribes the whole recording with the
        next backend. By default calls ``transcribe(audio)`` and ignores ``context``.
        """
        return self.transcribe(audio)

    @property
    def background_redecodes(self) -> bool:
        """True: the core may run re-decodes of the phrase being spoken (live text, agreements) in a
        worker thread of their own, beside the phrases' decodes instead of in front of them; the
        backend serves calls from that thread (:meth:`in_background`) with resources of their own that
        yield to the phrases' decodes (the local backend: a second model instance whose compute threads
        run at a lower CPU priority), so that a re-decode still running when the speaker pauses no longer
        delays the phrase's decode that counts. Default False: every call goes through the one worker."""
        return False

    @staticmethod
    def in_background() -> bool:
        """This call comes from the core's background re-decode thread (:attr:`background_redecodes`)."""
        return getattr(_background, "on", False)

    @property
    def decodes_stop_rest_apart(self) -> bool:
        """True when :meth:`transcribe_continuation` takes ``stop_rest`` (and may decode such a
        rest more cheaply: the local backend's ``stopMarginSeconds``). Default False: the core
        never passes it."""
        return False

    def transcribe_continuation(self, before: Audio, before_text: str, audio: Audio, context: str, *,
                                partial: bool = False, stop_rest: bool = False) -> Transcript:
        """Transcribe ``audio``, the phrase right after ``before`` (called from a worker thread).

        ``before_text`` is the text already decided for ``before``, ``context`` the text decided
        before *that*. A backend that can hears ``before`` again as acoustic context, held to
        ``before_text`` for it (Whisper: the decoder's prefix), and returns only the text of
        ``audio``: the model then judges the start of a phrase with the sound before it, as it
        would in one piece. The core calls it for every streamed phrase after the first
        (``input.streamingOverlap``). ``partial``: ``audio`` is the phrase still being spoken, up
        to now (a re-decode, ``input.streamingCommit``): it may well end mid-sentence. ``stop_rest``
        (only when :attr:`decodes_stop_rest_apart`): ``audio`` is what follows the agreed words of the
        phrase a stop ends (``input.streamingCommitAtStop``), used only when the recording ends there —
        the decode the user waits for after the stop, which a replay makes the same way. By default
        ``transcribe_segment(audio, context + " " + before_text)``, the same text as prompt.
        """
        return self.transcribe_segment(audio, " ".join(part for part in (context, before_text) if part))


class Formatter(Component):
    """Turns a transcript's text into the text the person meant to write."""

    @abstractmethod
    def format(self, transcript: Transcript) -> str:
        """Return the new text for ``transcript`` (its ``text`` is the previous formatter's
        output, ``raw_text`` the backend's). Raise :class:`~voice_transcriber.FormatterError`
        to keep the text unchanged; the pipeline reports why and goes on."""


class Sink(Component):
    """Delivers the final text somewhere: stdout, the clipboard, the focused window."""

    #: True when the sink can show text while it is still being recognised (``--live``,
    #: ``output.live``): it then gets every partial text through :meth:`show_partial` before
    #: :meth:`deliver`. Sinks that cannot take text back (clipboard, stdout) leave it False.
    live: ClassVar[bool] = False

    def show_partial(self, text: str) -> None:
        """Show ``text`` (everything recognised so far) ahead of the final delivery.

        Called only on sinks with ``live = True`` and only with ``--live``, from the thread that
        recognised the text: return quickly (hand slow work to a thread). :meth:`deliver` then
        receives the final text and must leave exactly that in place of what was shown.
        Raise :class:`~voice_transcriber.SinkError` to stop live updates (the final text is
        still delivered). Does nothing by default.
        """

    @abstractmethod
    def deliver(self, text: str, transcript: Transcript) -> None:
        """Deliver ``text``. Raise :class:`~voice_transcriber.SinkError` when it did not
        arrive; never report success that did not happen."""


_background = threading.local()


def enter_background() -> None:
    """Make the calling thread the background re-decode thread (:attr:`Backend.background_redecodes`; a
    thread pool's initializer): :meth:`Backend.in_background` is true in it."""
    _background.on = True


def call_component(component: Component, kind: str, error_cls: type[VoiceTranscriberError],
                   method: Callable[..., T], *args: Any) -> T:
    """Call a plugin method; turn an unexpected exception into ``error_cls`` naming the plugin."""
    try:
        return method(*args)
    except VoiceTranscriberError as exc:
        if isinstance(exc, error_cls) or not isinstance(exc, (BackendError, FormatterError, SinkError)):
            raise
        raise error_cls(str(exc)) from exc
    except Exception as exc:
        raise error_cls(f"{kind} '{component.name}' (plugin {component.plugin}) crashed: {type(exc).__name__}: {exc} "
                        "(a bug in its plugin; rerun with --debug for the traceback)") from exc
