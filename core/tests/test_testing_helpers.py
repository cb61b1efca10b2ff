"""The public test helpers for plugin authors (voice_transcriber.testing) do what their docs say."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voice_transcriber import Audio, Sink, hookimpl
from voice_transcriber.testing import (
    SPEECH_SAMPLE_TEXT,
    dictate,
    environment,
    isolated,
    isolated_environment,
    speech_sample,
    write_config,
)


def test_the_speech_sample_is_the_repository_sample_and_real_audio():
    assert speech_sample().samefile(Path(__file__).resolve().parents[2] / "samples" / "jfk.flac")
    assert round(Audio.from_file(speech_sample()).duration, 1) == 11.0


def test_the_pytest_plugin_isolates_each_test(isolated_dirs):
    assert isolated()
    assert os.environ["XDG_CONFIG_HOME"] == str(isolated_dirs / "xdg_config_home")
    assert os.environ["XDG_RUNTIME_DIR"].startswith("/tmp/vt-run-")
    assert write_config({"language": "en"}).is_relative_to(isolated_dirs)


def test_isolated_environment_restores_everything_and_write_config_refuses_outside(monkeypatch):
    monkeypatch.setenv("VOICE_TRANSCRIBER_PLUGINS", "x")
    before = dict(os.environ)
    with monkeypatch.context() as patch:
        patch.setattr(environment, "_ACTIVE", [])  # as in a test without the pytest plugin
        with pytest.raises(RuntimeError, match="never into the user's own config"):
            write_config({})
        with isolated_environment() as root:
            assert isolated() and "VOICE_TRANSCRIBER_PLUGINS" not in os.environ
            runtime = Path(os.environ["XDG_RUNTIME_DIR"])
            assert write_config({"language": "en"}) == root / "xdg_config_home" / "voice-transcriber" / "config.json"
        assert dict(os.environ) == before and not root.exists() and not runtime.exists() and not isolated()


class Shout:
    """A plugin object registered in code, as a test of a plugin not yet installed would."""

    class ShoutSink(Sink):
        name = "shout"
        heard: list[str] = []

        def deliver(self, text, transcript):
            Shout.ShoutSink.heard.append(text.upper())

    @hookimpl
    def vt_register_sinks(self, register):
        register(Shout.ShoutSink)


def test_dictate_runs_the_real_pipeline_with_a_plugin_the_fakes_and_a_config():
    Shout.ShoutSink.heard = []
    result = dictate(speech_sample(), format="fake-upper", output="shout,stdout,fake-list", plugins=[Shout()],
                     config={"output": {"stdout": {"trailingNewline": False}}})
    assert result.transcript == SPEECH_SAMPLE_TEXT
    assert result.text == SPEECH_SAMPLE_TEXT.upper() and result.stdout == SPEECH_SAMPLE_TEXT.upper()
    assert result.delivered == dict.fromkeys(["shout", "stdout", "fake-list"], SPEECH_SAMPLE_TEXT.upper())
    assert Shout.ShoutSink.heard == [SPEECH_SAMPLE_TEXT.upper()]
    assert ("partial", SPEECH_SAMPLE_TEXT) in result.events
    assert dictate(speech_sample(), said="hello there").text == "hello there"
