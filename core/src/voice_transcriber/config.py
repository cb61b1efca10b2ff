"""Configuration: pydantic models over ``$XDG_CONFIG_HOME/voice-transcriber/config.json``.

Reads the original TypeScript tool's config.json as is, and adds our own keys beside its
keys in the same camelCase style. Precedence: defaults < file < environment < flags.
Plugin sections are validated on demand by the model the plugin supplies
(:meth:`Settings.section`). Keys may be written camelCase or snake_case.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError,
                      ValidationInfo, field_validator)
from pydantic.alias_generators import to_camel

from .errors import ConfigError
from .paths import CONFIG_ENV, config_path
from .redact import add_secret, is_secret_key

ENV_PREFIX = "VOICE_TRANSCRIBER_"
#: VOICE_TRANSCRIBER_* variables that are not config keys.
RESERVED_ENV = {"CONFIG", "PLUGINS", "LOAD_PLUGINS", "DISABLE_PLUGINS", "TRACE_PLUGINS", "DEBUG", "BACKGROUND",
                "RECORDER_DEBUG"}
M = TypeVar("M", bound=BaseModel)
#: A config file is a few KiB; anything far bigger is the wrong file (and must not be read whole).
MAX_CONFIG_BYTES = 1024 * 1024


class ConfigModel(BaseModel):
    """Base for config sections: camelCase keys, snake_case attributes, unknown keys kept.

    Booleans and numbers are strict: ``"yes"``, ``"5"`` or ``1`` for a boolean and ``"5"`` or
    ``true`` for a number are errors, not guesses (pydantic alone would accept ``"yes"``).
    Unknown keys are kept for plugins and reported by :mod:`voice_transcriber.config_keys`.
    """

    # defer_build: schemas are built on first use, not when each plugin module is imported
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", defer_build=True)

    @field_validator("*", mode="before")
    @classmethod
    def _strict_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None or value is None:
            return value
        kinds = _scalar_kinds(field.annotation)
        if not kinds or not kinds <= {"bool", "number"}:
            return value
        if isinstance(value, bool):
            if "bool" not in kinds:
                raise ValueError("must be a number, not true/false")
        elif isinstance(value, (int, float)):
            if "number" not in kinds:
                raise ValueError("must be true or false (a JSON boolean), not a number")
        elif isinstance(value, str):
            wanted = "true or false" if kinds == {"bool"} else "a number" if kinds == {"number"} else "a number or true/false"
            raise ValueError(f"must be {wanted} without quotes, not text")
        return value


def _scalar_kinds(annotation: Any) -> set[str]:
    """``{"bool"}``, ``{"number"}``, both, or with ``"other"`` — what a field's type accepts, None aside."""
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _scalar_kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_scalar_kinds(arg) for arg in typing.get_args(annotation) if arg is not type(None)))
    if annotation is bool:
        return {"bool"}
    if annotation in (int, float):
        return {"number"}
    return {"other"}


def check_http_url(value: str) -> str:
    """An ``http://`` or ``https://`` URL with a host (the value itself is never echoed: it may hold a password)."""
    from urllib.parse import urlsplit

    text = value.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError("is not a valid URL (e.g. http://localhost:8000/v1)") from None
    if parts.scheme not in ("http", "https"):
        found = f"'{parts.scheme}://'" if parts.scheme and "://" in text else "no scheme"
        raise ValueError(f"must start with http:// or https:// ({found}), e.g. http://localhost:8000/v1")
    if not host or any(c.isspace() for c in text):
        raise ValueError("must name a host, without spaces, e.g. http://localhost:8000/v1")
    return text


#: A config value that must be an http(s) URL with a host: ``url: HttpUrl = Field(...)``.
HttpUrl = Annotated[str, AfterValidator(check_http_url)]


def _names_given(value: Any, what: str, example: str, *, allow_empty_list: bool = False) -> Any:
    """A component name, or a list of them: no empty name, and (unless allowed) no empty list."""
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if names is None:
        return value  # the type check that follows reports it
    if not names and not allow_empty_list:
        raise ValueError(f"is empty: name at least one {what}, e.g. {example}")
    if any(isinstance(name, str) and not name.strip() for name in names):
        raise ValueError(f"contains an empty name: name each {what}, e.g. {example}")
    return value


class TranscriptionSettings(ConfigModel):
    backend: str | list[str] = Field("local", description='Backend name, or a fallback chain tried in order, e.g. ["speaches", "openai", "local"].')

    @field_validator("backend", mode="before")
    @classmethod
    def _backend_named(cls, value: Any) -> Any:
        return _names_given(value, "backend", '"local" or ["speaches", "local"]')

    def chain(self) -> list[str]:
        return [self.backend] if isinstance(self.backend, str) else list(self.backend)


class FormatterSettings(ConfigModel):
    # Offline by default: every formatter here works without a network or an API key.
    # Add "llm" (e.g. ["hallucinations", "fillers", "llm"]) for the original tool's LLM formatting.
    chain: list[str] = Field(default_factory=lambda: ["hallucinations", "fillers", "punctuation", "trim"],
                             description='Formatters run in this order when formatterEnabled is true; add "llm" for LLM formatting.')

    @field_validator("chain", mode="before")
    @classmethod
    def _formatters_named(cls, value: Any) -> Any:
        return _names_given(value, "formatter", '["fillers", "trim"]', allow_empty_list=True)


class OutputSettings(ConfigModel):
    sinks: list[str] = Field(default_factory=lambda: ["stdout"], description="Sinks that receive the text, in order: stdout, clipboard, typing, ...")
    live: bool = Field(False, description="Show the text while it is recognised, in the sinks that can (typing types it and corrects it with backspaces); the others get the final text only.")

    @field_validator("sinks", mode="before")
    @classmethod
    def _sinks_named(cls, value: Any) -> Any:
        return _names_given(value, "sink", '["stdout"] or ["typing", "clipboard"]')


class InputSettings(ConfigModel):
    device: str | int | None = Field(None, description="Microphone: an index or (part of) a name from `voice-transcriber devices`; null uses the system default.")
    max_duration_seconds: float = Field(300, gt=0, description="Stop recording after this many seconds.")
    silence_stop_seconds: float | None = Field(None, gt=0, description="Stop after this many seconds of silence following speech (voice activity detection); null records until stopped.")
    tail_padding_ms: int = Field(300, ge=0, le=5000, description="Keep recording up to this long after a stop request, so the last word is not cut off (none when the voice activity detector shows the speech had already ended).")
    streaming: bool = Field(True, description="Transcribe each phrase while you are still speaking (the backend gets phrases cut at pauses), so only the last phrase is left after the stop; false sends the whole recording after the stop.")
    streaming_context: bool = Field(True, description="Streaming: prompt each phrase with the text already decided before it (after your transcriptionPrompt/vocabulary, trimmed to what the model reads), so names and sentences carry over phrase boundaries.")
    streaming_phrase_seconds: float | None = Field(5.0, gt=0, description="Streaming: a phrase at least this long already ends at a short pause (streamingShortPause), and at 1.75 times this long at any 0.2 s pause, so that little is left to transcribe after the stop; null: phrases end only at 0.6 s pauses.")
    streaming_short_pause: float = Field(0.3, ge=0.2, le=1.0, description="Streaming: seconds of silence that end a phrase longer than streamingPhraseSeconds.")
    streaming_overlap: bool = Field(True, description="Streaming: a phrase is transcribed with the phrase before it heard again (its text already decided, held fixed), so that the model judges the phrase's first words with the sound before them; the local backend only (others get that text as prompt). false: each phrase is heard alone.")
    streaming_overlap_seconds: float | None = Field(4.0, gt=0, description="Streaming, with streamingOverlap: hear only the words the phrase before said in its last this many seconds again (their timings from its transcription; the local backend), the words before them joining the prompt, so that the phrase left after the stop is transcribed sooner (4, the default, was as accurate as the whole phrase before on the benchmark passages, docs/streaming.md); null: the whole phrase before.")
    streaming_lead_seconds: float = Field(0.5, ge=0.2, le=5.0, description="Streaming: seconds of audio kept before a phrase's first speech (never reaching into the phrase before it), so that a word the voice-activity detector scores weakly is not lost.")
    streaming_split_seconds: float | None = Field(None, gt=0, description="Streaming: split the phrase under way when you stop at its last 0.2 s pause that leaves at least this many seconds on both sides (3 is a good value); its first part was transcribed at that pause, so only the rest is left after the stop, at a small cost in accuracy; null (the default): the whole last phrase is transcribed after the stop.")
    streaming_commit: bool = Field(False, description="Streaming: the phrase still being spoken is re-decoded every streamingRedecodeSeconds of new audio while the backend is idle, and the words two re-decodes in a row agree on are final (a rolling commit, cut between two words): after the stop only the words after them are left to transcribe, so the text comes sooner, at a small cost in accuracy on 30-60 s dictations (the local backend; docs/streaming.md). false (the default): the whole last phrase is transcribed after the stop.")
    streaming_commit_at_stop: bool = Field(True, description="Streaming: the phrase still being spoken is re-decoded every streamingRedecodeSeconds of new audio, and the words two re-decodes in a row agree on are remembered; only when you stop in that phrase are they final, and only the words after them are transcribed after the stop (hearing the last seconds before them again), so the text comes sooner. Phrases that end at a pause while you speak are transcribed whole, as without it (the local backend). On by default since 2026-12-07: as accurate as without it on the benchmark passages, and less is left after the stop; false: the last phrase is transcribed whole after the stop (docs/streaming.md).")
    streaming_stop_overlap_seconds: float | None = Field(5.0, gt=0, description="Streaming, with streamingCommitAtStop: the rest of the phrase left at the stop is heard after the agreed words said in their last this many seconds (held to their text); null: after all of them. 5 gave the same text as all of them on every benchmark passage for less work (docs/streaming.md).")
    streaming_rest_pause: float | None = Field(0.1, gt=0, lt=0.2, description="Streaming, with streamingCommitAtStop: the rest of the phrase left at the stop (after its agreed words) ends this many seconds after its last speech, not with a phrase's 0.2 s of silence, so that its transcription starts once you have been silent this long (0.1, the default: the text came 0.09-0.24 x batch sooner after the stop at ~12 s in three paired runs, docs/streaming.md); null: after 0.2 s.")
    streaming_agreed_margin_seconds: float = Field(0.0, ge=0, le=3, description="Streaming, with streamingCommitAtStop: a word two re-decodes in a row agree on counts only when both heard at least this many seconds after it (the word at the end of a re-decode's audio is the one it hears worst). 0.5 made the text more accurate on a ~30 s passage and the wait a little longer at ~12 s (docs/streaming.md); 0 (the default): every word they agree on but the last.")
    streaming_redecode_seconds: float | None = Field(1.0, gt=0, description="Streaming: transcribe the phrase still being spoken again after this many seconds of new audio, when the backend is idle, for the live text (--live, notifications); null: only finished phrases.")
    keep_recordings: int = Field(20, ge=0, description="Delivered recordings to keep on disk (undelivered ones are always kept).")
    continuous: bool = Field(False, description="Record hands-free (--continuous): deliver each utterance at its pause and keep listening, until the stop phrase, a stop request or a long silence.")
    utterance_pause_seconds: float = Field(1.0, ge=0.3, le=10, description="--continuous: a pause this long ends an utterance, which is then delivered while listening goes on.")
    stop_phrase: str | None = Field("stop dictation", description="--continuous: saying this at the end of an utterance ends the session; it is not delivered (any case and punctuation). null: no stop phrase.")
    continuous_silence_seconds: float | None = Field(60, gt=0, description="--continuous: end the session after this many seconds without speech (--silence-stop sets it in that mode); null: never.")
    continuous_context_seconds: float | None = Field(30, gt=0, description="--continuous: each utterance is prompted with the session's text so far, unless this many seconds of silence came before it (a new topic) or the previous utterance ended with \"new paragraph\"; null: never prompted.")
    continuous_overlap: bool = Field(True, description="--continuous: each utterance is transcribed with the utterance before it heard again (its text held fixed), when both together are at most 25 s, so that its first words are judged with the sound before them, as in one piece; the local backend only (others get that text as prompt). false: each utterance heard alone, with the session's text as prompt.")


class Settings(ConfigModel):
    """The whole configuration. The first six keys are the original tool's."""

    language: str | None = Field(None, description='Spoken language, ISO-639-1 ("en", "fr"); null or "auto" detects it.')
    formatter_enabled: bool = Field(False, description="Run the formatter chain (formatter.chain) on every transcript.")
    transcription_prompt: str | None = Field(None, description="Prompt given to the backend (vocabulary, style); replaces the language prompt.")
    formatting_prompt: str | None = Field(None, description="System prompt of the llm formatter; replaces the built-in one.")
    benchmark_mode: bool = Field(False, description="Print per-stage timings on stderr after each run (like --debug); the benchmark plugin then also compares the other configured backends on the same audio, after delivery.")
    strict_config: bool = Field(False, description="Unknown keys (a typo, a key of a plugin that is not installed) are errors (exit 2) instead of warnings; --strict does the same for one run.")
    vocabulary: list[str] = Field(default_factory=list, description='Words to recognise and spell exactly (names, jargon), e.g. ["Kubernetes", "Anaïs"]: backends may pass them as prompt or hot words; the vocabulary formatter corrects near misses.')
    transcription: TranscriptionSettings = Field(default_factory=TranscriptionSettings)
    formatter: FormatterSettings = Field(default_factory=FormatterSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    input: InputSettings = Field(default_factory=InputSettings)

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)
    _source: str = PrivateAttr(default="defaults")
    #: Dotted key → where its value came from, when not the file ("$VAR", "command line").
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("language")
    @classmethod
    def _language_code(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() in ("", "auto"):
            return None
        code = value.strip().lower()
        if not (code.isalpha() and 2 <= len(code) <= 3):
            raise ValueError("must be an ISO-639-1 code such as 'en' or 'fr', or 'auto'")
        return code

    def origin(self, key: str) -> str:
        """Where the value at dotted ``key`` came from: the config file, ``$VARIABLE`` or ``command line``."""
        return _origin(key, self._sources, self._source)

    @property
    def source(self) -> str:
        """Where the settings came from (the config file path, or ``defaults``)."""
        return self._source

    @property
    def raw(self) -> dict[str, Any]:
        """The merged file/env/flag data, before validation (plugin sections included)."""
        return self._raw

    def section(self, path: str, model: type[M], env: Mapping[str, str] | None = None) -> M:
        """Validate the section at dotted ``path`` with a plugin's ``model``.

        ``env`` maps environment variable names to keys of the section; those variables,
        when set, override the file. Raises :class:`ConfigError` naming the key path.
        """
        data = _get_path(self._raw, path)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{_origin(path, self._sources, self._source)}: {path}: must be an object, e.g. {{}}")
        data = _normalize_keys(dict(data), model)
        sources = dict(self._sources)
        for var, key in (env or {}).items():
            if os.environ.get(var):
                data[key] = os.environ[var]
                sources[f"{path}.{key}"] = "$" + var
                if is_secret_key(key):
                    add_secret(os.environ[var])
        return validate(model, data, prefix=path, where=lambda loc: _origin(loc, sources, self._source))


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read, merge and validate configuration. ``overrides`` are dotted keys from flags."""
    environ = os.environ if environ is None else environ
    explicit = path is not None or bool(environ.get(CONFIG_ENV))
    file = config_path(path)
    raw = read_config_file(file, must_exist=explicit)
    env_paths = env_overrides(environ)
    for dotted in env_paths:
        _set_path(raw, dotted, _parse_env_value(environ[env_paths[dotted]]))
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_path(raw, dotted, value)
    _remember_secrets(raw)
    where = str(file) if file.exists() else "defaults"
    sources = {**{path: "$" + var for path, var in env_paths.items()},
               **{path: "command line" for path, value in (overrides or {}).items() if value is not None}}
    settings = validate(Settings, _normalize_keys(raw, Settings), prefix="", where=lambda loc: _origin(loc, sources, where))
    settings._raw = raw
    settings._source = where
    settings._sources = sources
    return settings


def _origin(loc: str, sources: Mapping[str, str], default: str) -> str:
    """Where the value at dotted ``loc`` came from: an env variable, the command line, or the file."""
    plain = _plain(loc)
    matches = [path for path in sources if plain == _plain(path) or plain.startswith(_plain(path) + ".")]
    return sources[max(matches, key=len)] if matches else default


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


def validate(model: type[M], data: dict[str, Any], *, prefix: str, where: str | Callable[[str], str]) -> M:
    """Validate ``data``; the first problem becomes one ConfigError line (never the value).

    ``where`` names the source of the values, or maps the failing key path to its source.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        path = _data_path(data, errors[0]["loc"])
        same = [err for err in errors if _data_path(data, err["loc"]) == path]
        loc = ".".join(str(part) for part in (prefix.split(".") if prefix else []) + path)
        source = where(loc) if callable(where) else where
        raise ConfigError(f"{source}: {loc or '(top level)'}: {_message(same)}") from None


#: pydantic error types → what the value should have been, to merge a union's errors into one phrase.
_WANTED = {"string_type": "text", "list_type": "a list", "int_type": "an integer", "int_parsing": "an integer",
           "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false", "bool_parsing": "true or false",
           "dict_type": "an object", "model_type": "an object", "none_required": "null"}


def _message(errors: list[dict[str, Any]]) -> str:
    """One phrase for the errors at one key: a union's alternatives joined ("must be text or a list")."""
    wanted = [_WANTED.get(err["type"]) for err in errors]
    if len(errors) > 1 and all(wanted):
        return "must be " + " or ".join(dict.fromkeys(wanted))
    return errors[0]["msg"].removeprefix("Value error, ")


def _data_path(data: Any, loc: tuple[Any, ...]) -> list[Any]:
    """The part of a pydantic error location that names keys of ``data`` (union member tags such as
    ``str`` or ``list[str]`` dropped), so the message names ``transcription.backend``, not ``….str``."""
    path, node = [], data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif not (isinstance(node, dict) and isinstance(part, str) and not _is_tag(part)):
            continue  # a union member tag
        else:
            node = None  # a missing required key: named, nothing below it
        path.append(part)
    return path


def _is_tag(part: str) -> bool:
    return any(c in part for c in "[]()-") or part in ("str", "int", "float", "bool", "list", "dict", "none")


def dump_settings(settings: Settings, sections: Mapping[str, BaseModel] | None = None) -> dict[str, Any]:
    """The effective configuration as camelCase JSON data, secrets masked."""
    data = settings.model_dump(by_alias=True, mode="json")
    for path, model in (sections or {}).items():
        declared = model.model_dump(by_alias=True, mode="json", include=set(type(model).model_fields))
        existing = _get_path(data, path)  # a section may add keys beside others ("output" gets beforeCommand)
        _set_path(data, path, {**existing, **declared} if isinstance(existing, dict) else declared)
    return mask_secrets(data)


def mask_secrets(data: Any, key: str = "") -> Any:
    if isinstance(data, dict):
        return {k: mask_secrets(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_secrets(v, key) for v in data]
    if isinstance(data, str) and is_secret_key(key) and data and data.lower() != "none":
        return "****" + (data[-4:] if len(data) >= 20 and not data.startswith("*") else "")
    return data


def _remember_secrets(data: Any, key: str = "") -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            _remember_secrets(v, k)
    elif isinstance(data, str) and is_secret_key(key):
        add_secret(data)
    elif isinstance(data, SecretStr):
        add_secret(data.get_secret_value())


def _normalize_keys(data: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """Map snake_case / any-case keys onto the model's camelCase aliases, recursively."""
    by_plain = {}
    for name, field in model.model_fields.items():
        alias = field.alias or name
        by_plain[_plain(alias)] = (alias, field.annotation)
        by_plain[_plain(name)] = (alias, field.annotation)
    result: dict[str, Any] = {}
    for key, value in data.items():
        alias, annotation = by_plain.get(_plain(key), (key, None))
        if isinstance(value, dict) and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            value = _normalize_keys(value, annotation)
        result[alias] = value
    return result


def _plain(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def _get_path(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        match = [k for k in node if _plain(k) == _plain(part)]
        if not match:
            return None
        node = node[match[0]]
    return node


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        match = [k for k in node if _plain(k) == _plain(part)]
        key = match[0] if match else part
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    match = [k for k in node if _plain(k) == _plain(last)]
    node[match[0] if match else last] = value


def _parse_env_value(value: str) -> Any:
    """Env values are JSON when they parse as JSON (``true``, ``3``, ``["a","b"]``), else text."""
    try:
        return json.loads(value)
    except ValueError:
        return value
