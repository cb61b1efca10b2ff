"""Fixtures for the formatter tests: run one formatter, or the whole CLI with a scripted backend.

Formatters are created through the installed entry points (the real registry), with the
settings the test gives, exactly as a run would create them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from voice_transcriber import Backend, FormatterError, RunContext, Transcript, hookimpl
from voice_transcriber.cli import make_cli
from voice_transcriber.config import load_settings
from voice_transcriber.plugins import PluginManager, get_plugin_manager
from voice_transcriber.registry import Registry, collect


@pytest.fixture(scope="session")
def registry() -> Registry:
    return collect(get_plugin_manager())


@dataclass
class Formatted:
    text: str | None
    error: str | None


@pytest.fixture
def make_formatter(registry) -> Callable[..., Any]:
    """``make_formatter("llm", config={...}, settings={...})``: the formatter as a run creates it.

    ``config`` is the formatter's own section; ``settings`` are other dotted keys
    (``{"vocabulary": [...]}``).
    """

    def make(name: str, *, config: dict[str, Any] | None = None, settings: dict[str, Any] | None = None):
        cls = registry.formatters[name].cls
        overrides = dict(settings or {})
        if config is not None:
            overrides[cls.config_section] = config
        return cls(RunContext(load_settings(overrides=overrides)))

    return make


@pytest.fixture
def run_formatter(make_formatter) -> Callable[..., Formatted]:
    """``run_formatter("punctuation", "hello comma world", language="fr", config=..., settings=...)``:
    the new text, or the FormatterError message."""

    def run(name: str, text: str, *, language: str | None = "en", config: dict[str, Any] | None = None,
            settings: dict[str, Any] | None = None, backend: str = "scripted") -> Formatted:
        formatter = make_formatter(name, config=config, settings=settings)
        try:
            return Formatted(formatter.format(Transcript(text=text, backend=backend, language=language)), None)
        except FormatterError as exc:
            return Formatted(None, str(exc))

    return run


class ScriptedBackend(Backend):
    """A backend that "hears" whatever the test scripted (and checks the audio file exists)."""

    name = "scripted"
    text = ""
    language: str | None = "en"

    def transcribe(self, audio):
        assert audio.path is None or audio.path.is_file()
        return Transcript(text=ScriptedBackend.text, backend=self.name, language=ScriptedBackend.language)


class ScriptedPlugin:
    @hookimpl
    def vt_register_backends(self, register):
        register(ScriptedBackend)


@pytest.fixture
def scripted_pm() -> Iterator[PluginManager]:
    pm = get_plugin_manager()
    pm.register_plugin(ScriptedPlugin(), "fmt-scripted")
    try:
        yield pm
    finally:
        pm.unregister(name="fmt-scripted")


@pytest.fixture
def dictate(scripted_pm, jfk_path) -> Callable[..., Any]:
    """Run ``voice-transcriber --input jfk.flac --backend scripted ARGS`` in-process, the backend
    hearing ``text`` instead; returns click's Result (``.stdout``, ``.stderr``, ``.exit_code``)."""
    audio = jfk_path  # real audio: observers such as the history tracker decode it
    runner = CliRunner()

    def run(text: str, *args: str, language: str | None = "en"):
        ScriptedBackend.text, ScriptedBackend.language = text, language
        return runner.invoke(make_cli(scripted_pm), ["--input", str(audio), "--backend", "scripted", *args])

    return run


@pytest.fixture
def formatter_readme() -> str:
    return (Path(__file__).parents[3] / "docs" / "formatters.md").read_text(encoding="utf-8")
