"""The local backend's head start, end to end: `transcribe` loads the model the last identical run loaded
before it reads its configuration, and nothing it prints or returns depends on it.

Real processes, the tiny.en weights, a short espeak-ng sentence (the decode is not what is tested). ``--debug`` says ``info: local model head start = used``
when the backend took the model the head start loaded.
"""

from __future__ import annotations

import json

import pytest
from vt_testing.core import run_cli
from vt_testing.speech import wer

from voice_transcriber import head_start

pytestmark = pytest.mark.slow
USED = "info: local model head start = used"
SENTENCE = "Please send the report by Friday."


@pytest.fixture
def model(tmp_path, tiny_model_dir, monkeypatch):
    """A model directory of this test's own (the tiny.en files linked), named by the environment."""
    folder = tmp_path / "model"
    folder.mkdir()
    for file in tiny_model_dir.iterdir():
        (folder / file.name).symlink_to(file)
    monkeypatch.setenv("VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL", str(folder))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-hub"))
    return folder


def transcribe(*args: str):
    result = run_cli(*args, timeout=180)
    return result.returncode, result.stdout.decode(), result.stderr.decode().splitlines()


def remembered() -> dict:
    (run,) = json.loads(head_start.path().read_text())["runs"].values()
    return run


def test_the_next_identical_transcribe_takes_the_model_early_and_prints_the_same(model, tmp_path, espeak_wav):
    # The test's cache holds the plugin index (conftest.py seeds it, as a user's first command writes it):
    # `transcribe` runs without click, where the head start is taken.
    speech = str(espeak_wav(SENTENCE))
    code, text, err = transcribe("--debug", "transcribe", speech)
    assert code == 0 and USED not in err, err
    assert wer(SENTENCE, text) <= 0.2, text
    assert remembered() == {"name": "local", "payload": {"path": str(model), "device": "cpu", "computeType": "int8",
                                                        "threads": remembered()["payload"]["threads"]}}

    again = transcribe("--debug", "transcribe", speech)
    assert (again[0], again[1]) == (0, text) and USED in again[2], again[2]

    # What the head start loads is only a guess: another model than the one configured is dropped,
    # a load that fails is ignored; the backend loads its own, and the run is the same.
    other = tmp_path / "other-model"
    broken = tmp_path / "broken-model"
    for folder in (other, broken):
        folder.mkdir()
        for file in model.iterdir():
            (folder / file.name).symlink_to(file.resolve())
    (broken / "model.bin").unlink()
    (broken / "model.bin").write_bytes(b"not weights")
    for guess in (other, broken):
        record = json.loads(head_start.path().read_text())
        (run,) = record["runs"].values()
        run["payload"]["path"] = str(guess)
        head_start.path().write_text(json.dumps(record))
        code, out, err = transcribe("--debug", "transcribe", speech)
        assert (code, out) == (0, text) and USED not in err, err
        assert not [line for line in err if line.startswith("voice-transcriber:")], err


def test_a_run_that_fails_says_what_it_says_without_a_head_start(model, tmp_path):
    import numpy as np
    import soundfile

    # Silence: the VAD finds nothing to decode, the model is loaded and remembered all the same (what a
    # run says when it fails is tested, not what it hears; a decode would cost ~0.8 s of CPU).
    speech = str(tmp_path / "silence.wav")
    soundfile.write(speech, np.zeros(32_000, dtype=np.int16), 16_000)
    first = transcribe("transcribe", speech)  # remembers the model
    assert first == (0, "", [f"voice-transcriber: no speech detected in {speech}; nothing delivered"]), first
    assert remembered()["payload"]["path"] == str(model)
    record = head_start.path().read_text()

    missing = tmp_path / "missing.wav"
    (model / "model.bin").unlink()
    (model / "model.bin").write_bytes(b"damaged since the last run")
    for args in (("transcribe", str(missing)), ("transcribe", speech)):
        head_start.path().write_text(record)
        with_head_start = transcribe(*args)  # the head start loads the damaged model, and fails
        head_start.path().unlink()
        without = transcribe(*args)
        assert with_head_start == without
        code, out, err = without
        assert (code, out, len(err)) == (1, "", 1), err
    assert err[0].startswith(f"voice-transcriber: error: cannot load local model 'model' from {model}: "), err
