"""A `cancel` (SIGUSR2) that reaches a recorder whose run is already over is ignored.

After the recording SIGUSR2 raises Cancelled from a signal handler. Once the command has
finished, there is nothing left to cancel, and an exception raised while the interpreter joins
worker threads at exit (the streaming executor's, at threading shutdown) would break that join
and leave threads running during finalization. The executable therefore ignores it from then on.
"""

from __future__ import annotations

import subprocess
import sys

LATE_CANCEL = """
import os, signal, threading, time
from voice_transcriber.capture import stops
from voice_transcriber.cli import main

signal.signal(signal.SIGUSR2, stops._raise_cancelled)  # as after a recording (StopControl.after_recording)
worker = threading.Thread(target=time.sleep, args=(0.5,), name="phrase-worker")  # a transcription still running

def cancel_during_the_join():  # runs inside threading's shutdown, as concurrent.futures' own exit hook
    os.kill(os.getpid(), signal.SIGUSR2)
    worker.join()
    print("worker joined", flush=True)

worker.start()
threading._register_atexit(cancel_during_the_join)
main(["--version"])
"""


def test_a_cancel_arriving_while_the_finished_run_exits_is_ignored() -> None:
    done = subprocess.run([sys.executable, "-c", LATE_CANCEL], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "worker joined" in done.stdout, done.stdout + done.stderr
    assert "Cancelled" not in done.stderr and "Traceback" not in done.stderr, done.stderr
