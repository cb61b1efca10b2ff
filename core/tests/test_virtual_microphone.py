"""The test microphone behaves as a microphone: a recording gets no audio from before it started.

A pipe source that nothing records from stops being read after a second or two; the feeder then waits in its write.
Until 2026-12-08 it wrote the 10 ms steps missed meanwhile at once when a recording started, so every recording
made after a pause began with seconds of stale silence (the live benchmark's speech started up to 8 s into its
recordings): ``vt_testing.pulse.feed_in_real_time`` no longer makes them up.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

#: Records through sounddevice for 1 s of wall time and prints how many frames arrived
RECORD_ONE_SECOND = """
import time
import sounddevice as sd
with sd.RawInputStream(samplerate=16000, channels=1, dtype="int16", blocksize=160) as stream:
    started, frames = time.monotonic(), 0
    while time.monotonic() - started < 1.0:
        frames += len(stream.read(160)[0]) // 2
print(frames)
"""


def test_a_recording_after_an_idle_while_holds_no_audio_from_before_it(pulse):
    env = pulse.pipe_source("idlemic")
    time.sleep(4.0)  # nothing records: the server stops reading the pipe, the feeder's write waits
    out = subprocess.run([sys.executable, "-c", RECORD_ONE_SECOND], env={**env, "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    seconds = int(out.stdout) / 16_000
    # 1 s of wall time gives about 1 s of audio (the stream's own start-up buffering aside); before the fix, ~3 s
    assert seconds < 1.4, f"{seconds:.2f} s of audio in 1 s: the recording got audio from before it started"
