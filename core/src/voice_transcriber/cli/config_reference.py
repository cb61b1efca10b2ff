"""The configuration reference, generated from the pydantic models (``config reference``).

The documentation site renders the same Markdown at build time, so the reference lists exactly
the keys, defaults and descriptions the code validates: it cannot drift from the schema.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, SecretStr

from ..config import Settings
from ..config_sources import ENV_PREFIX


def reference_markdown(sections: Mapping[str, type[BaseModel]], heading: str = "##") -> str:
    """One table per section (the core's first, then each plugin's), in Markdown."""
    tables: dict[str, list[tuple[str, str, str, str, str]]] = {}
    owners: dict[str, str] = {}
    for path, model in _core_sections():
        tables[path] = list(_rows(model, path))
        owners[path] = "core"
    for path, model in sorted(sections.items()):
        rows = list(_rows(model, path))
        if not rows:
            continue
        tables.setdefault(path, []).extend(rows)  # a plugin may add keys to a core section (output.*Command)
        top = model.__module__.split(".")[0]
        owners.setdefault(path, "core" if top == "voice_transcriber" else top.replace("_", "-"))
    out = []
    for path, rows in tables.items():
        title = f"`{path}`" if path else "Top level"
        out.append(f"{heading} {title}\n")
        owner = owners[path]
        if owner != "core":
            out.append(f"From the `{owner}` plugin.\n")
        out.append("| key | type | default | environment variable | meaning |\n|---|---|---|---|---|")
        for key, kind, default, env, text in rows:
            out.append(f"| `{key}` | {kind} | {default} | `{env}` | {text} |")
        out.append("")
    return "\n".join(out)


def _core_sections() -> Iterator[tuple[str, type[BaseModel]]]:
    yield "", Settings
    for name, field in Settings.model_fields.items():
        if _is_model(field.annotation):
            yield field.alias or name, field.annotation


def _rows(model: type[BaseModel], path: str) -> Iterator[tuple[str, str, str, str, str]]:
    for name, field in model.model_fields.items():
        if _is_model(field.annotation):
            continue  # its own section
        key = f"{path}.{field.alias or name}".lstrip(".")
        env = ENV_PREFIX + "__".join(part for part in [*_snake_path(path), name.upper()] if part)
        default = field.get_default(call_default_factory=True)
        yield (key, _escape(_type_name(field.annotation)), _escape(f"`{_json(default)}`"), env,
               _escape(field.description or ""))


def _snake_path(path: str) -> list[str]:
    import re

    return [re.sub(r"(?<!^)(?=[A-Z])", "_", part).upper() for part in path.split(".") if part]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if annotation is type(None):
        return "null"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return " or ".join(json.dumps(arg) for arg in typing.get_args(annotation))
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        args = typing.get_args(annotation)
        return f"object of {_type_name(args[1])}" if args else "object"
    if origin is not None:
        return _type_name(origin)
    names = {str: "text", int: "integer", float: "number", bool: "boolean", SecretStr: "text (secret)", dict: "object",
             list: "list"}
    if annotation in names:
        return names[annotation]
    if _is_model(annotation):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _json(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "null"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    return json.dumps(value, ensure_ascii=False, default=str)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
