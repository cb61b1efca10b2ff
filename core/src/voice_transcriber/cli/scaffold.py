"""``voice-transcriber plugins new NAME --kind backend|formatter|sink``: a complete plugin project.

The project is what a plugin author needs on day one, and each file works as written: a
``pyproject.toml`` whose entry point makes it a plugin and whose build (uv's backend, which uv runs
in-process, so an install takes a fraction of a second) finds the package,
a module with a small working component, a README saying how to install, use and test it, and a
test that runs the component through the real pipeline with :mod:`voice_transcriber.testing`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

KINDS = ("backend", "formatter", "sink")
NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


@dataclass(frozen=True)
class Names:
    """Every spelling of a plugin's name: ``shout-loud`` → ``voice-transcriber-shout-loud``,
    ``voice_transcriber_shout_loud``, ``shoutLoud``, ``ShoutLoud``."""

    name: str
    kind: str

    @property
    def distribution(self) -> str:
        return f"voice-transcriber-{self.name}"

    @property
    def package(self) -> str:
        return "voice_transcriber_" + self.name.replace("-", "_")

    @property
    def camel(self) -> str:
        first, *rest = self.name.split("-")
        return first + "".join(part.title() for part in rest)

    @property
    def cls(self) -> str:
        return "".join(part.title() for part in self.name.split("-")) + self.kind.title()


def check_name(name: str) -> str | None:
    """Why ``name`` cannot name a plugin, or None."""
    if not NAME.fullmatch(name):
        return (f"plugin name {name!r} is not valid: use lower-case letters, digits and single dashes, "
                "starting with a letter (e.g. shout, my-sink)")
    return None


#: How the README says to install the project (with its test extra) into voice-transcriber's environment.
INSTALL = "voice-transcriber install -e '.[test]'"


def files(names: Names) -> dict[str, str]:
    """Relative path → text of every file of the project."""
    values = {
        "name": names.name, "kind": names.kind, "distribution": names.distribution, "package": names.package,
        "camel": names.camel, "cls": names.cls, "install": INSTALL,
        "test_name": names.package.removeprefix("voice_transcriber_"),
        "what": WHAT[names.kind], "use": USE[names.kind].replace("NAME", names.name),
    }
    return {path.replace("PACKAGE", names.package).replace("NAME", values["test_name"]): Template(text).substitute(values)
            for path, text in {**COMMON, **KIND_FILES[names.kind]}.items()}


def write(directory: Path, contents: dict[str, str]) -> list[Path]:
    written = []
    for relative, text in contents.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


WHAT = {
    "backend": "a backend that says how many seconds of audio it got (replace it with your model or server)",
    "formatter": "a formatter that upper-cases the dictation",
    "sink": "a sink that appends each dictation to a file",
}
USE = {
    "backend": "voice-transcriber transcribe speech.flac --backend NAME",
    "formatter": "voice-transcriber transcribe speech.flac --format NAME",
    "sink": "voice-transcriber transcribe speech.flac --output NAME,stdout",
}

COMMON = {
    "pyproject.toml": '''\
[project]
name = "$distribution"
version = "0.1.0"
description = "voice-transcriber plugin: $what."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["voice-transcriber-core"]

[project.optional-dependencies]
test = ["pytest>=8"]

# This table is what makes it a plugin: an entry point in the `voice_transcriber` group.
[project.entry-points.voice_transcriber]
$name = "$package"

# uv's build backend: it finds the package at src/$package, from the project's name.
[build-system]
requires = ["uv_build>=0.13,<0.14"]
build-backend = "uv_build"

[tool.pytest.ini_options]
testpaths = ["tests"]
''',
    "README.md": '''\
# $distribution

A voice-transcriber $kind plugin: $what.

## Install

In this directory, into the environment voice-transcriber runs in:

```sh
$install
voice-transcriber plugins
```

`voice-transcriber plugins` now lists `$name`.

## Use

```sh
$use
```

## Test

The test runs the $kind through voice-transcriber's real pipeline, offline, with the helpers of
`voice_transcriber.testing`. In this directory (pytest runs in the environment voice-transcriber
runs in, where the install above put pytest):

```sh
voice-transcriber plugins test
```
''',
    "conftest.py": '''\
# voice-transcriber's test helpers as pytest fixtures: each test gets fresh XDG directories of its own,
# so a test never reads or writes your real config, history or runtime state.
pytest_plugins = ["voice_transcriber.testing.pytest_plugin"]
''',
    ".gitignore": "__pycache__/\n.pytest_cache/\ndist/\n*.egg-info/\n",
}

KIND_FILES = {
    "backend": {
        "src/PACKAGE/__init__.py": '''\
"""voice-transcriber plugin $name: $what.

Use it: `$use`, or in config.json
`"transcription": {"backend": "$name"}`.
"""

from __future__ import annotations

from voice_transcriber import Audio, Backend, Transcript, hookimpl


class $cls(Backend):
    name = "$name"
    description = "Says how many seconds of audio it got ($name plugin)."

    def transcribe(self, audio: Audio) -> Transcript:
        # The audio as mono float32 samples at 16 kHz, decoded and resampled for you. Import your model's
        # library here, not at the top of the module: the tool starts faster when it does not need it.
        samples = audio.pcm()
        seconds = len(samples) / 16000
        return Transcript(text=f"{seconds:.1f} seconds of audio", backend=self.name, audio_duration=seconds)


@hookimpl
def vt_register_backends(register) -> None:
    register($cls)
''',
        "tests/test_NAME.py": '''\
"""The $name backend through voice-transcriber's real pipeline, offline (voice_transcriber.testing)."""

from voice_transcriber.testing import dictate, speech_sample


def test_${test_name}_transcribes_the_speech_sample():
    result = dictate(speech_sample(), backend="$name", output="stdout")
    assert result.transcript == "11.0 seconds of audio"
    assert result.stdout == "11.0 seconds of audio\\n"
''',
    },
    "formatter": {
        "src/PACKAGE/__init__.py": '''\
"""voice-transcriber plugin $name: $what.

Use it: `$use`, or in config.json
`"formatterEnabled": true, "formatter": {"chain": ["$name"]}`.
"""

from __future__ import annotations

from voice_transcriber import Formatter, Transcript, hookimpl


class $cls(Formatter):
    name = "$name"
    description = "Upper-cases the dictation ($name plugin)."

    def format(self, transcript: Transcript) -> str:
        return transcript.text.upper()


@hookimpl
def vt_register_formatters(register) -> None:
    register($cls)
''',
        "tests/test_NAME.py": '''\
"""The $name formatter through voice-transcriber's real pipeline, offline (voice_transcriber.testing)."""

from voice_transcriber.testing import SPEECH_SAMPLE_TEXT, dictate, speech_sample


def test_${test_name}_formats_a_dictation():
    # The fake backend decodes the sample and hears SPEECH_SAMPLE_TEXT; your formatter formats it.
    result = dictate(speech_sample(), backend="fake", format="$name", output="stdout")
    assert result.transcript == SPEECH_SAMPLE_TEXT
    assert result.stdout == SPEECH_SAMPLE_TEXT.upper() + "\\n"
''',
    },
    "sink": {
        "src/PACKAGE/__init__.py": '''\
"""voice-transcriber plugin $name: $what.

Use it: `$use`. Its settings, in config.json::

    "output": {"sinks": ["$name"], "$camel": {"path": "~/notes/dictations.txt"}}
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from voice_transcriber import ConfigModel, Sink, SinkError, Transcript, hookimpl


class ${cls}Config(ConfigModel):
    path: str = Field("~/dictations.txt", description="File each dictation is appended to.")


class $cls(Sink):
    name = "$name"
    description = "Appends each dictation to a file ($name plugin)."
    config_section = "output.$camel"
    config_model = ${cls}Config

    def deliver(self, text: str, transcript: Transcript) -> None:
        target = Path(self.config.path).expanduser()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("a", encoding="utf-8") as out:
                out.write(text + "\\n")
        except OSError as exc:  # one line: the cause and the fix
            raise SinkError(f"$name: cannot write {target}: {exc.strerror} (set output.$camel.path)") from None


@hookimpl
def vt_register_sinks(register) -> None:
    register($cls)
''',
        "tests/test_NAME.py": '''\
"""The $name sink through voice-transcriber's real pipeline, offline (voice_transcriber.testing)."""

import pytest

from voice_transcriber import SinkError
from voice_transcriber.testing import SPEECH_SAMPLE_TEXT, dictate, speech_sample


def test_${test_name}_appends_each_dictation(tmp_path):
    target = tmp_path / "notes" / "dictations.txt"
    config = {"output": {"$camel": {"path": str(target)}}}
    for _ in range(2):
        result = dictate(speech_sample(), output="$name", config=config)
        assert result.delivered == {"$name": SPEECH_SAMPLE_TEXT}
    assert target.read_text(encoding="utf-8") == (SPEECH_SAMPLE_TEXT + "\\n") * 2


def test_${test_name}_says_which_key_to_fix_when_it_cannot_write(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config = {"output": {"$camel": {"path": str(blocker / "dictations.txt")}}}
    with pytest.raises(SinkError, match=r"cannot write .* \\(set output\\.$camel\\.path\\)"):
        dictate(speech_sample(), output="$name", config=config)
''',
    },
}
