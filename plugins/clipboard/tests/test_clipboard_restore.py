"""Paste gives back what it borrowed (issue 21 row 4): CLIPBOARD and PRIMARY, with their types."""

from __future__ import annotations

import subprocess

from voice_transcriber_clipboard.sink import ClipboardSink
from vt_testing.desktop import wait_until

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d4944415478da63f8cfc0f01f0005000201a1e1f5e40000000049454e44ae426082")


def own(selection: str, data: bytes, target: str = "UTF8_STRING") -> None:
    """Put ``data`` on ``selection`` as ``target``, as an application would: once xclip's background child owns
    it (``xclip -in`` returns before that)."""
    subprocess.run(["xclip", "-selection", selection, "-in", "-target", target], input=data,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=5)
    wait_until(lambda: read(selection, target) == data, 10, f"{target} on the {selection} selection")


def read(selection: str, target: str = "UTF8_STRING") -> bytes:
    return subprocess.run(["xclip", "-selection", selection, "-out", "-target", target], capture_output=True,
                          timeout=5).stdout


def test_paste_into_xterm_gives_back_clipboard_and_primary(x_terminal, run_sink):
    own("clipboard", b"OLD-CLIPBOARD")
    own("primary", b"OLD-PRIMARY")
    run_sink(ClipboardSink, "dictated into xterm", {"output.clipboard": {"paste": True, "restore": True,
                                                                          "pasteDelay": 0, "restoreDelay": 60}})
    subprocess.run(["xdotool", "key", "Return"], check=True, timeout=5)
    assert x_terminal.wait_for("dictated into xterm\n") == "dictated into xterm\n", "the dictation, not the old text"
    assert read("primary") == b"OLD-PRIMARY"  # xterm pastes PRIMARY on shift+Insert: borrowed and given back
    assert read("clipboard") == b"OLD-CLIPBOARD"


def test_an_image_on_the_clipboard_comes_back_as_an_image(x_window, run_sink):
    own("clipboard", PNG, "image/png")
    run_sink(ClipboardSink, "over an image", {"output.clipboard": {"paste": True, "restore": True,
                                                                    "pasteDelay": 0, "restoreDelay": 60}})
    assert x_window.wait_for("over an image") == "over an image"
    try:  # the image is given back by an `xclip -in` whose background child takes the selection a moment later
        wait_until(lambda: "image/png" in read("clipboard", "TARGETS").decode().split(), 10, "the image back")
    except TimeoutError:
        pass
    targets = read("clipboard", "TARGETS").decode().split()
    assert "image/png" in targets
    assert read("clipboard", "image/png") == PNG
