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

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import click

from ..errors import PluginError, UsageError
from .run_cmd import CliState

if TYPE_CHECKING:
    from .plugin_env import Command, Environment, Target

#: Variables that limit which plugins load: the check after installing must see every plugin.
SELECTION_VARIABLES = ("VOICE_TRANSCRIBER_PLUGINS", "VOICE_TRANSCRIBER_LOAD_PLUGINS", "VOICE_TRANSCRIBER_DISABLE_PLUGINS")


class InstallError(PluginError):
    """The installer failed; the message is one line: cause and fix."""


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
    from . import plugin_env, plugin_record

    env = plugin_env.detect()
    targets = [_target(arg, editable) for arg in packages]
    for t in targets:
        if t.name and _first_party(t.name):
            raise UsageError(f"{t.name} is part of voice-transcriber, not a plugin to install on its own: upgrade "
                             "voice-transcriber itself (e.g. `uv tool upgrade voice-transcriber`)")
    before = _loaded(state)
    what = ", ".join(t.spec for t in targets)
    for command in _command(lambda: plugin_env.install_commands(env, targets, upgrade=upgrade)):
        _say(state, f"installing {what} into {env.describe()}: {command.shown()}")
        if command.note:
            _say(state, f"note: {command.note}")
        _run(state, command, what=what)
    if env.kind == plugin_env.UV_PROJECT:
        _say(state, f"note: a plain `uv sync` in {env.project} removes what uv.lock does not name; "
                    "`uv sync --inexact` (the set-up command) keeps it")

    records, error = _records_after(env)
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
    from . import plugin_env, plugin_record

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
    installed = _installed_dists(state)
    recorded = plugin_record.here(str(env.prefix))
    dists: dict[str, tuple[str, list[str]]] = {}  # canonical dist → (shown name and version, plugin names)
    gone: list[str] = []
    for name in names:
        key = plugin_env.canonical(name)
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
    if gone:
        plugin_record.forget(gone, str(env.prefix))
        for dist in gone:
            click.echo(f"{dist} was no longer installed; forgotten")
    if not dists:
        return
    listing = "; ".join(f"{shown} (plugin {', '.join(plugins)})" for shown, plugins in dists.values())
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"uninstall asks before removing anything: pass -y to uninstall {listing} without asking")
        if not click.confirm(f"Uninstall {listing} from {env.describe()}?", default=False, err=True):
            raise click.exceptions.Abort()
    warnings = _config_still_names(state, [p for _, plugins in dists.values() for p in plugins])
    for command in _command(lambda: _uninstall_commands(env, list(dists))):
        _say(state, f"uninstalling from {env.describe()}: {command.shown()}")
        _run(state, command, what=", ".join(dists))
    plugin_record.forget(list(dists), str(env.prefix))
    for shown, _ in dists.values():
        click.echo(f"uninstalled {shown}")
    _daemon_note(state)
    for warning in warnings:
        click.echo(f"voice-transcriber: warning: {warning}", err=True)


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


def masked(text: str) -> str:
    """``text`` safe to show: a password in a URL (``https://user:TOKEN@index/...``), known secrets and
    control characters masked."""
    import re

    from ..redact import redact
    from ..safe_text import safe_text

    return safe_text(redact(re.sub(r"(?<=://)[^/@\s]+@", "****@", text)))


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


def _command(make):
    from .plugin_env import NoInstaller

    try:
        return make()
    except NoInstaller as exc:
        raise InstallError(f"no installer: {exc}") from None


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


def _run(state: CliState, command: Command, what: str) -> None:
    """Run the installer; on failure one line: the cause found in its output, and the fix."""
    import tempfile

    environ = {**os.environ, **command.env}
    argv = list(command.argv)
    with tempfile.TemporaryDirectory(prefix="voice-transcriber-install-") as folder:
        for number, (flag, content) in enumerate(command.files):
            path = os.path.join(folder, f"requirements-{number}.txt")
            with open(path, "w", encoding="utf-8") as out:
                out.write(content)
            argv += [flag, path]
        try:
            done = subprocess.run(argv, env=environ, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  errors="replace")
        except OSError as exc:
            raise InstallError(f"cannot run {argv[0]}: {exc.strerror}") from None
    output = (done.stdout or "") + (done.stderr or "")
    if state.debug:
        sys.stderr.write(masked(output) + "\n")
    if done.returncode != 0:
        raise InstallError(masked(f"{command.installer or argv[0]} failed to install {what}: {explain(output, what)}"
                                  + ("" if state.debug else " (--debug shows the installer's output)")))


def explain(output: str, what: str) -> str:
    """The cause of an installer failure in one line, from uv's or pip's output, with the fix."""
    import re

    from . import plugin_env

    text = " ".join(output.split())
    lowered = text.lower()
    if "network was disabled" in lowered or "offline" in lowered and "not found in the cache" in lowered:
        return ("offline, and it is not in the local package cache: connect to the network (or unset "
                "UV_OFFLINE), or give the path of a local wheel or directory")
    if ("not found in the package registry" in lowered or "no matching distribution found" in lowered
            or "could not find a version that satisfies" in lowered or "was not found in the provided package locations" in lowered):
        return ("package not found on the package index: check the name (plugins are usually called "
                "voice-transcriber-NAME), or give a local path")
    needed = re.search(r"depends on (voice-transcriber(?:-[a-z]+)?)([<>=!~][^\s,;]*)", text, re.IGNORECASE)
    if needed and plugin_env.canonical(needed.group(1)) in plugin_env.OWN and (
            "no solution found" in lowered or "conflict" in lowered or "resolutionimpossible" in lowered):
        from importlib.metadata import PackageNotFoundError, version

        try:
            here = f"{needed.group(1)} {version(needed.group(1))} is installed here"
        except PackageNotFoundError:
            here = f"{needed.group(1)} is not installed here"
        return (f"it needs {needed.group(1)}{needed.group(2)}, but {here}, and a plugin install never replaces "
                "voice-transcriber's own packages: upgrade voice-transcriber first, or install a release of the "
                "plugin made for this version")
    if any(s in lowered for s in ("failed to fetch", "dns error", "connection refused", "network is unreachable",
                                  "timed out", "newconnectionerror", "temporary failure in name resolution")):
        return "the package index could not be reached (network error): check the connection or proxy, then retry"
    if "failed to build" in lowered or "build backend returned an error" in lowered or "failed building wheel" in lowered:
        return f"it does not build: {_last_error(output)} (fix the plugin's pyproject.toml; --debug shows the build log)"
    if "no virtual environment found" in lowered or "externally-managed" in lowered or "externally managed" in lowered:
        return f"the environment refused it: {_last_error(output)}"
    return _last_error(output) or "the installer exited with an error"


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith(("error", "× ", "caused by", "╰─▶"))]
    chosen = errors[-1] if errors else (lines[-1] if lines else "")
    return " ".join(chosen.split())[:300]


def _loaded(state: CliState) -> dict[str, tuple[str | None, str | None]]:
    """Plugin name → (distribution, version) of every installed plugin (loaded or not), before installing."""
    from ..plugins import installed_entry_points

    return {ep.name: (ep.dist.name, ep.dist.version) if ep.dist else (None, None) for ep in installed_entry_points()}


def _installed_dists(state: CliState) -> dict[str, dict[str, Any]]:
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


def _records_after(env: Environment) -> tuple[list[dict[str, Any]] | None, str]:
    """``plugins --json`` as the environment now answers it (a new process: the one running has the old
    plugins imported), with every plugin allowed to load."""
    environ = {k: v for k, v in os.environ.items() if k not in SELECTION_VARIABLES}
    try:
        done = subprocess.run([env.python, "-m", "voice_transcriber", "plugins", "--json"], env=environ,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace", timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, str(exc)
    try:
        records = json.loads(done.stdout)
    except ValueError:
        return None, _last_error(done.stderr) or f"exit code {done.returncode}"
    return (records, "") if isinstance(records, list) else (None, "unexpected output of `plugins --json`")


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
    present = _installed_dists(state)
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
