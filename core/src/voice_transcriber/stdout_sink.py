"""The ``stdout`` sink: prints the final text (or, with ``--json``, the whole record).

It ships with the core but is registered through the ``voice_transcriber`` entry-point
group like every other plugin, and any plugin may replace it by disabling this one.
"""

from __future__ import annotations

import json
import sys

from pydantic import Field

from .context import Sink
from .config_model import ConfigModel
from .errors import SinkError
from .hookspecs import hookimpl
from .types import Transcript


class StdoutConfig(ConfigModel):
    trailing_newline: bool = Field(True, description="End the text with a newline (--no-newline turns it off).")
    json_output: bool = Field(False, description="Print the transcript record as JSON instead of the text (--json).")


class StdoutSink(Sink):
    name = "stdout"
    description = "Print the text to standard output (--json for the whole record)."
    config_section = "output.stdout"
    config_model = StdoutConfig

    def deliver(self, text: str, transcript: Transcript) -> None:
        if self.config.json_output:
            out = json.dumps({**transcript.to_dict(), "text": text}, ensure_ascii=False) + "\n"
        else:
            out = text + ("\n" if self.config.trailing_newline else "")
        try:
            sys.stdout.write(out)
            sys.stdout.flush()
        except (BrokenPipeError, OSError) as exc:
            raise SinkError(f"stdout: cannot write the text ({exc.strerror or exc}); is the reading end closed?") from None


@hookimpl(trylast=True)
def vt_register_sinks(register) -> None:
    register(StdoutSink)
