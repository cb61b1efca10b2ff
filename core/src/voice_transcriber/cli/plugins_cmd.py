"""``voice-transcriber plugins``: what is installed, from which distribution, providing what."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from .run_cmd import CliState

#: What a plugin can provide, in the order ``plugins`` shows it.
PROVIDES = ("backends", "formatters", "sinks", "commands", "doctor_checks")


def plugin_records(state: CliState) -> list[dict[str, Any]]:
    """One record per loaded plugin and per plugin that failed to load: its distribution and version,
    the hooks it implements, and what it provides (components, commands, doctor checks)."""
    pm, registry = state.pm, state.registry
    records: list[dict[str, Any]] = []
    for name, plugin in sorted(pm.list_name_plugin()):
        origin = pm.origins.get(name)
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        components = registry.provided_by(name)
        records.append({
            "name": name,
            "distribution": origin.dist if origin else None,
            "version": origin.version if origin else None,
            **{f"{kind}s": names for kind, names in components.items()},
            "commands": pm.commands.get(name, []),
            "doctor_checks": doctor_checks(state, name, hooks, components),
            "hooks": hooks,
        })
    for failure in pm.failures:
        records.append({"name": failure.name, "distribution": failure.dist, "version": failure.version,
                        "error": failure.error})
    return records


def doctor_checks(state: CliState, plugin: str, hooks: list[str], components: dict[str, list[str]]) -> list[str]:
    """Where the plugin's lines in ``doctor`` come from: its own ``vt_doctor_checks`` hook ("own checks")
    and each component of it with a ``checks()`` method ("backend local"). Nothing is run."""
    found = ["own checks"] if "vt_doctor_checks" in hooks else []
    for kind, names in components.items():
        base = state.pm.component_kinds[kind]
        found += [f"{kind} {name}" for name in names
                  if state.registry.components[kind][name].cls.checks is not base.checks]
    return found


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins: distribution, version, hooks, and what each provides.

    `plugins new NAME --kind KIND` writes a new plugin project."""
    if ctx.invoked_subcommand is not None:
        return
    records = plugin_records(ctx.obj)
    if as_json:
        click.echo(json.dumps(records, indent=2))
        return
    if not records:
        click.echo("no plugins installed")
    blocks = []
    for record in records:
        head = f"{record['name']} ({record['distribution'] or 'registered in code'} {record['version'] or ''}".rstrip() + ")"
        if "error" in record:
            blocks.append(f"{head}\n  FAILED: {record['error']}")
            continue
        lines = [f"  {kind.replace('_', ' ')}: {', '.join(record[kind])}" for kind in PROVIDES if record[kind]]
        lines.append("  hooks: " + (", ".join(h.removeprefix("vt_") for h in record["hooks"]) or "none"))
        blocks.append("\n".join([head, *lines]))
    click.echo("\n\n".join(blocks))


@plugins.command("new")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["backend", "formatter", "sink"]),
              help="What the plugin provides.")
@click.option("--directory", "-d", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Where to write the project (default: ./NAME).")
@click.pass_context
def new(ctx: click.Context, name: str, kind: str, directory: Path | None) -> None:
    """Write a new plugin project NAME: pyproject.toml with the entry point, a working KIND, README, a test.

    Then, in its directory: install it (its README says how), and `voice-transcriber plugins` lists it."""
    from ..errors import UsageError
    from . import scaffold

    problem = scaffold.check_name(name)
    if problem:
        raise UsageError(problem)
    state: CliState = ctx.obj
    taken = {plugin for plugin, _ in state.pm.list_name_plugin()} | {f.name for f in state.pm.failures}
    if name in taken or name in state.registry.components[kind]:
        raise UsageError(f"a {kind} or plugin named {name!r} is installed already: choose another NAME")
    target = directory if directory is not None else Path(name)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} exists and is not empty: choose another NAME or --directory")
    written = scaffold.write(target, scaffold.files(scaffold.Names(name, kind)))
    click.echo(f"wrote the {kind} plugin {name} in {target}/:")
    for path in written:
        click.echo(f"  {path.relative_to(target)}")
    click.echo(f"next: cd {shlex.quote(str(target))} && {scaffold.INSTALL} && voice-transcriber plugins test  "
               "(its README.md says more)")


@plugins.command("test", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED, metavar="[PYTEST ARGS]...")
def test(pytest_args: tuple[str, ...]) -> None:
    """Run pytest in the environment voice-transcriber runs in: a plugin's tests, in its directory.

    That environment is the one `install` puts plugins in (a uv tool's or pipx's is hidden otherwise);
    arguments go to pytest. Exits with pytest's exit code."""
    import importlib.util
    import subprocess

    from ..errors import UsageError

    if importlib.util.find_spec("pytest") is None:
        raise UsageError("pytest is not installed where voice-transcriber runs: install your plugin with its test "
                         "extra (`voice-transcriber install -e '.[test]'` in its directory), or `voice-transcriber install pytest`")
    sys.stdout.flush()
    raise SystemExit(subprocess.call([sys.executable, "-m", "pytest", *pytest_args]))
