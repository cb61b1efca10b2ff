"""Building the plugin manager and loading plugins from the ``voice_transcriber`` entry points.

A plugin that fails to import, or implements a hook wrongly, is recorded as a
:class:`PluginFailure` and skipped; the other plugins keep working.

Environment: ``VOICE_TRANSCRIBER_PLUGINS=a,b`` loads the first-party plugins (:data:`FIRST_PARTY`)
and only the third-party plugins named (by entry-point or distribution name; empty: none of them),
``VOICE_TRANSCRIBER_LOAD_PLUGINS=a,b`` loads only those entry points, first-party ones included (empty
loads none), ``VOICE_TRANSCRIBER_DISABLE_PLUGINS=a,b`` skips some, and
``VOICE_TRANSCRIBER_TRACE_PLUGINS=1`` prints every hook call to stderr.

Given the plugin index (:mod:`voice_transcriber.plugin_index`), :func:`get_plugin_manager` imports no
plugin at start: each is *deferred*, known by what the index says it provides, and imported when that is
used: one of its components or commands, or a hook it implements when that hook is called (an event
hook as its event fires, ``vt_active_window`` when a profile asks). ``history`` or ``config path`` then
import no plugin, and a file transcribed to stdout not the clipboard plugin, which only watches
recordings start.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import hookspecs
from .plugin_manager import Deferred, Origin, PluginFailure, PluginManager
from .registry import Registry, collect

if TYPE_CHECKING:  # importlib.metadata loads when the plugins do: `--help` reads no distribution metadata
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "voice_transcriber"
#: The distributions of this project. ``VOICE_TRANSCRIBER_PLUGINS`` never filters their plugins out.
FIRST_PARTY = frozenset({
    "voice-transcriber-core", "voice-transcriber-backends", "voice-transcriber-formatter",
    "voice-transcriber-clipboard", "voice-transcriber-typing", "voice-transcriber-notify",
    "voice-transcriber-benchmark", "voice-transcriber-tray",
})
def get_plugin_manager(*, load_entry_points: bool = True, environ: Mapping[str, str] | None = None,
                       index: Mapping[str, Any] | None = None) -> PluginManager:
    """A fresh manager with the hookspecs and (by default) every installed plugin loaded.

    With ``index`` (a valid plugin index, :func:`voice_transcriber.plugin_index.read`), every plugin is
    deferred: imported when one of its components, commands or hooks is used (importlib.metadata is not
    needed either: the index names each plugin's module)."""
    environ = os.environ if environ is None else environ
    pm = PluginManager(hookspecs)
    if load_entry_points and index is not None:
        pm.indexed = dict(index["plugins"])
        for name, record in sorted(index["plugins"].items()):
            origin = Origin(record.get("dist", ""), record.get("version", ""))
            pm.defer(name, Deferred(origin, record, functools.partial(_load_target, pm, name, record["value"], origin)))
    elif load_entry_points:
        for ep in _selected_entry_points(environ):
            _load(pm, ep)
        pm.warnings.extend(_unmatched_names(environ))
    pm.tracing = bool(environ.get("VOICE_TRANSCRIBER_TRACE_PLUGINS"))
    return pm


@functools.cache
def installed_entry_points() -> tuple[EntryPoint, ...]:
    """Every entry point of the ``voice_transcriber`` group, by name; read once per process."""
    from importlib.metadata import entry_points

    return tuple(sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name))


def canonical(name: str) -> str:
    """A distribution or plugin name compared the PEP 503 way (``Foo_Bar`` = ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def _dist_name(ep: EntryPoint) -> str:
    return canonical(ep.dist.name) if ep.dist is not None else ""


def _unmatched_names(environ: Mapping[str, str]) -> list[str]:
    """A warning for each name in ``VOICE_TRANSCRIBER_PLUGINS`` that is no installed plugin or distribution
    (a typo there would otherwise leave the plugin out without a word)."""
    known = {canonical(ep.name) for ep in installed_entry_points()} | {_dist_name(ep) for ep in installed_entry_points()}
    names = [n.strip() for n in environ.get("VOICE_TRANSCRIBER_PLUGINS", "").split(",") if n.strip()]
    return [f"VOICE_TRANSCRIBER_PLUGINS names {name!r}, which is no installed plugin or distribution "
            "(see `voice-transcriber plugins`)" for name in names if canonical(name) not in known]


def _selected_entry_points(environ: Mapping[str, str]) -> list[EntryPoint]:
    eps = list(installed_entry_points())
    allowed = environ.get("VOICE_TRANSCRIBER_PLUGINS")
    if allowed is not None:
        wanted = {canonical(n) for n in allowed.split(",") if n.strip()}
        eps = [ep for ep in eps
               if _dist_name(ep) in FIRST_PARTY or canonical(ep.name) in wanted or _dist_name(ep) in wanted]
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


def _load_target(pm: PluginManager, name: str, target: str, origin: Origin) -> None:
    """Import the object an entry point names (``module`` or ``module:attribute``) and register it, as
    ``EntryPoint.load`` would; a failure is recorded like one at start."""
    import importlib

    module, _, attributes = target.split("[")[0].partition(":")  # "module:attr [extra]"
    try:
        plugin = importlib.import_module(module.strip())
        for attribute in filter(None, attributes.strip().split(".")):
            plugin = getattr(plugin, attribute)
    except Exception as exc:  # broken third-party code must not take the CLI down
        pm.record_failure(name, origin, f"{type(exc).__name__}: {exc}")
        return
    pm.register_plugin(plugin, name, origin)


def fix_command(failure: PluginFailure) -> str:
    """How to get rid of a broken plugin: reinstall a first-party distribution, uninstall a third-party one
    (``voice-transcriber uninstall`` uses the installer that owns this environment), or skip it for now."""
    skip = f"VOICE_TRANSCRIBER_DISABLE_PLUGINS={failure.name}"
    if not failure.dist:
        return f"skip it with {skip}"
    if canonical(failure.dist) in FIRST_PARTY:
        return f"reinstall voice-transcriber (its {failure.dist} is broken), or skip it with {skip}"
    return f"remove it: `voice-transcriber uninstall {canonical(failure.dist)}`, or skip it with {skip}"


def failure_line(failure: PluginFailure) -> str:
    """The one line a broken plugin costs: which plugin, from which distribution, why, and the fix."""
    error = " ".join(failure.error.split())
    origin = f" (distribution {failure.dist} {failure.version})" if failure.dist else ""
    return f"plugin {failure.name}{origin} is broken and was skipped: {error}; {fix_command(failure)}"


def load_registry() -> Registry:
    """The default registry: every installed plugin (honouring the plugin env variables)."""
    return collect(get_plugin_manager())
