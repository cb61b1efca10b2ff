"""pytest fixtures for voice-transcriber plugins; load it in your ``conftest.py``::

    pytest_plugins = ["voice_transcriber.testing.pytest_plugin"]

Every test then runs in fresh XDG directories of its own (``isolated_dirs``, autouse). Fixtures:

- ``isolated_dirs``: the folder holding this test's ``xdg_config_home`` … ``xdg_data_home``.
- ``write_config``: ``write_config({...})`` writes this test's config.json.
- ``fake_plugin``: the :class:`~voice_transcriber.testing.FakePlugin` of ``plugin_manager``.
- ``plugin_manager``: the installed plugins plus ``fake_plugin``.
- ``cli``: ``cli("transcribe", path, "--output", "mine")`` runs the command in-process with ``plugin_manager``.
- ``speech_sample``: the path of the bundled speech sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import environment
from .dictation import invoke, make_plugin_manager
from .fakes import FakePlugin
from .sample import speech_sample as _speech_sample

if TYPE_CHECKING:
    from click.testing import Result

    from ..plugin_manager import PluginManager


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Fresh XDG config/state/cache/data/runtime directories and no ``VOICE_TRANSCRIBER_*`` variables."""
    root = tmp_path / "xdg"
    with environment.isolation(root) as changes:
        for var, value in changes.items():
            if value is None:
                monkeypatch.delenv(var, raising=False)
            else:
                monkeypatch.setenv(var, value)
        yield root


@pytest.fixture
def write_config(isolated_dirs: Path) -> Callable[[dict[str, Any] | str], Path]:
    """``write_config(dict_or_text)`` → the path of this test's config.json."""
    return environment.write_config


@pytest.fixture
def fake_plugin() -> FakePlugin:
    return FakePlugin()


@pytest.fixture
def plugin_manager(fake_plugin: FakePlugin) -> PluginManager:
    """A fresh manager with the installed plugins plus ``fake_plugin`` (registered as ``fake``)."""
    return make_plugin_manager(fake=fake_plugin)


@pytest.fixture
def cli(plugin_manager: PluginManager) -> Callable[..., Result]:
    """Run the CLI in-process with ``plugin_manager``: ``cli("--input", path)`` → a click Result."""

    def run(*args: str, input: bytes | str | None = None) -> Result:
        return invoke(plugin_manager, *args, input=input)

    return run


@pytest.fixture(scope="session")
def speech_sample() -> Path:
    return _speech_sample()
