"""`retry` of a daemon recording gives the text the live run delivered (issue 16).

The live run streams: phrases cut while recording, each transcribed with the text decided before
it. `retry` used to transcribe the stored file in one piece — another decoding of the same audio,
which could give different words. It now replays the recording through the same phrase cutting
and prompts (``voice_transcriber.streaming.replay``). Real daemon, PulseAudio virtual mic, tiny.en.
"""

from __future__ import annotations

import time

import pytest
from vt_testing.daemon import DaemonWorld, speak
from vt_testing.passages import natural_passage, write_wav
from vt_testing.speech import wer

pytestmark = pytest.mark.slow


def test_retry_of_a_daemon_recording_gives_the_live_text(pulse, tiny_model_dir, jfk16k, tmp_path):
    pcm, text = natural_passage("short-3")
    paragraph = write_wav(tmp_path / "paragraph.wav", pcm)
    world = DaemonWorld(pulse.env, tiny_model_dir, config={"transcription": {"backend": "local", "local": {"beamSize": 1}}})
    try:
        world.start_daemon()
        for wav in (jfk16k, paragraph):
            world.dictations.write_text("")
            since = time.monotonic()
            assert world.vt("toggle").returncode == 0
            speak(pulse, wav, world, since)
            stopped = world.vt("toggle", "--wait")
            assert stopped.returncode == 0, stopped.stderr
            live = world.dictations.read_text().strip()
            retried = world.vt("retry", "last", "--output", "stdout")
            assert retried.returncode == 0, retried.stderr
            assert retried.stdout.strip() == live
            assert live.count(" ") >= 10
        assert wer(text, live) < 0.3, live
    finally:
        world.close()
