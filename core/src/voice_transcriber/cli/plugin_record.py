"""What ``voice-transcriber install`` installed, where, from what, providing what.

Kept in ``$XDG_STATE_HOME/voice-transcriber/installed-plugins.json``, by environment (its prefix), then by
distribution: the argument it was installed from (a path made absolute), whether editable, its version,
and the plugins and components it brought. ``doctor`` reads it to say how to get back a plugin that
disappeared (a plain ``uv sync`` in a checkout removes what the lock file does not name) and which
distribution provided a component the config names. Nothing here is needed to run: a missing or
damaged file is an empty record.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

FILE = "installed-plugins.json"


def record_path() -> Path:
    from xdg_base_dirs import xdg_state_home

    return xdg_state_home() / "voice-transcriber" / FILE


def load() -> dict[str, dict[str, dict[str, Any]]]:
    """Environment prefix → distribution (canonical name) → entry."""
    try:
        data = json.loads(record_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    environments = data.get("environments") if isinstance(data, dict) else None
    if not isinstance(environments, dict):
        return {}
    return {prefix: dists for prefix, dists in environments.items() if isinstance(dists, dict)}


def _save(environments: dict[str, dict[str, dict[str, Any]]]) -> None:
    from ..files import write_private_atomic

    record = {"environments": {p: d for p, d in environments.items() if d}}
    write_private_atomic(record_path(), json.dumps(record, indent=2, sort_keys=True))


def remember(dist: str, entry: dict[str, Any], prefix: str | None = None) -> None:
    environments = load()
    environments.setdefault(prefix or sys.prefix, {})[dist] = entry
    _save(environments)


def forget(dists: list[str], prefix: str | None = None) -> None:
    """Drop ``dists`` from this environment's record (a record that cannot be written is left as it is)."""
    environments = load()
    mine = environments.get(prefix or sys.prefix, {})
    if any(d in mine for d in dists):
        for dist in dists:
            mine.pop(dist, None)
        try:
            _save(environments)
        except OSError:
            pass


def here(prefix: str | None = None) -> dict[str, dict[str, Any]]:
    """The distributions installed into this environment (``sys.prefix``) with ``voice-transcriber install``."""
    return load().get(prefix or sys.prefix, {})


def provider(kind: str, name: str, prefix: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """The recorded distribution that provided component ``name`` of ``kind`` (this environment first)."""
    environments = load()
    prefix = prefix or sys.prefix
    ordered = [environments.get(prefix, {})] + [d for p, d in environments.items() if p != prefix]
    for dists in ordered:
        for dist, entry in dists.items():
            provides = entry.get("provides", {})
            if isinstance(provides, dict) and name in provides.get(f"{kind}s", []):
                return dist, entry
    return None


def install_command(entry: dict[str, Any], dist: str) -> str:
    """``voice-transcriber install ...`` that installs the recorded distribution again."""
    import shlex

    requirement = entry.get("requirement") or dist
    return "voice-transcriber install " + ("-e " if entry.get("editable") else "") + shlex.quote(str(requirement))


def reinstall_hint(registry: Any, settings: Any) -> str | None:
    """For the first component the config names that no plugin registered: the recorded distribution that
    provided it and the command that installs it again (None when the record does not know it)."""
    chosen = (("backend", settings.transcription.chain()),
              ("formatter", settings.formatter.chain if settings.formatter_enabled else []),
              ("sink", settings.output.sinks))
    for kind, names in chosen:
        for name in names:
            if name in registry.components[kind]:
                continue
            found = provider(kind, name)
            if found is not None:
                dist, entry = found
                return f"it came from {dist}, which is no longer installed: `{install_command(entry, dist)}`"
            return None
    return None
