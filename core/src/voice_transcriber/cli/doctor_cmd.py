"""``voice-transcriber doctor``: check config, plugins and the selected components."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..errors import VoiceTranscriberError
from .run_cmd import CliState, build_plan

if TYPE_CHECKING:
    from ..context import Check


def run_checks(state: CliState) -> list[Check]:
    from ..context import Check

    checks: list[Check] = []
    try:
        settings = state.settings()
    except VoiceTranscriberError as exc:
        return [Check("config", False, str(exc), "fix the file, or `voice-transcriber config init --force`")]
    checks.append(Check("config", True, settings.source))
    checks.append(microphone_check(settings.input.device))
    registry = state.registry
    from ..plugins import fix_command

    for failure in state.pm.failures:
        checks.append(Check(f"plugin {failure.name}", False, str(failure), fix_command(failure)))
    from .installed_plugins import missing_plugin_checks

    missing = missing_plugin_checks(state, settings)
    checks.extend(missing)
    ctx = state.context(settings)
    try:
        plan = build_plan(registry, ctx)
    except VoiceTranscriberError as exc:
        if not missing:
            checks.append(Check("components", False, str(exc), "see `voice-transcriber plugins` and `config show`"))
        return checks
    for kind, components in (("backend", plan.backends), ("formatter", plan.formatters), ("sink", plan.sinks)):
        for component in components:
            checks.append(Check(f"{kind} {component.name}", True, f"plugin {component.plugin}"))
            checks.extend(_component_checks(component))
    for plugin, result, exc in state.pm.call_each("vt_doctor_checks", ctx=ctx):
        if exc is not None:
            checks.append(Check(f"plugin {plugin}", False, f"doctor hook crashed: {type(exc).__name__}: {exc}",
                                "report it to the plugin's author"))
        checks.extend(result or [])
    return checks


def microphone_check(device: str | int | None) -> Check:
    from ..context import Check

    """The microphone recording would use (``input.device``, else the system default)."""
    from ..capture.microphone import resolve_device

    try:
        info = resolve_device(device)
    except VoiceTranscriberError as exc:
        return Check("microphone", False, str(exc), "see `voice-transcriber devices`; set input.device or --device")
    return Check("microphone", True, f"{info['name']} ({int(info['default_samplerate'])} Hz default rate)")


def _component_checks(component) -> list[Check]:
    try:
        return list(component.checks())
    except Exception as exc:
        return [Check(f"{component.name}", False, f"check crashed: {type(exc).__name__}: {exc}", "report it to the plugin's author")]


@click.command()
@click.pass_obj
def doctor(state: CliState) -> None:
    """Check the setup; each line is ok or FAIL with a fix. Exit 1 when any check fails."""
    checks = run_checks(state)
    for check in checks:
        click.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        if not check.ok and check.fix:
            click.echo(f"      fix: {check.fix}")
    if not all(check.ok for check in checks):
        raise click.exceptions.Exit(1)
