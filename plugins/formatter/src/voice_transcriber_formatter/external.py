"""The ``command`` formatter: pipes the text through a program of yours (stdin → stdout).

No shell is involved: the command is a list of arguments (a string is split like a shell
would, without expanding anything). The program sees ``VT_LANGUAGE`` and ``VT_BACKEND`` in
its environment. When it fails, is too slow or prints nothing, the text stays as it was
and the reason is printed on stderr.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess

from pydantic import Field, field_validator

from voice_transcriber import Check, ConfigModel, Formatter, FormatterError, Transcript, hookimpl


class CommandConfig(ConfigModel):
    command: list[str] = Field(default_factory=list, description='Program and arguments, e.g. ["sed", "s/foo/bar/g"] or "ollama run llama3.2 \'Fix the punctuation:\'" (no shell).')
    timeout_seconds: float = Field(10, gt=0, description="Kill the program and keep the text after this many seconds.")

    @field_validator("command", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"cannot split the command line: {exc} (check the quotes, or give a JSON list)") from None
        return value


class CommandFormatter(Formatter):
    name = "command"
    description = "Pipe the text through your own program (stdin → stdout, timeout, no shell)."
    config_section = "formatter.command"
    config_model = CommandConfig

    def checks(self) -> list[Check]:
        argv = self.config.command
        if not argv:
            return [Check("command", False, "no program configured", "set formatter.command.command")]
        found = shutil.which(argv[0])
        return [Check("command", bool(found), found or f"program '{argv[0]}' not found on PATH",
                      "install it, or fix formatter.command.command")]

    def format(self, transcript: Transcript) -> str:
        argv = self.config.command
        if not argv:
            raise FormatterError('command: no program configured (set formatter.command.command, e.g. ["sed", "s/um //g"])')
        shown = shlex.join(argv)[:80]
        env = {**os.environ, "VT_LANGUAGE": transcript.language or self.ctx.settings.language or "",
               "VT_BACKEND": transcript.backend}
        try:
            done = subprocess.run(argv, input=transcript.text, capture_output=True, text=True, encoding="utf-8",
                                  errors="replace", timeout=self.config.timeout_seconds, env=env, check=False)
        except FileNotFoundError:
            raise FormatterError(f"command: program '{argv[0]}' not found (install it, or fix formatter.command.command)") from None
        except PermissionError:
            raise FormatterError(f"command: program '{argv[0]}' is not executable (chmod +x it)") from None
        except subprocess.TimeoutExpired:
            raise FormatterError(f"command: `{shown}` took longer than {self.config.timeout_seconds:g} s and was stopped "
                                 "(raise formatter.command.timeoutSeconds)") from None
        if done.returncode != 0:
            reason = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "no message on stderr")
            raise FormatterError(f"command: `{shown}` exited with status {done.returncode}: {reason[:200]}")
        text = done.stdout.rstrip("\n")
        if not text.strip():
            raise FormatterError(f"command: `{shown}` printed nothing (it must write the new text on stdout)")
        return text


@hookimpl
def vt_register_formatters(register) -> None:
    register(CommandFormatter)
