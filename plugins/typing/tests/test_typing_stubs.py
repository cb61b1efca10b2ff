"""Typing argv safety, fallbacks and failure paths, with stub tools recording their argv."""

from __future__ import annotations

import socket

import pytest

from voice_transcriber import DeliveredElsewhere, SinkError
from voice_transcriber_typing.sink import AutoSink, TypingSink, should_type
from voice_transcriber_typing.typer import chunks

INJECTION = "-n $(touch {marker}) ; `touch {marker}` | rm -rf x é"
FAST = {"startDelay": 0}
ONE_BURST = {"startDelay": 0, "burstChars": 1000}  # no focus checks in between: whole chunks per command


@pytest.fixture
def ydotoold(monkeypatch, tmp_path):
    """A listening socket where ydotoold's would be."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "ydotoold.sock"))
    monkeypatch.setenv("YDOTOOL_SOCKET", str(tmp_path / "ydotoold.sock"))
    yield
    server.close()


def test_xdotool_argv_is_exact_with_dashdash_and_text_as_one_argument(fake_x11, stub_tool, run_sink, tmp_path):
    xdotool = stub_tool("xdotool", stdout="4242\n")
    stub_tool("xprop", stdout='WM_CLASS(STRING) = "gedit", "Gedit"\n')
    marker = tmp_path / "pwned"
    text = INJECTION.format(marker=marker)
    run_sink(TypingSink, text, {"output.typing": ONE_BURST})
    typing = [argv for argv in xdotool.argvs() if argv[1] in ("type", "keyup")]
    assert typing == [
        ["xdotool", "keyup", "--delay", "0", "Control_L", "Control_R", "Shift_L", "Shift_R", "Alt_L", "Alt_R",
         "Super_L", "Super_R", "Meta_L", "Meta_R", "ISO_Level3_Shift"],
        ["xdotool", "type", "--clearmodifiers", "--delay", "12", "--", text.removesuffix("é")],
        ["xdotool", "type", "--clearmodifiers", "--delay", "40", "--", "é"],  # non-ASCII: slower, see Xdotool
    ]
    assert not marker.exists()  # no shell ever saw the text


def test_long_text_goes_in_chunks_split_after_spaces(fake_x11, stub_tool, run_sink):
    xdotool = stub_tool("xdotool", stdout="4242\n")
    stub_tool("xprop", stdout='WM_CLASS(STRING) = "gedit", "Gedit"\n')
    text = "alpha beta gamma delta epsilon zeta eta theta"
    run_sink(TypingSink, text, {"output.typing": {**ONE_BURST, "chunkSize": 12, "releaseModifiers": False}})
    typed = [argv for argv in xdotool.argvs() if argv[1] == "type"]
    assert all(argv[:5] == ["xdotool", "type", "--clearmodifiers", "--delay", "12"] and argv[5] == "--"
               and len(argv) == 7 for argv in typed)
    assert [argv[6] for argv in typed] == ["alpha beta ", "gamma delta ", "epsilon ", "zeta eta ", "theta"]


def test_chunks_without_spaces_cut_at_size():
    assert chunks("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert chunks("", 4) == []


def test_newlines_become_return_keys_and_enter_at_the_end(fake_x11, stub_tool, run_sink):
    xdotool = stub_tool("xdotool", stdout="4242\n")
    stub_tool("xprop", stdout='WM_CLASS(STRING) = "gedit", "Gedit"\n')
    run_sink(TypingSink, "a\nb", {"output.typing": {**FAST, "newline": "shift+enter", "pressEnter": True,
                                                    "releaseModifiers": False}})
    sent = [argv[1:] for argv in xdotool.argvs() if argv[1] in ("type", "key")]
    assert sent == [["type", "--clearmodifiers", "--delay", "12", "--", "a"],
                    ["key", "--clearmodifiers", "shift+Return"],
                    ["type", "--clearmodifiers", "--delay", "12", "--", "b"],
                    ["key", "--clearmodifiers", "Return"]]


def test_wtype_argv(fake_wayland, stub_tool, run_sink):
    wtype = stub_tool("wtype")
    run_sink(TypingSink, "-x é 😀", {"output.typing": {**FAST, "keyDelayMs": 5, "wtypeSettleMs": 80}})
    assert wtype.argvs() == [["wtype", "-s", "80", "-d", "5", "--", "-x é 😀"]]


def test_ydotool_types_ascii_and_pastes_what_it_cannot_type(fake_wayland, ydotoold, stub_tool, run_sink):
    ydotool = stub_tool("ydotool")
    wl_copy = stub_tool("wl-copy", read_stdin=True)
    # wl-paste answers: the user's clipboard (is it empty?), its types and text (saved), then ours read back
    stub_tool("wl-paste", stdout=["OLD", "text/plain;charset=utf-8\n", "OLD", "é — 😀"])
    run_sink(TypingSink, "abc é — 😀 -x", {"output.typing": {**FAST, "tool": "ydotool"},
                                          "output.clipboard": {"pasteDelay": 0, "restoreDelay": 0}})
    assert ydotool.argvs() == [
        ["ydotool", "type", "--key-delay", "12", "--", "abc "],
        ["ydotool", "key", "29:1", "47:1", "47:0", "29:0"],  # ctrl+v pastes the piece
        ["ydotool", "type", "--key-delay", "12", "--", " -x"],
    ]
    assert [call["stdin"] for call in wl_copy.calls()] == ["é — 😀", "OLD"]  # borrowed, then given back


def test_ydotool_unsupported_fail_refuses_before_typing(fake_wayland, ydotoold, stub_tool, run_sink, capsys):
    ydotool = stub_tool("ydotool")
    stub_tool("wl-copy", read_stdin=True)
    stub_tool("wl-paste", stdout="naïve")
    with pytest.raises(SinkError, match=r"^typing: ydotool cannot type 'ï'"):
        run_sink(TypingSink, "naïve", {"output.typing": {**FAST, "tool": "ydotool", "unsupported": "fail"}})
    assert ydotool.calls() == []
    assert "naïve" in capsys.readouterr().err


def test_ydotool_without_daemon(fake_wayland, stub_tool, run_sink, monkeypatch, tmp_path):
    stub_tool("ydotool")
    monkeypatch.setenv("YDOTOOL_SOCKET", str(tmp_path / "none.sock"))
    with pytest.raises(SinkError, match=r"^typing: ydotool needs its daemon.*sudo ydotoold"):
        run_sink(TypingSink, "x", {"output.typing": {**FAST, "tool": "ydotool"}})


def test_failing_tool_is_one_line_and_text_kept_on_clipboard_and_stderr(fake_x11, stub_tool, run_sink, capsys):
    stub_tool("xdotool", exit_code=1, stderr="Error: Can't open display: :0\nFailed creating new xdo instance\n")
    xclip = stub_tool("xclip", read_stdin=True, stdout="keep this é")
    with pytest.raises(SinkError) as failed:
        run_sink(TypingSink, "keep this é", {"output.typing": FAST})
    assert str(failed.value) == ("typing: xdotool failed: Error: Can't open display: :0 (is $DISPLAY right and the "
                                 "X server running? Under Wayland, xdotool reaches only Xwayland windows); "
                                 "the text is on the clipboard")
    assert xclip.calls()[0]["stdin"] == "keep this é"
    assert capsys.readouterr().err.endswith("not delivered:\nkeep this é\n")


def test_tool_warning_means_doubt_and_text_on_clipboard(fake_x11, stub_tool, run_sink, capsys):
    stub_tool("xdotool", stdout="4242\n", stderr="Warning: keysym not found\n")
    stub_tool("xprop", stdout='WM_CLASS(STRING) = "gedit", "Gedit"\n')
    xclip = stub_tool("xclip", read_stdin=True, stdout="doubtful")
    run_sink(TypingSink, "doubtful", {"output.typing": FAST})
    assert xclip.calls()[0]["stdin"] == "doubtful"
    assert "typing: delivery uncertain (xdotool said: Warning: keysym not found" in capsys.readouterr().err


def test_missing_xdotool_names_the_package(fake_x11, only_tools, run_sink, capsys):
    only_tools()
    with pytest.raises(SinkError) as failed:
        run_sink(TypingSink, "saved", {"output.typing": FAST})
    assert str(failed.value) == "typing: xdotool not found: install the 'xdotool' package (e.g. sudo apt install xdotool)"
    assert "saved" in capsys.readouterr().err


def test_no_display_names_the_variable(monkeypatch, run_sink, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(SinkError, match=r"^typing: no graphical session: neither \$WAYLAND_DISPLAY nor \$DISPLAY"):
        run_sink(TypingSink, "safe", {"output.typing": FAST})
    assert "safe" in capsys.readouterr().err


def test_auto_chooses_typing_only_for_short_plain_ascii():
    assert should_type("Hello, world! (42)", 200)
    assert not should_type("café", 200)
    assert not should_type("line\nbreak", 200)
    assert not should_type("x" * 201, 200)


def test_auto_pastes_long_text(fake_x11, stub_tool, run_sink):
    xdotool = stub_tool("xdotool", stdout="4242\n")
    stub_tool("xprop", stdout='WM_CLASS(STRING) = "Alacritty", "Alacritty"\n')
    stub_tool("xclip", read_stdin=True, stdout="y" * 50)
    run_sink(AutoSink, "y" * 50, {"output.auto": {"maxTypedChars": 10}, "output.clipboard": {"pasteDelay": 0}})
    assert ["xdotool", "key", "--clearmodifiers", "ctrl+shift+v"] in xdotool.argvs()
    assert not [argv for argv in xdotool.argvs() if argv[1] == "type"]


def test_focus_moved_before_typing_sends_the_text_to_the_clipboard(fake_x11, stub_tool, run_sink):
    # getactivewindow answers 11 for the target and 22 at the first check: nothing may be typed
    xdotool = stub_tool("xdotool", stdout=["11\n", "First title\n", "22\n", "Other title\n"])
    stub_tool("xprop", stdout=['WM_CLASS(STRING) = "gedit", "Gedit"\n', 'WM_CLASS(STRING) = "firefox", "Firefox"\n'])
    xclip = stub_tool("xclip", read_stdin=True, stdout="moving")
    with pytest.raises(DeliveredElsewhere) as redirected:
        run_sink(TypingSink, "moving", {"output.typing": FAST})
    assert str(redirected.value) == (
        "typing: the focus is no longer on Gedit 'First title' but on Firefox 'Other title': nothing was typed; "
        "the whole text is on the clipboard — paste it where you want it")
    assert redirected.value.exit_code == 3 and redirected.value.outcome == "clipboard"
    assert not [argv for argv in xdotool.argvs() if argv[1] in ("type", "key", "keyup")]
    assert xclip.calls()[0]["stdin"] == "moving"


def test_doctor_checks_name_the_missing_tool(fake_wayland, only_tools):
    from voice_transcriber import RunContext
    from voice_transcriber.config import load_settings

    only_tools()
    checks = {c.name: c for c in TypingSink(RunContext(load_settings())).checks()}
    assert checks["typing session"].ok and checks["typing session"].detail == "wayland"
    assert not checks["typing display"].ok  # no socket in the fake runtime dir
    assert not checks["typing tools"].ok and "install the 'wtype' package" in checks["typing tools"].detail


def test_wtype_on_gnome_points_to_the_portal(fake_wayland, stub_tool, run_sink):
    stub_tool("wtype", exit_code=1, stderr="Compositor does not support the virtual keyboard protocol\n")
    stub_tool("wl-copy", read_stdin=True)
    stub_tool("wl-paste", stdout="gnome")
    with pytest.raises(SinkError) as failed:
        run_sink(TypingSink, "gnome", {"output.typing": FAST})
    assert str(failed.value) == (
        "typing: wtype failed: Compositor does not support the virtual keyboard protocol (GNOME and KDE lack the "
        "virtual-keyboard protocol wtype needs: set output.typing.tool to portal (or auto), or use --output "
        "clipboard); "
        "the text is on the clipboard")


def test_failing_before_command_warns_and_typing_goes_on(fake_x11, stub_tool, run_sink, capsys):
    xdotool = stub_tool("xdotool", stdout="4242\n")
    stub_tool("xprop", stdout='WM_CLASS(STRING) = "gedit", "Gedit"\n')
    stub_tool("bad-hook", exit_code=3, stderr="compositor said no\n")
    run_sink(TypingSink, "typed anyway", {"output.typing": ONE_BURST, "output.beforeCommand": ["bad-hook"]})
    assert "output.beforeCommand: bad-hook failed: compositor said no" in capsys.readouterr().err
    assert any(argv[-1] == "typed anyway" for argv in xdotool.argvs())


def test_hyprland_window_class_picks_the_terminal_chord(fake_wayland, stub_tool, run_sink, monkeypatch):
    monkeypatch.setenv("HYPRLAND_INSTANCE_SIGNATURE", "stub")
    stub_tool("hyprctl", stdout='{"class": "kitty", "title": "~/src", "initialClass": "kitty", "address": "0x1"}')
    wtype = stub_tool("wtype")
    stub_tool("wl-copy", read_stdin=True)
    stub_tool("wl-paste", stdout="naïve text")
    run_sink(AutoSink, "naïve text", {"output.clipboard": {"pasteDelay": 0}})
    assert wtype.argvs() == [["wtype", "-s", "100", "-M", "ctrl", "-M", "shift", "-k", "v", "-m", "shift", "-m", "ctrl"]]
