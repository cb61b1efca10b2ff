"""Building the plugin manager and loading plugins from the ``voice_transcriber`` entry points.

A plugin that fails to import, or implements a hook wrongly, is recorded as a
:class:`PluginFailure` and skipped; the other plugins keep working.

Environment: ``VOICE_TRANSCRIBER_LOAD_PLUGINS=a,b`` loads only those entry points (empty
loads none), ``VOICE_TRANSCRIBER_DISABLE_PLUGINS=a,b`` skips some, and
``VOICE_TRANSCRIBER_TRACE_PLUGINS=1`` prints every hook call to stderr.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import hookspecs
from .plugin_manager import Origin, PluginManager
from .registry import Registry, collect

if TYPE_CHECKING:  # importlib.metadata loads when the plugins do: `--help` reads no distribution metadata
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "voice_transcriber"


def get_plugin_manager(*, load_entry_points: bool = True, environ: Mapping[str, str] | None = None) -> PluginManager:
    """A fresh manager with the hookspecs and (by default) every installed plugin loaded."""
    environ = os.environ if environ is None else environ
    pm = PluginManager(hookspecs)
    if load_entry_points:
        for ep in _selected_entry_points(environ):
            _load(pm, ep)
    pm.tracing = bool(environ.get("VOICE_TRANSCRIBER_TRACE_PLUGINS"))
    return pm


@functools.cache
def installed_entry_points() -> tuple[EntryPoint, ...]:
    """Every entry point of the ``voice_transcriber`` group, by name; read once per process."""
    from importlib.metadata import entry_points

    return tuple(sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name))


def _selected_entry_points(environ: Mapping[str, str]) -> list[EntryPoint]:
    eps = list(installed_entry_points())
    only = environ.get("VOICE_TRANSCRIBER_LOAD_PLUGINS")
    if only is not None:
        wanted = {n.strip() for n in only.split(",") if n.strip()}
        eps = [ep for ep in eps if ep.name in wanted]
    skipped = {n.strip() for n in environ.get("VOICE_TRANSCRIBER_DISABLE_PLUGINS", "").split(",")}
    return [ep for ep in eps if ep.name not in skipped]


def _load(pm: PluginManager, ep: EntryPoint) -> None:
    origin = Origin(ep.dist.name, ep.dist.version) if ep.dist else Origin()
    if pm.has_plugin(ep.name):
        pm.record_failure(ep.name, origin, f"duplicate plugin name (already loaded from {pm.describe(ep.name)})")
        return
    try:
        plugin = ep.load()
    except Exception as exc:  # broken third-party code must not take the CLI down
        pm.record_failure(ep.name, origin, f"{type(exc).__name__}: {exc}")
        return
    pm.register_plugin(plugin, ep.name, origin)


def load_registry() -> Registry:
    """The default registry: every installed plugin (honouring the plugin env variables)."""
    return collect(get_plugin_manager())
