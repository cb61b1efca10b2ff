"""The three kinds of component a plugin contributes: backends, formatters and sinks.

Each is a small class with a ``name``; the core creates one instance per run with the
run's :class:`~voice_transcriber.RunContext`. A component that needs settings declares a
pydantic ``config_model`` and the dotted ``config_section`` it lives at in config.json;
``self.config`` is then the validated section.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .errors import BackendError, FormatterError, SinkError, VoiceTranscriberError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .context import RunContext
    from .types import Audio, Transcript

T = TypeVar("T")


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

    def prepare(self) -> None:
        """Get ready ahead of time (load a model, open a connection).

        Called in a background thread when recording starts, so the work is hidden behind
        the user's speech. Must be safe to call more than once; by default does nothing.
        """

    @abstractmethod
    def transcribe(self, audio: Audio) -> Transcript:
        """Transcribe ``audio``. Report progress with ``self.ctx.partial_text(text)``.

        Raise :class:`~voice_transcriber.BackendError` with one line naming the cause
        and the fix; a fallback chain then tries the next backend.
        """

    def transcribe_segment(self, audio: Audio, context: str) -> Transcript:
        """Transcribe one phrase of a recording still going on (called from a worker thread).

        ``context`` is the text of the phrase before it ('' for the first, or when that one is
        still being transcribed by a concurrent call): give it to the model as prompt, so that
        spelling and style carry over. Partial text is reported by the core after each phrase.
        Errors as in :meth:`transcribe`: the core then transcribes the whole recording with the
        next backend. By default calls ``transcribe(audio)`` and ignores ``context``.
        """
        return self.transcribe(audio)


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
