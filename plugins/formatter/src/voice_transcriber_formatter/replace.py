"""The ``replace`` formatter: the user's own replacements, literal or regex, applied in order.

Config (``formatter.replacements``)::

    "formatter": {"replacements": {"rules": [
        {"from": "pie test", "to": "pytest"},
        {"from": "\\\\bv(\\\\d+)\\\\b", "to": "version \\\\1", "regex": true}
    ]}}
"""

from __future__ import annotations

import re
from functools import cached_property

from pydantic import Field, model_validator

from voice_transcriber import ConfigModel, Formatter, Transcript, hookimpl


class ReplacementRule(ConfigModel):
    from_: str = Field(alias="from", min_length=1, description="Text to find (a Python regular expression when regex is true).")
    to: str = Field("", description=r"Replacement text; with regex, \1 or \g<name> insert groups.")
    regex: bool = Field(False, description="Treat `from` as a regular expression.")
    case_sensitive: bool = Field(False, description="Match upper/lower case exactly.")
    whole_word: bool = Field(True, description="Literal rules only: match whole words ('cat' does not touch 'category').")
    keep_case: bool = Field(True, description="Literal rules only: 'Pie test' → 'Pytest', 'PIE TEST' → 'PYTEST'.")

    @model_validator(mode="after")
    def _compiles(self) -> ReplacementRule:
        try:
            self.pattern  # noqa: B018 - a bad regex is a config error, reported before any audio
        except re.error as exc:
            raise ValueError(f"invalid regular expression {self.from_!r}: {exc}") from None
        return self

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        flags = 0 if self.case_sensitive else re.IGNORECASE
        if self.regex:
            return re.compile(self.from_, flags)
        body = r"\s+".join(re.escape(word) for word in self.from_.split())
        return re.compile(rf"(?<!\w){body}(?!\w)" if self.whole_word else body, flags)

    def apply(self, text: str) -> str:
        if self.regex:
            return self.pattern.sub(lambda m: m.expand(self.to), text)
        return self.pattern.sub(lambda m: self._cased(m.group(0)), text)

    def _cased(self, found: str) -> str:
        if not self.keep_case or not self.to:
            return self.to
        if found.isupper() and len(found) > 1:
            return self.to.upper()
        if found[0].isupper():
            return self.to[0].upper() + self.to[1:]
        return self.to


class ReplacementsConfig(ConfigModel):
    rules: list[ReplacementRule] = Field(default_factory=list, description='Replacements applied in order, e.g. [{"from": "pie test", "to": "pytest"}].')


class ReplaceFormatter(Formatter):
    name = "replace"
    description = "Your own replacements from config (literal or regex, case options), e.g. 'pie test' → 'pytest'."
    config_section = "formatter.replacements"
    config_model = ReplacementsConfig

    def format(self, transcript: Transcript) -> str:
        text = transcript.text
        for rule in self.config.rules:
            text = rule.apply(text)
        return text


@hookimpl
def vt_register_formatters(register) -> None:
    register(ReplaceFormatter)
