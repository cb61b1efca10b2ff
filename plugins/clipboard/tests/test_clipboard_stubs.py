"""Argument safety and failure paths with stub tools that record their argv and stdin."""

from __future__ import annotations

import socket
import sys

import pytest

from voice_transcriber import SinkError
from voice_transcriber_clipboard.keys import Wtype, Xdotool, Ydotool, key_tool, parse_chord
from voice_transcriber_clipboard.sink import ClipboardSink
from voice_transcriber_clipboard.tools import detect_session

TEXT = "-n $(touch /tmp/vt-pwned) ; `id` é 😀"


def test_xclip_gets_text_on_stdin_never_in_argv(fake_x11, stub_tool, run_sink):
    xclip = stub_tool("xclip", read_stdin=True, stdout=TEXT)
    run_sink(ClipboardSink, TEXT)
    copy, readback = xclip.calls()
    assert copy["argv"][1:] == ["-selection", "clipboard", "-in"]
    assert copy["stdin"] == TEXT
    assert readback["argv"][1:] == ["-selection", "clipboard", "-out", "-target", "UTF8_STRING"]


def test_xsel_argv_for_primary(fake_x11, stub_tool, run_sink):
    xsel = stub_tool("xsel", read_stdin=True, stdout="x")
    run_sink(ClipboardSink, "x", {"output.clipboard": {"tool": "xsel", "selection": "primary"}})
    assert xsel.argvs() == [["xsel", "--primary", "--input"], ["xsel", "--primary", "--output"]]


def test_wl_copy_argv_and_waits_until_it_owns_the_selection(fake_wayland, stub_tool, run_sink, tmp_path):
    wl_copy = stub_tool("wl-copy", read_stdin=True)
    counter = tmp_path / "reads"
    script = tmp_path / "stub-bin" / "wl-paste"  # stale text twice, then ours: the race wl-copy has
    script.write_text(f"#!{sys.executable}\nimport pathlib,sys\np=pathlib.Path({str(counter)!r})\n"
                      "n=int(p.read_text()) if p.exists() else 0\np.write_text(str(n+1))\n"
                      f"sys.stdout.write('stale' if n < 2 else {TEXT!r})\n", encoding="utf-8")
    script.chmod(0o755)
    # a long verify timeout: the point is the wait for the third read, and each read is a Python process
    # (three of them took more than the default 1 s at load 39)
    run_sink(ClipboardSink, TEXT, {"output.clipboard": {"selection": "primary", "verifyTimeout": 60}})
    assert wl_copy.argvs() == [["wl-copy", "--primary", "--type", "text/plain;charset=utf-8"]]
    assert wl_copy.calls()[0]["stdin"] == TEXT
    assert counter.read_text() == "3"


def test_selection_never_holding_the_text_is_an_error(fake_x11, stub_tool, run_sink, capsys):
    stub_tool("xclip", read_stdin=True, stdout="something else")
    with pytest.raises(SinkError, match=r"^clipboard: xclip: the clipboard selection does not hold the text"):
        run_sink(ClipboardSink, "mine", {"output.clipboard": {"verifyTimeout": 0.2}})
    assert capsys.readouterr().err.endswith("not delivered:\nmine\n")


def test_tool_exit_status_and_stderr_become_one_line(fake_x11, stub_tool, run_sink, capsys):
    stub_tool("xclip", exit_code=1, stderr="Error: Can't open display: :0\nsecond line\n")
    with pytest.raises(SinkError) as failed:
        run_sink(ClipboardSink, "keep me")
    assert str(failed.value) == ("clipboard: xclip failed: Error: Can't open display: :0 "
                                 "(is the display variable right and the display server running?)")
    assert "keep me" in capsys.readouterr().err


def test_missing_tool_names_the_package(fake_wayland, only_tools, run_sink, capsys):
    only_tools()  # nothing on PATH
    with pytest.raises(SinkError) as failed:
        run_sink(ClipboardSink, "still here")
    assert str(failed.value) == ("clipboard: wl-copy not found: install the 'wl-clipboard' package "
                                 "(e.g. sudo apt install wl-clipboard)")
    assert "still here" in capsys.readouterr().err


def test_no_display_names_the_variables(monkeypatch, run_sink, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(SinkError, match=r"neither \$WAYLAND_DISPLAY nor \$DISPLAY is set"):
        run_sink(ClipboardSink, "not lost")
    assert "not lost" in capsys.readouterr().err


def test_forced_session_names_its_variable(monkeypatch):
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(SinkError, match=r"\$WAYLAND_DISPLAY is not set"):
        detect_session("wayland")


@pytest.mark.parametrize(("tool", "chord", "argv"), [
    (Xdotool(), "ctrl+shift+v", ["xdotool", "key", "--clearmodifiers", "ctrl+shift+v"]),
    (Xdotool(), "shift+Insert", ["xdotool", "key", "--clearmodifiers", "shift+Insert"]),
    (Wtype(settle_ms=50), "ctrl+shift+v", ["wtype", "-s", "50", "-M", "ctrl", "-M", "shift", "-k", "v",
                                           "-m", "shift", "-m", "ctrl"]),
    (Ydotool(), "ctrl+v", ["ydotool", "key", "29:1", "47:1", "47:0", "29:0"]),
    (Ydotool(), "shift+insert", ["ydotool", "key", "42:1", "110:1", "110:0", "42:0"]),
])
def test_chord_argv(tool, chord, argv):
    assert tool.chord_argv(chord) == argv


@pytest.mark.parametrize("chord", ["ctrl+", "hyper+v", "ctrl+é", "ctrl+F13"])
def test_invalid_chords_are_refused(chord):
    with pytest.raises(SinkError, match="invalid key chord"):
        parse_chord(chord)


def test_invalid_chord_in_config_is_a_config_error(fake_x11, run_sink):
    from voice_transcriber import ConfigError

    with pytest.raises(ConfigError, match=r"output\.clipboard\.pasteChord: invalid key chord 'ctrl\+shift\+vv'"):
        run_sink(ClipboardSink, "x", {"output.clipboard": {"paste": True, "pasteChord": "ctrl+shift+vv"}})


def test_ydotool_without_daemon_explains_ydotoold(fake_wayland, stub_tool, monkeypatch, tmp_path):
    stub_tool("ydotool")
    monkeypatch.setenv("YDOTOOL_SOCKET", str(tmp_path / "absent.sock"))
    with pytest.raises(SinkError, match=r"ydotool needs its daemon, but ydotoold is not running .*absent\.sock"):
        key_tool("ydotool", "wayland")


def test_ydotool_paste_with_daemon_socket(fake_wayland, stub_tool, monkeypatch, tmp_path, run_sink):
    ydotool = stub_tool("ydotool")
    stub_tool("wl-copy", read_stdin=True)
    stub_tool("wl-paste", stdout="pasted")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "ydotool.sock"))
    monkeypatch.setenv("YDOTOOL_SOCKET", str(tmp_path / "ydotool.sock"))
    try:
        run_sink(ClipboardSink, "pasted", {"output.clipboard": {"paste": True, "keyTool": "ydotool", "pasteDelay": 0}})
    finally:
        server.close()
    assert ydotool.argvs() == [["ydotool", "key", "29:1", "47:1", "47:0", "29:0"]]


def test_chord_tool_warning_is_reported_as_doubt(fake_x11, stub_tool, run_sink, capsys):
    stub_tool("xclip", read_stdin=True, stdout="t")
    stub_tool("xdotool", stdout="4242\n", stderr="(symbol) No such key name 'v'. Ignoring it.\n")
    stub_tool("xprop", stdout='WM_CLASS(STRING) = "gedit", "Gedit"\n')
    run_sink(ClipboardSink, "t", {"output.clipboard": {"paste": True, "pasteDelay": 0}})
    err = capsys.readouterr().err
    assert "clipboard: delivery uncertain (xdotool said: (symbol) No such key name 'v'. Ignoring it.)" in err
    assert "the text is on the clipboard" in err


def test_before_and_after_commands_run_around_the_chord(fake_x11, stub_tool, run_sink, tmp_path):
    stub_tool("xclip", read_stdin=True, stdout="t")
    xdotool = stub_tool("xdotool", stdout="42\n")
    stub_tool("xprop", stdout='WM_CLASS(STRING) = "kitty", "kitty"\n')
    hook = stub_tool("my-hook")
    run_sink(ClipboardSink, "t", {"output.clipboard": {"paste": True, "pasteDelay": 0},
                                  "output.beforeCommand": "my-hook before 'two words'",
                                  "output.afterCommand": ["my-hook", "after"]})
    assert hook.argvs() == [["my-hook", "before", "two words"], ["my-hook", "after"]]
    assert xdotool.argvs()[-1] == ["xdotool", "key", "--clearmodifiers", "ctrl+shift+v"]  # kitty is a terminal


@pytest.mark.parametrize(("config", "probed"), [
    ({"output.sinks": ["stdout"]}, False),
    ({"output.sinks": ["stdout"], "output.live": True}, True),  # live typing types into the window as it hears
    ({"output.sinks": ["stdout", "clipboard"]}, True),
    ({"output.sinks": ["typing"]}, True),
    ({"output.sinks": ["some-plugins-sink"]}, True),  # a plugin's sink may use the focus module too
])
def test_a_recording_remembers_the_focused_window_only_when_a_sink_may_send_keys(fake_x11, stub_tool, isolated_dirs,
                                                                                  config, probed):
    """The plugin's hook at recording start: a dictation printed to stdout looks at no window (no xdotool)."""
    from voice_transcriber import RunContext
    from voice_transcriber.config import load_settings
    from voice_transcriber_clipboard import plugin
    from voice_transcriber_clipboard.focus import TARGET_INFO, TargetProbe

    xdotool = stub_tool("xdotool", stdout="4242")
    ctx = RunContext(load_settings(overrides=config))
    plugin.vt_recording_started(ctx)
    probe = ctx.info.get(TARGET_INFO)
    assert isinstance(probe, TargetProbe) is probed
    if probed:
        probe.result()
    assert bool(xdotool.calls()) is probed
