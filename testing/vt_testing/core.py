"""Core helpers of the project's own tests: the CLI in a subprocess, fake installed distributions.

The fakes, the plugin manager, the in-process CLI and the isolated directories are the public ones of
:mod:`voice_transcriber.testing` (its pytest plugin is loaded by the root conftest.py); they are
re-exported here for the tests that import them from this module.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from voice_transcriber.testing import DurationBackend, FakePlugin, ListSink, UpperFormatter

__all__ = ["DurationBackend", "FakePlugin", "ListSink", "UpperFormatter", "make_distribution", "run_cli"]


def run_cli(*args: str, env: dict[str, str] | None = None, input: bytes | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed ``voice-transcriber`` in a subprocess (real entry points, real exit codes)."""
    exe = Path(sys.executable).with_name("voice-transcriber")
    return subprocess.run([str(exe), *args], capture_output=True, input=input, timeout=timeout,
                          env={**os.environ, **(env or {})})


#: A working third-party backend plugin's module, for :func:`make_distribution`: backend ``vt-seconds``
#: answers "N seconds heard" for N seconds of audio.
SECONDS_BACKEND = """
from voice_transcriber import Backend, Transcript, hookimpl

class SecondsBackend(Backend):
    name = "vt-seconds"

    def transcribe(self, audio):
        return Transcript(text=f"{audio.duration:.0f} seconds heard", backend=self.name)

@hookimpl
def vt_register_backends(register):
    register(SecondsBackend)
"""


def make_distribution(root: Path, dist: str, module: str, code: str, entry_name: str) -> None:
    """A real installed distribution for ``PYTHONPATH=root``: a dist-info folder (version 1.2.3) whose entry
    point ``entry_name`` in the ``voice_transcriber`` group names ``module``, and that module holding ``code``."""
    import textwrap

    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[voice_transcriber]\n{entry_name} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(code))
