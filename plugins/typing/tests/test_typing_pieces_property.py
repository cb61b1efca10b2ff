"""Property: whatever the text, the typing plan presses only the keys the settings name.

No desktop needed: :func:`pieces` is the whole decision of what is typed, pasted or pressed.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_transcriber import SinkError
from voice_transcriber_clipboard.keys import Xdotool, Ydotool
from voice_transcriber_typing.typer import NEWLINE_KEYS, TypingConfig, pieces

CONTROL = {chr(c) for c in range(32)} | {chr(c) for c in range(0x7F, 0xA0)}
texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=40) | st.sampled_from(
    ["tab\there esc\x1b[31mred\x1b[0m bs\x08x cr\rend", "ls\nrm -rf ~\n", "a\r\nb\tc\x00d"])


@settings(max_examples=120, deadline=None, derandomize=True, database=None)
@given(text=texts, newline=st.sampled_from(["enter", "shift+enter", "space"]), tab=st.sampled_from(["space", "tab"]),
       terminal=st.sampled_from([None, "XTerm"]), breaks=st.sampled_from(["paste", "space", "refuse"]),
       press_enter=st.booleans(), tool=st.sampled_from([Xdotool, Ydotool]))
def test_only_the_keys_the_settings_name(text, newline, tab, terminal, breaks, press_enter, tool):
    config = TypingConfig(newline=newline, tab=tab, terminal_line_breaks=breaks, press_enter=press_enter,
                          chunk_size=7)
    try:
        plan = pieces(text, tool(), config, terminal)
    except SinkError as refused:
        assert terminal and breaks == "refuse" and newline != "space" and "terminal (XTerm)" in str(refused)
        return
    allowed_keys = {"Return"} if press_enter else set()
    if newline != "space" and not terminal:
        allowed_keys.add(NEWLINE_KEYS[newline])
    for number, piece in enumerate(plan):
        if piece.kind == "key":
            assert piece.value in allowed_keys, (piece, config)
            if piece.value == "Return" and (newline != "enter" or terminal):
                assert press_enter and number == len(plan) - 1  # only the Return asked for, at the end
        else:
            assert not CONTROL & set(piece.value) - {"\t", "\n"}, piece
            if piece.kind == "type":
                assert "\n" not in piece.value  # a line break is a key, never typed as a character
                assert tab == "tab" or "\t" not in piece.value
            elif terminal and newline != "space" and breaks == "paste":
                pass  # a bracketed paste may hold line breaks: the terminal does not run them
            else:
                assert "\n" not in piece.value


@pytest.mark.parametrize("newline", ["enter", "shift+enter"])
def test_a_terminal_never_gets_a_typed_line_break(newline):
    plan = pieces("ls\nrm", Xdotool(), TypingConfig(newline=newline, terminal_line_breaks="space"), "XTerm")
    assert [(p.kind, p.value) for p in plan] == [("type", "ls rm")]
