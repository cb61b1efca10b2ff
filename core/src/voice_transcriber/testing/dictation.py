"""A dictation through the real pipeline: the ``transcribe`` command, in-process, with chosen plugins."""

from __future__ import annotations

import os
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..plugins import get_plugin_manager
from .environment import isolated, isolated_environment, write_config
from .fakes import FakePlugin
from .sample import SPEECH_SAMPLE_TEXT

if TYPE_CHECKING:
    from click.testing import Result

    from ..plugin_manager import PluginManager


def make_plugin_manager(*plugins: object, fake: FakePlugin | None = None, installed: bool = True) -> PluginManager:
    """A fresh plugin manager: the installed plugins (entry points, as the command loads them; none when
    ``installed`` is false), ``fake`` (a :class:`FakePlugin`, registered as ``fake``; a new one when
    None) and each of ``plugins`` (a module or an object with ``@hookimpl`` methods), under its
    module name or its class name."""
    pm = get_plugin_manager(load_entry_points=installed)
    pm.register_plugin(fake if fake is not None else FakePlugin(), "fake")
    for plugin in plugins:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        if not pm.register_plugin(plugin, name):
            raise ValueError(f"plugin {name} could not be registered: {pm.failures[-1].error}")
    return pm


def invoke(pm: PluginManager, *args: str, input: bytes | str | None = None) -> Result:
    """Run ``voice-transcriber ARGS`` in-process with ``pm``; a :class:`click.testing.Result`.

    Errors are not caught: a run that fails raises its ``VoiceTranscriberError`` (``SinkError`` …),
    as ``pytest.raises`` expects."""
    from click.testing import CliRunner

    from ..cli import make_cli

    return CliRunner().invoke(make_cli(pm), list(args), input=input, catch_exceptions=False, standalone_mode=False)


@dataclass
class Dictation:
    """What one :func:`dictate` run did."""

    #: The final text, as the sinks received it (None when no sink got any).
    text: str | None
    #: Each sink that succeeded → the text it got.
    delivered: dict[str, str]
    #: The backend's raw text, before formatting (None when the backend was never reached).
    transcript: str | None
    #: What the command printed (the ``stdout`` sink writes here).
    stdout: str
    stderr: str
    #: ``("partial", text)``, ``("transcript", text)``, ``("delivered", sink)``, ``("failed", message)``.
    events: list[tuple[str, object]] = field(default_factory=list)


def dictate(audio: str | os.PathLike[str], *, backend: str = "fake", format: str | None = None,
            output: str = "fake-list", said: str = SPEECH_SAMPLE_TEXT, plugins: Iterable[object] = (),
            config: dict[str, Any] | None = None, args: Iterable[str] = ()) -> Dictation:
    """Transcribe ``audio`` through the real pipeline: ``voice-transcriber transcribe AUDIO --backend
    BACKEND [--format FORMAT] --output OUTPUT ARGS``, with the installed plugins, the fakes and ``plugins``.

    ``said`` is what the ``fake`` backend hears. ``config`` is written as config.json first. Runs in
    the current isolation (the pytest plugin's, or :func:`isolated_environment`), or in a fresh one.
    A failed run raises its error."""
    with nullcontext() if isolated() else isolated_environment():
        if config is not None:
            write_config(config)
        fake = FakePlugin(said=said)
        pm = make_plugin_manager(*plugins, fake=fake)
        command = ["transcribe", os.fspath(audio), "--backend", backend, "--output", output]
        if format is not None:
            command += ["--format", format]
        result = invoke(pm, *command, *args)
    transcript = next((text for kind, text in fake.events if kind == "transcript"), None)
    return Dictation(text=next(iter(fake.delivered.values()), None), delivered=dict(fake.delivered),
                     transcript=transcript if isinstance(transcript, str) else None, stdout=result.stdout,
                     stderr=result.stderr, events=list(fake.events))
