"""Fuzz: random bytes as audio files, history lines and config files never end in a traceback or a hang,
and a stored recording is never lost.

"Never a traceback" means: the only exceptions are the program's own one-line errors
(:class:`VoiceTranscriberError`, which the command line prints as one line with its exit
code). Hangs are caught by pytest-timeout. Example counts are kept small: the suite stays fast.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from voice_transcriber import Audio, ConfigError, VoiceTranscriberError, history
from voice_transcriber.cli.config_cmd import plugin_sections
from voice_transcriber.cli.run_cmd import CliState
from voice_transcriber.config import load_settings
from voice_transcriber.profiles import load_profiles
from voice_transcriber.recordings import recordings_dir
from voice_transcriber_backends.whisper_window import windows

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=16,
)
KEYS = ["language", "formatterEnabled", "strictConfig", "transcription", "backend", "speaches", "openai", "local",
        "url", "baseUrl", "model", "output", "sinks", "typing", "input", "maxDurationSeconds", "profiles", "name",
        "settings", "match", "windowClass", "daemon", "prerollMs", "formatter", "chain", "vocabulary", "bogus"]
# Objects shaped like a config, with the real keys, wrong types and unknown keys mixed in.
config_like = st.recursive(
    json_values,
    lambda children: st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5)
    | st.lists(children, max_size=3),
    max_leaves=20,
).filter(lambda value: isinstance(value, dict))

# Bytes that start like real audio containers, then go wrong.
HEADERS = [b"RIFF\x24\x00\x00\x00WAVEfmt ", b"fLaC\x00\x00\x00\x22", b"OggS\x00\x02", b"ID3\x03\x00\x00\x00",
           b"\xff\xfb\x90\x64", b"FORM\x00\x00\x00\x00AIFF", b""]
audio_bytes = st.builds(lambda head, tail: head + tail, st.sampled_from(HEADERS), st.binary(max_size=2000))


def _wav_prefix() -> bytes:
    import io

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes(b"\x01\x00" * 800)
    return buffer.getvalue()


@FUZZ
@given(data=audio_bytes)
@example(data=_wav_prefix()[:60])  # a WAV cut in its first samples
@example(data=b"")
def test_random_audio_files_decode_or_fail_with_one_line(tmp_path, data):
    path = tmp_path / "fuzz.bin"
    path.write_bytes(data)
    try:
        audio = Audio.from_file(path)
        for _, samples in windows(audio, window_seconds=0.05):
            assert samples.dtype.name == "float32"
        audio.duration  # noqa: B018 - must not raise anything but AudioError either
    except VoiceTranscriberError as exc:
        assert "\n" not in str(exc) and "object at 0x" not in str(exc)


@FUZZ
@given(data=audio_bytes)
def test_random_stdin_bytes_decode_or_fail_with_one_line(data):
    try:
        for _ in Audio.from_bytes(data).blocks(seconds=0.05):
            pass
    except VoiceTranscriberError as exc:
        assert "\n" not in str(exc) and "BytesIO" not in str(exc)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=audio_bytes)
def test_retry_of_a_damaged_recording_keeps_it(cli, data):
    folder = recordings_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "20261125-120000-fuzzed.wav"
    path.write_bytes(data)
    try:
        cli("retry", "20261125-120000-fuzzed", "--backend", "fake-duration", "--output", "fake-list")
    except VoiceTranscriberError as exc:
        assert "\n" not in str(exc)
    assert path.exists()  # a failed (or successful) retry never deletes the audio


GOOD = {"id": "20261125-120000-abc123", "timestamp": "2026-11-25T12:00:00Z", "text": "hello", "raw_text": "hello"}


@FUZZ
@given(lines=st.lists(st.binary(max_size=80) | json_values.map(lambda v: json.dumps(v).encode()), max_size=6))
def test_random_history_lines_never_hide_the_good_ones(lines):
    path = history.history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    good = json.dumps(GOOD).encode()
    path.write_bytes(b"\n".join([*lines, good, *lines]) + b"\n")
    warnings: list[str] = []
    entries = history.load(warn=warnings.append)
    assert GOOD["id"] in [e.id for e in entries]
    assert len(warnings) <= 1 and all("\n" not in w for w in warnings)
    for entry in entries:  # what `history` prints must work on every entry it returns
        assert isinstance(entry.text, str) and isinstance(entry.id, str)
        " ".join(entry.text.split())
    assert history.get("last").id in [e.id for e in entries]


@FUZZ
@given(content=st.binary(max_size=400) | config_like.map(lambda v: json.dumps(v).encode()))
def test_random_config_files_load_or_fail_with_one_config_error(plugin_manager, write_config, capsys, content):
    path: Path = write_config("{}")
    path.write_bytes(content)
    try:
        settings = CliState(pm=plugin_manager).settings()  # unknown keys: warnings, not errors
        plugin_sections(CliState(pm=plugin_manager), settings)
        settings.transcription.chain()
        load_profiles(settings)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).startswith((str(path), "$", "command line"))
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(line.startswith("voice-transcriber: ") for line in err.splitlines())


@FUZZ
@given(content=config_like)
def test_strict_config_turns_any_unknown_key_into_one_config_error(plugin_manager, write_config, content):
    write_config({**content, "strictConfig": True})
    try:
        load_settings()
    except ConfigError:
        return  # invalid values: already one line (above)
    try:
        CliState(pm=plugin_manager, strict=True).settings()
    except ConfigError as exc:
        assert "unknown key" in str(exc) and "\n" not in str(exc)
