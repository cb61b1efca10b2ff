"""Which characters a layout lets the portal type by keysym (libxkbcommon, no desktop needed)."""

from __future__ import annotations

import pytest

from voice_transcriber_clipboard.xkb import Keymap, keysym


def typeable(layout: str, text: str) -> str:
    keymap = Keymap.from_names(layout)
    return "".join(char if keymap.typeable(char) else "_" for char in text)


def test_keysyms_of_latin_1_and_beyond():
    assert [keysym(c) for c in "aö€ł"] == [0x61, 0xF6, 0x20AC, 0x1B3]
    assert keysym("😀") == 0x100_0000 + 0x1F600  # Unicode keysym: no layout has it


@pytest.mark.parametrize(("layout", "expected"), [
    # German: ö ä ü ß plain, € and ł with AltGr (level 3); ^ and ` only as dead keys
    ("de", "hello wörld € ł ß Ä _ _ @ < _ _"),
    # French AZERTY: é è à ç ù plain; ê only through a dead key; < first sits on a level mutter cannot press
    ("fr", "é è à ç ù _ ß € @ _ _ _ 1 2"),
    # US: ASCII, but no ö
    ("us", "hello w_rld < ^ ` _"),
])
def test_typeable_per_layout(layout, expected):
    text = {"de": "hello wörld € ł ß Ä ^ ` @ < 😀 Ж", "fr": "é è à ç ù ê ß € @ < ö 😀 1 2",
            "us": "hello wörld < ^ ` ł"}[layout]
    assert typeable(layout, text) == expected


def test_several_layouts_type_only_what_all_of_them_can():
    keymap = Keymap.from_names("us,de")
    assert keymap.names == ["English (US)", "German"]
    assert keymap.typeable("a") and keymap.typeable("@")
    assert not keymap.typeable("ö")  # German has it, US does not: the active one is unknown, so paste
    assert not keymap.typeable("^")  # US has it, German only as a dead key
