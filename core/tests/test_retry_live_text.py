"""`retry` of a daemon recording gives the text the live run delivered (issue 16).

The live run streams: phrases cut while recording, each transcribed with the text decided before
it. `retry` used to transcribe the stored file in one piece — another decoding of the same audio,
which could give different words. It now replays the recording through the same phrase cutting
and prompts (``voice_transcriber.streaming.replay``). Real daemon, PulseAudio virtual mic, tiny.en.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from vt_testing.daemon import VT, DaemonWorld, speak
from vt_testing.passages import natural_passage, write_wav
from vt_testing.speech import wer

pytestmark = pytest.mark.slow


def test_retry_of_a_daemon_recording_gives_the_live_text(pulse, tiny_model_dir, jfk16k, tmp_path):
    pcm, text = natural_passage("short-3")
    paragraph = write_wav(tmp_path / "paragraph.wav", pcm)
    world = DaemonWorld(pulse.env, tiny_model_dir, config={"transcription": {"backend": "local", "local": {"beamSize": 1}}})
    retries: list[tuple[str, subprocess.Popen]] = []
    try:
        world.start_daemon()
        for wav, ref in ((jfk16k, None), (paragraph, "last")):
            world.dictations.write_text("")
            since = time.monotonic()
            started = world.vt("toggle")
            assert started.returncode == 0, started.stderr
            speak(pulse, wav, world, since)
            stopped = world.vt("toggle", "--wait")
            assert stopped.returncode == 0, stopped.stderr
            live = world.dictations.read_text().strip()
            assert live.count(" ") >= 10
            # the first recording's retry (by its id) runs while the second one is spoken, niced: the live recording
            # and its streaming keep the CPU they need on a loaded machine; the last one's is `retry last`
            run = ref or started.stdout.split("(run ")[1].split(",")[0]
            retries.append((live, subprocess.Popen(["nice", "-n", "10", VT, "retry", run, "--output", "stdout"],
                                                   env=world.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                   text=True)))
        for live, retry in retries:
            out, err = retry.communicate(timeout=90)
            assert retry.returncode == 0, err
            assert out.strip() == live
        assert wer(text, live) < 0.3, live
    finally:
        for _, retry in retries:
            if retry.poll() is None:
                retry.kill()
                retry.wait()
        world.close()
