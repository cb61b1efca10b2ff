"""The whole program: jfk.flac → local backend → typed into a real X window and on the clipboard."""

from __future__ import annotations

import subprocess

from vt_testing.core import run_cli

KEY_PHRASE = "ask not what your country can do for you"


def test_transcribe_types_into_focused_window_and_leaves_clipboard(x_window, jfk_path):
    done = run_cli("transcribe", str(jfk_path), "--output", "typing,clipboard", timeout=180)
    assert done.returncode == 0, done.stderr.decode()
    typed = x_window.settle()
    assert KEY_PHRASE in typed.lower()
    clipboard = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, timeout=5).stdout
    assert clipboard.decode() == typed


def test_no_display_exits_1_with_one_line_and_the_text(jfk_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)  # run_cli passes os.environ on
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    done = run_cli("transcribe", str(jfk_path), "--output", "typing", timeout=180,  # greedy: the text is the point
                   env={"VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__BEAM_SIZE": "1"})
    err = done.stderr.decode()
    assert done.returncode == 1
    assert KEY_PHRASE in err.lower()  # the text is not lost
    last = err.strip().splitlines()[-1]
    assert last.startswith("voice-transcriber: error: typing: no graphical session: neither $WAYLAND_DISPLAY")
