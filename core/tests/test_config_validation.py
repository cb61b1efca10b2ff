"""Config validation: unknown keys, strict booleans and numbers, empty names, URLs, languages — exit 2, one line."""

from __future__ import annotations

import wave

import pytest

from voice_transcriber import ConfigError, UsageError
from voice_transcriber.cli.run_cmd import CliState, overrides_from
from voice_transcriber.config import load_settings
from vt_testing.core import run_cli, run_in_process


@pytest.fixture
def state(plugin_manager) -> CliState:
    return CliState(pm=plugin_manager)


@pytest.fixture
def short_wav(tmp_path):
    path = tmp_path / "half-second.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes(b"\0\0" * 8000)
    return path


def warnings_for(state: CliState, capsys) -> list[str]:
    state.settings()
    return [line for line in capsys.readouterr().err.splitlines() if line]


@pytest.mark.parametrize(("data", "path", "nearest"), [
    ({"bogusKey": 1}, "bogusKey", None),
    ({"transcription": {"speaches": {"ulr": "http://x/v1"}}}, "transcription.speaches.ulr", "transcription.speaches.url"),
    ({"transcription": {"speaches": {"bogus": 1}}}, "transcription.speaches.bogus", "transcription.speaches."),
    ({"input": {"maxDuration": 5}}, "input.maxDuration", "input.maxDurationSeconds"),
    ({"output": {"typing": {"keyDelay": 5}}}, "output.typing.keyDelay", "output.typing.keyDelayMs"),
    ({"profiles": [{"name": "t", "formaters": []}]}, "profiles[0].formaters", "profiles[0].formatters"),
    ({"profiles": [{"name": "t", "match": {"windowClas": "x"}}]}, "profiles[0].match.windowClas", "profiles[0].match.windowClass"),
    ({"profiles": [{"name": "t", "settings": {"output.typing.keyDelay": 5}}]}, "profiles[0].settings.output.typing.keyDelay",
     "output.typing.keyDelayMs"),
])
def test_unknown_key_is_one_warning_naming_path_file_and_nearest_key(state, write_config, capsys, data, path, nearest):
    file = write_config(data)
    lines = warnings_for(state, capsys)
    assert len(lines) == 1 and f"{file}: unknown key {path} (nearest known key: " in lines[0]
    if nearest:
        assert f"(nearest known key: {nearest}" in lines[0]


def test_known_keys_of_every_section_give_no_warning(state, write_config, capsys):
    write_config({"language": "en", "strictConfig": False, "transcription": {"backend": ["speaches", "local"],
                  "speaches": {"url": "http://gpu:8000/v1", "api_key": "none"}, "local": {"model": "tiny.en"}},
                  "output": {"sinks": ["stdout"], "beforeCommand": "true", "typing": {"keyDelayMs": 5}},
                  "formatter": {"llm": {"baseUrl": "http://localhost:11434/v1"}}, "notify": {"enabled": False},
                  "launcher": {"historyEntries": 3}, "daemon": {"prerollMs": 0}, "$schema": "x",
                  "profiles": [{"name": "t", "match": {"windowClass": "kitty"}, "settings": {"output.typing.keyDelayMs": 1}}]})
    assert warnings_for(state, capsys) == []


def test_unknown_key_from_the_environment_names_the_variable(state, write_config, capsys, monkeypatch):
    write_config({})
    monkeypatch.setenv("VOICE_TRANSCRIBER_INPUT__BOGUS", "1")
    assert "$VOICE_TRANSCRIBER_INPUT__BOGUS: unknown key input.bogus" in warnings_for(state, capsys)[0]


def test_strict_config_key_and_strict_flag_make_unknown_keys_errors(plugin_manager, write_config):
    file = write_config({"strictConfig": True, "transcription": {"speaches": {"ulr": "x"}}})
    with pytest.raises(ConfigError, match=r"unknown key transcription\.speaches\.ulr \(nearest known key: transcription\.speaches\.url\)"):
        CliState(pm=plugin_manager).settings()
    write_config({"bogus": 1})
    with pytest.raises(ConfigError, match=r"\(--strict\)"):
        CliState(pm=plugin_manager, strict=True).settings()
    result = run_cli("--strict", "config", "show")
    err = result.stderr.decode()
    assert result.returncode == 2 and err.count("\n") == 1 and str(file) in err and "unknown key bogus" in err
    relaxed = run_in_process("config", "show")  # in this process: its one warning is the point, not the process
    assert relaxed.returncode == 0 and relaxed.stderr.decode().count("unknown key bogus") == 1


@pytest.mark.parametrize(("data", "expected"), [
    ({"formatterEnabled": "yes"}, "formatterEnabled: must be true or false without quotes"),
    ({"formatterEnabled": 1}, "formatterEnabled: must be true or false (a JSON boolean), not a number"),
    ({"input": {"maxDurationSeconds": "60"}}, "input.maxDurationSeconds: must be a number without quotes"),
    ({"input": {"maxDurationSeconds": True}}, "input.maxDurationSeconds: must be a number, not true/false"),
    ({"input": {"silenceStopSeconds": "2"}}, "input.silenceStopSeconds: must be a number without quotes"),
    ({"transcription": {"backend": 5}}, "transcription.backend: must be text or a list"),
    ({"transcription": {"backend": []}}, "transcription.backend: is empty: name at least one backend"),
    ({"transcription": {"backend": ""}}, "transcription.backend: contains an empty name"),
    ({"transcription": {"backend": ["local", " "]}}, "transcription.backend: contains an empty name"),
    ({"output": {"sinks": []}}, "output.sinks: is empty: name at least one sink"),
    ({"formatter": {"chain": ["trim", ""]}}, "formatter.chain: contains an empty name"),
])
def test_strict_values_and_empty_names_are_config_errors(write_config, data, expected):
    file = write_config(data)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == f"{file}: {expected}" or str(err.value).startswith(f"{file}: {expected}")
    assert ".str" not in str(err.value) and "\n" not in str(err.value)


def test_an_empty_formatter_chain_is_allowed(write_config):
    write_config({"formatter": {"chain": []}, "formatterEnabled": True})
    assert load_settings().formatter.chain == []


@pytest.mark.parametrize("flags", [{"backend": ""}, {"output": ""}, {"formatters": ""}, {"output": "clipboard,,stdout"},
                                   {"backend": " , "}, {"language": ""}, {"profile": " "}])
def test_empty_names_on_the_command_line_are_usage_errors(flags):
    with pytest.raises(UsageError, match="empty"):
        overrides_from(flags)


def test_empty_backend_flag_exits_2_with_a_cause(short_wav):
    result = run_cli("--backend", "", "--input", str(short_wav))
    err = result.stderr.decode()
    assert result.returncode == 2 and err == "voice-transcriber: error: --backend has an empty backend name: name each backend, e.g. --backend local\n"


@pytest.mark.parametrize(("section", "key", "value", "expected"), [
    ("transcription.speaches", "url", "not a url", "must start with http:// or https:// (no scheme)"),
    ("transcription.speaches", "url", "ftp://x/v1", "must start with http:// or https:// ('ftp://')"),
    ("transcription.openai", "baseUrl", "http://", "must name a host"),
    ("transcription.openai", "baseUrl", "https://host:port/v1", "is not a valid URL"),
    ("formatter.llm", "baseUrl", "localhost:11434/v1", "must start with http:// or https://"),
])
def test_bad_urls_are_config_errors_naming_the_key(state, write_config, section, key, value, expected):
    node: dict = {}
    data = node
    for part in section.split("."):
        node[part] = {}
        node = node[part]
    node[key] = value
    file = write_config(data)
    from voice_transcriber.cli.config_cmd import plugin_sections

    with pytest.raises(ConfigError) as err:
        plugin_sections(state, load_settings())
    assert str(err.value).startswith(f"{file}: {section}.{key}: {expected}")
    assert value not in str(err.value) or value == "http://"  # the value (it may hold a password) is not echoed


def test_bad_url_exits_2(write_config, short_wav):
    write_config({"transcription": {"backend": "speaches", "speaches": {"url": "ftp://x/v1"}}})
    result = run_cli("--input", str(short_wav))
    assert result.returncode == 2 and b"transcription.speaches.url: must start with http://" in result.stderr


@pytest.mark.parametrize(("data", "flags", "expected"), [
    ({"language": "fr", "transcription": {"local": {"model": "tiny.en"}}}, (),
     "language: 'fr': backend 'local' knows only English (en); set transcription.local.model to a multilingual model"),
    ({"language": "fx", "transcription": {"local": {"model": "base"}}}, (),
     "language: 'fx': backend 'local' does not know it (close matches: fr (French)"),
    ({"language": "de", "transcription": {"backend": "speaches", "speaches": {"model": "Systran/faster-distil-whisper-small.en"}}}, (),
     "language: 'de': backend 'speaches' knows only English"),
    ({"transcription": {"local": {"model": "tiny.en"}}}, ("--language", "es"), "command line: language: 'es'"),
])
def test_language_is_checked_against_the_backends_languages(cli, write_config, short_wav, data, flags, expected):
    file = write_config(data)
    with pytest.raises(ConfigError) as err:
        cli(*flags, "--input", str(short_wav))
    assert expected in str(err.value) and "\n" not in str(err.value)
    if not flags:
        assert str(err.value).startswith(f"{file}: language: ")


def test_languages_the_backends_know_pass(cli, write_config, short_wav):
    write_config({"language": "en", "transcription": {"local": {"model": "tiny.en"}}})
    assert cli("--input", str(short_wav), "--backend", "fake-duration", "--output", "fake-list").exit_code == 0


def test_wrong_language_exits_2_naming_key_and_file(write_config, short_wav):
    file = write_config({"language": "fr", "transcription": {"local": {"model": "tiny.en"}}})
    result = run_cli("--input", str(short_wav))
    err = result.stderr.decode()
    assert result.returncode == 2 and err.count("\n") == 1 and f"{file}: language: 'fr'" in err and "Traceback" not in err


def test_a_background_recorder_with_a_bad_flag_or_config_exits_2_through_start_wait(write_config):
    bad_flag = run_cli("start", "--wait", "--backend", "")
    assert bad_flag.returncode == 2, bad_flag.stderr
    assert bad_flag.stderr.decode().endswith("failed: --backend has an empty backend name: name each backend, "
                                             "e.g. --backend local\n")
    file = write_config({"strictConfig": True, "bogus": 1})
    strict = run_cli("start", "--wait")
    err = strict.stderr.decode()
    assert strict.returncode == 2 and f"{file}: unknown key bogus" in err and "Traceback" not in err
    assert b"removed the PID file" not in run_cli("status").stderr  # nothing left behind to clean up
    write_config({"bogus": 1})
    forwarded = run_cli("--strict", "start", "--wait")  # --strict reaches the background recorder
    assert forwarded.returncode == 2 and b"unknown key bogus" in forwarded.stderr and b"(--strict)" in forwarded.stderr
