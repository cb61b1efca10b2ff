"""Isolated directories: a test never reads or writes the user's own config, history or runtime state."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: The per-user base directories of the XDG Base Directory specification, runtime last.
XDG_HOMES = ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR")
#: The roots of the isolations in force, innermost last (not an environment variable: every
#: ``VOICE_TRANSCRIBER_*`` one is read as a config key).
_ACTIVE: list[Path] = []
#: Variables removed: every ``VOICE_TRANSCRIBER_*`` (plugin selection, debug, a daemon's socket…) but
#: the ``VOICE_TRANSCRIBER_TEST_*`` ones, and the keys a backend would read.
SECRETS = ("OPENAI_API_KEY",)


@contextmanager
def isolation(root: Path) -> Iterator[dict[str, str | None]]:
    """The environment of an isolated test under ``root``, as changes to apply (None: remove the variable).

    ``root/xdg_config_home`` … ``root/xdg_data_home`` are made; the runtime directory is a short private
    folder under /tmp (a Unix socket path has at most 107 bytes), removed when the block ends.
    """
    changes: dict[str, str | None] = {}
    for var in XDG_HOMES[:-1]:
        path = root / var.lower()
        path.mkdir(parents=True, exist_ok=True)
        changes[var] = str(path)
    runtime = tempfile.mkdtemp(prefix="vt-run-", dir="/tmp" if os.path.isdir("/tmp") else None)
    os.chmod(runtime, 0o700)
    changes["XDG_RUNTIME_DIR"] = runtime
    for var in os.environ:
        if (var.startswith("VOICE_TRANSCRIBER_") and not var.startswith("VOICE_TRANSCRIBER_TEST_")) or var in SECRETS:
            changes[var] = None
    _ACTIVE.append(root)
    try:
        yield changes
    finally:
        _ACTIVE.remove(root)
        shutil.rmtree(runtime, ignore_errors=True)


@contextmanager
def isolated_environment(root: str | os.PathLike[str] | None = None) -> Iterator[Path]:
    """Apply :func:`isolation` to ``os.environ`` for a ``with`` block, then restore it.

    ``root`` defaults to a temporary directory, removed afterwards. Yields the root.
    """
    made = root is None
    base = Path(tempfile.mkdtemp(prefix="vt-test-")) if root is None else Path(root)
    saved = dict(os.environ)
    try:
        with isolation(base) as changes:
            for var, value in changes.items():
                if value is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = value
            yield base
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if made:
            shutil.rmtree(base, ignore_errors=True)


def isolated() -> bool:
    """True inside :func:`isolated_environment` or a test of the pytest plugin."""
    return bool(_ACTIVE)


def write_config(data: dict[str, Any] | str) -> Path:
    """Write ``$XDG_CONFIG_HOME/voice-transcriber/config.json`` from a dict (or raw text); returns its path.

    Only inside an isolation: it never overwrites the user's own config."""
    if not isolated():
        raise RuntimeError("write_config() writes only inside isolated_environment() or a test of "
                           "voice_transcriber.testing.pytest_plugin, never into the user's own config")
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "voice-transcriber" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path
