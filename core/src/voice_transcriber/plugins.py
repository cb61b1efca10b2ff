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
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy
from pluggy import HookImpl

from . import hookspecs

ENTRY_POINT_GROUP = "voice_transcriber"


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be used, and why."""

    name: str
    dist: str
    version: str
    error: str

    def __str__(self) -> str:
        return f"plugin {self.name} ({self.dist} {self.version}) failed to load: {self.error}"


@dataclass(frozen=True)
class Origin:
    """Where a registered plugin comes from (empty for plugins registered in code)."""

    dist: str = ""
    version: str = ""


class PluginManager(pluggy.PluginManager):
    """pluggy's manager plus load failures, distributions, and per-plugin hook calls."""

    def __init__(self) -> None:
        super().__init__(ENTRY_POINT_GROUP)
        self.add_hookspecs(hookspecs)
        self.failures: list[PluginFailure] = []
        self.origins: dict[str, Origin] = {}
        self.tracing = False
        self._hook_errors: list[tuple[str, str, BaseException]] = []

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """pluggy's ``register``, with every plain event-hook implementation isolated.

        Event hooks are called the pluggy way (``pm.hook.NAME(...)``), so ``wrapper=True``,
        ``tryfirst`` and ``trylast`` work; an exception in one observer is kept for
        :meth:`take_hook_errors` instead of stopping the others.
        """
        plugin_name = super().register(plugin, name)
        for caller in self.get_hookcallers(plugin) or []:
            if caller.name not in hookspecs.EVENT_HOOKS:
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not (impl.hookwrapper or impl.wrapper):
                    impl.function = self._isolated(caller.name, impl.plugin_name, impl.function)
        return plugin_name

    def take_hook_errors(self) -> list[tuple[str, str, BaseException]]:
        """``(plugin, hook, error)`` for each observer that raised since the last call."""
        errors, self._hook_errors = self._hook_errors, []
        return errors

    def _isolated(self, hook: str, plugin_name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def isolated(*args: Any) -> Any:
            if self.tracing:
                sys.stderr.write(f"vt-trace: {hook} -> {plugin_name}\n")
            try:
                return function(*args)
            except Exception as exc:  # an observer's bug is reported by the caller, not propagated
                self._hook_errors.append((plugin_name, hook, exc))
                return None

        return isolated

    def describe(self, name: str) -> str:
        origin = self.origins.get(name, Origin())
        return f"{name} ({origin.dist} {origin.version})" if origin.dist else name

    def impls(self, hook: str) -> list[HookImpl]:
        """The plain implementations of ``hook`` in pluggy's call order (tryfirst/trylast honoured)."""
        return [impl for impl in reversed(getattr(self.hook, hook).get_hookimpls())
                if not (impl.hookwrapper or impl.wrapper)]

    def call_impl(self, hook: str, impl: HookImpl, **kwargs: Any) -> Any:
        """Call one implementation with the arguments it accepts (traced when tracing is on)."""
        if self.tracing:
            sys.stderr.write(f"vt-trace: {hook} -> {impl.plugin_name}\n")
        return impl.function(**{arg: kwargs[arg] for arg in impl.argnames})

    def call_each(self, hook: str, **kwargs: Any) -> Iterator[tuple[str, Any, BaseException | None]]:
        """Call every implementation of ``hook`` separately, yielding ``(plugin, result, error)``.

        Unlike ``pm.hook.NAME(...)``, one raising plugin does not stop the others.
        """
        for impl in self.impls(hook):
            try:
                result = self.call_impl(hook, impl, **kwargs)
            except Exception as exc:  # any plugin bug is reported, not propagated
                yield impl.plugin_name, None, exc
            else:
                yield impl.plugin_name, result, None

    def register_plugin(self, plugin: object, name: str, origin: Origin = Origin()) -> bool:
        """Register ``plugin``; on a bad hook record a failure and return False."""
        unknown = [attr for attr in dir(plugin) if attr.startswith("vt_") and not hasattr(hookspecs, attr)]
        if unknown:
            self.record_failure(name, origin, f"unknown hook {unknown[0]} (misspelled? see voice_transcriber.hookspecs)")
            return False
        try:
            self.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self.record_failure(name, origin, str(exc).splitlines()[0])
            return False
        self.origins[name] = origin
        return True

    def record_failure(self, name: str, origin: Origin, error: str) -> None:
        self.failures.append(PluginFailure(name, origin.dist, origin.version, error))


def get_plugin_manager(*, load_entry_points: bool = True, environ: Mapping[str, str] | None = None) -> PluginManager:
    """A fresh manager with the hookspecs and (by default) every installed plugin loaded."""
    environ = os.environ if environ is None else environ
    pm = PluginManager()
    if load_entry_points:
        for ep in _selected_entry_points(environ):
            _load(pm, ep)
    pm.tracing = bool(environ.get("VOICE_TRANSCRIBER_TRACE_PLUGINS"))
    return pm


def _selected_entry_points(environ: Mapping[str, str]) -> list[EntryPoint]:
    eps = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
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
