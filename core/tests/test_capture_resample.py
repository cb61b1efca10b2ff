"""record() in-process: a device that refuses 16 kHz is recorded at its own rate and resampled."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from voice_transcriber import hookimpl
from voice_transcriber.capture import record
from voice_transcriber.config import load_settings
from voice_transcriber.context import RunContext
from voice_transcriber.pipeline import Plan
from vt_testing.recorder import heard_until_now, wav_seconds

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)


@pytest.fixture
def own_signals():
    """record() takes over the stop signals of this process; give them back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


class Events:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def vt_recording_started(self, ctx):
        self.seen.append("started:" + os.path.basename(ctx.info["recording"]))

    @hookimpl
    def vt_recording_stopped(self, audio):
        self.seen.append("stopped:" + os.path.basename(audio.path))


@pytest.mark.slow
def test_a_device_without_16k_is_recorded_at_its_rate_and_resampled(pulse_env, own_signals, espeak_wav, pulse,
                                                                    plugin_manager, tiny_model_dir, monkeypatch):
    import sounddevice as sd
    from faster_whisper import WhisperModel

    real_stream = sd.RawInputStream

    def no_16k(*args, samplerate=None, **kwargs):
        if samplerate == 16000:
            raise sd.PortAudioError("Invalid sample rate [PaErrorCode -9997]")
        return real_stream(*args, samplerate=samplerate, **kwargs)

    monkeypatch.setattr(sd, "RawInputStream", no_16k)
    events = Events()
    plugin_manager.register_plugin(events, "events")
    ctx = RunContext(load_settings(overrides={"input.device": "pulse"}), pm=plugin_manager)

    since = time.monotonic()  # before the recording starts: heard_until_now's reference

    def speak_then_stop() -> None:
        time.sleep(0.3)
        pulse.play(espeak_wav("Please send the report by Friday.")).wait(timeout=30)
        heard_until_now(os.getpid(), since)  # this process records: its WAV has all of it
        os.kill(os.getpid(), signal.SIGUSR1)

    threading.Thread(target=speak_then_stop, daemon=True).start()
    try:
        audio = record(ctx, Plan(backends=[]))
    finally:
        plugin_manager.unregister(name="events")

    name = os.path.basename(ctx.info["recording"])
    assert ctx.info["microphone"] == "pulse at 44100 Hz (resampled)"
    assert str(audio.path) == ctx.info["recording"], "the pipeline transcribes the file that is kept"
    assert wav_seconds(audio.path) == pytest.approx(ctx.info["recorded_seconds"], abs=0.01)
    assert events.seen == ["started:" + name, "stopped:" + name]
    model = WhisperModel(str(tiny_model_dir), device="cpu", compute_type="int8", cpu_threads=2)
    # Beam 5 (the product's default): greedy decoding heard this sentence as "report on ifrivate." once
    text = " ".join(s.text for s in model.transcribe(audio.pcm(), language="en", beam_size=5)[0]).lower()
    assert "report" in text and "friday" in text, text


def test_the_virtual_mic_is_listed_though_sounddevice_was_imported_before_it_existed(monkeypatch, request):
    """An earlier test of the same worker may have imported sounddevice with no pulse server in reach: PortAudio then
    lists no 'pulse' device, and a later in-process recording failed ("no device matching 'pulse'"). pulse_env
    lists the devices again in its environment."""
    import sounddevice as sd

    monkeypatch.delenv("PULSE_SERVER", raising=False)
    sd._terminate()
    sd._initialize()  # as if first imported here, before any pulse server
    request.getfixturevalue("pulse_env")
    assert any(device["name"] == "pulse" for device in sd.query_devices())
