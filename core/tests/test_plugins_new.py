"""`voice-transcriber plugins new NAME --kind KIND`: the project it writes installs, is listed, passes its own
test with the command its README gives, and runs in a dictation — for each kind, in a clone's environment (the
``checkout`` fixture), from a directory outside the repository.

The formatter's and the sink's dictations take their transcript from the OpenAI replica server (the real API's
body): the new plugin is the point there, not the decode, and the transcript is then known exactly. The local
backend (tiny.en of the ``[offline]`` extra) still dictates in that same environment in the plugin guide's
tutorial (tests/test_plugin_guide.py)."""

from __future__ import annotations

import json
import re
import shlex
import zipfile

import pytest
from vt_testing.installed import CHECKOUT_GROUP, REPO, shell_blocks
from vt_testing.openai_api import json_reply, openai_transcription
from vt_testing.speech import JFK_TEXT

from voice_transcriber import UsageError

JFK = REPO / "samples" / "jfk.flac"


@pytest.mark.slow
@pytest.mark.xdist_group(CHECKOUT_GROUP)
@pytest.mark.parametrize("kind", ["backend", "formatter", "sink"])
def test_a_new_plugin_installs_is_listed_passes_its_test_and_dictates(kind, checkout, tmp_path, isolated_dirs,
                                                                      openai_api):
    name = f"demo-{kind}"
    made = checkout.run(f"voice-transcriber plugins new {name} --kind {kind}", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    project = tmp_path / name
    assert f"wrote the {kind} plugin {name} in {name}/" in made.stdout
    install, use, test = shell_blocks((project / "README.md").read_text(encoding="utf-8"))
    assert test.strip() == "voice-transcriber plugins test"  # pytest where voice-transcriber (and the plugin) is

    built = checkout.run("uv build --wheel -q --out-dir dist .", cwd=project)  # a real (not editable) build works too
    assert built.returncode == 0, built.stderr
    (wheel,) = (project / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        package = "voice_transcriber_" + name.replace("-", "_")
        assert f"{package}/__init__.py" in names
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert f"[voice_transcriber]\n{name} = {package}" in archive.read(entry_points).decode()

    assert install.splitlines()[-1] == "voice-transcriber plugins"
    for command in install.splitlines():  # the README's install block, line by line as typed
        done = checkout.run(command, cwd=project)
        assert done.returncode == 0, f"`{command}`: {done.stderr[-2000:]}"
    # The block ends with `voice-transcriber plugins`: the new plugin is listed, from its distribution, with its
    # one component and its one hook (the listing's blocks are separated by a blank line).
    listed = done.stdout.strip().split("\n\n")
    assert f"{name} (voice-transcriber-{name} 0.1.0)\n  {kind}s: {name}\n  hooks: register_{kind}s" in listed, done.stdout

    tested = checkout.run(test.strip(), cwd=project)  # the README's test command, verbatim
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    assert re.search(r"\b[12] passed\b", tested.stdout) and "skipped" not in tested.stdout, tested.stdout

    jfk = shlex.quote(str(JFK))
    # the formatter's and the sink's transcript: the OpenAI replica's (see the module's docstring)
    openai_api.transcriptions(json_reply(openai_transcription(JFK_TEXT)))
    replica = {"VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__API_KEY": "sk-test",
               "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": openai_api.url}
    if kind == "backend":
        text = checkout.run(f"voice-transcriber transcribe {jfk} --backend {name}", cwd=tmp_path)
        assert (text.returncode, text.stdout) == (0, "11.0 seconds of audio\n"), text.stderr
    elif kind == "formatter":
        text = checkout.run(f"voice-transcriber transcribe {jfk} --backend openai --format {name}", cwd=tmp_path,
                            **replica)
        assert (text.returncode, text.stdout) == (0, JFK_TEXT.upper() + "\n"), text.stderr
    else:
        notes = tmp_path / "notes.txt"
        config = isolated_dirs / "xdg_config_home" / "voice-transcriber" / "config.json"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps({"output": {"demoSink": {"path": str(notes)}}}), encoding="utf-8")
        text = checkout.run(f"voice-transcriber transcribe {jfk} --backend openai --output {name},stdout",
                            cwd=tmp_path, **replica)
        assert (text.returncode, text.stdout) == (0, JFK_TEXT + "\n"), text.stderr
        assert notes.read_text(encoding="utf-8") == text.stdout
    assert len(openai_api.requests()) == (kind != "backend")  # the recording was sent once (not for the backend's)


def test_the_name_must_be_valid_and_free_and_the_directory_new(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="plugin name 'Bad_Name' is not valid"):
        cli("plugins", "new", "Bad_Name", "--kind", "sink")
    with pytest.raises(UsageError, match="a backend or plugin named 'local' is installed already"):
        cli("plugins", "new", "local", "--kind", "backend")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("")
    with pytest.raises(UsageError, match="busy exists and is not empty"):
        cli("plugins", "new", "busy", "--kind", "sink")
    assert cli("plugins", "new", "two-words", "--kind", "sink", "-d", "elsewhere").exit_code in (0, None)
    module = (tmp_path / "elsewhere" / "src" / "voice_transcriber_two_words" / "__init__.py").read_text()
    assert 'name = "two-words"' in module and 'config_section = "output.twoWords"' in module
    assert "class TwoWordsSink(Sink)" in module
    assert 'two-words = "voice_transcriber_two_words"' in (tmp_path / "elsewhere" / "pyproject.toml").read_text()


def test_plugins_test_says_how_to_get_pytest_when_it_is_missing(cli, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pytest" else real(name, *a))
    with pytest.raises(UsageError, match=r"pytest is not installed where voice-transcriber runs: .*install -e '\.\[test\]'"):
        cli("plugins", "test")
