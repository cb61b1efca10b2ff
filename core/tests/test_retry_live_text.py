"""`retry` of a daemon recording gives the text the live run delivered (issue 16).

The live run streams: phrases cut while recording, each transcribed with the text decided before
it. `retry` used to transcribe the stored file in one piece — another decoding of the same audio,
which could give different words. It now replays the recording through the same phrase cutting
and prompts (``voice_transcriber.streaming.replay``). Real daemons, PulseAudio virtual mics, tiny.en.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from vt_testing.core import run_in_process
from vt_testing.daemon import DaemonWorld
from vt_testing.passages import natural_passage, write_wav
from vt_testing.pulse import PulseServer, start_pulse
from vt_testing.recorder import heard_until_now
from vt_testing.speech import wer

pytestmark = pytest.mark.slow


def test_retry_of_a_daemon_recording_gives_the_live_text(pulse, tiny_model_dir, jfk16k, tmp_path):
    """JFK and a natural paragraph, each dictated to a daemon of its own (its own microphone, state and
    history) at the same time: two recordings in the time of one. The JFK one is retried by its run id,
    the paragraph by `retry last`, each in this process (in its world's environment): what the replay gives is
    the point, not retry's process (a process each cost ~1 CPU-s more: imports and a model load)."""
    config = {"transcription": {"backend": "local", "local": {"beamSize": 1}}}
    worlds: list[DaemonWorld] = []
    mics: list[PulseServer] = []
    try:
        with ThreadPoolExecutor(2) as pool:
            # the second microphone (its sink takes up to 2 s to render in small blocks) and the first daemon
            # start while the paragraph is made
            second = pool.submit(start_pulse, tmp_path / "pulse2")
            worlds.append(DaemonWorld(pulse.env, tiny_model_dir, config=config))
            up = [pool.submit(worlds[0].start_daemon)]
            pcm, text = natural_passage("short-3")
            paragraph = write_wav(tmp_path / "paragraph.wav", pcm)
            mics.append(second.result())
            worlds.append(DaemonWorld(mics[0].env, tiny_model_dir, config=config))
            up.append(pool.submit(worlds[1].start_daemon))
            for starting in up:
                starting.result()
        started = []
        for world in worlds:
            since = time.monotonic()
            toggled = world.vt("toggle")
            assert toggled.returncode == 0, toggled.stderr
            started.append((since, toggled.stdout))
        players = [pulse.play(jfk16k), mics[0].play(paragraph)]
        for player in players:
            player.wait(timeout=60)
        live, refs = [], []
        for world, (since, toggled_out), ref in zip(worlds, started, ("id", "last"), strict=True):
            heard_until_now(world.process.pid, since)
            stopped = world.vt("toggle", "--wait")
            assert stopped.returncode == 0, stopped.stderr
            live.append(world.dictations.read_text().strip())
            assert live[-1].count(" ") >= 10, live[-1]
            refs.append(toggled_out.split("(run ")[1].split(",")[0] if ref == "id" else ref)
        for world, said, ref in zip(worlds, live, refs, strict=True):
            retried = run_in_process("retry", ref, "--output", "stdout", env=world.env, text=True)
            assert retried.returncode == 0, retried.stderr
            assert retried.stdout.strip() == said
        assert wer(text, live[1]) < 0.3, live[1]
    finally:
        for world in worlds:
            world.close()
        for mic in mics:
            mic.stop()
