"""The pipeline with fake plugins registered in a fresh plugin manager."""

from __future__ import annotations

import json

import pytest

from voice_transcriber import (
    Audio,
    Backend,
    BackendError,
    Formatter,
    FormatterError,
    Sink,
    SinkError,
    hookimpl,
)
from vt_testing.core import ListSink


class Failing(Backend):
    name = "fake-down"

    def transcribe(self, audio):
        raise BackendError("fake-down: server at http://127.0.0.1:9 refused the connection (is it running?)")


class Crashing(Backend):
    name = "fake-crash"

    def transcribe(self, audio):
        raise ZeroDivisionError("boom")


class Leaky(Backend):
    name = "fake-leaky"

    def transcribe(self, audio):
        raise BackendError("rejected key sk-live-abcdefghijklmnop1234 for user")


class BrokenFormatter(Formatter):
    name = "fake-broken"

    def format(self, transcript):
        raise FormatterError("fake-broken: service unavailable")


class FailingSink(Sink):
    name = "fake-failsink"

    def deliver(self, text, transcript):
        raise SinkError("fake-failsink: no display (set DISPLAY)")


class Extra:
    @hookimpl
    def vt_register_backends(self, register):
        for cls in (Failing, Crashing, Leaky):
            register(cls)

    @hookimpl
    def vt_register_formatters(self, register):
        register(BrokenFormatter)

    @hookimpl
    def vt_register_sinks(self, register):
        register(FailingSink)


class RaisingObserver:
    @hookimpl
    def vt_transcript_ready(self, transcript):
        raise RuntimeError("observer bug")


@pytest.fixture
def extra(plugin_manager):
    plugin_manager.register_plugin(Extra(), "extra")
    plugin_manager.register_plugin(RaisingObserver(), "observer")
    yield
    plugin_manager.unregister(name="extra")
    plugin_manager.unregister(name="observer")


def run(cli, jfk_path, *args):
    return cli("--input", str(jfk_path), *args)


def test_events_fire_in_order(cli, jfk_path, fake_plugin):
    result = run(cli, jfk_path, "-b", "fake-duration", "-o", "fake-list")
    assert result.exit_code in (0, None)
    kinds = [kind for kind, _ in fake_plugin.events]
    assert kinds == ["partial", "transcript", "delivered"]


def test_json_output_is_the_transcript_record(cli, jfk_path):
    result = run(cli, jfk_path, "-b", "fake-duration", "--json")
    record = json.loads(result.stdout)
    assert record["backend"] == "fake-duration" and record["text"] == "11.0 seconds of audio"
    assert record["audio_duration"] == pytest.approx(11.0, abs=0.05)


def test_no_newline(cli, jfk_path):
    assert run(cli, jfk_path, "-b", "fake-duration", "--no-newline").output == "11.0 seconds of audio"


def test_stdin_input(cli, jfk_path):
    result = cli("--input", "-", "-b", "fake-duration", input=jfk_path.read_bytes())
    assert result.stdout == "11.0 seconds of audio\n"


def test_fallback_chain_uses_next_backend(cli, jfk_path, extra, capsys):
    result = run(cli, jfk_path, "-b", "fake-down,fake-duration", "--debug")
    assert result.stdout.startswith("11.0 seconds of audio\n")
    assert "trying backend 'fake-duration'" in result.stderr
    assert "backend 'fake-duration' answered" in result.stderr


def test_all_backends_fail_names_each(cli, jfk_path, extra, fake_plugin):
    with pytest.raises(BackendError) as err:
        run(cli, jfk_path, "-b", "fake-down,fake-crash")
    message = str(err.value)
    assert "fake-down" in message and "fake-crash" in message and "plugin extra" in message
    assert ("failed", message) in fake_plugin.events


def test_formatter_failure_keeps_text_and_continues(cli, jfk_path, extra):
    result = run(cli, jfk_path, "-b", "fake-duration", "-f", "fake-broken,fake-upper")
    assert result.stdout == "11.0 SECONDS OF AUDIO\n"
    assert "fake-broken: service unavailable" in result.stderr
    assert "plugin observer failed in vt_transcript_ready: RuntimeError: observer bug" in result.stderr


def test_sink_failure_still_delivers_to_other_sinks(cli, jfk_path, extra):
    with pytest.raises(SinkError, match="no display"):
        run(cli, jfk_path, "-b", "fake-duration", "-o", "fake-failsink,fake-list")
    assert ListSink.delivered == ["11.0 seconds of audio"]


def test_no_format_flag_skips_chain(cli, jfk_path):
    assert run(cli, jfk_path, "-b", "fake-duration", "-f", "fake-upper", "--no-format").output == "11.0 seconds of audio\n"


def test_debug_prints_stage_timings(cli, jfk_path):
    result = run(cli, jfk_path, "-b", "fake-duration", "--debug")
    assert "timings: transcribe" in result.stderr and "deliver" in result.stderr


def test_audio_decoding_errors_are_one_line(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("this is not audio")
    with pytest.raises(Exception) as err:
        Audio.from_file(bad).pcm()
    assert "cannot decode audio" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(Exception, match="audio file not found"):
        Audio.from_file(tmp_path / "missing.flac")


def test_audio_known_empty_without_decoding(tmp_path, jfk_path):
    """A WAV of its header alone (a recording stopped before the microphone opened) is known empty from its
    header; the pipeline then asks no backend (a model would load for nothing) and says "no speech"."""
    import wave

    import numpy as np

    from voice_transcriber.recordings import wav_bytes

    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as wav:
        wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(16_000)
    assert empty.stat().st_size == 44
    assert Audio.from_file(empty).known_empty and Audio.from_file(empty).duration == 0.0
    assert Audio.from_bytes(wav_bytes(b"")).known_empty and Audio.from_samples(np.zeros(0, np.float32), 16_000).known_empty
    assert not Audio.from_bytes(wav_bytes(b"\0\0" * 160)).known_empty
    assert not Audio.from_file(jfk_path).known_empty and not Audio.from_samples(np.zeros(1, np.float32), 16_000).known_empty
    garbage = tmp_path / "notes.wav"
    garbage.write_bytes(b"x" * 44)
    assert not Audio.from_file(garbage).known_empty  # not a WAV: the decoder says what is wrong, as before


def test_a_wav_as_the_recorder_writes_it_has_its_length_from_its_header(tmp_path, jfk_path):
    """The length of a plain PCM WAV comes from its header (the run state of a recording needs no soundfile):
    what libsndfile says, for every sample width, rate and channel count; any other file goes to libsndfile."""
    import wave

    import soundfile

    from voice_transcriber.recordings import wav_bytes

    files = []
    for channels, width, rate, frames in ((1, 2, 16_000, 24_000), (2, 2, 44_100, 12_345), (1, 1, 8_000, 999),
                                          (1, 3, 48_000, 777), (2, 4, 22_050, 1)):
        path = tmp_path / f"{channels}-{width}-{rate}-{frames}.wav"
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(channels), wav.setsampwidth(width), wav.setframerate(rate)
            wav.writeframes(bytes(channels * width * frames))
        files.append(path)
    cut = tmp_path / "cut.wav"  # its header promises more than the file holds (a recorder that crashed)
    cut.write_bytes(files[0].read_bytes()[:-7])
    floats = tmp_path / "float.wav"
    soundfile.write(floats, [0.0] * 1000, 16_000, subtype="FLOAT")
    for path in (*files, cut, floats, jfk_path):
        assert Audio.from_file(path).duration == soundfile.info(path).duration, path
    assert Audio.from_file(files[0])._plain_wav_duration() == 1.5 and Audio.from_file(cut)._plain_wav_duration() is None
    assert Audio.from_file(floats)._plain_wav_duration() is None
    assert Audio.from_bytes(wav_bytes(bytes(6400))).duration == 0.2


def test_an_empty_recording_asks_no_backend_and_is_no_speech(cli, tmp_path, extra):
    import wave

    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as wav:
        wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(16_000)
    result = run(cli, empty, "-b", "fake-down,fake-crash", "-o", "fake-list")  # either would fail if asked
    assert f"no speech detected in {empty}; nothing delivered" in result.stderr
    assert "refused" not in result.stderr and "boom" not in result.stderr and ListSink.delivered == []


def test_audio_resamples_to_16k_mono(jfk_path):
    samples = Audio.from_file(jfk_path).pcm()
    assert samples.ndim == 1 and samples.dtype.name == "float32"
    assert len(samples) == pytest.approx(11.0 * 16000, rel=0.01)
    assert 0.01 < float(abs(samples).mean()) < 0.5


class TimingWrapper:
    """A pluggy wrapper around an event hook: sees the observers run between its two halves."""

    def __init__(self, log):
        self.log = log

    @hookimpl(wrapper=True)
    def vt_transcript_ready(self, transcript):
        self.log.append("wrapper before")
        result = yield
        self.log.append("wrapper after")
        return result


class FirstObserver:
    def __init__(self, log):
        self.log = log

    @hookimpl(tryfirst=True)
    def vt_transcript_ready(self, transcript):
        self.log.append(f"tryfirst observer: {transcript.text}")


def test_event_hooks_honour_wrappers_and_tryfirst_and_isolate_failures(cli, jfk_path, plugin_manager, extra):
    log: list[str] = []
    plugin_manager.register(TimingWrapper(log), name="wrapper")
    plugin_manager.register(FirstObserver(log), name="first")
    try:
        result = run(cli, jfk_path, "-b", "fake-duration")
    finally:
        plugin_manager.unregister(name="wrapper")
        plugin_manager.unregister(name="first")
    assert result.stdout == "11.0 seconds of audio\n"
    assert log == ["wrapper before", "tryfirst observer: 11.0 seconds of audio", "wrapper after"]
    # the raising observer registered by the `extra` fixture did not stop the others, and is named
    assert "plugin observer failed in vt_transcript_ready: RuntimeError: observer bug" in result.stderr
