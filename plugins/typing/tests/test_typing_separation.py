"""Consecutive dictations into one window are separated (issue 21 row 7), on a real Xvfb Tk window."""

from __future__ import annotations


from voice_transcriber import RunContext, Transcript
from voice_transcriber.config import load_settings
from voice_transcriber_typing.sink import AutoSink, TypingSink
from vt_testing.x11 import tk_window

FAST = {"startDelay": 0, "keyDelayMs": 4}


def dictate(text: str, sink_cls=TypingSink, **typing) -> None:
    sink = sink_cls(RunContext(load_settings(overrides={"output.typing": {**FAST, **typing},
                                                        "output.clipboard": {"pasteDelay": 0}})))
    sink.deliver(text, Transcript(text=text, backend="test"))


def test_second_dictation_into_the_same_window_gets_a_space(x_window):
    dictate("And so, my fellow Americans, ask not what your country can do for you.")
    dictate("Second, we talk.")
    expected = "And so, my fellow Americans, ask not what your country can do for you. Second, we talk."
    assert x_window.wait_for(expected) == expected
    dictate("Pasted — third.", AutoSink)  # the auto sink pastes non-ASCII text: separated too
    assert x_window.wait_for(expected + " Pasted — third.") == expected + " Pasted — third."


def test_no_separator_after_a_line_break_or_when_switched_off(x_window):
    dictate("first line\n")
    dictate("second line")
    assert x_window.wait_for("first line\nsecond line") == "first line\nsecond line"
    dictate("glued", separator="")
    assert x_window.wait_for("first line\nsecond lineglued") == "first line\nsecond lineglued"


def test_a_dictation_into_another_window_is_not_separated(x_window, x11, tmp_path):
    dictate("in the first window.")
    assert x_window.wait_for("in the first window.") == "in the first window."
    with tk_window(x11.display, tmp_path, title="VT_SEPARATION_OTHER") as other:
        dictate("Fresh start.")
        assert other.wait_for("Fresh start.", timeout=10) == "Fresh start."
