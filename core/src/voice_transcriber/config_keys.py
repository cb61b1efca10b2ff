"""Unknown configuration keys: each named by its path, with the nearest known key.

A typo (``transcription.speaches.ulr``) or a key of a plugin that is not installed is
otherwise silently ignored, and the user wonders why the setting has no effect. The known
keys are the fields of :class:`~voice_transcriber.config.Settings` plus every section a
component or plugin declares (``config_section``/``vt_register_settings``), and the fields of
each entry of ``profiles`` (whose ``settings`` hold dotted keys, checked like the others).
Unknown keys are warnings, or errors (exit 2) with ``--strict`` or ``strictConfig: true``.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from .config import Settings
from .config_sources import plain_key
from .errors import ConfigError

#: Keys never reported: editors' JSON-schema pointers.
IGNORED = {"$schema"}


@dataclass
class _Node:
    """Known keys at one level: plain key → (spelling, child node or None for a value)."""

    keys: dict[str, tuple[str, _Node | None]]
    #: The child describes each item of a list (``profiles``), not a nested object.
    items: bool = False


@dataclass(frozen=True)
class UnknownKey:
    path: str  #: dotted path as written in the file (list items as ``profiles[0]``)
    nearest: str | None  #: the closest known key, dotted
    source: str  #: the file, ``$VARIABLE`` or ``command line``

    def describe(self) -> str:
        hint = f" (nearest known key: {self.nearest})" if self.nearest else ""
        return f"{self.source}: unknown key {self.path}{hint}"


#: A section's known keys as the plugin index keeps them (:func:`keys_of`): plain key → [spelling,
#: child or None], and ``"[]"`` → true when the child describes each item of a list.
KeyTree = dict[str, Any]


def keys_of(model: type[BaseModel]) -> KeyTree:
    """The keys ``model`` reads, as plain data (what the plugin index remembers of a config section)."""
    return _to_data(_tree(model))


def _to_data(node: _Node) -> KeyTree:
    data: KeyTree = {key: [spelling, None if child is None else _to_data(child)]
                     for key, (spelling, child) in node.keys.items()}
    return {**data, "[]": True} if node.items else data


def _from_data(data: KeyTree) -> _Node:
    return _Node({key: (value[0], None if value[1] is None else _from_data(value[1]))
                  for key, value in data.items() if key != "[]"}, items=bool(data.get("[]")))


def find_unknown(settings: Settings, sections: Mapping[str, type[BaseModel] | KeyTree]) -> list[UnknownKey]:
    """Every key of ``settings.raw`` (file, environment, flags) that nothing reads. A section is its model,
    or its keys as :func:`keys_of` gives them (a deferred plugin's, from the plugin index)."""
    from .profiles import Profile

    root = _tree(Settings)
    for path, model in sections.items():
        _graft(root, path, _from_data(model) if isinstance(model, dict) else _tree(model))
    _graft(root, "profiles", _Node(_tree(Profile).keys, items=True))
    found = []
    for path, nearest in _walk(settings.raw, root, root, ""):
        found.append(UnknownKey(path, nearest, settings.origin(path.split("[")[0])))
    return found


def check_keys(settings: Settings, sections: Mapping[str, type[BaseModel] | KeyTree], *, strict: bool,
               warn: Callable[[str], None]) -> None:
    """Warn about each unknown key; with ``strict`` (or ``strictConfig: true``) raise ConfigError for the first."""
    unknown = find_unknown(settings, sections)
    if not unknown:
        return
    if strict or settings.strict_config:
        why = "--strict" if strict else "strictConfig is true"
        raise ConfigError(f"{unknown[0].describe()}: fix or remove it ({why})")
    for key in unknown:
        warn(f"warning: {key.describe()}; it is ignored (fix or remove it; --strict or strictConfig: true make this an error)")


def _tree(model: type[BaseModel]) -> _Node:
    keys: dict[str, tuple[str, _Node | None]] = {}
    for name, field in model.model_fields.items():
        child, items = _model_of(field.annotation)
        node = None if child is None else _Node(_tree(child).keys, items=items)
        keys[plain_key(field.alias or name)] = (field.alias or name, node)
        keys.setdefault(plain_key(name), (field.alias or name, node))
    return _Node(keys)


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The config model a field holds (``Model``, ``Model | None``, ``list[Model]``), and whether in a list."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found[0] is not None:
                return found
        return None, False
    if origin is list:
        args = typing.get_args(annotation)
        inner = _model_of(args[0])[0] if args else None
        return inner, inner is not None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _graft(root: _Node, path: str, node: _Node) -> None:
    """Add a section's keys at dotted ``path`` (merged with keys already there)."""
    *parents, last = path.split(".")
    here = root
    for part in parents:
        spelling, child = here.keys.get(plain_key(part), (part, None))
        if child is None:
            child = _Node({})
            here.keys[plain_key(part)] = (spelling, child)
        here = child
    spelling, existing = here.keys.get(plain_key(last), (last, None))
    if existing is not None:
        existing.keys.update({k: v for k, v in node.keys.items() if k not in existing.keys})
    else:
        here.keys[plain_key(last)] = (spelling, node)


def _walk(data: Any, node: _Node, root: _Node, prefix: str) -> Iterator[tuple[str, str | None]]:
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if not isinstance(key, str) or key in IGNORED:
            continue
        path = f"{prefix}.{_shown(key)}" if prefix else _shown(key)
        known = node.keys.get(plain_key(key))
        if known is None:
            yield path, _nearest(key, node, prefix, root)
            continue
        spelling, child = known
        if child is None:
            continue
        if child.items and isinstance(value, list):
            for index, item in enumerate(value):
                yield from _walk(item, child, root, f"{path}[{index}]")
                if prefix == "" and spelling == "profiles" and isinstance(item, dict):
                    yield from _profile_settings(item, root, f"{path}[{index}]")
        elif not child.items:
            yield from _walk(value, child, root, path)


def _shown(key: str) -> str:
    """A key as the message shows it: quoted when it is empty or holds spaces or control characters."""
    return key if key and key.isprintable() and " " not in key else json.dumps(key)


def _profile_settings(profile: dict[str, Any], root: _Node, prefix: str) -> Iterator[tuple[str, str | None]]:
    """A profile's ``settings`` are dotted keys of the whole configuration."""
    settings = next((v for k, v in profile.items() if plain_key(k) == "settings"), None)
    if not isinstance(settings, dict):
        return
    for dotted in settings:
        node: _Node | None = root
        parts = str(dotted).split(".")
        for depth, part in enumerate(parts):
            known = node.keys.get(plain_key(part)) if node is not None else None
            if known is None:
                if node is not None:
                    where = ".".join(parts[:depth])
                    nearest = _nearest(part, node, where, root)
                    yield f"{prefix}.settings.{_shown(str(dotted))}", nearest
                break
            node = known[1]


def _nearest(key: str, node: _Node, prefix: str, root: _Node) -> str | None:
    """The known key closest to ``key``: the same name elsewhere, else the most similar sibling."""
    elsewhere = [path for path in _paths(root, "") if plain_key(path.rsplit(".", 1)[-1]) == plain_key(key)]
    if elsewhere:
        return elsewhere[0]
    siblings = {plain_key(spelling): spelling for spelling, _ in node.keys.values()}
    if not siblings:
        return None
    best = max(siblings, key=lambda plain: difflib.SequenceMatcher(None, plain_key(key), plain).ratio())
    return f"{prefix}.{siblings[best]}" if prefix else siblings[best]


def _paths(node: _Node, prefix: str) -> Iterator[str]:
    for spelling, child in {spelling: child for spelling, child in node.keys.values()}.items():
        path = f"{prefix}.{spelling}" if prefix else spelling
        yield path
        if child is not None and not child.items:
            yield from _paths(child, path)
