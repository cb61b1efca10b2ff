"""The ``trim`` formatter: whitespace normalisation, and an optional trailing space.

The trailing space helps when dictating several times in a row into the same text field:
each dictation then starts after a space instead of glued to the previous sentence.
"""

from __future__ import annotations

import re

from pydantic import Field

from voice_transcriber import ConfigModel, Formatter, Transcript, hookimpl


class TrimConfig(ConfigModel):
    trailing_space: bool = Field(False, description="End the text with one space (handy for several dictations in a row).")
    keep_newlines: bool = Field(True, description="Keep line breaks (at most one empty line in a row); false joins lines with spaces.")


def normalize_whitespace(text: str, keep_newlines: bool = True) -> str:
    """Single spaces, no spaces at line ends, at most one empty line, nothing around the text.

    No-break spaces (French typography) are kept: they are not layout noise.
    """
    if not keep_newlines:
        text = text.replace("\n", " ")
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip(" \n")


class TrimFormatter(Formatter):
    name = "trim"
    description = "Normalise whitespace; optionally end with a space for dictations in a row."
    config_section = "formatter.trim"
    config_model = TrimConfig

    def format(self, transcript: Transcript) -> str:
        text = normalize_whitespace(transcript.text, self.config.keep_newlines)
        return text + " " if text and self.config.trailing_space else text


@hookimpl
def vt_register_formatters(register) -> None:
    register(TrimFormatter)
