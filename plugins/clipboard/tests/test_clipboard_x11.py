"""The clipboard sink against a real Xvfb: xclip/xsel round trips, pasting into real windows."""

from __future__ import annotations

import subprocess

import pytest

from voice_transcriber import SinkError
from voice_transcriber_clipboard.sink import ClipboardSink
from voice_transcriber_clipboard.window import active_window
from vt_testing.desktop import READ_RAW, Target, shell_ready, wait_until
from vt_testing.x11 import xterm

UNICODE = "café — naïve 😀 «quotes» \"double\" 'single' -dash"


def xclip_out(selection: str = "clipboard") -> str:
    return subprocess.run(["xclip", "-selection", selection, "-o"], capture_output=True, timeout=5,
                          check=True).stdout.decode("utf-8")


def test_copy_unicode_reads_back_exactly_with_xclip(x11, run_sink):
    run_sink(ClipboardSink, UNICODE)
    assert xclip_out() == UNICODE


@pytest.mark.parametrize("tool", ["xclip", "xsel"])
def test_both_selections_with_each_tool(x11, run_sink, tool):
    text = f"{tool}: é — 😀\nsecond line"
    run_sink(ClipboardSink, text, {"output.clipboard": {"tool": tool, "selection": "both"}})
    assert xclip_out("clipboard") == text
    assert xclip_out("primary") == text


def test_primary_only_leaves_clipboard_alone(x11, run_sink):
    run_sink(ClipboardSink, "before", {"output.clipboard": {"selection": "clipboard"}})
    run_sink(ClipboardSink, "primary text ü", {"output.clipboard": {"selection": "primary"}})
    assert xclip_out("primary") == "primary text ü"
    assert xclip_out("clipboard") == "before"


def test_paste_into_focused_window_with_ctrl_v(x_window, run_sink):
    run_sink(ClipboardSink, UNICODE, {"output.clipboard": {"paste": True}})
    assert x_window.wait_for(UNICODE) == UNICODE
    assert xclip_out() == UNICODE  # left on the clipboard (no restore asked)


def test_paste_restores_previous_clipboard(x_window, run_sink):
    run_sink(ClipboardSink, "previous content", {"output.clipboard": {}})
    run_sink(ClipboardSink, "dictated ñ", {"output.clipboard": {"paste": True, "restore": True, "restoreDelay": 60}})  # the cap: restored once served
    assert x_window.wait_for("dictated ñ") == "dictated ñ"
    assert xclip_out() == "previous content"


def test_terminal_gets_shift_insert_and_primary(x11, tmp_path, run_sink):
    """xterm ignores ctrl+v; the auto chord for class XTerm is shift+Insert, which pastes PRIMARY. The xterm's
    program reads its tty raw: the pasted bytes show as soon as xterm has fetched PRIMARY from its owner."""
    out = tmp_path / "raw.txt"
    with xterm(x11.display, READ_RAW, out) as (proc, _):
        wait_until(lambda: shell_ready(out), 15, "the raw reader in the xterm")
        run_sink(ClipboardSink, "terminal paste é 😀", {"output.clipboard": {"paste": True}})
        pasted = Target(lambda: out.read_text(encoding="utf-8") if out.exists() else "", proc)
        assert pasted.wait_for("terminal paste é 😀", timeout=15) == "terminal paste é 😀"


def test_active_window_reports_class_and_title(x_window):
    window = active_window()
    assert window is not None
    assert window.class_ == "Vttarget"  # Tk capitalises the className it was given
    assert window.title.startswith("VT_TARGET_")
    assert window.id == x_window.window_id


def test_checks_pass_under_xvfb(x11, run_sink):
    from voice_transcriber import RunContext
    from voice_transcriber.config import load_settings

    checks = list(ClipboardSink(RunContext(load_settings(overrides={"output.clipboard": {"paste": True}}))).checks())
    assert [c.name for c in checks] == ["clipboard session", "clipboard display", "clipboard tools"]
    assert all(c.ok for c in checks), checks
    assert checks[2].detail == "xclip, xtest"


def test_unreachable_display_fails_check(monkeypatch):
    from voice_transcriber import RunContext
    from voice_transcriber.config import load_settings

    monkeypatch.setenv("DISPLAY", ":399")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    checks = list(ClipboardSink(RunContext(load_settings())).checks())
    display = next(c for c in checks if c.name == "clipboard display")
    assert not display.ok and "/tmp/.X11-unix/X399" in display.detail


def test_copy_fails_when_x_server_is_gone(monkeypatch, run_sink, capsys):
    monkeypatch.setenv("DISPLAY", ":399")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(SinkError) as failed:
        run_sink(ClipboardSink, "lost? no")
    message = str(failed.value)
    assert message.startswith("clipboard: xclip failed:") and "\n" not in message
    assert "lost? no" in capsys.readouterr().err


def test_active_window_hook_answers_for_profiles(x_window):
    from voice_transcriber import RunContext
    from voice_transcriber.config import load_settings
    from voice_transcriber.plugins import get_plugin_manager
    from voice_transcriber.profiles import detect_active_window

    window = detect_active_window(RunContext(load_settings(), pm=get_plugin_manager()))
    assert (window.window_class, window.source) == ("Vttarget", "x11")
    assert window.title.startswith("VT_TARGET_")
