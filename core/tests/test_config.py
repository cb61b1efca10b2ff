"""Configuration: the original tool's keys, precedence, and one-line errors."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from pydantic import Field, SecretStr

from voice_transcriber import ConfigError, ConfigModel
from voice_transcriber.config import load_settings, mask_secrets
from vt_testing.core import run_cli

ORIGINAL = {
    "language": "fr",
    "formatterEnabled": True,
    "transcription": {
        "backend": "speaches",
        "speaches": {"url": "http://gpu-box:8000/v1", "apiKey": "none", "model": "Systran/faster-whisper-small"},
        "openai": {"apiKey": "sk-test-secret-0123456789abcdef", "model": "whisper-1"},
    },
    "transcriptionPrompt": "Vocabulaire: pytest, uv.",
    "formattingPrompt": "Corrige la ponctuation.",
    "benchmarkMode": True,
}


class SpeachesSection(ConfigModel):
    url: str = "http://localhost:8000/v1"
    api_key: SecretStr = SecretStr("none")
    model: str = Field("Systran/faster-whisper-base", description="model id")


def test_reads_original_config_as_is(write_config):
    write_config(ORIGINAL)
    s = load_settings()
    assert (s.language, s.formatter_enabled, s.benchmark_mode) == ("fr", True, True)
    assert s.transcription.chain() == ["speaches"]
    assert s.transcription_prompt == "Vocabulaire: pytest, uv."
    assert s.formatting_prompt == "Corrige la ponctuation."
    section = s.section("transcription.speaches", SpeachesSection)
    assert section.url == "http://gpu-box:8000/v1"
    assert section.model == "Systran/faster-whisper-small"


def test_defaults_without_file():
    s = load_settings()
    assert s.source == "defaults"
    assert s.transcription.chain() == ["local"]
    assert s.output.sinks == ["stdout"]
    assert s.section("transcription.speaches", SpeachesSection).url == "http://localhost:8000/v1"


def test_precedence_defaults_file_env_flags(write_config, monkeypatch):
    write_config({"language": "fr", "transcription": {"backend": "speaches", "speaches": {"url": "http://file/v1"}}})
    assert load_settings().language == "fr"
    monkeypatch.setenv("VOICE_TRANSCRIBER_LANGUAGE", "de")
    monkeypatch.setenv("VOICE_TRANSCRIBER_TRANSCRIPTION__SPEACHES__URL", "http://env/v1")
    s = load_settings()
    assert s.language == "de"
    assert s.section("transcription.speaches", SpeachesSection).url == "http://env/v1"
    s = load_settings(overrides={"language": "es", "transcription.backend": ["openai", "local"]})
    assert s.language == "es"
    assert s.transcription.chain() == ["openai", "local"]


def test_env_json_values_and_env_aliases(write_config, monkeypatch):
    write_config({"transcription": {"speaches": {"apiKey": "file-key-123456"}}})
    monkeypatch.setenv("VOICE_TRANSCRIBER_OUTPUT__SINKS", '["clipboard", "stdout"]')
    monkeypatch.setenv("SPEACHES_KEY_FOR_TEST", "env-key-123456")
    s = load_settings()
    assert s.output.sinks == ["clipboard", "stdout"]
    section = s.section("transcription.speaches", SpeachesSection, env={"SPEACHES_KEY_FOR_TEST": "apiKey"})
    assert section.api_key.get_secret_value() == "env-key-123456"


def test_snake_case_and_comments_accepted(write_config):
    write_config('// my settings\n{\n  // spoken language\n  "language": "en",\n  "formatter_enabled": true\n}\n')
    s = load_settings()
    assert s.language == "en" and s.formatter_enabled is True


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('{"language": "en",}', "invalid JSON at line 1"),
        ("[1, 2]", "top level must be a JSON object"),
        ({"language": "english"}, "language: must be an ISO-639-1 code"),
        ({"formatterEnabled": "maybe"}, "formatterEnabled: must be true or false"),
        ({"transcription": {"backend": 3}}, "transcription.backend"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(write_config, data, expected):
    path = write_config(data)
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert expected in message and str(path) in message
    assert "\n" not in message


def test_plugin_section_error_names_key_path_without_value(write_config):
    class Strict(ConfigModel):
        timeout_seconds: float = 5

    write_config({"transcription": {"speaches": {"timeoutSeconds": "sk-not-a-number-secret"}}})
    with pytest.raises(ConfigError) as err:
        load_settings().section("transcription.speaches", Strict)
    assert "transcription.speaches.timeoutSeconds" in str(err.value)
    assert "sk-not-a-number-secret" not in str(err.value)


def test_missing_explicit_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.json")


def test_mask_secrets_keeps_none_and_masks_keys():
    masked = mask_secrets({"a": {"apiKey": "sk-abcdefghijklmnopqrstuvwxyz"}, "b": {"apiKey": "none"}, "token": "xyz12345"})
    assert masked == {"a": {"apiKey": "****wxyz"}, "b": {"apiKey": "none"}, "token": "****"}


# --- through the real command line -------------------------------------------------------


def test_cli_bad_config_exit_2_one_line_no_traceback(write_config):
    path = write_config('{"language": "en"')
    result = run_cli("--input", "whatever.flac")
    err = result.stderr.decode()
    assert result.returncode == 2
    assert err.count("\n") == 1 and str(path) in err and "Traceback" not in err


@pytest.fixture
def entry_point(capsys, monkeypatch):
    """``voice-transcriber ARGS`` through the console script's own entry point, in this process (the test above
    keeps a real process for the exit code and the one line): what :func:`run_cli` returns, as str."""
    from voice_transcriber.__main__ import main

    def run(*args: str) -> subprocess.CompletedProcess:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["voice-transcriber", *args])
        code = 0
        try:
            main()
        except SystemExit as exited:
            code = exited.code or 0
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["voice-transcriber", *args], code, out, err)

    return run


def test_cli_unknown_names_list_installed(jfk_path, entry_point):
    for flag, kind in (("--backend", "backend"), ("--output", "sink"), ("--format", "formatter")):
        result = entry_point("--input", str(jfk_path), flag, "nonesuch")
        assert result.returncode == 2, result.stderr
        assert f"unknown {kind} 'nonesuch' (installed:" in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "stdout" in entry_point("--input", str(jfk_path), "--output", "nonesuch").stderr


def test_config_show_masks_keys(write_config, entry_point):
    write_config(ORIGINAL)
    result = entry_point("config", "show")
    assert result.returncode == 0
    shown = json.loads(result.stdout)
    assert shown["transcription"]["openai"]["apiKey"] == "****cdef"
    assert "sk-test-secret" not in result.stdout + result.stderr
    assert shown["language"] == "fr"


def test_config_init_writes_commented_0600_file_that_loads(isolated_dirs, entry_point):
    result = entry_point("config", "init")
    assert result.returncode == 0, result.stderr
    path = entry_point("config", "path").stdout.strip()
    assert result.stdout.strip() == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = open(path, encoding="utf-8").read()
    assert text.startswith("//") and '"transcription"' in text
    assert load_settings(path).output.sinks == ["stdout"]
    again = entry_point("config", "init")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert entry_point("config", "init", "--force").returncode == 0


def test_config_flag_overrides_location(tmp_path, entry_point):
    custom = tmp_path / "custom.json"
    custom.write_text('{"language": "it"}')
    result = entry_point("--config", str(custom), "config", "show")
    assert json.loads(result.stdout)["language"] == "it"
    assert entry_point("--config", str(custom), "config", "path").stdout.strip() == str(custom)


def test_errors_name_where_the_bad_value_came_from(write_config, monkeypatch):
    path = write_config({"language": "en", "benchmarkMode": "often"})
    with pytest.raises(ConfigError, match=f"^{path}: benchmarkMode: "):
        load_settings()
    write_config({})
    monkeypatch.setenv("VOICE_TRANSCRIBER_BENCHMARKMODE", "often")
    with pytest.raises(ConfigError, match=r"^\$VOICE_TRANSCRIBER_BENCHMARKMODE: benchmarkMode: "):
        load_settings()
    monkeypatch.delenv("VOICE_TRANSCRIBER_BENCHMARKMODE")
    with pytest.raises(ConfigError, match="^command line: language: must be an ISO-639-1 code"):
        load_settings(overrides={"language": "english"})
    monkeypatch.setenv("SPEACHES_KEY_FOR_TEST", "x")

    class Strict(ConfigModel):
        timeout_seconds: float = 5

    with pytest.raises(ConfigError, match=r"^\$SPEACHES_KEY_FOR_TEST: transcription.speaches.timeoutSeconds"):
        load_settings().section("transcription.speaches", Strict, env={"SPEACHES_KEY_FOR_TEST": "timeoutSeconds"})
