"""An example third-party plugin: the ``append-file`` sink appends each dictation to a file.

Config (``output.appendFile`` in config.json)::

    "output": {"sinks": ["stdout", "append-file"], "appendFile": {"path": "~/notes/dictations.md"}}
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import Field

from voice_transcriber import ConfigModel, Sink, SinkError, Transcript, hookimpl


class AppendFileConfig(ConfigModel):
    path: str = Field("~/dictations.txt", description="File each dictation is appended to.")
    timestamp: bool = Field(True, description="Start each entry with the local date and time.")


class AppendFileSink(Sink):
    name = "append-file"
    description = "Append each dictation to a file (example plugin)."
    config_section = "output.appendFile"
    config_model = AppendFileConfig

    def deliver(self, text: str, transcript: Transcript) -> None:
        target = Path(self.config.path).expanduser()
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M  ") if self.config.timestamp else ""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("a", encoding="utf-8") as out:
                out.write(f"{stamp}{text}\n")
        except OSError as exc:
            raise SinkError(f"append-file: cannot write {target}: {exc.strerror} (set output.appendFile.path)") from None


@hookimpl
def vt_register_sinks(register) -> None:
    register(AppendFileSink)
