"""``voice-transcriber plugins``: what is installed, from which distribution, providing what."""

from __future__ import annotations

import json
from typing import Any

import click

from .run_cmd import CliState


def plugin_records(state: CliState) -> list[dict[str, Any]]:
    """One record per loaded plugin and per plugin that failed to load."""
    pm, registry = state.pm, state.registry
    records: list[dict[str, Any]] = []
    for name, plugin in sorted(pm.list_name_plugin()):
        origin = pm.origins.get(name)
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        records.append({
            "name": name,
            "distribution": origin.dist if origin else None,
            "version": origin.version if origin else None,
            **{f"{kind}s": names for kind, names in registry.provided_by(name).items()},
            "hooks": hooks,
        })
    for failure in pm.failures:
        records.append({"name": failure.name, "distribution": failure.dist, "version": failure.version,
                        "error": failure.error})
    return records


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_obj
def plugins(state: CliState, as_json: bool) -> None:
    """List installed plugins, their distribution and version, and what each provides."""
    records = plugin_records(state)
    if as_json:
        click.echo(json.dumps(records, indent=2))
        return
    if not records:
        click.echo("no plugins installed")
    for record in records:
        head = f"{record['name']:<12} {record['distribution']} {record['version']}"
        if "error" in record:
            click.echo(f"{head}  FAILED: {record['error']}")
            continue
        provides = [f"{kind}: {', '.join(record[kind])}" for kind in ("backends", "formatters", "sinks") if record[kind]]
        others = [h for h in record["hooks"] if not h.startswith("vt_register_")]
        if others:
            provides.append("hooks: " + ", ".join(h.removeprefix("vt_") for h in others))
        click.echo(f"{head}  " + ("; ".join(provides) or "(nothing)"))
