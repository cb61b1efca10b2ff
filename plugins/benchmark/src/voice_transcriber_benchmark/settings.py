"""The ``benchmark`` config section: which backends ``benchmark`` and ``benchmarkMode`` compare."""

from __future__ import annotations

from pydantic import Field

from voice_transcriber import ConfigModel


class BenchmarkConfig(ConfigModel):
    backends: list[str] | None = Field(
        None, description='Backends `benchmark` and benchmarkMode compare, e.g. ["local", "speaches"]; null: the '
                          "transcription.backend chain plus every other backend set up away from its defaults (a URL, a key, a model).")
