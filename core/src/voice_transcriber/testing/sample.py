"""The speech sample that ships with voice-transcriber (the repository's ``samples/jfk.flac`` is this file)."""

from __future__ import annotations

from pathlib import Path

#: What is said in :func:`speech_sample`.
SPEECH_SAMPLE_TEXT = ("And so my fellow Americans, ask not what your country can do for you, "
                      "ask what you can do for your country.")


def speech_sample() -> Path:
    """An 11.0 s recording of John F. Kennedy's inaugural address (1961, public domain in the US;
    16 kHz mono 16-bit FLAC, 195 KB). Real speech: the local backend transcribes it."""
    return Path(__file__).with_name("jfk.flac")
