"""Core fixtures: a fresh plugin manager with fake plugins, and CLI runners."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from voice_transcriber import Backend, Formatter, Sink, Transcript, hookimpl
from voice_transcriber.cli import make_cli
from voice_transcriber.plugins import PluginManager, get_plugin_manager


class DurationBackend(Backend):
    """A fake backend that really decodes the audio and reports what it heard in numbers."""

    name = "fake-duration"

    def transcribe(self, audio):
        samples = audio.pcm()
        self.ctx.partial_text("decoding")
        return Transcript(text=f"{len(samples) / 16000:.1f} seconds of audio", backend=self.name,
                          audio_duration=len(samples) / 16000)


class UpperFormatter(Formatter):
    name = "fake-upper"

    def format(self, transcript):
        return transcript.text.upper()


class ListSink(Sink):
    name = "fake-list"
    delivered: list[str] = []

    def deliver(self, text, transcript):
        ListSink.delivered.append(text)


class FakePlugin:
    """Registers the fakes above and records every event it sees."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    @hookimpl
    def vt_register_backends(self, register):
        register(DurationBackend)

    @hookimpl
    def vt_register_formatters(self, register):
        register(UpperFormatter)

    @hookimpl
    def vt_register_sinks(self, register):
        register(ListSink)

    @hookimpl
    def vt_partial_text(self, text):
        self.events.append(("partial", text))

    @hookimpl
    def vt_transcript_ready(self, transcript):
        self.events.append(("transcript", transcript.text))

    @hookimpl
    def vt_text_delivered(self, text, sink):
        self.events.append(("delivered", sink))

    @hookimpl
    def vt_pipeline_failed(self, error):
        self.events.append(("failed", str(error)))


@pytest.fixture
def fake_plugin() -> FakePlugin:
    ListSink.delivered = []
    return FakePlugin()


@pytest.fixture
def plugin_manager(fake_plugin) -> Iterator[PluginManager]:
    """A fresh manager with the installed plugins plus :class:`FakePlugin` (always unregistered)."""
    pm = get_plugin_manager()
    pm.register_plugin(fake_plugin, "fake")
    try:
        yield pm
    finally:
        pm.unregister(name="fake")


@pytest.fixture
def cli(plugin_manager):
    """Run the CLI in-process with the fake plugin: ``cli("--input", path)`` → click Result."""
    runner = CliRunner()

    def invoke(*args: str, input: bytes | str | None = None):
        return runner.invoke(make_cli(plugin_manager), list(args), input=input, catch_exceptions=False,
                             standalone_mode=False)

    return invoke


def run_cli(*args: str, env: dict[str, str] | None = None, input: bytes | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed ``voice-transcriber`` in a subprocess (real entry points, real exit codes)."""
    exe = Path(sys.executable).with_name("voice-transcriber")
    return subprocess.run([str(exe), *args], capture_output=True, input=input, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def write_config(isolated_dirs):
    """Write ``$XDG_CONFIG_HOME/voice-transcriber/config.json`` from a dict (or raw text)."""

    def write(data) -> Path:
        path = Path(os.environ["XDG_CONFIG_HOME"]) / "voice-transcriber" / "config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        return path

    return write
