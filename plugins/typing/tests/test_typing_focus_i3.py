"""The text goes to the window it was dictated for, or to the clipboard — never elsewhere (issue 21 rows 2, 3).

Real rig: Xvfb managed by i3, Tk text windows reporting what arrived. The focus is moved by i3
(``i3-msg focus``) while the typing sink is typing, as a user's click or hotkey would.
"""

from __future__ import annotations

import subprocess
import threading

import pytest

from voice_transcriber import DeliveredElsewhere, RunContext, Transcript
from voice_transcriber.config import load_settings
from voice_transcriber_clipboard.focus import TARGET_INFO, TargetProbe
from voice_transcriber_typing.sink import AutoSink, TypingSink
from vt_testing.desktop import settle_all, wait_until
from vt_testing.x11 import tk_window

TEXT = "And so, my fellow Americans, ask not what your country can do for you; ask what you can do for your country."
#: What the twenty switches type: the focus moves within its first 63 characters, and the rest (over 110 characters,
#: never typed: it goes to the clipboard) leaves a loaded machine ample time to move it before the text is out.
#: Under the 200 characters of one typing command.
SWITCHED_TEXT = TEXT + " My fellow citizens of the world: ask not what America will do for you."


def clipboard() -> str:
    return subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, timeout=5).stdout.decode()


def typing_sink(sink_cls=TypingSink, **typing) -> TypingSink:
    return sink_cls(RunContext(load_settings(overrides={"output.typing": {"startDelay": 0, "keyDelayMs": 4, **typing}})))


def deliver_in_thread(sink, text: str) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            sink.deliver(text, Transcript(text=text, backend="test"))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_twenty_focus_switches_mid_typing_put_no_key_into_the_other_window(i3):
    """The other window's text is looked at after every switch, and once more after a quiet time at the
    end (a key that reached it late stays there: one quiet time for all twenty switches, not one each)."""
    target = i3.open_tk("VT_FOCUS_TARGET")
    other = i3.open_tk("VT_FOCUS_OTHER")
    typed_in_all = ""
    for switch in range(20):
        i3.focus("VT_FOCUS_TARGET")
        before = target.text()
        assert before == typed_in_all, f"switch {switch}: a key reached the target after its switch"
        thread, errors = deliver_in_thread(typing_sink(), SWITCHED_TEXT)
        cut = 3 + switch * 3  # a different place in the text each time
        wait_until(lambda: errors or len(target.text()) >= len(before) + cut, 20, f"{cut} characters in the target")
        assert not errors or not thread.is_alive(), errors
        i3.focus("VT_FOCUS_OTHER")
        thread.join(30)
        rest = clipboard()
        if SWITCHED_TEXT.endswith(rest):  # the keys sent before the switch: a loaded Tk may still be reading them
            target.wait_for(before + SWITCHED_TEXT[:len(SWITCHED_TEXT) - len(rest)], timeout=15)
        in_other, in_target = other.text(), target.text()
        assert in_other == "", f"switch {switch}: keys reached the other window"
        assert len(errors) == 1 and isinstance(errors[0], DeliveredElsewhere), errors
        assert errors[0].outcome == "partly" and errors[0].exit_code == 3, errors[0]
        typed = in_target[len(before):]
        assert typed and typed + rest == SWITCHED_TEXT, "what was typed and what is on the clipboard make the text"
        assert "VT_FOCUS_OTHER" in str(errors[0]) and "the rest is on the clipboard" in str(errors[0])
        typed_in_all = in_target
    assert settle_all(other, target, quiet=0.3) == ["", typed_in_all], "no key reached a window after its switch"


def test_empty_workspace_sends_the_text_to_the_clipboard_with_exit_code_3(i3):
    i3.msg("workspace 9")  # nothing there: i3 leaves _NET_ACTIVE_WINDOW empty
    with pytest.raises(DeliveredElsewhere) as redirected:
        typing_sink().deliver("lost no more", Transcript(text="lost no more", backend="test"))
    assert redirected.value.exit_code == 3 and redirected.value.outcome == "clipboard"
    assert "no window had the focus" in str(redirected.value)
    assert clipboard() == "lost no more"


def test_closed_target_window_types_nothing_into_the_next_one(i3):
    i3.open_tk("VT_NEXT")
    closing = i3.open_tk("VT_CLOSING")
    sink = typing_sink()
    sink.ctx.info[TARGET_INFO] = TargetProbe()  # what the recording's start does: remember the window
    assert sink.ctx.info[TARGET_INFO].result().window.title == "VT_CLOSING"
    closing.proc.terminate()
    wait_until(lambda: i3.focused_title() == "VT_NEXT", 10, "i3 to focus the next window")
    nxt = next(w for w in i3.windows if w is not closing.proc)
    with pytest.raises(DeliveredElsewhere, match="nothing was typed"):
        sink.deliver("for the closed window", Transcript(text="for the closed window", backend="test"))
    assert clipboard() == "for the closed window"
    assert nxt.poll() is None


def test_auto_paste_goes_only_to_the_target(i3):
    i3.open_tk("VT_PASTE_OTHER")
    target = i3.open_tk("VT_PASTE_TARGET")
    sink = typing_sink(AutoSink)
    sink.ctx.info[TARGET_INFO] = TargetProbe()
    sink.ctx.info[TARGET_INFO].result()
    i3.focus("VT_PASTE_OTHER")
    text = "pasté — only there"
    with pytest.raises(DeliveredElsewhere):
        sink.deliver(text, Transcript(text=text, backend="test"))
    assert clipboard() == text
    i3.focus("VT_PASTE_TARGET")
    sink = typing_sink(AutoSink)
    sink.deliver(text, Transcript(text=text, backend="test"))
    assert target.wait_for(text) == text


@pytest.mark.parametrize("window_type", ["desktop", "dock"])
def test_desktop_or_panel_window_is_no_window(x11, tmp_path, window_type):
    """Bare Xvfb (no window manager to refuse it): the focus is put on a desktop or panel window."""
    with tk_window(x11.display, tmp_path, title="VT_DESKTOP", window_type=window_type) as desk:
        with pytest.raises(DeliveredElsewhere, match="no window had the focus"):
            typing_sink().deliver("not on the desktop", Transcript(text="not on the desktop", backend="test"))
        assert clipboard() == "not on the desktop"
        assert desk.text() == ""


def test_focus_on_the_root_window_is_no_window(x11):
    from Xlib import X, display

    d = display.Display()
    d.set_input_focus(X.PointerRoot, X.RevertToPointerRoot, X.CurrentTime)
    d.sync()
    with pytest.raises(DeliveredElsewhere, match="no window had the focus"):
        typing_sink().deliver("nowhere", Transcript(text="nowhere", backend="test"))
    assert clipboard() == "nowhere"


def test_cli_on_an_empty_workspace_exits_3_with_one_line_and_the_history_says_so(i3, jfk_path, openai_api):
    """Row 2 end to end: the real executable, an empty i3 workspace. The transcript comes from the OpenAI
    replica server (where it goes is the point, not the decode; the local model types end to end in
    test_typing_end_to_end.py)."""
    from voice_transcriber import history
    from vt_testing.core import run_cli
    from vt_testing.openai_api import json_reply, openai_transcription

    said = "Please send the report by Friday."
    openai_api.transcriptions(json_reply(openai_transcription(said)))
    i3.msg("workspace 7")
    done = run_cli("--input", str(jfk_path), "--backend", "openai", "--output", "typing", env={
        "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__API_KEY": "sk-test",
        "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": openai_api.url,
        "VOICE_TRANSCRIBER_OUTPUT__TYPING__START_DELAY": "0"})
    err = done.stderr.decode()
    assert done.returncode == 3, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "no window had the focus" in lines[0] and "on the clipboard" in lines[0], err
    assert clipboard() == said
    entry = history.get("last")
    assert entry.outcome == "delivered to the clipboard instead" and entry.sinks_failed == ["typing"]
