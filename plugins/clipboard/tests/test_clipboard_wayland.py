"""The clipboard sink under a real headless sway: wl-copy/wl-paste, paste chord into foot."""

from __future__ import annotations

import subprocess

from voice_transcriber_clipboard.sink import ClipboardSink
from voice_transcriber_clipboard.window import active_window

TEXT = "wl café — naïve 😀 -dash \"q\""


def wl_paste(*flags: str) -> str:
    return subprocess.run(["wl-paste", "--no-newline", *flags], capture_output=True, timeout=5,
                          check=True).stdout.decode("utf-8")


def test_wl_copy_round_trip_both_selections(wayland, run_sink):
    run_sink(ClipboardSink, TEXT, {"output.clipboard": {"selection": "both"}})
    assert wl_paste() == TEXT
    assert wl_paste("--primary") == TEXT


def test_active_window_is_foot_under_sway(foot_window):
    window = active_window()
    assert window is not None
    assert (window.class_, window.title) == ("vt-foot-target", "VT_FOOT_TARGET")


def test_paste_into_foot_uses_ctrl_shift_v(foot_raw_window, run_sink):
    # foot is a terminal: ctrl+v would not paste. Map our test app id like the built-in "foot" entry.
    run_sink(ClipboardSink, TEXT, {"output.clipboard": {"paste": True, "pasteChords": {"vt-foot-target": "ctrl+shift+v"}}})
    assert foot_raw_window.wait_for(TEXT) == TEXT
