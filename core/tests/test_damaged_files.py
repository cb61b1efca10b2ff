"""Damaged files: a history line or a config file that is not what it should be never crashes a command."""

from __future__ import annotations

import json
import os

import pytest

from voice_transcriber import ConfigError, UsageError, history
from voice_transcriber.config import load_settings
from vt_testing.core import run_cli, run_in_process

GOOD = {"id": "20261125-120000-abc123", "timestamp": "2026-11-25T12:00:00Z", "text": "hello there", "raw_text": "hello there"}


def write_history(lines: list[bytes]):
    path = history.history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.mark.parametrize(("line", "why"), [
    (b"[1]", "not a JSON object"),
    (b"\xff\xfe garbage", "not UTF-8"),
    (b'{"id": "x", "timestamp"', "not JSON"),
    (b'{"id": 5, "timestamp": "t", "text": "a", "raw_text": "a"}', "'id' is not text"),
    (b'{"id": "x", "timestamp": "t", "text": null, "raw_text": "a"}', "'text' is not text"),
    (b'{"id": "x", "timestamp": "t"}', "'text' is missing"),
    (b"[" * 100_000, "nested too deeply"),
])
def test_damaged_history_line_is_skipped_with_one_warning_naming_file_and_line(line, why):
    path = write_history([json.dumps(GOOD).encode(), line, json.dumps({**GOOD, "id": "b"}).encode()])
    warnings: list[str] = []
    entries = history.load(warn=warnings.append)
    assert [e.id for e in entries] == [GOOD["id"], "b"]
    assert len(warnings) == 1 and str(path) in warnings[0] and f"line 2 ({why}" in warnings[0]


def test_history_commands_and_retry_survive_damaged_lines():
    path = write_history([b"[1]", b"\xff", json.dumps(GOOD).encode()])
    listing = run_in_process("history")  # in this process: what it lists and warns is the point (~0.35 CPU-s each)
    shown = run_in_process("history", "show")
    assert listing.returncode == 0 and b"hello there" in listing.stdout
    assert shown.returncode == 0 and shown.stdout == b"hello there\n"
    for result in (listing, shown):
        err = result.stderr.decode()
        assert err.count("\n") == 1 and str(path) in err and "lines 1 (not a JSON object" in err and "2 (not UTF-8)" in err
    retried = run_cli("retry", GOOD["id"])  # no recording kept: the usual one-line usage error, no traceback
    assert retried.returncode == 2 and b"Traceback" not in retried.stderr and b"internal error" not in retried.stderr


def test_rofi_and_dmenu_menus_survive_damaged_history_lines():
    path = write_history([b"[1]", b"\xff", json.dumps(GOOD).encode()])
    for args, env in ((("rofi",), {"ROFI_RETV": "0"}), (("rofi", "--dmenu"), {})):
        result = run_in_process(*args, env=env)  # in this process, as above
        err = result.stderr.decode()
        assert result.returncode == 0 and "hello there" in result.stdout.decode()
        assert err.count("\n") == 1 and str(path) in err and "skipped damaged lines 1" in err


def test_history_that_is_a_directory_is_a_clear_error():
    history.history_path().mkdir(parents=True)
    result = run_cli("history")
    assert result.returncode == 2 and b"is a directory" in result.stderr and b"Traceback" not in result.stderr


@pytest.mark.parametrize(("content", "expected"), [
    (b'{"language": "\xe9"}', "not UTF-8 text (byte 0xe9 at line 1)"),
    (b"\x00\x01\x02" * 10, "invalid JSON"),
    (b"[" * 100_000, "nested too deeply"),
    (b" " * (1024 * 1024 + 1), "larger than 1024 KiB"),
])
def test_damaged_config_file_is_a_config_error_naming_it(write_config, content, expected):
    path = write_config("{}")
    path.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert expected in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_config_not_utf8_exits_2_naming_the_file(write_config):
    path = write_config("{}")
    path.write_bytes(b'{"language": "fr\xe7ais"}')
    result = run_cli("config", "show")
    err = result.stderr.decode()
    assert result.returncode == 2 and str(path) in err and "not UTF-8" in err and err.count("\n") == 1


def test_config_path_that_is_a_directory(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path)


# --- audio files that are not audio ---------------------------------------------------------


def test_audio_that_is_not_audio_is_one_line_exit_1(tmp_path):
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(bytes(range(256)) * 40)
    named_flac = tmp_path / "named.flac"  # FFmpeg opens it as FLAC (by its name) and decodes nothing
    named_flac.write_bytes(b"garbage\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    expected = {empty: "is empty (0 bytes)", noise: "not an audio format that can be read",
                named_flac: "not an audio format that can be read", folder: "is a directory"}
    for path, message in expected.items():
        result = run_cli("transcribe", str(path), "--backend", "local")
        err = result.stderr.decode()
        assert result.returncode == 1 and err.count("\n") == 1 and message in err and str(path) in err, err
        assert "Note:" not in err and "possibly a pipe" not in err and "Traceback" not in err


def test_bad_stdin_names_stdin_not_a_python_object():
    result = run_cli("--input", "-", "--backend", "local", input=b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(200))
    err = result.stderr.decode()
    assert result.returncode == 1 and err.startswith("voice-transcriber: error: cannot decode audio <stdin>: ")
    assert "BytesIO" not in err and "object at 0x" not in err and err.count("\n") == 1


def test_a_fifo_in_place_of_the_history_is_an_error_not_a_hang():
    path = history.history_path()
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    with pytest.raises(UsageError, match="not a regular file"):
        history.load()
