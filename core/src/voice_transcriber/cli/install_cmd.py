"""``voice-transcriber install`` and ``uninstall``: plugins into (and out of) the environment this command runs in.

The installer is the one that owns that environment (:mod:`.plugin_env`): ``uv tool install --with`` for a
uv tool (recorded in uv's receipt, so ``uv tool upgrade`` keeps the plugin), ``pipx inject`` for pipx,
``uv pip install`` for a checkout's ``.venv``, pip for any other virtual environment. What was installed is
recorded (:mod:`.plugin_record`) so that ``doctor`` can say how to get a plugin back.

Exit codes: 0 done; 1 the installer failed (package not found, offline, a build error, no installer) or the
plugin installed but fails to load; 2 usage (a path that does not exist, a name that is no installed
plugin, a first-party plugin, ``uninstall`` without ``-y`` and no terminal to ask); 130 answered no.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from ..errors import UsageError
from .installed_plugins import installed_dists, selected_components
from .installer import InstallError, installer_commands, masked, plugins_after, run_installer
from .run_cmd import CliState

if TYPE_CHECKING:
    from .plugin_env import Command, Environment, Target

def _complete_paths(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """A plugin's directory or wheel: the shell completes file names."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(incomplete, type="file")]


def _complete_installed(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The third-party plugins and distributions installed (read from their metadata: nothing is imported)."""
    from ..plugins import FIRST_PARTY, installed_entry_points

    names = set()
    for ep in installed_entry_points():
        if ep.dist is not None and ep.dist.name.lower().replace("_", "-") not in FIRST_PARTY:
            names |= {ep.name, ep.dist.name}
    return sorted(name for name in names if name.startswith(incomplete))


@click.command()
@click.argument("packages", nargs=-1, required=True, metavar="PACKAGE_OR_PATH...", shell_complete=_complete_paths)
@click.option("-e", "--editable", is_flag=True, help="Install local directories in editable mode (your changes apply without reinstalling).")
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade the packages named to their newest versions.")
@click.pass_obj
def install(state: CliState, packages: tuple[str, ...], editable: bool, upgrade: bool) -> None:
    """Install plugins into the environment voice-transcriber runs in.

    PACKAGE_OR_PATH is a package name (voice-transcriber-foo, voice-transcriber-foo>=1.2), a
    requirement URL, or a local directory or wheel (./my-plugin). The installer is the one
    that made the environment: `uv tool install --with` for a uv tool (so `uv tool upgrade`
    keeps the plugin), `pipx inject` for pipx, `uv pip install` for a checkout's .venv
    (`uv sync --inexact` keeps it), pip otherwise.

    Exit 0 installed; 1 the installer failed or the plugin fails to load; 2 bad arguments.
    """
    from . import plugin_env

    env = plugin_env.detect()
    targets = [_target(arg, editable) for arg in packages]
    for t in targets:
        if t.name and _first_party(t.name):
            raise UsageError(f"{t.name} is part of voice-transcriber, not a plugin to install on its own: upgrade "
                             "voice-transcriber itself (e.g. `uv tool upgrade voice-transcriber`)")
    before = _loaded(state)
    what = ", ".join(t.spec for t in targets)
    for command in installer_commands(lambda: plugin_env.install_commands(env, targets, upgrade=upgrade)):
        _say(state, f"installing {what} into {env.describe()}: {command.shown()}")
        if command.note:
            _say(state, f"note: {command.note}")
        run_installer(command, what=what, debug=state.debug)
    if env.kind == plugin_env.UV_PROJECT:
        _say(state, f"note: a plain `uv sync` in {env.project} removes what uv.lock does not name; "
                    "`uv sync --inexact` (the set-up command) keeps it")

    records, error = plugins_after(env)
    if records is None:
        raise InstallError(masked(f"{what} is installed, but voice-transcriber no longer starts in {env.describe()}: "
                                  f"{error}; remove it with `voice-transcriber uninstall NAME` (or your installer)"))
    broken = _report(env, targets, before, records)
    _daemon_note(state)
    if broken:
        names = " ".join(sorted({r['distribution'] for r in broken}))
        raise InstallError(f"{len(broken)} plugin(s) installed but failing to load: fix the plugin, or "
                           f"`voice-transcriber uninstall {names}`")


def _daemon_note(state: CliState) -> None:
    """A running daemon keeps the plugins it imported: say so, with how to restart it."""
    try:
        from ..daemon import client
        from ..daemon.protocol import request, socket_path

        running = client.exchange(request("status"), str(socket_path()), lambda message: None) is not None
    except Exception:  # noqa: BLE001 - no runtime dir, no daemon, an old one: nothing to say
        return
    if running:
        _say(state, "note: the running daemon keeps the plugins it loaded; restart it to use this change "
                    "(`voice-transcriber daemon stop`, or `systemctl --user restart voice-transcriber`)")


def _remember(env: Environment, dist: str, entry: dict[str, Any]) -> None:
    from . import plugin_record

    try:
        plugin_record.remember(dist, entry, prefix=str(env.prefix))
    except OSError as exc:  # installed all the same; only doctor's hint about where it came from is lost
        click.echo(masked(f"voice-transcriber: warning: {dist} is installed, but it could not be recorded in "
                          f"{plugin_record.record_path()}: {exc} (doctor will not know where it came from)"), err=True)


def _report(env: Environment, targets: list[Target], before: dict[str, tuple[str | None, str | None]],
            records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Say what each third-party distribution that arrived (or was asked for) brings, remember it for
    doctor, and return the plugins among them that fail to load."""
    from . import plugin_env

    def dist_of(record: dict[str, Any]) -> str:
        return plugin_env.canonical(record.get("distribution") or "")

    asked = {t.name for t in targets if t.name}
    for name in sorted(asked - {dist_of(r) for r in records}):
        click.echo(f"voice-transcriber: warning: {name} is installed, but it registers no voice-transcriber plugin "
                   "(no entry point in the `voice_transcriber` group of its pyproject.toml)", err=True)
    arrived: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        new = (record.get("distribution"), record.get("version")) != before.get(record["name"])
        if (new or dist_of(record) in asked) and not _first_party(dist_of(record)):
            arrived.setdefault(dist_of(record), []).append(record)
    broken = []
    for dist, plugins in sorted(arrived.items()):
        for record in plugins:
            if "error" in record:
                broken.append(record)
                click.echo(masked(f"installed {record['distribution']} {record['version']}, but its plugin "
                                  f"{record['name']} fails to load: {record['error']}"))
            else:
                click.echo(masked(f"installed {record['distribution']} {record['version']}: plugin {describe_record(record)}"))
        source = next((t for t in targets if t.name == dist), targets[0] if len(targets) == 1 else None)
        _remember(env, dist, {
            "requirement": source.spec if source else dist,
            "editable": bool(source and source.editable),
            "version": plugins[0].get("version"),
            "plugins": sorted(r["name"] for r in plugins),
            "provides": {kind: sorted({n for r in plugins for n in r.get(kind, [])})
                         for kind in ("backends", "formatters", "sinks", "commands")},
        })
    if not arrived:
        click.echo(f"{', '.join(t.spec for t in targets)}: no plugin was added or changed (-U upgrades an installed one)")
    return broken


@click.command()
@click.argument("names", nargs=-1, required=True, metavar="NAME...", shell_complete=_complete_installed)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def uninstall(state: CliState, names: tuple[str, ...], yes: bool) -> None:
    """Uninstall plugins (by plugin or distribution name) from the environment voice-transcriber runs in.

    First-party plugins are part of voice-transcriber and cannot be uninstalled; skip them with
    VOICE_TRANSCRIBER_DISABLE_PLUGINS=NAME instead.

    Exit 0 uninstalled; 1 the installer failed; 2 not an installed plugin, a first-party one, or
    no -y without a terminal to ask; 130 answered no.
    """
    from . import plugin_env, plugin_record

    env = plugin_env.detect()
    dists, gone = _to_uninstall(names, installed_dists(state), plugin_record.here(str(env.prefix)))
    if gone:
        plugin_record.forget(gone, str(env.prefix))
        for dist in gone:
            click.echo(f"{dist} was no longer installed; forgotten")
    if not dists:
        return
    listing = "; ".join(f"{shown} (plugin {', '.join(plugins)})" for shown, plugins in dists.values())
    if not yes:
        _confirm(f"{listing} from {env.describe()}", listing)
    warnings = _config_still_names(state, [p for _, plugins in dists.values() for p in plugins])
    for command in installer_commands(lambda: _uninstall_commands(env, list(dists))):
        _say(state, f"uninstalling from {env.describe()}: {command.shown()}")
        run_installer(command, what=", ".join(dists), debug=state.debug)
    plugin_record.forget(list(dists), str(env.prefix))
    for shown, _ in dists.values():
        click.echo(f"uninstalled {shown}")
    _daemon_note(state)
    for warning in warnings:
        click.echo(f"voice-transcriber: warning: {warning}", err=True)


def _to_uninstall(names: tuple[str, ...], installed: dict[str, dict[str, Any]],
                  recorded: dict[str, Any]) -> tuple[dict[str, tuple[str, list[str]]], list[str]]:
    """The installed distributions ``names`` mean (canonical dist → (shown name and version, plugin names)),
    and the recorded ones no longer installed; a name of neither, or of a first-party plugin, is a usage error."""
    from .plugin_env import canonical

    dists: dict[str, tuple[str, list[str]]] = {}
    gone: list[str] = []
    for name in names:
        key = canonical(name)
        dist = next((d for d, info in installed.items() if key == d or key in info["plugins"]), None)
        if dist is None:
            if key in recorded:
                gone.append(key)
                continue
            third_party = sorted(d for d, info in installed.items() if not info["first_party"])
            raise UsageError(f"{name} is no installed plugin or plugin distribution (third-party ones installed: "
                             f"{', '.join(third_party) or 'none'}; see `voice-transcriber plugins`)")
        info = installed[dist]
        if info["first_party"]:
            skip = key if key in info["plugins"] else ",".join(info["plugins"])
            raise UsageError(f"{name} is part of voice-transcriber ({info['dist']}) and cannot be uninstalled on its own; "
                             f"to stop it loading set VOICE_TRANSCRIBER_DISABLE_PLUGINS={skip}")
        dists[dist] = (f"{info['dist']} {info['version']}".strip(), info["plugins"])
    return dists, gone


def _confirm(question: str, listing: str) -> None:
    """Ask whether to uninstall ``question``; no terminal to ask is a usage error, no an abort."""
    if not sys.stdin.isatty():
        raise UsageError(f"uninstall asks before removing anything: pass -y to uninstall {listing} without asking")
    if not click.confirm(f"Uninstall {question}?", default=False, err=True):
        raise click.exceptions.Abort()


COMMANDS = [install, uninstall]


# -- helpers -------------------------------------------------------------------------------------------------

def describe_record(record: dict[str, Any]) -> str:
    """``shout (formatter shout; command shout-test)``: a plugin and what it provides."""
    provides = [f"{kind[:-1]} {', '.join(record[kind])}" for kind in ("backends", "formatters", "sinks", "commands")
                if record.get(kind)]
    return f"{record['name']} ({'; '.join(provides)})" if provides else f"{record['name']} (hooks only)"


def _say(state: CliState, line: str) -> None:
    if not state.quiet:
        click.echo(masked(line), err=True)


def _target(arg: str, editable: bool) -> Target:
    from . import plugin_env

    try:
        t = plugin_env.target(arg, editable)
    except FileNotFoundError as exc:
        raise UsageError(f"{exc} (give a package name, or the path of a plugin's directory or wheel)") from None
    if editable and (t.path is None or not t.path.is_dir()):
        raise UsageError(f"-e installs a local directory in editable mode; {arg} is not one "
                         "(give the plugin project's directory, e.g. -e ./my-plugin)")
    return t


def _first_party(name: str) -> bool:
    from ..plugins import FIRST_PARTY

    return name in FIRST_PARTY or name == "voice-transcriber"


def _uninstall_commands(env: Environment, dists: list[str]) -> list[Command]:
    """A uv tool: the plugins its receipt names go by reinstalling without them; others with ``uv pip``."""
    from . import plugin_env

    if env.kind != plugin_env.UV_TOOL:
        return [plugin_env.uninstall_command(env, dists)]
    in_receipt = {plugin_env.canonical(str(r.get("name", ""))) for r in plugin_env.receipt_requirements(env)[1:]}
    commands = []
    if any(d in in_receipt for d in dists):
        commands.append(plugin_env.uninstall_command(env, [d for d in dists if d in in_receipt]))
    others = [d for d in dists if d not in in_receipt]
    if others:
        uv = plugin_env.find_uv()
        if not uv:
            raise plugin_env.NoInstaller("`uv` is not on PATH: put uv on PATH (it installed this tool) and run the command again")
        commands.append(plugin_env.Command([uv, "pip", "uninstall", "--python", env.python, *others], installer="uv"))
    return commands


def _loaded(state: CliState) -> dict[str, tuple[str | None, str | None]]:
    """Plugin name → (distribution, version) of every installed plugin (loaded or not), before installing."""
    from ..plugins import installed_entry_points

    return {ep.name: (ep.dist.name, ep.dist.version) if ep.dist else (None, None) for ep in installed_entry_points()}


def _config_still_names(state: CliState, plugins: list[str]) -> list[str]:
    """Warnings for components the config selects that the plugins about to go provide."""
    try:
        settings = state.settings()
        selected = selected_components(settings)
        registry = state.registry
    except Exception:  # noqa: BLE001 - a broken config is doctor's business, not uninstall's
        return []
    warnings = []
    for kind, names in selected.items():
        for name in names:
            found = registry.components[kind].get(name)
            if found is not None and found.plugin in plugins:
                warnings.append(f"the config still names {kind} '{name}' (from plugin {found.plugin}): "
                                f"change it (`voice-transcriber config show` shows where it is set)")
    return warnings


