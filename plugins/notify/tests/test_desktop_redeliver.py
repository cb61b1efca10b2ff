"""Re-delivering history (``paste-last``, ``type-last``, rofi's history rows) and profiles, on a real X server.

The commands run as processes where that is the point (typing into a real window, exit codes, rofi's
detached child) and in this process (:func:`run_in_process`) where what is checked is what they send.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from voice_transcriber import RunContext, history
from voice_transcriber.config import load_settings
from voice_transcriber.plugins import get_plugin_manager
from voice_transcriber.profiles import ProfileMatch, detect_active_window
from vt_testing.core import run_cli
from vt_testing.openai_api import json_reply, openai_transcription
from vt_testing.tool_stubs import run_in_process

TEXT = "-rf 'quoted' \"double\" café — naïve 😀"
TERMINAL = {"name": "terminal", "match": {"windowClass": "^xterm$"}, "formatters": ["replace"],
            "sinks": ["typing"],
            "settings": {"formatter.replacements.rules": [{"from": "[.!?]+$", "to": "", "regex": True}],
                         "output.typing.pressEnter": True}}


def add_entry(entry_id: str, text: str) -> None:
    history.append(history.HistoryEntry(id=entry_id, timestamp="2026-11-25T23:00:00Z", text=text, raw_text=text,
                                        backend="local", sinks_delivered=["typing"]))


def test_type_last_types_the_last_dictation_exactly(x_window, write_config):
    # xtest maps the characters the keyboard lacks on spare keys and waits unicodeDelayMs before typing them; the
    # keys stay mapped (a starved Tk once dropped the last one, the 😀, when the map was given back after 40 ms at
    # load ~12). As in test_typing_layouts.py: a loaded test machine gets a longer pause before the keys.
    write_config({"output": {"typing": {"unicodeDelayMs": 150}}})
    add_entry("20261125-230000-aaaaaa", "older text")
    add_entry("20261125-230100-bbbbbb", TEXT)
    result = run_in_process("type-last")  # the typing is the point, not the process (~0.35 CPU-s)
    assert result.returncode == 0, result.stderr.decode()
    assert x_window.wait_for(TEXT) == TEXT


def test_paste_last_pastes_an_entry_by_id_through_the_clipboard(x_window):
    add_entry("20261125-230000-aaaaaa", TEXT)
    add_entry("20261125-230100-bbbbbb", "newer text")
    result = run_in_process("paste-last", "aaaaaa")  # a unique suffix of the id; in this process, as above
    assert result.returncode == 0, result.stderr.decode()
    assert x_window.wait_for(TEXT) == TEXT
    clipboard = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, timeout=5)
    assert clipboard.stdout.decode() == TEXT


def test_empty_history_is_one_line_exit_2():
    result = run_cli("type-last")
    err = result.stderr.decode()
    assert result.returncode == 2 and err.count("\n") == 1 and "the history is empty" in err


def test_type_last_argv_is_safe_with_a_stub_xdotool(fake_x11, stub_tool):
    xdotool = stub_tool("xdotool", stdout="4242\n")  # getactivewindow: a window has the focus
    add_entry("20261125-230000-aaaaaa", TEXT)
    result = run_in_process("type-last", "--delay", "0.05")
    typed = [argv for argv in xdotool.argvs() if "type" in argv]
    assert result.returncode == 0, result.stderr.decode()
    assert typed and all(argv[-2] == "--" for argv in typed)  # the leading "-rf" is text, never an option
    assert "".join(argv[-1] for argv in typed) == TEXT  # each piece one argument, nothing lost or added


def test_rofi_history_row_types_after_rofi_exits(x_window):
    """The real chain: rofi calls us, we print nothing (rofi closes), a detached child types."""
    text = "picked from the rofi menu"  # Unicode typing is the typing plugin's own test; this is the chain
    add_entry("20261125-230000-aaaaaa", text)
    exe = str(Path(sys.executable).with_name("voice-transcriber"))
    started = time.monotonic()
    result = subprocess.run(["sh", "-c", '"$0" rofi "$1"; echo "rofi-mode exit $?"', exe, "ignored label"],
                            env={**os.environ, "ROFI_RETV": "1", "ROFI_INFO": "history:20261125-230000-aaaaaa"},
                            capture_output=True, timeout=20)
    assert result.stdout == b"rofi-mode exit 0\n", result.stderr.decode()
    assert time.monotonic() - started < 10  # returned: the detached child holds none of our pipes
    assert x_window.wait_for(text, timeout=15) == text


def test_active_window_is_detected_on_x11(x_window, x_terminal):
    """Whichever plugin answers ``vt_active_window`` first, profiles see the focused xterm."""
    window = detect_active_window(RunContext(load_settings(), pm=get_plugin_manager()))
    assert window is not None and window.source == "x11"  # the clipboard plugin's own X connection
    assert window.window_class == "XTerm" and window.title.startswith("VT_XTERM_")
    assert ProfileMatch(windowClass="^xterm$").matches(window)


def test_terminal_profile_types_without_trailing_period_and_presses_enter(x_terminal, write_config):
    write_config({"profiles": [TERMINAL]})
    add_entry("20261125-230000-aaaaaa", "git status, please.")
    result = run_in_process("--debug", "type-last")
    assert result.returncode == 0, result.stderr.decode()
    assert "profile 'terminal' applied" in result.stderr.decode()
    assert x_terminal.wait_for("git status, please.\n") == "git status, please.\n"  # Enter from the profile


def test_a_dictation_into_a_terminal_uses_the_terminal_profile(x_terminal, write_config, jfk_path, openai_api):
    """A whole ``transcribe`` run picks the profile of the focused terminal. The transcript comes from the
    OpenAI replica server (the profile is the point, not the decode): it is known, so the line is checked exactly."""
    openai_api.transcriptions(json_reply(openai_transcription("Please send the report by Friday.")))
    write_config({"profiles": [TERMINAL], "output": {"sinks": ["stdout"]}})
    result = run_in_process("transcribe", str(jfk_path), "--backend", "openai",  # in this process, as above
                            env={"VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__API_KEY": "sk-test",
                          "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": openai_api.url})
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""  # the profile's sinks replaced the file's stdout
    # verbatim text without the trailing period (the profile's formatter), then Enter (its setting)
    assert x_terminal.wait_for("Please send the report by Friday\n", timeout=15) == "Please send the report by Friday\n"

def test_real_rofi_filters_the_menu_and_types_the_chosen_dictation(x_window, tmp_path):
    """rofi 1.7 itself runs our script mode: type a filter, press Return, the dictation is typed."""
    from vt_testing.desktop import require, stop, wait_until

    require("rofi")
    add_entry("20261125-230000-aaaaaa", "first dictation")
    add_entry("20261125-230100-bbbbbb", "chosen in a real rofi menu")
    exe = str(Path(sys.executable).with_name("voice-transcriber"))
    log = (tmp_path / "rofi.log").open("wb")
    rofi = subprocess.Popen(["rofi", "-show", "voice", "-modi", f"voice:{exe} rofi"], stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: subprocess.run(["xdotool", "search", "--class", "rofi"], capture_output=True).stdout,
                   15, "the rofi window")
        time.sleep(0.5)  # rofi grabs the keyboard once its window is mapped and the rows are read
        subprocess.run(["xdotool", "type", "--delay", "20", "real rofi"], check=True, timeout=10)
        subprocess.run(["xdotool", "key", "Return"], check=True, timeout=10)
        assert rofi.wait(timeout=15) == 0
    finally:
        stop(rofi)
        log.close()
    assert x_window.wait_for("chosen in a real rofi menu", timeout=15) == "chosen in a real rofi menu"


def test_paste_last_with_stub_tools_copies_through_stdin_and_sends_the_chord(fake_x11, stub_tool):
    xclip = stub_tool("xclip", stdout=TEXT, read_stdin=True)  # `xclip -o` reads back what was copied
    xdotool = stub_tool("xdotool", stdout="4242\n")  # getactivewindow: a window has the focus
    add_entry("20261125-230000-aaaaaa", TEXT)
    result = run_in_process("paste-last")
    assert result.returncode == 0, result.stderr.decode()
    copies = [call for call in xclip.calls() if "-in" in call["argv"]]
    assert copies and all(call["stdin"] == TEXT for call in copies)  # the text goes through stdin …
    assert not any(TEXT in arg for call in xclip.calls() + xdotool.calls() for arg in call["argv"])  # … never argv
    assert any(argv[1] == "key" and argv[-1] == "ctrl+v" for argv in xdotool.argvs())


def test_profile_matches_a_wayland_app_id_under_sway(foot_window, write_config):
    write_config({"profiles": [{"name": "foot", "match": {"windowClass": "^vt-foot-target$", "title": "VT_FOOT"},
                                "settings": {"output.typing.pressEnter": True}}]})
    add_entry("20261125-230000-aaaaaa", "echo typed under sway")
    result = run_in_process("--debug", "type-last")
    assert result.returncode == 0, result.stderr.decode()
    assert "profile 'foot' applied" in result.stderr.decode()
    assert foot_window.wait_for("echo typed under sway\n", timeout=10) == "echo typed under sway\n"


def test_type_last_with_a_forced_profile(fake_x11, stub_tool, write_config):
    xdotool = stub_tool("xdotool", stdout="4242\n")  # getactivewindow: a window has the focus
    write_config({"profiles": [{"name": "enter", "settings": {"output.typing.pressEnter": True}}]})
    add_entry("20261125-230000-aaaaaa", "make test")
    assert run_in_process("type-last").returncode == 0
    assert not any("Return" in argv for argv in xdotool.argvs())
    assert run_in_process("type-last", "--profile", "enter").returncode == 0
    assert any("Return" in argv for argv in xdotool.argvs())
    result = run_in_process("type-last", "--profile", "nope")
    assert result.returncode == 2 and "unknown profile 'nope' (profiles: enter;" in result.stderr.decode()


def test_profile_paste_chord_reaches_the_clipboard_sink(fake_x11, stub_tool, write_config):
    stub_tool("xclip", stdout="make test", read_stdin=True)
    xdotool = stub_tool("xdotool", stdout="4242\n")  # getactivewindow: a window has the focus
    write_config({"profiles": [{"name": "old-term", "pasteChord": "shift+Insert"}]})
    add_entry("20261125-230000-aaaaaa", "make test")
    result = run_in_process("paste-last", "--profile", "old-term")
    assert result.returncode == 0, result.stderr.decode()
    assert [argv[-1] for argv in xdotool.argvs() if argv[1] == "key"] == ["shift+Insert"]
