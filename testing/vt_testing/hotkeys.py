"""Push-to-talk and toggle hotkeys replayed: which voice-transcriber processes of a test are
still running, and whether something records (``core/tests/test_push_to_talk_*.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from vt_testing.core import run_cli
from vt_testing.desktop import wait_until

#: The installed command, by absolute path (as the docs tell users to write it in a binding).
VT = str(Path(sys.executable).with_name("voice-transcriber"))
#: A backend that is never reached: the recordings are what these tests count.
SILENT_BACKEND = {"OPENAI_API_KEY": "sk-test-not-used",
                  "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": "http://127.0.0.1:9/v1"}


def ours(runtime: Path, commands: tuple[bytes, ...] | None = (b"start", b"stop", b"toggle")) -> list[int]:
    """voice-transcriber processes of this test (by their environment): the ``commands`` in flight,
    or (None) every one, background recorders and the daemon included."""
    marker = f"XDG_RUNTIME_DIR={runtime}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            if proc.name.isdigit() and int(proc.name) != os.getpid() and \
                    (commands is None or any(part in commands for part in cmdline)) and \
                    any(b"voice-transcriber" in part or b"voice_transcriber" in part for part in cmdline) and \
                    marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def recording() -> bool:
    """True while a recording runs (``status``, as a status bar would ask)."""
    status = run_cli("status", "--json", "--linger", "0")
    return '"state": "recording"' in status.stdout.decode()


def in_flight(runtime: Path) -> list[int]:
    """The hotkey commands (start, stop, toggle) of this test still running."""
    return ours(runtime)


@pytest.fixture
def ptt_world(pulse, pulse_env, write_config, tmp_path, monkeypatch) -> Iterator[Path]:
    """A runtime dir of the test's own (returned), the virtual microphone, a backend never reached;
    every voice-transcriber process the test leaves behind is killed after it."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    for key, value in SILENT_BACKEND.items():
        monkeypatch.setenv(key, value)
    write_config({"transcription": {"backend": "openai"}, "formatterEnabled": False,
                  "notify": {"enabled": False}})
    yield runtime
    for pid in ours(runtime, None):  # commands, recorders and the daemon this test left (a failure midway)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@contextmanager
def maybe_daemon(on: bool) -> Iterator[None]:
    """A warm daemon for the block (``on``), stopped after it; nothing otherwise."""
    if not on:
        yield
        return
    warm = subprocess.Popen([VT, "daemon"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        wait_until(lambda: run_cli("daemon", "status").returncode == 0, 60, "the daemon")
        yield
    finally:
        run_cli("daemon", "stop")
        try:
            warm.wait(timeout=30)
        except subprocess.TimeoutExpired:
            warm.kill()
            warm.wait(timeout=10)


def settled_after_release(runtime: Path) -> bool:
    """Wait for a hold's commands to finish; True if nothing records then (False: a stray
    recording, which is cancelled so that the next hold starts clean)."""
    wait_until(lambda: not in_flight(runtime), 60, "the hold's hotkey commands to finish")
    try:  # the hold's own recording ends once its recorder handles the stop; a stray one never does
        wait_until(lambda: not recording(), 20, "the recording to stop")
        return True
    except TimeoutError:
        run_cli("cancel")
        return False
