"""The components plugins registered, and creating them by name for a run.

The kinds of component and their base classes come from the plugin manager
(``pm.component_kinds``, declared beside the ``vt_register_*`` hooks in :mod:`.hookspecs`),
so this module sits below the component classes it stores.

A component of a deferred plugin (known from the plugin index, not imported yet) is listed by
name, config section and the section's keys; its plugin is imported when the class is first
needed (:attr:`Registered.cls`, e.g. when :meth:`Registry.create` makes one for a run).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, PluginError, VoiceTranscriberError
from .plugin_manager import Origin, PluginManager


class Registered:
    """A component class and the plugin that registered it.

    ``cls`` is a subclass of the kind's base class (:class:`~voice_transcriber.Backend` …). For a
    component of a deferred plugin it is imported on first access; until then ``config_section`` and
    ``keys`` (the section's known keys, as the plugin index holds them) describe it.
    """

    def __init__(self, cls: type | None, plugin: str, *, section: str | None = None, keys: Any = None,
                 load: Callable[[], type] | None = None) -> None:
        self._cls, self.plugin, self._section, self.keys, self._load = cls, plugin, section, keys, load

    @property
    def loaded(self) -> bool:
        return self._cls is not None

    @property
    def cls(self) -> type:
        if self._cls is None:
            assert self._load is not None
            self._cls = self._load()
        return self._cls

    @property
    def config_section(self) -> str | None:
        return self._cls.config_section if self._cls is not None else self._section

    def __repr__(self) -> str:
        return f"Registered({self._cls!r}, {self.plugin!r})"


@dataclass
class Registry:
    """Everything the installed plugins contribute, by kind and name."""

    pm: PluginManager
    components: dict[str, dict[str, Registered]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for kind in self.pm.component_kinds:
            self.components.setdefault(kind, {})

    @property
    def backends(self) -> dict[str, Registered]:
        return self.components["backend"]

    @property
    def formatters(self) -> dict[str, Registered]:
        return self.components["formatter"]

    @property
    def sinks(self) -> dict[str, Registered]:
        return self.components["sink"]

    def create(self, kind: str, name: str, ctx: Any) -> Any:
        """Instantiate component ``name`` of ``kind`` for the run ``ctx`` (a
        :class:`~voice_transcriber.RunContext`); unknown names list the installed ones."""
        found = self.components[kind].get(name)
        if found is None:
            installed = ", ".join(sorted(self.components[kind])) or "none"
            raise ConfigError(f"unknown {kind} '{name}' (installed: {installed}; see `voice-transcriber plugins`)")
        try:
            component = found.cls(ctx)
            component.plugin = self.pm.describe(found.plugin)
            return component
        except VoiceTranscriberError:
            raise
        except Exception as exc:
            raise PluginError(f"{kind} '{name}' from plugin {self.pm.describe(found.plugin)} failed to start: "
                              f"{type(exc).__name__}: {exc}") from exc

    def create_all(self, kind: str, names: Iterable[str], ctx: Any) -> list:
        return [self.create(kind, name, ctx) for name in names]

    def provided_by(self, plugin: str) -> dict[str, list[str]]:
        return {kind: sorted(n for n, r in comps.items() if r.plugin == plugin)
                for kind, comps in self.components.items()}


def collect(pm: PluginManager) -> Registry:
    """Call the ``vt_register_*`` hooks of every plugin, validating what each registers; the components of
    deferred plugins are listed from the plugin index (:class:`Registered` imports them on use)."""
    registry = _collect(pm)
    for plugin, deferred in pm.deferred.items():
        for kind, components in deferred.record.get("components", {}).items():
            for name, info in components.items():
                if kind in registry.components and name not in registry.components[kind]:
                    registry.components[kind][name] = Registered(
                        None, plugin, section=info.get("section"), keys=info.get("keys"),
                        load=functools.partial(_import, registry, kind, name, plugin))
    return registry


def _import(registry: Registry, kind: str, name: str, plugin: str) -> type:
    """The class of ``kind`` ``name`` that deferred ``plugin`` registers, importing the plugin now."""
    pm = registry.pm
    if not pm.load_deferred(plugin):
        error = next((f.error for f in reversed(pm.failures) if f.name == plugin), "it is not installed any more")
        raise PluginError(f"{kind} '{name}' cannot be used: plugin {pm.describe(plugin)} failed to load: {error}")
    found = _collect(pm, only=plugin).components[kind].get(name)
    if found is None:
        raise PluginError(f"plugin {pm.describe(plugin)} no longer registers {kind} '{name}' "
                          "(`voice-transcriber plugins` lists what it provides now)")
    return found.cls


def _collect(pm: PluginManager, only: str | None = None) -> Registry:
    registry = Registry(pm)
    for kind, base in pm.component_kinds.items():
        hook = f"vt_register_{kind}s"
        for impl in pm.impls(hook):
            plugin = impl.plugin_name
            if only is not None and plugin != only:
                continue

            def register(cls: type, _kind: str = kind, _base: type = base, _plugin: str = plugin) -> None:
                _add(registry, _kind, _base, cls, _plugin)

            try:
                pm.call_impl(hook, impl, register=register)
            except Exception as exc:
                pm.record_failure(plugin, pm.origins.get(plugin, Origin()), f"{hook} raised {type(exc).__name__}: {exc}")
    return registry


def _add(registry: Registry, kind: str, base: type, cls: type, plugin: str) -> None:
    pm = registry.pm
    if not (isinstance(cls, type) and issubclass(cls, base)) or not isinstance(getattr(cls, "name", None), str):
        raise TypeError(f"register() expects a {base.__name__} subclass with a `name`, got {cls!r}")
    existing = registry.components[kind].get(cls.name)
    if existing is not None:
        raise PluginError(f"{kind} name '{cls.name}' is already registered by plugin "
                          f"{pm.describe(existing.plugin)}; plugin {pm.describe(plugin)} cannot register it again")
    registry.components[kind][cls.name] = Registered(cls, plugin)
