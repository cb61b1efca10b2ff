"""Core helpers of the project's own tests: the CLI in a subprocess, fake installed distributions.

The fakes, the plugin manager, the in-process CLI and the isolated directories are the public ones of
:mod:`voice_transcriber.testing` (its pytest plugin is loaded by the root conftest.py); they are
re-exported here for the tests that import them from this module.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from voice_transcriber.testing import DurationBackend, FakePlugin, ListSink, UpperFormatter

__all__ = ["DurationBackend", "FakePlugin", "ListSink", "MODULES_AT_EXIT", "UpperFormatter", "bash_complete",
           "make_distribution", "run_cli", "run_in_process", "heard_backend", "seed_plugin_index"]


def run_cli(*args: str, env: dict[str, str] | None = None, input: bytes | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed ``voice-transcriber`` in a subprocess (real entry points, real exit codes)."""
    exe = Path(sys.executable).with_name("voice-transcriber")
    return subprocess.run([str(exe), *args], capture_output=True, input=input, timeout=timeout,
                          env={**os.environ, **(env or {})})


def bash_complete(*words: str, cwd: Path | None = None) -> list[str]:
    """What bash offers after ``voice-transcriber WORDS`` with the script of ``completion bash`` loaded (the last
    word is being typed), run in ``cwd``."""
    script = ('source <(voice-transcriber completion bash)\n'
              'COMP_WORDS=(voice-transcriber "$@"); COMP_CWORD=$#\n'
              '_voice_transcriber_completion voice-transcriber\n'
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    done = subprocess.run(["bash", "-c", script, "bash", *words], capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def run_in_process(*args: str, env: dict[str, str] | None = None, text: bool = False) -> subprocess.CompletedProcess:
    """``voice-transcriber ARGS`` run in this process with the installed plugins, ``env`` added to ``os.environ``
    for the run (restored afterwards); what :func:`run_cli` returns (bytes, or str with ``text``).

    For commands whose process is not the point, such as ``retry`` of a recording that a real recorder or
    daemon made: a process of its own costs ~1 CPU-s (imports, a tiny.en load), while this process keeps the
    model it loaded (``local_loading.shared_model``). The exit code is the command's (a ``VoiceTranscriberError``
    is not caught: it fails the test with its message)."""
    import pytest

    from voice_transcriber.testing.dictation import invoke, make_plugin_manager

    with pytest.MonkeyPatch.context() as patch:
        for var, value in (env or {}).items():
            patch.setenv(var, value)
        result = invoke(make_plugin_manager(), *args)
    code = result.return_value if isinstance(result.return_value, int) else result.exit_code
    out, err = result.stdout_bytes, result.stderr_bytes or b""
    return subprocess.CompletedProcess(["voice-transcriber", *args], code, out.decode() if text else out,
                                       err.decode() if text else err)


def _plugin_index() -> tuple[str, bytes] | None:
    """(file name, content) of the plugin index a first command writes in an empty cache, made once per process
    (asked again by the next test if that command wrote none: a None kept for the process would leave every
    later test of the worker without an index, and the fast paths that need one would all decline)."""
    global _made_index
    if _made_index is None:
        _made_index = _write_plugin_index()
    return _made_index


_made_index: tuple[str, bytes] | None = None


def _write_plugin_index() -> tuple[str, bytes] | None:
    with tempfile.TemporaryDirectory(prefix="vt-index-") as tmp:
        env = {var: v for var, v in os.environ.items()  # the installed plugins, none selected or added
               if var != "PYTHONPATH" and not var.startswith("VOICE_TRANSCRIBER_")}
        env.update({var: os.path.join(tmp, var.lower()) for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME",
                                                                     "XDG_CACHE_HOME", "XDG_DATA_HOME")})
        env["XDG_RUNTIME_DIR"] = tmp
        run_cli("status", env=env, timeout=120)
        found = sorted(Path(tmp, "xdg_cache_home", "voice-transcriber").glob("plugins-*.json"))
        return (found[0].name, found[0].read_bytes()) if found else None


def seed_plugin_index(cache_home: Path | str | None = None) -> None:
    """Put the plugin index of this environment into ``cache_home`` (default: ``$XDG_CACHE_HOME``), as a
    user's cache holds it after their first command: without it, the first command of every test loads
    every plugin to write it (~0.1-0.2 s of CPU each; the index itself is tested in test_startup_imports).
    An index that does not match (a test's own plugins) is rewritten by the next command, as for a user."""
    index = _plugin_index()
    if index is None:
        return
    folder = Path(cache_home or os.environ["XDG_CACHE_HOME"]) / "voice-transcriber"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / index[0]
    if not target.exists():
        target.write_bytes(index[1])
        target.chmod(0o600)


#: ``python -c MODULES_AT_EXIT DUMP ARGS…``: ``voice-transcriber ARGS…`` through the console script's entry point,
#: then, at exit, the names in ``sys.modules`` into the file DUMP as a JSON list.
MODULES_AT_EXIT = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: json.dump(sorted(sys.modules), open(out, "w")))
sys.argv[0] = "voice-transcriber"
from voice_transcriber.__main__ import main
main()
"""

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


#: A third-party backend plugin's module that hears sound, not words: backend ``vt-heard`` answers "N.N seconds
#: heard" when the audio has a sample louder than 0.05 (espeak speech peaks near 0.5; the virtual mic's silence
#: is 0) and nothing otherwise, so that silence ends as "no speech detected", as with a real model.
HEARD_BACKEND = """
from voice_transcriber import Backend, Transcript, hookimpl

class HeardBackend(Backend):
    name = "vt-heard"

    def transcribe(self, audio):
        samples = audio.pcm()
        loud = len(samples) > 0 and float(abs(samples).max()) > 0.05
        return Transcript(text=f"{audio.duration:.1f} seconds heard" if loud else "", backend=self.name)

@hookimpl
def vt_register_backends(register):
    register(HeardBackend)
"""


@pytest.fixture(scope="session")
def heard_backend(tmp_path_factory) -> dict[str, str]:
    """The environment (``PYTHONPATH``) that installs the third-party backend ``vt-heard`` (:data:`HEARD_BACKEND`)
    as a real distribution, for processes that record, transcribe and deliver through the real pipeline where
    the words are not what the test looks at (event streams, process control): it answers at once, where a
    process with the local backend loads tiny.en and decodes (AVX2 EPYC, a 2 s espeak sentence transcribed by
    a process: 2.0 CPU-s with the local backend, 0.45 with a backend that loads nothing). Select it with
    ``--backend vt-heard`` or ``transcription.backend``."""
    root = tmp_path_factory.mktemp("heard-backend")
    make_distribution(root, "vt-heard", "vt_heard_mod", HEARD_BACKEND, "heard")
    return {"PYTHONPATH": str(root)}
