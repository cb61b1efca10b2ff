"""Transcribing while recording, end to end: PulseAudio virtual mic → the real executable → tiny.en.

A passage of espeak-ng sentences with pauses is played into the virtual mic; phrases are
transcribed while the recording goes on, and the text printed after the stop must match the
passage (WER). The stop comes once the recorder says (``--debug``) that its last phrase ended at
the pause after it: the speech had ended before the stop, so there is no tail to record.
"""

from __future__ import annotations

import re
import signal

import pytest

from vt_testing.recorder import RecordingProcess, recorder_env, recordings_of
from vt_testing.speech import wer

pytestmark = pytest.mark.slow


@pytest.fixture
def env(pulse, tiny_model_dir, tmp_path) -> dict[str, str]:
    return recorder_env(pulse, tiny_model_dir, tmp_path / "runtime")


def test_a_long_passage_is_transcribed_phrase_by_phrase_while_it_is_spoken(pulse, env, isolated_dirs, espeak_passage):
    # 3 sentences, 0.8 s apart (9 s): phrases done while it goes on, the last one after the stop (a fourth
    # sentence, 4 s more of real-time speech, only repeated what the second shows)
    wav, reference, spans = espeak_passage(7)
    store = recordings_of(isolated_dirs)
    rec = RecordingProcess("--debug", "--backend", "local", "--output", "stdout", env=env)
    rec.watch_stderr()
    rec.wait_for_file(store)
    pulse.play(wav).wait(timeout=60)
    # the last sentence's phrase ended at the silence after it (each "phrase N (a–b s) finished" line is
    # logged as the recorder cuts it; a rolling commit, input.streamingCommit, cuts a sentence once more, and
    # says so); a late line leaves the assertions below to say what went wrong
    rec.wait_for_stderr(lambda lines: sum(" finished" in line and "phrase " in line for line in lines)
                        >= len(spans) + sum(" committed at " in line for line in lines))
    # and the early phrases transcribed while it still records ("phrase N transcribed", logged as each decode
    # ends): on a loaded machine the first decode can end seconds after the speech (0 of 3 done at an
    # immediate stop, once in a full run); how soon is bench/'s business, that it happens before the stop is
    # this test's, and a recorder that never does so still fails the assertion on `done` below
    rec.wait_for_stderr(lambda lines: sum("phrase " in line and " transcribed: " in line for line in lines)
                        >= len(spans) // 2)
    rec.signal(signal.SIGUSR1)
    code, out, err = rec.finish()

    assert code == 0, err
    # greedy tiny.en on espeak speech: the phrase cuts move by a few samples with each real-time capture, and
    # the words with them (0.29 seen once in a full run); streamed vs batch accuracy is measured in bench/
    assert wer(reference, out) < 0.35, out
    streamed = re.search(r"info: streamed phrases = (\d+), (\d+) done when the recording ended.*, (\d+) commit", err)
    assert streamed, err
    phrases, done, commits = (int(group) for group in streamed.groups())
    # one phrase per sentence, and one more for each rolling commit (under load re-decodes agree on the words
    # of a sentence still being spoken now and then: 1 of 4 once at load 15)
    assert phrases == len(spans) + commits, f"one phrase per sentence: {err}"
    assert done >= phrases // 2, "the early phrases were transcribed while the recording went on"
    assert "info: tail = none" in err, "the passage had ended before the stop: no tail"
    assert "Traceback" not in err
