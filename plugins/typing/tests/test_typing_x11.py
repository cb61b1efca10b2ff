"""The typing and auto sinks against a real Xvfb: what arrives in a real window."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

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


@pytest.fixture
def fresh_keymap(x11):
    """The X server's keymap loaded anew (``setxkbmap us``): no keycode borrowed by an earlier test."""
    subprocess.run(["setxkbmap", "us"], env={**os.environ, "DISPLAY": x11.display}, check=True, timeout=10)


def test_xtest_maps_the_missing_characters_of_a_run_together_and_keeps_them(fresh_keymap, x_window, run_sink,
                                                                            monkeypatch):
    """xtest maps a spare key for each character the layout lacks: all of a run's at once, one pause after the
    new map (not one per character). The keys stay mapped: the next run types the same characters with them,
    without changing the map."""
    from voice_transcriber_clipboard.xkeys import XConnection

    synced: list[int] = []
    real_sync = XConnection.sync
    monkeypatch.setattr(XConnection, "sync", lambda self: (synced.append(len(self.borrowed)), real_sync(self)))
    text = "ö é ñ Ö — 😀 ł, à"  # 7 keysyms to borrow (ö and Ö share a key), none in the US map
    run_sink(TypingSink, text, {"output.typing": FAST})
    assert x_window.wait_for(text) == text
    assert synced == [7], "one map change for the whole run"
    assert set("öÖéñ—😀łà") <= set(x_window_keymap()), "the borrowed keys are still mapped"
    run_sink(TypingSink, " à Ö", {"output.typing": FAST})
    assert x_window.wait_for(text + " à Ö") == text + " à Ö"
    assert synced == [7], "the next run found them in the map: no change"


def test_xtest_types_more_missing_characters_than_spare_keys(fresh_keymap, x_window, run_sink, monkeypatch):
    """With fewer spare keycodes than missing characters, the run is typed in parts, each mapped on its own: a
    keycode is mapped to another character only once its last key is REUSE_AFTER old."""
    from voice_transcriber_clipboard import xkeymap, xkeys

    real_places = xkeys.XConnection.places.fget
    mapped: list[tuple[int, float]] = []
    real_change = None

    def two_spares(self):
        nonlocal real_change
        places = real_places(self)
        del self.spare[2:]
        if real_change is None:
            real_change = self.d.change_keyboard_mapping
        self.d.change_keyboard_mapping = lambda code, rows: (mapped.append((code, time.monotonic())),
                                                             real_change(code, rows))
        return places

    monkeypatch.setattr(xkeys.XConnection, "places", property(two_spares))
    monkeypatch.setattr(xkeymap, "REUSE_AFTER", 0.3)
    text = "Ölçü ñandú, żółw — 😀!"
    run_sink(TypingSink, text, {"output.typing": FAST})
    assert x_window.wait_for(text) == text
    assert len({code for code, _ in mapped}) == 2 and len(mapped) == 10  # Öö ç ü ñ ú ż ó ł — 😀 on two keys
    for key in {code for code, _ in mapped}:
        times = [when for code, when in mapped if code == key]
        assert all(later - earlier >= 0.3 for earlier, later in zip(times, times[1:])), times


def x_window_keymap() -> str:
    """Every character the X server's keyboard map produces now (plain or with Shift)."""
    from Xlib import XK
    from Xlib.display import Display

    x = Display()
    try:
        first = x.display.info.min_keycode
        rows = x.get_keyboard_mapping(first, x.display.info.max_keycode - first + 1)
        return "".join(chr(keysym & 0xFFFFFF) if keysym >> 24 == 1 else XK.keysym_to_string(keysym) or ""
                       for row in rows for keysym in row[:2] if keysym)  # 0x01000000 + code point: Unicode
    finally:
        x.close()


STARVED_TYPE = ("from voice_transcriber_clipboard.keys import key_tool; import sys; "
                "key_tool('xtest', 'x11', key_delay_ms=5).type(sys.argv[1])")


def test_xtest_types_a_borrowed_character_a_stopped_window_reads_late(fresh_keymap, x_window):
    """A window that reads its keys only after the typing process has ended (stopped: SIGSTOP for 1.5 s, far
    longer than any pause of the typist) still gets every character, the borrowed "à" and "€" last included:
    the keys it reads then are looked up in a map that still holds them."""
    text = "stopped: voilà 5 €"
    os.kill(x_window.proc.pid, signal.SIGSTOP)
    try:
        subprocess.run([sys.executable, "-c", STARVED_TYPE, text], check=True, timeout=60)
        time.sleep(1.5)
    finally:
        os.kill(x_window.proc.pid, signal.SIGCONT)
    assert x_window.wait_for(text) == text


def test_xtest_leaves_a_key_another_process_borrowed_meanwhile_alone(fresh_keymap):
    """Two typists (a daemon and a ``type-last``): the second read the keyboard map before the first borrowed a
    spare key for "é". Its own "ñ" goes on another spare key (not on "é"'s, which a window may still have to
    read), and the root window's record keeps both."""
    from voice_transcriber_clipboard.xtest import XTest
    from voice_transcriber_clipboard.xkeys import XConnection

    first, second = XTest(), XTest()
    first._x, second._x = XConnection(), XConnection()
    try:
        second.x.places  # noqa: B018 - the map as it was before the first borrowed
        _, held, remapped = first._borrow_ahead("é", 0)
        first.x.typed(held)
        _, held_too, remapped_too = second._borrow_ahead("ñ", 0)
        second.x.typed(held_too)
        assert remapped and remapped_too and held.isdisjoint(held_too), (held, held_too)
        assert {"é", "ñ"} <= set(x_window_keymap())
        reader = XConnection()
        try:
            assert held | held_too <= reader._recorded().keys()
        finally:
            reader.close()
    finally:
        first.x.close()
        second.x.close()
