"""The typing and auto sinks against a real Xvfb: what arrives in a real window."""

from __future__ import annotations

import subprocess

import pytest

from voice_transcriber_typing.sink import AutoSink, TypingSink

TRICKY = "-leading dash \"double\" 'single' café — naïve 😀 $(not a shell) ; `x` \\n"
FAST = {"startDelay": 0}


def xclip_out() -> str:
    return subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, timeout=5).stdout.decode()


def test_types_tricky_unicode_exactly(x_window, run_sink):
    run_sink(TypingSink, TRICKY, {"output.typing": FAST})
    assert x_window.wait_for(TRICKY) == TRICKY


def test_long_text_arrives_whole_in_chunks(x_window, run_sink):
    text = " ".join(f"word{n}" for n in range(60)) + " é"
    run_sink(TypingSink, text, {"output.typing": {**FAST, "chunkSize": 50, "keyDelayMs": 0}})
    assert x_window.wait_for(text) == text


@pytest.mark.parametrize(("newline", "arrived"), [("enter", "one\ntwo"), ("space", "one two")])
def test_newline_handling(x_window, run_sink, newline, arrived):
    run_sink(TypingSink, "one\ntwo", {"output.typing": {**FAST, "newline": newline}})
    assert x_window.wait_for(arrived) == arrived


def test_typing_into_xterm(x_terminal, run_sink):
    run_sink(TypingSink, "xterm -dash é — 😀", {"output.typing": {**FAST, "pressEnter": True}})
    assert x_terminal.wait_for("xterm -dash é — 😀\n") == "xterm -dash é — 😀\n"


def test_auto_types_plain_ascii_and_leaves_clipboard_alone(x_window, run_sink):
    subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=b"untouched", stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    run_sink(AutoSink, "plain ascii, typed.", {"output.typing": FAST})
    assert x_window.wait_for("plain ascii, typed.") == "plain ascii, typed."
    assert xclip_out() == "untouched"


def test_auto_pastes_unicode_through_the_clipboard(x_window, run_sink):
    text = "auto paste é — 😀\nline two"
    run_sink(AutoSink, text, {"output.clipboard": {"pasteDelay": 0}})
    assert x_window.wait_for(text) == text
    assert xclip_out() == text


def test_typing_leaves_no_modifier_stuck(x_window, run_sink):
    subprocess.run(["xdotool", "keydown", "Control_L"], check=True)  # the hotkey's Ctrl still held
    run_sink(TypingSink, "abc", {"output.typing": FAST})
    assert x_window.wait_for("abc") == "abc"
    state = subprocess.run(["xdotool", "type", "--delay", "0", "z"], check=True)
    assert state.returncode == 0 and x_window.wait_for("abcz") == "abcz"  # a plain z, not ctrl+z


def test_caps_lock_does_not_change_what_is_typed(x_window, run_sink):
    subprocess.run(["xdotool", "key", "Caps_Lock"], check=True, timeout=5)
    try:
        run_sink(TypingSink, "Hello World, é É", {"output.typing": FAST})
        assert x_window.wait_for("Hello World, é É") == "Hello World, é É"
    finally:
        subprocess.run(["xdotool", "key", "Caps_Lock"], check=True, timeout=5)
