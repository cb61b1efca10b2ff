"""The base of every config section and how a value is checked: strict scalars, URLs, component names,
and a failed validation said in one line that names the key and where its value came from, never the value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from .errors import ConfigError

M = TypeVar("M", bound=BaseModel)


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


def names_given(value: Any, what: str, example: str, *, allow_empty_list: bool = False) -> Any:
    """A component name, or a list of them: no empty name, and (unless allowed) no empty list."""
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if names is None:
        return value  # the type check that follows reports it
    if not names and not allow_empty_list:
        raise ValueError(f"is empty: name at least one {what}, e.g. {example}")
    if any(isinstance(name, str) and not name.strip() for name in names):
        raise ValueError(f"contains an empty name: name each {what}, e.g. {example}")
    return value


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
