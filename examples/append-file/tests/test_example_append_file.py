"""The example third-party plugin works through its real entry point, and the plugins guide shows its code.

It uses only the public test helpers (voice_transcriber.testing), as a plugin outside this repository would:
nothing here needs a file beside the checkout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_transcriber import SinkError
from voice_transcriber.testing import dictate, make_plugin_manager, speech_sample

EXAMPLE = Path(__file__).resolve().parents[1]
GUIDE = EXAMPLE.parents[1] / "docs" / "plugins.md"


def test_example_sink_appends_each_dictation(tmp_path):
    assert make_plugin_manager().origins["append-file"].dist == "voice-transcriber-append-file"
    notes = tmp_path / "notes" / "dictations.md"
    config = {"output": {"appendFile": {"path": str(notes), "timestamp": False}}}
    for _ in range(2):
        result = dictate(speech_sample(), backend="fake-duration", output="append-file,stdout", config=config)
        assert result.stdout == "11.0 seconds of audio\n"
        assert result.delivered == {"append-file": "11.0 seconds of audio", "stdout": "11.0 seconds of audio"}
    assert notes.read_text(encoding="utf-8") == "11.0 seconds of audio\n" * 2


def test_example_sink_error_names_the_key(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = {"output": {"appendFile": {"path": str(blocker / "sub" / "x.txt")}}}
    with pytest.raises(SinkError, match=r"append-file: cannot write .* \(set output.appendFile.path\)"):
        dictate(speech_sample(), output="append-file", config=config)


def test_the_plugins_guide_shows_the_example_verbatim():
    readme = GUIDE.read_text(encoding="utf-8")
    assert (EXAMPLE / "src" / "voice_transcriber_append_file" / "__init__.py").read_text().strip() in readme
    assert (EXAMPLE / "pyproject.toml").read_text().strip() in readme
