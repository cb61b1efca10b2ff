"""The example third-party plugin works through its real entry point, and the plugins guide shows its code."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1]
GUIDE = EXAMPLE.parents[1] / "docs" / "plugins.md"


def test_example_sink_appends_each_dictation(cli, jfk_path, write_config, tmp_path, plugin_manager):
    assert plugin_manager.origins["append-file"].dist == "voice-transcriber-append-file"
    notes = tmp_path / "notes" / "dictations.md"
    write_config({"output": {"appendFile": {"path": str(notes), "timestamp": False}}})
    for _ in range(2):
        result = cli("--input", str(jfk_path), "--backend", "fake-duration", "--output", "append-file,stdout")
        assert result.stdout == "11.0 seconds of audio\n"
    assert notes.read_text(encoding="utf-8") == "11.0 seconds of audio\n" * 2


def test_example_sink_error_names_the_key(cli, jfk_path, write_config, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    write_config({"output": {"appendFile": {"path": str(blocker / "sub" / "x.txt")}}})
    import pytest

    from voice_transcriber import SinkError

    with pytest.raises(SinkError, match=r"append-file: cannot write .* \(set output.appendFile.path\)"):
        cli("--input", str(jfk_path), "--backend", "fake-duration", "--output", "append-file")


def test_the_plugins_guide_shows_the_example_verbatim():
    readme = GUIDE.read_text(encoding="utf-8")
    assert (EXAMPLE / "src" / "voice_transcriber_append_file" / "__init__.py").read_text().strip() in readme
    assert (EXAMPLE / "pyproject.toml").read_text().strip() in readme
