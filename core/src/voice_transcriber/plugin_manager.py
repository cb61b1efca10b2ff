"""The plugin manager: pluggy's, plus load failures, the plugins' distributions, isolated event hooks.

It knows nothing of the hooks themselves: :func:`voice_transcriber.plugins.get_plugin_manager`
gives it the hookspecs module (:mod:`voice_transcriber.hookspecs`) and loads the plugins.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pluggy
from pluggy import HookImpl

#: pluggy's project name: the markers in :mod:`voice_transcriber.hookspecs` carry it.
PROJECT_NAME = "voice_transcriber"


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


@dataclass(frozen=True)
class Deferred:
    """An installed plugin not imported yet: what the plugin index says it provides, and how to load it."""

    origin: Origin
    #: The plugin's record in the index: ``hooks``, ``components``, ``settings``, ``commands``.
    record: dict[str, Any]
    #: Imports the plugin and registers it with the manager (a failure is recorded as for any plugin).
    load: Callable[[], None]


class PluginManager(pluggy.PluginManager):
    """pluggy's manager plus load failures, distributions, and per-plugin hook calls."""

    def __init__(self, specs: ModuleType) -> None:
        super().__init__(PROJECT_NAME)
        self.specs = specs
        self.add_hookspecs(specs)
        #: Kind → base class of the components the ``vt_register_*`` hooks accept (``backend`` → Backend).
        self.component_kinds: dict[str, type] = dict(specs.COMPONENT_KINDS)
        self.failures: list[PluginFailure] = []
        #: Called with each failure as it is recorded (the CLI prints one line per broken plugin).
        self.on_failure: Callable[[PluginFailure], None] | None = None
        #: Problems with the plugin selection itself (a name in VOICE_TRANSCRIBER_PLUGINS that matches nothing).
        self.warnings: list[str] = []
        self.origins: dict[str, Origin] = {}
        #: Plugin name → the names of the commands its ``vt_register_commands`` added (shown by ``plugins``).
        self.commands: dict[str, list[str]] = {}
        #: Plugin name → a plugin known from the plugin index and not imported yet (see :meth:`defer`).
        self.deferred: dict[str, Deferred] = {}
        #: Plugin name → its record in the plugin index, when the manager was built from one (all plugins).
        self.indexed: dict[str, dict[str, Any]] = {}
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
            if caller.name not in self.specs.EVENT_HOOKS:
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

    def call_event(self, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` the pluggy way (``pm.hook.NAME(...)``, as :meth:`register` describes), the deferred
        plugins that implement it imported first: an event hook's plugin is imported as its event first fires."""
        self.load_implementing(hook)
        return getattr(self.hook, hook)(**kwargs)

    def call_impl(self, hook: str, impl: HookImpl, **kwargs: Any) -> Any:
        """Call one implementation with the arguments it accepts (traced when tracing is on)."""
        if self.tracing:
            sys.stderr.write(f"vt-trace: {hook} -> {impl.plugin_name}\n")
        return impl.function(**{arg: kwargs[arg] for arg in impl.argnames})

    def call_each(self, hook: str, **kwargs: Any) -> Iterator[tuple[str, Any, BaseException | None]]:
        """Call every implementation of ``hook`` separately, yielding ``(plugin, result, error)``.

        Unlike ``pm.hook.NAME(...)``, one raising plugin does not stop the others. Deferred plugins
        that implement ``hook`` are imported first.
        """
        self.load_implementing(hook)
        return self.call_each_loaded(hook, **kwargs)

    def call_each_loaded(self, hook: str, **kwargs: Any) -> Iterator[tuple[str, Any, BaseException | None]]:
        """:meth:`call_each` over the plugins imported so far (the deferred ones stay as they are)."""
        for impl in self.impls(hook):
            try:
                result = self.call_impl(hook, impl, **kwargs)
            except Exception as exc:  # any plugin bug is reported, not propagated
                yield impl.plugin_name, None, exc
            else:
                yield impl.plugin_name, result, None

    # --- plugins known from the plugin index, imported when what they provide is used ---------------

    def defer(self, name: str, deferred: Deferred) -> None:
        """Know plugin ``name`` from the plugin index without importing it: its components are listed by
        the registry and imported when created, its commands when named, its hooks when called through
        :meth:`call_each` or :meth:`call_event` (:mod:`voice_transcriber.plugin_index`)."""
        self.deferred[name] = deferred

    def load_deferred(self, name: str) -> bool:
        """Import deferred plugin ``name`` now (once); True when it is registered."""
        deferred = self.deferred.pop(name, None)
        if deferred is not None:
            deferred.load()
        return self.has_plugin(name)

    def load_implementing(self, hook: str) -> None:
        """Import every deferred plugin that implements ``hook``."""
        for name, deferred in list(self.deferred.items()):
            if hook in deferred.record.get("hooks", ()):
                self.load_deferred(name)

    def load_all(self) -> None:
        """Import every deferred plugin."""
        for name in list(self.deferred):
            self.load_deferred(name)

    def list_name_plugin(self) -> list[tuple[str, Any]]:
        """pluggy's ``(name, plugin)`` list, deferred plugins imported first: it means every plugin."""
        self.load_all()
        return super().list_name_plugin()

    def register_plugin(self, plugin: object, name: str, origin: Origin = Origin()) -> bool:
        """Register ``plugin``; on a bad hook record a failure and return False."""
        unknown = [attr for attr in dir(plugin) if attr.startswith("vt_") and not hasattr(self.specs, attr)]
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
        failure = PluginFailure(name, origin.dist, origin.version, error)
        self.failures.append(failure)
        if self.on_failure is not None:
            self.on_failure(failure)
