"""Typing into a Wayland-native terminal (foot) under a real headless sway: our own virtual keyboard."""

from __future__ import annotations

import subprocess

from voice_transcriber_typing.sink import AutoSink, TypingSink

TEXT = "vkbd -dash \"q\" 'q' é café — naïve 😀"


def test_virtual_keyboard_types_unicode_into_foot(foot_window, run_sink):
    run_sink(TypingSink, TEXT, {"output.typing": {"startDelay": 0, "pressEnter": True}})
    assert foot_window.wait_for(TEXT + "\n") == TEXT + "\n"


def test_virtual_keyboard_newlines_press_return(foot_window, run_sink):
    run_sink(TypingSink, "first line\nsecond -line", {"output.typing": {"startDelay": 0, "pressEnter": True}})
    assert foot_window.wait_for("first line\nsecond -line\n") == "first line\nsecond -line\n"


def test_auto_pastes_into_foot_with_the_terminal_chord(foot_raw_window, run_sink):
    run_sink(AutoSink, TEXT, {"output.clipboard": {"pasteChords": {"vt-foot-target": "ctrl+shift+v"}}})
    assert foot_raw_window.wait_for(TEXT) == TEXT
    clipboard = subprocess.run(["wl-paste", "--no-newline"], capture_output=True, timeout=5).stdout.decode()
    assert clipboard == TEXT


def test_doctor_says_virtual_keyboard_and_why_on_sway(wayland, write_config):
    from vt_testing.tool_stubs import run_in_process

    write_config({"output": {"sinks": ["typing"]}})
    out = run_in_process("doctor").stdout.decode()
    method = next(line for line in out.splitlines() if "typing method" in line)
    assert "virtual-keyboard: this compositor offers the virtual-keyboard protocol" in method
    from voice_transcriber_clipboard import wayland

    compositor = wayland.probe()
    assert compositor.virtual_keyboard and compositor.data_control  # what wlroots offers


def test_every_burst_keeps_its_first_key_on_a_seat_without_a_keyboard(foot_window, run_sink, monkeypatch):
    """The test seat has no keyboard: a new virtual keyboard appears as a capability change, and
    foot must ask for it before a key reaches it (wtype, one keyboard per burst, lost bursts' first
    keys: "naïe"). Ours is one keyboard for the whole dictation, its first key after a settle."""
    from voice_transcriber_clipboard import vkeyboard

    keyboards: list[vkeyboard.VirtualKeyboard] = []
    real_init = vkeyboard.VirtualKeyboard.__init__

    def counting(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        keyboards.append(self)

    monkeypatch.setattr(vkeyboard.VirtualKeyboard, "__init__", counting)
    text = "ask not what your country can do"
    run_sink(TypingSink, text, {"output.typing": {"startDelay": 0, "burstChars": 2, "pressEnter": True}})
    assert foot_window.wait_for(text + "\n") == text + "\n"
    assert len(keyboards) == 1 and keyboards[0].pending_settle == 0  # one keyboard; its settle was taken
