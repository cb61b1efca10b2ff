"""The ``rules`` formatter: the offline rule formatters in one name, as in ``--format rules,llm``.

It runs its ``steps`` in order exactly as the pipeline would run them one by one: a step
that fails leaves the text as it was, says why on stderr, and the next step goes on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from voice_transcriber import ConfigModel, Formatter, FormatterError, Transcript, hookimpl

from .commands import CommandsFormatter
from .fillers import FillersFormatter
from .hallucinations import HallucinationsFormatter
from .numbers import NumbersFormatter
from .punctuation import PunctuationFormatter
from .replace import ReplaceFormatter
from .trim import TrimFormatter
from .vocabulary import VocabularyFormatter

STEPS: dict[str, type[Formatter]] = {cls.name: cls for cls in (
    HallucinationsFormatter, FillersFormatter, CommandsFormatter, NumbersFormatter, PunctuationFormatter,
    ReplaceFormatter, VocabularyFormatter, TrimFormatter)}
Step = Literal["hallucinations", "fillers", "commands", "numbers", "punctuation", "replace", "vocabulary", "trim"]


class RulesConfig(ConfigModel):
    steps: list[Step] = Field(default_factory=lambda: ["hallucinations", "fillers", "commands", "punctuation", "trim"],
                              description="Offline formatters `rules` runs, in order (each keeps its own config section).")


class RulesFormatter(Formatter):
    name = "rules"
    description = "The offline rule formatters in one step (hallucinations, fillers, commands, punctuation, trim by default)."
    config_section = "formatter.rules"
    config_model = RulesConfig

    def format(self, transcript: Transcript) -> str:
        for step in self.config.steps:
            formatter = STEPS[step](self.ctx)
            try:
                transcript = transcript.with_text(formatter.format(transcript))
            except FormatterError as exc:
                self.ctx.warn(f"{exc}; keeping the text unformatted by 'rules: {step}'")
        return transcript.text


@hookimpl
def vt_register_formatters(register) -> None:
    register(RulesFormatter)
