"""Hostile text against real windows (Xvfb + xdotool): what a server, formatter or plugin sends can
never press a key the user did not say — no Escape, BackSpace, Return or Tab — and never crash a sink.

Two targets read back what really arrived: a Tk text window that also logs every key press it
receives (keysyms), and an xterm whose program reads raw bytes with bracketed paste enabled, as
bash ≥ 5.1, zsh and fish do (a typed Return arrives as CR, a paste between ESC[200~ and ESC[201~).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from voice_transcriber import RunContext, SinkError, Transcript
from voice_transcriber.config import load_settings
from voice_transcriber.pipeline import deliver
from voice_transcriber_clipboard.sink import ClipboardSink
from voice_transcriber_typing.live import LiveTyping
from voice_transcriber_typing.sink import TypingSink, clipboard_config
from vt_testing.desktop import Target, empty_window, wait_until
from vt_testing.x11 import give_x_focus, tk_window, xterm

#: Issue 18, row 1: what a hostile server (or LLM formatter) replied.
HOSTILE = "tab\there esc\x1b[31mred\x1b[0m bs\x08x cr\rend"
#: What was dictated: the same words, with nothing that presses a key.
DICTATED = "tab here escred bsx crend"
CONTROL_KEYS = {"Escape", "BackSpace", "Return", "KP_Enter", "Tab", "ISO_Left_Tab", "Delete", "Linefeed"}
FAST = {"startDelay": 0, "keyDelayMs": 4}

#: Run in an xterm: raw mode (no line discipline: every byte the terminal sends is kept), bracketed
#: paste on, every byte appended to the file.
RAW_READER = 'stty raw -echo; printf "\\033[?2004h"; exec cat > "$0"'


@pytest.fixture(scope="module")
def key_window_of_the_module(xvfb, tmp_path_factory) -> Iterator[Target]:
    """The Tk text window :func:`key_window` hands to each test of this file (a Tk process started and its
    window found for each test cost more than most of the tests)."""
    folder = tmp_path_factory.mktemp("key_window")
    with tk_window(xvfb.display, folder, keys=folder / "keys.log") as target:
        yield target


@pytest.fixture
def key_window(x11, key_window_of_the_module) -> Target:
    """A focused Tk text window; ``text()`` is its content, ``keys()`` every keysym it received. The same
    window for each test, emptied, its key log emptied, and focused again."""
    target = key_window_of_the_module
    assert target.proc.poll() is None, "the module's Tk key window exited"
    empty_window(target)
    target.extra["keys"].write_text("", encoding="utf-8")  # the window appends to it
    if not give_x_focus(x11.display, int(target.window_id)):
        raise RuntimeError("the module's Tk key window did not take the focus")
    return target


@pytest.fixture
def raw_terminal(x11, tmp_path) -> Iterator[Target]:
    """A focused xterm (class XTerm) whose program receives raw bytes, bracketed paste enabled."""
    out = tmp_path / "raw_bytes.bin"
    out.touch()
    with xterm(x11.display, RAW_READER, out, name="VT_RAW") as (proc, window_id):
        marker = subprocess.run(["xdotool", "type", "--window", window_id, "--delay", "0", "!"], timeout=10)
        assert marker.returncode == 0
        wait_until(lambda: out.read_bytes() == b"!", 10, "the raw reader to start")
        yield Target(lambda: out.read_bytes().decode("utf-8", "replace")[1:], proc, window_id)


def ctx_with(config: dict) -> RunContext:
    return RunContext(load_settings(overrides=config))


def typing_sink(**config) -> TypingSink:
    return TypingSink(ctx_with({"output.typing": {**FAST, **config}, "output.clipboard": {"pasteDelay": 0}}))


def no_control_keys(target: Target) -> set[str]:
    return CONTROL_KEYS & set(target.keys())


def test_hostile_server_text_through_the_pipeline_presses_no_control_key(key_window):
    sink = typing_sink()
    deliver(Transcript(text=HOSTILE, backend="hostile"), [sink], sink.ctx)
    assert key_window.wait_for(DICTATED, timeout=15) == DICTATED
    assert key_window.settle() == DICTATED
    assert not no_control_keys(key_window), key_window.keys()


def test_the_typing_sink_alone_still_drops_control_characters(key_window):
    """The guard in the sink: a caller that skips the pipeline (a plugin) types no ESC either."""
    sink = typing_sink()
    sink.deliver(HOSTILE, Transcript(text=HOSTILE, backend="plugin"))
    assert key_window.wait_for(DICTATED, timeout=15) == DICTATED
    assert not no_control_keys(key_window), key_window.keys()


def test_nul_and_invalid_text_never_crash_the_typing_sink(key_window):
    """Issue 18, row 2: a NUL byte made xdotool's argv invalid (ValueError: embedded null byte)."""
    text = "nul\x00byte lone\ud800surrogate del\x7fete"
    sink = typing_sink()
    sink.deliver(text, Transcript(text=text, backend="plugin"))
    assert key_window.wait_for("nulbyte lonesurrogate delete", timeout=15) == "nulbyte lonesurrogate delete"
    assert not no_control_keys(key_window)


def test_a_tab_is_a_space_unless_the_settings_say_tab(key_window):
    typing_sink().deliver("a\tb", Transcript(text="a\tb", backend="test"))
    assert key_window.wait_for("a b", timeout=15) == "a b"
    assert "Tab" not in key_window.keys()
    typing_sink(tab="tab").deliver("\tc", Transcript(text="\tc", backend="test"))
    assert key_window.wait_for("a b\tc", timeout=15) == "a b\tc"
    assert "Tab" in key_window.keys()


def test_live_typing_drops_control_characters_from_partial_text(key_window):
    sink = typing_sink()
    ctx = sink.ctx
    live = LiveTyping(ctx, sink.typing_config, clipboard_config(ctx))
    live.show("esc\x1b[31mred\x08")
    assert key_window.wait_for("escred", timeout=15) == "escred"
    assert live.finish("esc\x1b[31mred\x1b[0m bs\x08x cr\rend") == []
    assert key_window.wait_for("escred bsx crend", timeout=15) == "escred bsx crend"
    assert not no_control_keys(key_window), key_window.keys()


def test_the_paste_sink_pastes_no_control_characters(key_window):
    sink = ClipboardSink(ctx_with({"output.clipboard": {"paste": True, "pasteDelay": 0}}))
    sink.deliver(HOSTILE, Transcript(text=HOSTILE, backend="plugin"))
    pasted = "tab\there escred bsx crend"  # a pasted tab is a character, not a key press
    assert key_window.wait_for(pasted, timeout=15) == pasted
    clipboard = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, timeout=5).stdout
    assert clipboard == pasted.encode()
    assert set(key_window.keys()) <= {"Control_L", "v"}, key_window.keys()  # the paste chord, nothing else


# --- terminals: a Return typed there runs a command ----------------------------------------


def test_hostile_text_typed_into_a_terminal_sends_no_control_byte(raw_terminal):
    typing_sink().deliver(HOSTILE, Transcript(text=HOSTILE, backend="hostile"))
    assert raw_terminal.wait_for(DICTATED, timeout=15) == DICTATED
    assert raw_terminal.settle() == DICTATED  # no ESC, BS (\x7f, \x08), CR or TAB byte followed


def test_several_lines_go_into_a_terminal_by_bracketed_paste(raw_terminal):
    typing_sink().deliver("ls\nrm -rf tmp", Transcript(text="ls\nrm -rf tmp", backend="test"))
    expected = "\x1b[200~ls\rrm -rf tmp\x1b[201~"  # the shell shows both lines and waits for Enter
    assert raw_terminal.wait_for(expected, timeout=15) == expected


def test_several_lines_into_a_terminal_can_be_joined(raw_terminal):
    typing_sink(terminalLineBreaks="space").deliver("ls\nrm", Transcript(text="ls\nrm", backend="test"))
    assert raw_terminal.wait_for("ls rm", timeout=15) == "ls rm"
    assert raw_terminal.settle() == "ls rm"


def test_several_lines_into_a_terminal_can_be_refused_with_one_line(raw_terminal, capsys):
    sink = typing_sink(terminalLineBreaks="refuse")
    with pytest.raises(SinkError) as refused:
        sink.deliver("ls\nrm", Transcript(text="ls\nrm", backend="test"))
    message = str(refused.value)
    assert "2 lines" in message and "terminal (XTerm)" in message and "terminalLineBreaks" in message
    assert "\n" not in message
    assert raw_terminal.settle() == ""
    assert "ls\nrm" in capsys.readouterr().err  # never lost: printed, and left on the clipboard


# --- end to end: a server's or an LLM formatter's reply, through the command line -----------------


@pytest.mark.parametrize("source", ["backend", "llm formatter"])
def test_a_hostile_reply_typed_end_to_end_presses_no_control_key(key_window, openai_api, write_config, cli, tmp_path,
                                                                 source):
    """Issue 18 row 1: `--output typing` with a server (or llm formatter) replying with control characters."""

    import numpy as np
    import soundfile
    from vt_testing.openai_api import chat_completion, json_reply

    wav = tmp_path / "speech.wav"
    soundfile.write(wav, 0.3 * np.sin(2 * np.pi * 220 * np.arange(32000) / 16000), 16000)
    clean_words = "tab here escred bsx crend"
    openai_api.transcriptions(json_reply({"text": HOSTILE if source == "backend" else clean_words}))
    openai_api.route("POST", "/v1/chat/completions", json_reply(chat_completion(HOSTILE)))
    write_config({
        "transcription": {"backend": "openai", "openai": {"baseUrl": openai_api.url, "apiKey": "sk-test",
                                                          "responseFormat": "json"}},
        "formatter": {"llm": {"baseUrl": openai_api.url, "apiKey": "sk-test"}},
        "output": {"typing": FAST},
    })
    cli("--input", str(wav), "--output", "typing", *(["--format", "llm"] if source != "backend" else []))
    assert key_window.wait_for(DICTATED, timeout=15) == DICTATED
    assert key_window.settle() == DICTATED
    assert not no_control_keys(key_window), key_window.keys()
    assert key_window.keys()  # the keys were really pressed, and logged


@pytest.mark.parametrize("tool", ["xdotool", "xtest"])
def test_each_x11_key_tool_drops_control_characters_itself(key_window, tool):
    """The last guard: a key tool given control characters directly (a plugin calling it) types none."""
    from voice_transcriber_clipboard.keys import key_tool

    key_tool(tool, "x11", key_delay_ms=4).type(HOSTILE)
    assert key_window.wait_for(DICTATED.replace("tab here", "tab\there"), timeout=15) == "tab\there escred bsx crend"
    assert not no_control_keys(key_window) - {"Tab"}, key_window.keys()


def test_the_portal_key_tool_drops_control_characters_itself(monkeypatch):
    """GNOME/KDE on Wayland: the keysyms sent over D-Bus (recorded here) include no BackSpace, Escape or Return."""
    from voice_transcriber_clipboard.portal import PortalKeys
    from voice_transcriber_clipboard.xkb import keysym

    sent: list[tuple[int, bool]] = []
    monkeypatch.setattr(PortalKeys, "_send", lambda self, events: sent.extend(events))
    PortalKeys().type(HOSTILE)
    typed = [sym for sym, down in sent if down]
    assert typed == [keysym(char) for char in "tab\there escred bsx crend"]
    assert not {keysym("\b"), keysym("\r"), keysym("\x1b")} & set(typed)


def test_hostile_text_into_a_wayland_terminal(foot_window):
    """sway + foot + our virtual keyboard: the line the shell reads is the dictated text (a BackSpace would have
    eaten a character, an ESC would show in the line, a CR would have ended it early)."""
    typing_sink(pressEnter=True).deliver(HOSTILE, Transcript(text=HOSTILE, backend="hostile"))
    assert foot_window.wait_for(DICTATED + "\n", timeout=15) == DICTATED + "\n"
    assert foot_window.settle() == DICTATED + "\n"


def test_live_typing_into_a_terminal_never_types_a_line_break(raw_terminal):
    sink = typing_sink()
    live = LiveTyping(sink.ctx, sink.typing_config, clipboard_config(sink.ctx))
    live.show("ls\nrm")
    assert raw_terminal.wait_for("ls rm", timeout=15) == "ls rm"
    assert live.finish("ls\nrm -rf\x1b[D") == []
    assert raw_terminal.wait_for("ls rm -rf", timeout=15) == "ls rm -rf"
    assert raw_terminal.settle() == "ls rm -rf"  # no CR ran a line, no ESC moved the cursor
