"""Where configuration values come from, before any is checked: config.json, the environment, the flags.

The file is read whole (at most :data:`MAX_CONFIG_BYTES`, whole-line ``//`` comments allowed), every way it
can be damaged one :class:`ConfigError` line; ``VOICE_TRANSCRIBER_SECTION__KEY`` variables name dotted keys;
keys match in any case and with or without ``_``/``-`` (:func:`plain_key`). Standard library only: the
models that check the values are :mod:`.config_model` and :mod:`.config`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError

ENV_PREFIX = "VOICE_TRANSCRIBER_"
#: VOICE_TRANSCRIBER_* variables that are not config keys.
RESERVED_ENV = {"CONFIG", "PLUGINS", "LOAD_PLUGINS", "DISABLE_PLUGINS", "TRACE_PLUGINS", "DEBUG", "BACKGROUND",
                "RECORDER_DEBUG"}
#: A config file is a few KiB; anything far bigger is the wrong file (and must not be read whole).
MAX_CONFIG_BYTES = 1024 * 1024


def read_config_file(file: Path, *, must_exist: bool) -> dict[str, Any]:
    """Parse config.json (whole-line ``//`` comments allowed). Missing file → ``{}``.

    Every way a file can be damaged (not UTF-8, not JSON, nested without end, far too
    big, a directory) is a :class:`ConfigError` naming the file.
    """
    try:
        with open(file, "rb") as stream:
            raw = stream.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        if must_exist:
            raise ConfigError(f"config file not found: {file} (create it with `voice-transcriber config init`)") from None
        return {}
    except IsADirectoryError:
        raise ConfigError(f"config file {file} is a directory (point --config at a JSON file)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror} (check its permissions)") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{file}: larger than {MAX_CONFIG_BYTES // 1024} KiB, not a config file (point --config at the right file)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{file}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}); "
                          "save it as UTF-8, or write a fresh one with `voice-transcriber config init --force`") from None
    lines = ["" if line.lstrip().startswith("//") else line for line in text.splitlines()]
    try:
        data = json.loads("\n".join(lines)) if any(line.strip() for line in lines) else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{file}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg} "
            "(fix the syntax; `voice-transcriber config init --force` writes a fresh file)"
        ) from None
    except RecursionError:
        raise ConfigError(f"{file}: JSON nested too deeply (fix the file)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a JSON object {{...}}")
    return data


def env_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """``VOICE_TRANSCRIBER_TRANSCRIPTION__SPEACHES__URL`` → ``{"transcription.speaches.url": var}``."""
    found = {}
    for var in environ:
        if var.startswith(ENV_PREFIX) and not var.startswith(ENV_PREFIX + "TEST_"):
            key = var[len(ENV_PREFIX):]
            if key and key not in RESERVED_ENV:
                found[".".join(part.lower() for part in key.split("__"))] = var
    return found


def parse_env_value(value: str) -> Any:
    """Env values are JSON when they parse as JSON (``true``, ``3``, ``["a","b"]``), else text."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def value_origin(loc: str, sources: Mapping[str, str], default: str) -> str:
    """Where the value at dotted ``loc`` came from: an env variable, the command line, or the file."""
    plain = plain_key(loc)
    matches = [path for path in sources if plain == plain_key(path) or plain.startswith(plain_key(path) + ".")]
    return sources[max(matches, key=len)] if matches else default


def plain_key(key: str) -> str:
    """``key`` as keys are matched: ``max_reply_bytes``, ``maxReplyBytes`` and ``max-reply-bytes`` alike."""
    return key.replace("_", "").replace("-", "").lower()


def get_path(data: dict[str, Any], dotted: str) -> Any:
    """The value at dotted key ``dotted`` of ``data`` (keys matched by :func:`plain_key`); None when absent."""
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        match = [k for k in node if plain_key(k) == plain_key(part)]
        if not match:
            return None
        node = node[match[0]]
    return node


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set dotted key ``dotted`` of ``data`` to ``value``, making the objects on the way (keys matched by :func:`plain_key`)."""
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        match = [k for k in node if plain_key(k) == plain_key(part)]
        key = match[0] if match else part
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    match = [k for k in node if plain_key(k) == plain_key(last)]
    node[match[0] if match else last] = value
