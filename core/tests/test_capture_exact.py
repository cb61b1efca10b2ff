"""A live recording is the spoken samples exactly, after a lead-in of silence (issue 16).

bench/stream_accuracy.py measures the accuracy of streamed text offline: it replays each passage
through the live phrase cutting with a lead-in and a tail of silence, and compares with batch of
that same audio. That stands for the live path only if a live capture is exactly those samples (a
16 kHz microphone: no resampling, no gain, nothing dropped or doubled), so that the live text is
the replay's (``retry`` == live is pinned elsewhere). Real executable, PulseAudio pipe source fed
in real time (as bench/post_stop_latency.py feeds it), real speech; a streamed recording and a
hands-free (``--continuous``) session's, whose recorder feeds the utterance segmenter instead: both listen to
one feeding of the pipe source (a microphone has any number of listeners), each a real recorder in a world of
its own (``exact_takes``, a module fixture; one xdist group). The recorders transcribe with ``vt-heard``, a
third-party backend plugin that loads no model (:func:`vt_testing.core.heard_backend`): the samples recorded
are the point, compared one by one; tiny.en's words on them are test_capture_record's and test_streaming_capture's.
"""

from __future__ import annotations

import queue
import signal
import threading

import numpy as np
import pytest
import soundfile
from vt_testing.pulse import SILENCE_10MS, feed_in_real_time
from vt_testing.recorder import RecordingProcess, private_world, recordings_of
from vt_testing.speech import JFK_PATH

pytestmark = pytest.mark.slow


MODES = {"streamed": (), "hands-free": ("--continuous",)}


@pytest.fixture(scope="module")
def exact_takes(pulse, tiny_model_dir, heard_backend, tmp_path_factory):
    """A streamed recorder and a hands-free one hear 3 s of jfk.flac fed once, in real time, into a pipe source,
    after silence; each is stopped (SIGUSR1) 0.5 s after the speech. {mode: (exit code, stdout, stderr, its
    recording)} and the speech fed (int16 samples)."""
    from voice_transcriber import Audio

    folder = tmp_path_factory.mktemp("exact")
    # 3 s of jfk.flac (a human voice, "And so, my fellow Americans") as the 16 kHz int16 samples a microphone gives
    speech = (np.clip(Audio.from_file(JFK_PATH).pcm()[: 3 * 16_000], -1, 32767 / 32768) * 32768).astype(np.int16)
    fifo = folder / "speech.fifo"
    module = pulse.pactl("load-module", "module-pipe-source", "source_name=exactmic", f"file={fifo}",
                         "format=s16le", "rate=16000", "channels=1")
    chunks: queue.Queue[bytes | None] = queue.Queue()
    fed, stop = threading.Event(), threading.Event()

    def next_chunk() -> bytes:
        """The queued speech, 10 ms at a time, else silence; ``fed`` is set at the end mark (None)."""
        try:
            chunk = chunks.get_nowait()
        except queue.Empty:
            return SILENCE_10MS
        if chunk is None:
            fed.set()
            return SILENCE_10MS
        return chunk

    feeder = threading.Thread(target=feed_in_real_time, args=(fifo, stop, next_chunk), daemon=True)
    feeder.start()
    recorders: dict[str, RecordingProcess] = {}
    try:
        for mode, args in MODES.items():
            env = {**private_world(folder / mode, pulse, tiny_model_dir), "PULSE_SOURCE": "exactmic", **heard_backend}
            recorders[mode] = RecordingProcess(*args, "--backend", "vt-heard", "--output", "stdout", env=env)
        paths = {mode: rec.wait_for_file(recordings_of(folder / mode))
                 for mode, rec in recorders.items()}
        for start in range(0, speech.size, 160):
            chunks.put(speech[start:start + 160].tobytes())
        for _ in range(50):  # then 0.5 s of silence, so that the speech is through the server before the stop
            chunks.put(SILENCE_10MS)
        chunks.put(None)
        assert fed.wait(timeout=60), "the speech was not fed"
        for rec in recorders.values():
            rec.signal(signal.SIGUSR1)
        return {mode: (*rec.finish(timeout=120), paths[mode]) for mode, rec in recorders.items()}, speech
    finally:
        for rec in recorders.values():
            rec.kill_if_running()
        stop.set()
        feeder.join(timeout=10)
        pulse.pactl("unload-module", module)  # the server serves the worker's other tests


@pytest.mark.xdist_group("capture-exact")
@pytest.mark.parametrize("mode", list(MODES))
def test_a_live_recording_is_the_spoken_samples_after_silence(mode, exact_takes):
    takes, speech = exact_takes
    code, out, err, path = takes[mode]
    assert code == 0 and "seconds heard" in out, (out, err)  # the speech was transcribed and delivered

    recorded, rate = soundfile.read(path, dtype="int16")
    assert rate == 16_000
    first = int(np.flatnonzero(recorded)[0])
    lead = first - int(np.flatnonzero(speech)[0])
    assert lead > 0 and recorded.size >= lead + speech.size, (lead, recorded.size)
    exact = (np.array_equal(recorded[lead:lead + speech.size], speech)
             and not recorded[:lead].any() and not recorded[lead + speech.size:].any())
    # the speech sample for sample, silence before and after it — unless the machine was too busy for the
    # microphone's buffer, which the recorder then says (nothing is lost silently)
    assert exact or "the microphone overflowed" in err, err
