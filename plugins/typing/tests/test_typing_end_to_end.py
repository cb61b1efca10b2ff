"""The whole program: jfk.flac → local backend → typed into a real X window and on the clipboard."""

from __future__ import annotations

import subprocess

from vt_testing.core import run_cli, run_in_process
from vt_testing.openai_api import json_reply, openai_transcription

KEY_PHRASE = "ask not what your country can do for you"
JFK_TEXT = "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def test_transcribe_types_into_focused_window_and_leaves_clipboard(x_window, jfk_path):
    # The whole command (its options, plugins, the real tiny.en, typing tools) in this process: what is typed and
    # copied is the point, not the process, whose start and model load cost ~0.8 CPU-s (the model is shared here).
    done = run_in_process("transcribe", str(jfk_path), "--output", "typing,clipboard")
    assert done.returncode == 0, done.stderr.decode()
    typed = x_window.settle()
    assert KEY_PHRASE in typed.lower()
    clipboard = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, timeout=5).stdout
    assert clipboard.decode() == typed


def test_no_display_exits_1_with_one_line_and_the_text(jfk_path, openai_api, monkeypatch):
    """The typing sink's failure and the text kept, not the decode (the test above runs the local model): the
    transcript comes from the OpenAI replica server, as the real API's body."""
    openai_api.transcriptions(json_reply(openai_transcription(JFK_TEXT)))
    monkeypatch.delenv("DISPLAY", raising=False)  # run_cli passes os.environ on
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    done = run_cli("transcribe", str(jfk_path), "--backend", "openai", "--output", "typing", timeout=180,
                   env={"VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__API_KEY": "sk-test",
                        "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": openai_api.url})
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert JFK_TEXT in err  # the text is not lost
    assert len(openai_api.requests()) == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("voice-transcriber: error: typing: no graphical session: neither $WAYLAND_DISPLAY")
