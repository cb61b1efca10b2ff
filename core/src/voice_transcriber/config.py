"""Configuration: pydantic models over ``$XDG_CONFIG_HOME/voice-transcriber/config.json``.

Reads the original TypeScript tool's config.json as is, and adds our own keys beside its
keys in the same camelCase style. Precedence: defaults < file < environment < flags.
Plugin sections are validated on demand by the model the plugin supplies
(:meth:`Settings.section`). Keys may be written camelCase or snake_case.

The sections' base and value checks are :mod:`.config_model`; reading the file and the environment,
:mod:`.config_sources`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, field_validator

from .config_model import M, ConfigModel, names_given, validate
from .config_sources import (env_overrides, get_path, parse_env_value, plain_key, read_config_file, set_path,
                             value_origin)
from .errors import ConfigError
from .paths import CONFIG_ENV, config_path
from .redact import add_secret, is_secret_key

class TranscriptionSettings(ConfigModel):
    backend: str | list[str] = Field("local", description='Backend name, or a fallback chain tried in order, e.g. ["speaches", "openai", "local"].')

    @field_validator("backend", mode="before")
    @classmethod
    def _backend_named(cls, value: Any) -> Any:
        return names_given(value, "backend", '"local" or ["speaches", "local"]')

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
        return names_given(value, "formatter", '["fillers", "trim"]', allow_empty_list=True)


class OutputSettings(ConfigModel):
    sinks: list[str] = Field(default_factory=lambda: ["stdout"], description="Sinks that receive the text, in order: stdout, clipboard, typing, ...")
    live: bool = Field(False, description="Show the text while it is recognised, in the sinks that can (typing types it and corrects it with backspaces); the others get the final text only.")

    @field_validator("sinks", mode="before")
    @classmethod
    def _sinks_named(cls, value: Any) -> Any:
        return names_given(value, "sink", '["stdout"] or ["typing", "clipboard"]')


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
        return value_origin(key, self._sources, self._source)

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
        data = get_path(self._raw, path)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{value_origin(path, self._sources, self._source)}: {path}: must be an object, e.g. {{}}")
        data = _normalize_keys(dict(data), model)
        sources = dict(self._sources)
        for var, key in (env or {}).items():
            if os.environ.get(var):
                data[key] = os.environ[var]
                sources[f"{path}.{key}"] = "$" + var
                if is_secret_key(key):
                    add_secret(os.environ[var])
        return validate(model, data, prefix=path, where=lambda loc: value_origin(loc, sources, self._source))


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
        set_path(raw, dotted, parse_env_value(environ[env_paths[dotted]]))
    for dotted, value in (overrides or {}).items():
        if value is not None:
            set_path(raw, dotted, value)
    _remember_secrets(raw)
    where = str(file) if file.exists() else "defaults"
    sources = {**{path: "$" + var for path, var in env_paths.items()},
               **{path: "command line" for path, value in (overrides or {}).items() if value is not None}}
    settings = validate(Settings, _normalize_keys(raw, Settings), prefix="", where=lambda loc: value_origin(loc, sources, where))
    settings._raw = raw
    settings._source = where
    settings._sources = sources
    return settings


def dump_settings(settings: Settings, sections: Mapping[str, BaseModel] | None = None) -> dict[str, Any]:
    """The effective configuration as camelCase JSON data, secrets masked."""
    data = settings.model_dump(by_alias=True, mode="json")
    for path, model in (sections or {}).items():
        declared = model.model_dump(by_alias=True, mode="json", include=set(type(model).model_fields))
        existing = get_path(data, path)  # a section may add keys beside others ("output" gets beforeCommand)
        set_path(data, path, {**existing, **declared} if isinstance(existing, dict) else declared)
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
        by_plain[plain_key(alias)] = (alias, field.annotation)
        by_plain[plain_key(name)] = (alias, field.annotation)
    result: dict[str, Any] = {}
    for key, value in data.items():
        alias, annotation = by_plain.get(plain_key(key), (key, None))
        if isinstance(value, dict) and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            value = _normalize_keys(value, annotation)
        result[alias] = value
    return result
