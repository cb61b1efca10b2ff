"""Fixtures shared by every test suite in the workspace.

Service fixtures live in ``testing/vt_testing/`` (on sys.path via the ``pythonpath``
ini option), one module per area, and are loaded here.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = [
    "vt_testing.speech",
    "vt_testing.core",
    "vt_testing.pulse",
    "vt_testing.desktop",
    "vt_testing.tool_stubs",
    "vt_testing.openai_api",
    "vt_testing.http_backends",
    "vt_testing.dbus",
    "vt_testing.passages",
]

# Nothing in the test suite may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own XDG config/state/cache/runtime dirs and no user env overrides."""
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        path = tmp_path / "xdg" / var.lower()
        path.mkdir(parents=True)
        monkeypatch.setenv(var, str(path))
    for var in list(os.environ):
        if var.startswith("VOICE_TRANSCRIBER_") and not var.startswith("VOICE_TRANSCRIBER_TEST_"):
            monkeypatch.delenv(var)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return tmp_path / "xdg"
