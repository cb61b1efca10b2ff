"""voice-transcriber as users install it, for the tests that install plugins into it.

``tool_install`` (session): ``uv tool install '<checkout>[offline]'`` into a private tool directory, once
per session (the tests that use it share the xdist group ``installed-tool``, so one worker builds it).
Offline: uv takes every package from its cache (``UV_CACHE_DIR``, the caller's, see conftest.py).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The group of every test that uses an installed voice-transcriber (one worker: one build).
GROUP = "installed-tool"


@dataclass
class Installed:
    """An installed voice-transcriber: its ``bin`` directory (the command) and its environment's Python."""

    bin: Path
    python: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a user of this installation: its command first on PATH, offline."""
        return {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}", "UV_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
                **extra}

    def run(self, command: str, cwd: Path, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
        """A shell command line as a user types it (bash -e -o pipefail)."""
        return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", command], cwd=cwd, env=self.env(**extra),
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def tool_install(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("tool")
    env = {**os.environ, "UV_TOOL_DIR": str(root / "tools"), "UV_TOOL_BIN_DIR": str(root / "bin"), "UV_OFFLINE": "1"}
    done = subprocess.run(["uv", "tool", "install", "-q", f"{REPO}[offline]"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"uv tool install failed: {done.stderr[-3000:]}"
    return Installed(bin=root / "bin", python=root / "tools" / "voice-transcriber" / "bin" / "python")


def shell_blocks(markdown: str) -> list[str]:
    """The bodies of the ```sh blocks of a Markdown text, in order."""
    return re.findall(r"^```sh\n(.*?)^```", markdown, flags=re.S | re.M)
