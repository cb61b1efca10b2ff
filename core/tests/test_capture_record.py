"""Recording through the real executable: PulseAudio virtual mic → sounddevice → WAV → local backend.

Speech is played into the null sink ``vmic``; each stop signal waits until the recorder's file holds all
of it (``RecordingProcess.speak``). Words are checked with WER.
"""

from __future__ import annotations

import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from vt_testing.pulse import RecordingProcess, recorder_env, wav_seconds
from vt_testing.speech import JFK_TEXT, wer

SENTENCE = "Please send the report by Friday."
#: For recorders whose transcript is not the point (silence, a cancel): never reached, and no model to load.
UNREACHABLE_OPENAI = {"OPENAI_API_KEY": "sk-test-not-used",
                      "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": "http://127.0.0.1:9/v1"}

pytestmark = pytest.mark.slow


def heard(text: str, *keywords: str) -> bool:
    """Every keyword is in the transcript (tiny.en sometimes glues a sound on: "iFriday")."""
    return all(word in text.lower() for word in keywords)


@pytest.fixture
def env(pulse, tiny_model_dir, isolated_dirs, tmp_path) -> dict[str, str]:
    """The virtual mic, the bundled tiny.en model for the local backend, a private runtime dir."""
    return recorder_env(pulse, tiny_model_dir, tmp_path / "runtime")


@pytest.fixture
def store(isolated_dirs) -> Path:
    return isolated_dirs / "xdg_state_home" / "voice-transcriber" / "recordings"


def test_speech_is_recorded_until_sigusr1_and_transcribed(pulse, env, store, jfk16k):
    rec = RecordingProcess("--backend", "local", "--output", "stdout", env=env)
    path = rec.wait_for_file(store)
    rec.speak(pulse, jfk16k)
    rec.signal(signal.SIGUSR1)
    code, out, err = rec.finish()
    lived = time.monotonic() - rec.started

    assert code == 0, err
    assert wer(JFK_TEXT, out) < 0.2, out
    assert out.count("\n") == 1, "stdout carries the text and nothing else"
    assert "REC" not in err and "Traceback" not in err, "no meter when stderr is not a terminal"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(store.stat().st_mode) == 0o700
    assert 11.0 < wav_seconds(path) < lived, "the whole speech is on disk, and nothing twice"
    assert path.with_suffix(".delivered").exists(), "delivered, so `input.keepRecordings` applies to it"


def test_sigterm_stops_and_an_unwritable_state_dir_falls_back_with_a_warning(pulse, env, espeak_wav, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("the state dir cannot be created under a file")
    rec = RecordingProcess("--backend", "local", "--output", "stdout",
                           env={**env, "XDG_STATE_HOME": str(blocker / "state")})
    fallback = Path(env["XDG_RUNTIME_DIR"]) / "voice-transcriber" / "recordings"
    rec.wait_for_file(fallback)
    rec.speak(pulse, espeak_wav(SENTENCE))
    rec.signal(signal.SIGTERM)
    code, out, err = rec.finish()

    assert code == 0, err
    assert heard(out, "report", "friday"), out
    warning = [line for line in err.splitlines() if "cannot write recordings" in line]
    assert len(warning) == 1 and str(fallback) in warning[0], err


def test_a_full_disk_moves_the_recording_to_the_fallback_dir_without_losing_audio(pulse, env, espeak_wav, tmp_path):
    """The state dir is a 64 KiB tmpfs (2 s of audio) in a private mount namespace."""
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs unshare -m (root) to mount a tiny tmpfs")
    state = tmp_path / "tiny-state"
    state.mkdir()
    script = f'mount -t tmpfs -o size=64k tmpfs "{state}" && exec "$0" "$@"'
    rec = RecordingProcess("--backend", "local", "--output", "stdout", env={**env, "XDG_STATE_HOME": str(state)},
                           wrapper=("unshare", "-m", "sh", "-c", script))
    fallback = Path(env["XDG_RUNTIME_DIR"]) / "voice-transcriber" / "recordings"
    assert rec.wait_for_open_wav().parent == state / "voice-transcriber" / "recordings"
    rec.speak(pulse, espeak_wav(SENTENCE))
    rec.signal(signal.SIGUSR1)
    code, out, err = rec.finish()

    assert code == 0, err
    assert "No space left on device" in err and str(fallback) in err, err
    assert heard(out, "report", "friday"), out
    recording = next(fallback.glob("*.wav"))
    assert wav_seconds(recording) > 3.0, "the fallback file holds the whole recording, not just the rest"


def test_kill_9_mid_recording_leaves_a_readable_file(pulse, env, store, espeak_wav, tiny_model_dir):
    from faster_whisper import WhisperModel

    from voice_transcriber import recordings

    rec = RecordingProcess("--backend", "local", "--output", "stdout", env=env)
    path = rec.wait_for_file(store)
    sentence = espeak_wav(SENTENCE)
    rec.speak(pulse, sentence)  # the sentence is on disk (a fixed 4.5 s of file cut "Friday" off under load)
    rec.process.kill()
    rec.finish()

    seconds = wav_seconds(path)  # a plain WAV reader, before any repair
    assert seconds >= wav_seconds(sentence)
    audio = recordings.load("last")
    assert audio.path == path and audio.duration >= seconds
    model = WhisperModel(str(tiny_model_dir), device="cpu", compute_type="int8", cpu_threads=2)
    text = " ".join(s.text for s in model.transcribe(audio.pcm(), language="en", beam_size=1)[0])
    assert heard(text, "report", "friday"), text
    assert not path.with_suffix(".delivered").exists(), "an undelivered recording is never pruned"


@pytest.mark.parametrize("signals", [(signal.SIGUSR2,), (signal.SIGINT, signal.SIGINT)], ids=["sigusr2", "ctrl-c-twice"])
def test_cancel_keeps_the_file_and_exits_130_with_nothing_on_stdout(pulse, env, store, signals):
    # a long tail: the second Ctrl-C must land while the first one's tail is still being recorded
    rec = RecordingProcess("--backend", "openai", "--output", "stdout",  # nothing is ever sent
                           env={**env, "VOICE_TRANSCRIBER_INPUT__TAIL_PADDING_MS": "3000"})
    path = rec.wait_for_file(store)
    time.sleep(0.5)
    for signum in signals:
        rec.signal(signum)
        time.sleep(0.2)  # two identical signals sent at once may merge into one
    code, out, err = rec.finish()

    assert code == 130, err
    assert out == ""
    assert err.count("\n") == 1 and "cancelled" in err and path.name in err, err
    assert path.exists() and not path.with_suffix(".delivered").exists()


def test_max_duration_stops_by_itself(pulse, env, store):
    # the silence recorded ends at the silence gate: an unreachable openai backend, no tiny.en load for nothing
    rec = RecordingProcess("--backend", "openai", "--output", "stdout", "--max-duration", "1.5",
                           env={**env, **UNREACHABLE_OPENAI})
    path = rec.wait_for_file(store)
    code, out, err = rec.finish(timeout=30)

    assert code == 0, err
    assert "maximum of 1.5 s" in err
    assert wav_seconds(path) == 1.5  # cut at the limit, however late the loop saw it


def test_silence_after_speech_stops_by_itself_with_a_real_vad(pulse, env, store, espeak_wav):
    rec = RecordingProcess("--backend", "local", "--output", "stdout", "--silence-stop", "1", "--max-duration", "30",
                           env=env)
    path = rec.wait_for_file(store)
    time.sleep(1.5)  # leading silence does not stop it: it waits for speech first
    pulse.play(espeak_wav(SENTENCE)).wait(timeout=30)
    code, out, err = rec.finish(timeout=30)

    assert code == 0, err
    assert "maximum" not in err
    assert heard(out, "report", "friday"), out
    assert wav_seconds(path) < 12


def test_a_cancel_during_start_up_exits_130_in_one_line(pulse, env):
    """SIGUSR2 as soon as the stop handlers exist (the CLI, plugins and config are still loading)."""
    rec = RecordingProcess("--backend", "openai", "--output", "stdout", env=env)
    status = Path(f"/proc/{rec.process.pid}/status")
    usr2 = 1 << (signal.SIGUSR2 - 1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not int(status.read_text().split("SigCgt:")[1].split()[0], 16) & usr2:
        time.sleep(0.002)
    rec.signal(signal.SIGUSR2)
    code, out, err = rec.finish(timeout=30)
    assert code == 130 and out == ""
    assert err.count("\n") == 1 and "cancelled" in err and "Traceback" not in err, err


def test_a_flood_of_stop_signals_never_hangs_the_recorder(pulse, env, store):
    """Signal handlers take no lock: one that did (threading.Event.set) deadlocked on an unlucky signal."""
    rec = RecordingProcess("--backend", "openai", "--output", "stdout", env=env)
    rec.wait_for_file(store)
    for _ in range(300):
        if rec.process.poll() is not None:
            break
        rec.signal(signal.SIGUSR1)
        time.sleep(0.002)
    code, out, err = rec.finish(timeout=30)
    assert code == 0 and "Traceback" not in err, err
