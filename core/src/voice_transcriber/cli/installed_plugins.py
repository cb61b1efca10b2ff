"""The plugins installed here and the components the configuration selects, and doctor's lines for what is missing.

``uninstall`` finds what a name means in :func:`installed_dists`; ``doctor`` reports, with
:func:`missing_plugin_checks`, a component the config names that no plugin provides and a plugin installed
with ``install`` that left the environment, each with the command that brings it back.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .installer import SELECTION_VARIABLES

if TYPE_CHECKING:
    from .run_cmd import CliState


def installed_dists(state: CliState) -> dict[str, dict[str, Any]]:
    """Every distribution that brings a plugin here (loaded or not, whatever VOICE_TRANSCRIBER_PLUGINS says):
    canonical name → its name, version, plugin names (canonical) and whether it is first-party."""
    from ..plugins import FIRST_PARTY, installed_entry_points
    from .plugin_env import canonical

    dists: dict[str, dict[str, Any]] = {}
    for ep in installed_entry_points():
        if ep.dist is None:
            continue
        key = canonical(ep.dist.name)
        info = dists.setdefault(key, {"dist": ep.dist.name, "version": ep.dist.version, "plugins": [],
                                      "first_party": key in FIRST_PARTY or key == "voice-transcriber"})
        info["plugins"].append(canonical(ep.name))
    return dists


def missing_plugin_checks(state: CliState, settings: Any) -> list[Any]:
    """doctor's lines for components the config names that no loaded plugin provides, and for plugins
    installed with ``install`` that left this environment; each with the command that brings it back."""
    from ..context import Check
    from . import plugin_record

    checks = []
    registry = state.registry
    for kind, names in selected_components(settings).items():
        for name in names:
            if name in registry.components[kind]:
                continue
            found = plugin_record.provider(kind, name)
            if found is not None:
                dist, entry = found
                checks.append(Check(f"{kind} {name}", False,
                                    f"the config names it, but its plugin is not installed (it came from {dist})",
                                    f"`{plugin_record.install_command(entry, dist)}`, or take '{name}' out of the config"))
                continue
            known = ", ".join(sorted(registry.components[kind])) or "none"
            why = ""
            if state.pm.failures:
                why = "; a broken plugin may be the one (see its line)"
            elif any(os.environ.get(v) is not None for v in SELECTION_VARIABLES):
                why = f"; {'/'.join(v for v in SELECTION_VARIABLES if os.environ.get(v) is not None)} keeps some plugins from loading"
            checks.append(Check(f"{kind} {name}", False,
                                f"the config names it, but no installed plugin provides it (installed {kind}s: {known}){why}",
                                "install the plugin that provides it (`voice-transcriber install PACKAGE_OR_PATH`), "
                                "or change the config (`voice-transcriber config show` says where it is set)"))
    present = installed_dists(state)
    named = {check.name for check in checks}
    for dist, entry in sorted(plugin_record.here().items()):
        if dist in present or any(dist in check.detail for check in checks if check.name in named):
            continue
        checks.append(Check(f"plugin {dist}", False,
                            "installed with `voice-transcriber install`, but no longer in this environment (in a "
                            "checkout, a plain `uv sync` removes what uv.lock does not name; `uv sync --inexact` keeps it)",
                            f"`{plugin_record.install_command(entry, dist)}`, or forget it: `voice-transcriber uninstall {dist}`"))
    return checks


def selected_components(settings: Any) -> dict[str, list[str]]:
    """The component names the configuration selects, by kind (profiles included)."""
    selected = {
        "backend": list(settings.transcription.chain()),
        "formatter": list(settings.formatter.chain) if settings.formatter_enabled else [],
        "sink": list(settings.output.sinks),
    }
    try:
        from ..profiles import load_profiles

        profiles = load_profiles(settings)
    except Exception:  # noqa: BLE001 - a bad profile is reported by the config check
        profiles = []
    for profile in profiles:
        backend = profile.backend
        selected["backend"] += [backend] if isinstance(backend, str) else list(backend or [])
        selected["formatter"] += list(profile.formatters or [])
        selected["sink"] += list(profile.sinks or [])
    return {kind: list(dict.fromkeys(names)) for kind, names in selected.items()}
