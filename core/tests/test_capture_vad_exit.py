"""A process that exits while the Silero VAD is still loading must exit, not hang.

A short recording (a toggle stopped at once) can end before onnxruntime is loaded. CPython 3.11
cuts off a daemon thread still running then (pthread_exit), which can leave the exiting main
thread waiting forever on a futex; the loader is therefore a regular thread that the interpreter
waits for before it finalizes. An atexit handler runs after that wait: it must find no thread left.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from voice_transcriber.capture import vad

EXIT_WHILE_LOADING = """
import atexit, threading
from voice_transcriber.capture.vad import VoiceActivity

activity = VoiceActivity()  # starts loading onnxruntime and the model; we exit at once

def report():
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()]
    print(f"threads at finalization: {others}; model ready: {activity.ready}; error: {activity.error}", flush=True)

atexit.register(report)
"""


@pytest.mark.skipif(not vad.available(), reason="needs faster-whisper's Silero model and onnxruntime")
def test_exiting_while_the_vad_loads_waits_for_the_load_and_leaves_no_thread_running() -> None:
    done = subprocess.run([sys.executable, "-c", EXIT_WHILE_LOADING], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "threads at finalization: []; model ready: True; error: None" in done.stdout, done.stdout + done.stderr
