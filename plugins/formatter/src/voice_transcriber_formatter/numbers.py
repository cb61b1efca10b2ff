"""The ``numbers`` formatter: spoken numbers to digits ("twenty three" → 23, "vingt-trois" → 23).

Uses text2num (``text_to_num.alpha2digit``), which knows where numbers begin and end in a
sentence. Small numbers stay words by default ("one of us"), as people write them.
"""

from __future__ import annotations

from pydantic import Field

from voice_transcriber import ConfigModel, Formatter, FormatterError, Transcript, hookimpl

from ._text import language_of

#: Languages text2num converts.
LANGUAGES = ("en", "fr", "es", "pt", "de", "nl", "da", "it")


class NumbersConfig(ConfigModel):
    threshold: float = Field(3, description='Numbers below this stay words ("two cats"); 0 converts every number.')


class NumbersFormatter(Formatter):
    name = "numbers"
    description = "Spoken numbers to digits ('twenty three' → 23, 'vingt-trois' → 23) with text2num; off by default."
    config_section = "formatter.numbers"
    config_model = NumbersConfig

    def format(self, transcript: Transcript) -> str:
        language = language_of(transcript, self.ctx)
        if language not in LANGUAGES:
            raise FormatterError(f"numbers: text2num does not know language '{language}' (available: {', '.join(LANGUAGES)})")
        from text_to_num import alpha2digit  # a compiled extension: loaded only when used

        return alpha2digit(transcript.text, language, threshold=self.config.threshold)


@hookimpl
def vt_register_formatters(register) -> None:
    register(NumbersFormatter)
