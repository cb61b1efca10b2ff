"""GNOME on Wayland: typing through the RemoteDesktop portal into a real GTK window (headless gnome-shell)."""

from __future__ import annotations

from voice_transcriber_clipboard.keys import choose
from voice_transcriber_typing.sink import TypingSink

FAST = {"startDelay": 0}


def test_auto_picks_the_portal_on_gnome(gnome_session):
    choice = choose("wayland")
    assert choice.name == "portal"
    assert "no virtual-keyboard protocol" in choice.reason and "RemoteDesktop portal" in choice.reason


def test_german_layout_typed_exactly_and_emoji_pasted(gtk_window, gnome_session, run_sink):
    text = "hello wörld € ł 😀 Grüße"
    run_sink(TypingSink, text, {"output.typing": FAST, "output.clipboard": {"pasteDelay": 0}})
    assert gtk_window.wait_for(text) == text
