"""The ``voice-transcriber`` command with the openai/speaches backends against the replica APIs.

Failures run the real command (``run_cli``): its exit code and its one-line error without a traceback are the
point. A run that succeeds runs in this process (``run_in_process``, the same command line with the installed
plugins): what it prints and what it sent are the point, not the process, which cost ~0.6 CPU-s a run."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from vt_testing.core import run_cli, run_in_process
from vt_testing.openai_api import (
    OPENAI_WRONG_KEY,
    json_reply,
    openai_transcription,
    verbose_segment,
    verbose_transcription,
)
from vt_testing.speech import JFK_TEXT

KEY = "sk-proj-cli0123456789abcdefXYZ"


@pytest.fixture
def configured(openai_api, write_config):
    """Config pointing both backends at the replica, with fast retries."""
    write_config({"transcription": {
        "speaches": {"url": openai_api.url, "retryBackoff": 0.01},
        "openai": {"baseUrl": openai_api.url, "retryBackoff": 0.01},
    }})
    openai_api.speaches()
    return openai_api


def test_speaches_prints_the_transcript(configured, jfk_path):
    configured.transcriptions(json_reply(verbose_transcription([verbose_segment(1, 0.0, 11.0, JFK_TEXT)])))
    result = run_in_process("--input", str(jfk_path), "--backend", "speaches")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == JFK_TEXT + "\n"
    [seen] = configured.requests()
    assert seen.filename == "audio.flac" and seen.auth is None


def test_openai_prints_the_transcript_with_the_env_key(configured, jfk_path):
    configured.transcriptions(json_reply(verbose_transcription([verbose_segment(0, 0.0, 11.0, JFK_TEXT)], "english")))
    result = run_in_process("--input", str(jfk_path), "--backend", "openai", "--language", "en", env={"OPENAI_API_KEY": KEY})
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == JFK_TEXT
    [seen] = configured.requests()
    assert seen.auth == f"Bearer {KEY}" and seen.fields["language"] == "en"


def test_wrong_key_is_one_line_without_the_key(configured, jfk_path):
    configured.transcriptions(json_reply({"error": {**OPENAI_WRONG_KEY["error"],
                                                    "message": f"Incorrect API key provided: {KEY}."}}, 401))
    result = run_cli("--input", str(jfk_path), "--backend", "openai", env={"OPENAI_API_KEY": KEY})
    err = result.stderr.decode()
    assert result.returncode == 1
    assert err.count("\n") == 1 and err.startswith("voice-transcriber: error: openai (")
    assert "rejected the API key" in err and "OPENAI_API_KEY" in err
    assert KEY not in err + result.stdout.decode() and "Traceback" not in err


def test_server_down_names_the_fix(write_config, jfk_path):
    write_config({"transcription": {"speaches": {"url": "http://127.0.0.1:9/v1", "maxRetries": 0}}})
    result = run_cli("--input", str(jfk_path), "--backend", "speaches")
    err = result.stderr.decode()
    assert result.returncode == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "connection refused" in err and "curl http://127.0.0.1:9/health" in err


def test_fallback_chain_with_debug(configured, write_config, jfk_path):
    write_config({"transcription": {"backend": ["speaches", "openai"],
                                    "speaches": {"url": "http://127.0.0.1:9/v1", "maxRetries": 0},
                                    "openai": {"baseUrl": configured.url, "responseFormat": "json"}}})
    configured.transcriptions(json_reply(openai_transcription("the fallback answered")))
    result = run_in_process("--input", str(jfk_path), "--debug", env={"OPENAI_API_KEY": KEY})
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert result.stdout.decode() == "the fallback answered\n"
    assert "trying backend 'openai'" in err and "backend 'openai' answered" in err
    assert "openai upload = " in err and "bytes flac in 1 request(s)" in err
    assert KEY not in err


def test_silence_is_not_sent(configured, tmp_path):
    silent = tmp_path / "silence.wav"
    soundfile.write(silent, np.zeros(16000 * 2, dtype=np.float32), 16000)
    result = run_in_process("--input", str(silent), "--backend", "speaches")
    assert result.returncode == 0 and result.stdout == b""
    assert "no speech detected" in result.stderr.decode()
    assert configured.requests() == []


def test_doctor(configured, write_config):
    result = run_in_process("doctor", env={"VOICE_TRANSCRIBER_TRANSCRIPTION__BACKEND": "speaches"})
    out = result.stdout.decode()
    assert "ok    speaches server: " in out and "ok    speaches model: Systran/faster-whisper-base is installed" in out
    write_config({"transcription": {"backend": "speaches", "speaches": {"url": configured.url, "model": "org/missing"}}})
    configured.route("GET", "/v1/models/org/missing", json_reply({"detail": "Model 'org/missing' not found"}, 404))
    result = run_in_process("doctor")
    out = result.stdout.decode()
    assert result.returncode == 1
    assert "FAIL  speaches model: org/missing: HTTP 404: Model 'org/missing' not found" in out
    assert f"fix: install it with `curl -X POST {configured.url}/models/org/missing`" in out


def test_mangled_key_is_a_config_error_without_the_key(configured, jfk_path):
    result = run_cli("--input", str(jfk_path), "--backend", "openai", env={"OPENAI_API_KEY": "\u201csk-pasted12345678\u201d"})
    err = result.stderr.decode()
    assert result.returncode == 2 and err.count("\n") == 1
    assert "transcription.openai.apiKey: the API key contains" in err and "pasted12345678" not in err
