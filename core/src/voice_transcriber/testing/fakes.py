"""Fake components for tests: they do real work on their input and report it plainly."""

from __future__ import annotations

from typing import ClassVar

from ..context import Backend, Formatter, Sink
from ..hookspecs import hookimpl
from ..types import Audio, Transcript
from .sample import SPEECH_SAMPLE_TEXT


class FakeBackend(Backend):
    """The ``fake`` backend: decodes the audio (a bad file fails as it would with a real backend), then
    "hears" :attr:`said` — :data:`SPEECH_SAMPLE_TEXT` unless :class:`FakePlugin` was given another text."""

    name = "fake"
    description = "Test backend: decodes the audio and returns a fixed text."
    said: ClassVar[str] = SPEECH_SAMPLE_TEXT

    def transcribe(self, audio: Audio) -> Transcript:
        samples = audio.pcm()
        self.ctx.partial_text(self.said)
        return Transcript(text=self.said, backend=self.name, audio_duration=len(samples) / 16000)


class DurationBackend(Backend):
    """The ``fake-duration`` backend: decodes the audio and says how long it is ("11.0 seconds of audio")."""

    name = "fake-duration"
    description = "Test backend: says how many seconds of audio it got."

    def transcribe(self, audio: Audio) -> Transcript:
        samples = audio.pcm()
        self.ctx.partial_text("decoding")
        return Transcript(text=f"{len(samples) / 16000:.1f} seconds of audio", backend=self.name,
                          audio_duration=len(samples) / 16000)


class UpperFormatter(Formatter):
    """The ``fake-upper`` formatter: upper case."""

    name = "fake-upper"
    description = "Test formatter: upper case."

    def format(self, transcript: Transcript) -> str:
        return transcript.text.upper()


class ListSink(Sink):
    """The ``fake-list`` sink: appends each text it receives to :attr:`delivered`."""

    name = "fake-list"
    description = "Test sink: keeps each text in a list."
    delivered: ClassVar[list[str]] = []

    def deliver(self, text: str, transcript: Transcript) -> None:
        ListSink.delivered.append(text)


class FakePlugin:
    """Registers the fakes and records every event of a run.

    ``events`` holds ``("partial", text)``, ``("transcript", raw text)``, ``("delivered", sink)`` and
    ``("failed", message)`` in order; ``delivered`` maps each sink that succeeded to the text it got.
    ``said`` is what the ``fake`` backend hears.
    """

    def __init__(self, said: str = SPEECH_SAMPLE_TEXT) -> None:
        self.said = said
        self.events: list[tuple[str, object]] = []
        self.delivered: dict[str, str] = {}
        ListSink.delivered = []

    @hookimpl
    def vt_register_backends(self, register) -> None:
        register(type("FakeBackend", (FakeBackend,), {"said": self.said}) if self.said != FakeBackend.said else FakeBackend)
        register(DurationBackend)

    @hookimpl
    def vt_register_formatters(self, register) -> None:
        register(UpperFormatter)

    @hookimpl
    def vt_register_sinks(self, register) -> None:
        register(ListSink)

    @hookimpl
    def vt_partial_text(self, text: str) -> None:
        self.events.append(("partial", text))

    @hookimpl
    def vt_transcript_ready(self, transcript: Transcript) -> None:
        self.events.append(("transcript", transcript.text))

    @hookimpl
    def vt_text_delivered(self, text: str, sink: str) -> None:
        self.events.append(("delivered", sink))
        self.delivered[sink] = text

    @hookimpl
    def vt_pipeline_failed(self, error: BaseException) -> None:
        self.events.append(("failed", str(error)))
