"""Every hookspec is documented (when it fires, what it returns) and in the plugins guide (docs/plugins.md)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from voice_transcriber import hookspecs

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("vt_")]


def test_there_are_hooks():
    assert len(HOOKS) >= 10


@pytest.mark.parametrize("name", HOOKS)
def test_hookspec_docstring_says_when_and_returns(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert "Fires" in doc, f"{name}: say when it fires"
    assert "Return" in doc, f"{name}: say what it returns"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented_in_the_plugins_guide(name):
    assert f"`{name}" in GUIDE.read_text(encoding="utf-8"), f"document {name} in docs/plugins.md"


def test_hook_arguments_are_keyword_friendly():
    for name in HOOKS:
        params = inspect.signature(getattr(hookspecs, name)).parameters.values()
        assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)


def test_benchmarks_md_is_assembled_from_fragments():
    import subprocess
    import sys

    script = ROOT / "scripts" / "build_docs.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
