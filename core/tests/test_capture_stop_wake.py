"""The recording ends as soon as it may after a stop: the signal wakes the recorder's sleep, and the
recorder then waits only for the audio in flight (the wait after the stop starts when it ends)."""

from __future__ import annotations

import os
import signal
import threading
import time
from types import SimpleNamespace

from voice_transcriber.capture import recorder as recording
from voice_transcriber.capture.stops import StopControl


def test_a_stop_signal_ends_the_recorder_s_sleep_at_once():
    stop = StopControl().install()
    try:
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        started = time.monotonic()
        stop.wait(60, False)  # a whole minute, unless the signal wakes it
        assert stop.requested_at is not None and stop.reason == "SIGUSR1"
        assert time.monotonic() - started < 30  # (a generous deadline: it returns right after the signal)
        stop.wait(0.01, False)  # the wake-up was used up: a later sleep is a sleep again
    finally:
        for sig, previous in stop._previous.items():
            signal.signal(sig, previous)


def test_after_a_stop_request_the_recorder_looks_again_when_the_audio_in_flight_has_arrived():
    stop = StopControl()
    mic = SimpleNamespace(latency=0.03)
    recorder = SimpleNamespace(stop=stop, mic=mic, settings=SimpleNamespace(tail_padding_ms=200), segmenter=None)
    look = recording.Recorder._next_look
    assert look(recorder) == recording.TICK  # recording: the usual tick
    recorder.segmenter = SimpleNamespace(pause_under_way=lambda: True)
    assert look(recorder) == recording.PAUSE_TICK < recording.TICK  # the speaker just went silent: look closely
    recorder.segmenter = SimpleNamespace(pause_under_way=lambda: False)
    assert look(recorder) == recording.TICK
    stop.requested_at = time.monotonic() - 0.01
    assert 0.005 <= look(recorder) <= 0.02  # the rest of the device's latency, not a whole tick
    stop.requested_at = time.monotonic() - 1.0
    assert look(recorder) == 0.005  # the tail is recorded by now: look at once (never a busy loop)
    stop.requested_at = time.monotonic() - 0.04
    assert 0.005 <= look(recorder) <= recording.TICK  # keeping a tail (the speech went on to the stop): tick on
