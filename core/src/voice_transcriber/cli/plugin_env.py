"""The environment this command runs in, and the installer that owns it.

``voice-transcriber install``/``uninstall`` change the environment the running command lives in, with
the tool that made it, so that the tool's own upgrade keeps the plugins:

* a ``uv tool`` environment (``uv-receipt.toml`` beside ``pyvenv.cfg``): ``uv tool install`` again with
  the receipt's requirements plus ``--with PLUGIN``, which uv records in the receipt, so
  ``uv tool upgrade`` keeps it;
* a pipx venv (``pipx_metadata.json``): ``pipx inject`` / ``pipx uninject``;
* a uv project's environment (a checkout's ``.venv``: ``pyproject.toml`` beside it, made by uv):
  ``uv pip install --python`` (``uv sync --inexact`` keeps what it installs; a plain ``uv sync`` removes it);
* any other virtual environment: ``python -m pip``.

Standard library only: this module is imported when ``install`` runs, and its commands are plain argv lists.
A uv tool's receipt becomes ``uv tool install`` arguments in :mod:`.uv_receipt`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .uv_receipt import receipt_bin_dir, receipt_files, receipt_options, requirement_arg

UV_TOOL = "uv tool"
PIPX = "pipx"
UV_PROJECT = "uv project"
UV_VENV = "uv venv"
VENV = "venv"
SYSTEM = "system"


class NoInstaller(Exception):
    """No installer can change this environment; ``str`` is the one line shown (cause and fix)."""


@dataclass(frozen=True)
class Environment:
    """Where the running command lives: its kind (one of the constants above), prefix and interpreter."""

    kind: str
    prefix: Path
    python: str
    #: uv tool and pipx: the tool's / venv's name; uv project: the project directory.
    name: str = ""
    project: Path | None = None
    receipt: dict[str, Any] = field(default_factory=dict, compare=False)

    def describe(self) -> str:
        if self.kind == UV_TOOL:
            return f"the uv tool environment {self.name} ({self.prefix})"
        if self.kind == PIPX:
            return f"the pipx environment {self.name} ({self.prefix})"
        if self.kind == UV_PROJECT:
            return f"the project environment {self.prefix} (of {self.project})"
        return f"the environment {self.prefix}"


def detect(prefix: str | os.PathLike[str] | None = None, python: str | None = None) -> Environment:
    """The environment at ``prefix`` (default: this process's ``sys.prefix``)."""
    root = Path(prefix or sys.prefix)
    python = python or sys.executable
    receipt_file = root / "uv-receipt.toml"
    if receipt_file.is_file():
        import tomllib

        try:
            receipt = tomllib.loads(receipt_file.read_text(encoding="utf-8")).get("tool", {})
        except (OSError, ValueError):
            receipt = {}
        return Environment(UV_TOOL, root, python, name=root.name, receipt=receipt)
    if (root / "pipx_metadata.json").is_file() or (root.parent.name == "venvs" and "pipx" in root.parent.parent.name):
        return Environment(PIPX, root, python, name=root.name)
    if _made_by_uv(root):
        if (root.parent / "pyproject.toml").is_file():
            return Environment(UV_PROJECT, root, python, name=root.parent.name, project=root.parent)
        return Environment(UV_VENV, root, python)
    if (root / "pyvenv.cfg").is_file():
        return Environment(VENV, root, python)
    return Environment(SYSTEM, root, python)


def _made_by_uv(root: Path) -> bool:
    try:
        return any(line.startswith("uv =") for line in (root / "pyvenv.cfg").read_text().splitlines())
    except OSError:
        return False


# -- what to install: a name, a requirement, a path ---------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One PACKAGE_OR_PATH argument: what to pass to the installer and, when it can be known, its name."""

    spec: str  #: the argument as the installer gets it (a path made absolute)
    name: str | None  #: the distribution name (canonical), when it can be known without installing
    path: Path | None = None  #: a local directory or file
    editable: bool = False


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[|@|==|>=|<=|~=|!=|<|>|;|$)")


def target(arg: str, editable: bool = False) -> Target:
    """Read one argument. A path (``./x``, ``/x``, ``~/x``, ``x.whl``, or an existing file or directory),
    with extras or not (``./x[test]``), is made absolute; FileNotFoundError when it looks like one and does
    not exist. Anything else is a requirement for the installer (its name read when it has one)."""
    location, extras = arg, ""
    bracket = re.fullmatch(r"(.+?)(\[[\w.,\s-]*\])", arg)  # ./my-plugin[test]: a path with extras
    if bracket and not os.path.exists(os.path.expanduser(arg)):
        location, extras = bracket.group(1), bracket.group(2).replace(" ", "")
    expanded = os.path.expanduser(location)
    looks_like_path = (location.startswith((".", "/", "~")) or os.sep in location and "://" not in location
                       and "@" not in location or location.endswith((".whl", ".tar.gz", ".zip")) and "://" not in location)
    if os.path.exists(expanded) or looks_like_path:
        path = Path(expanded).resolve()
        if not path.exists():
            raise FileNotFoundError(f"{location}: no such file or directory")
        return Target(f"{path}{extras}", _name_of_path(path), path, editable)
    match = _NAME.match(arg)
    return Target(arg, canonical(match.group(1)) if match and "://" not in arg.split("@")[0] else None, None, editable)


def _name_of_path(path: Path) -> str | None:
    if path.is_dir():
        import tomllib

        try:
            name = tomllib.loads((path / "pyproject.toml").read_text(encoding="utf-8")).get("project", {}).get("name")
        except (OSError, ValueError):
            return None
        return canonical(name) if isinstance(name, str) else None
    if path.name.endswith(".whl"):
        return canonical(path.name.split("-")[0])
    if path.name.endswith((".tar.gz", ".zip")):  # name-version.tar.gz
        return canonical(path.name.rsplit("-", 1)[0]) if "-" in path.name else None
    return None


# -- the installers' command lines ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    """One installer run: its argv, the variables it needs, and how it is shown to the user."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    installer: str = ""
    note: str = ""  #: a warning to show before it runs (e.g. a fallback)
    #: (flag, content): requirement files the runner writes to a temporary directory and names after the flag
    files: list[tuple[str, str]] = field(default_factory=list)

    def shown(self) -> str:
        import shlex

        return " ".join(shlex.quote(a) for a in self.argv)


def find_uv() -> str | None:
    """The uv executable: ``$UV`` (set by ``uv run``), else ``uv`` on PATH."""
    candidate = os.environ.get("UV")
    if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    return shutil.which("uv")


def _has_pip(python: str) -> bool:
    try:
        return subprocess.run([python, "-c", "import pip"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def install_commands(env: Environment, targets: list[Target], *, upgrade: bool = False) -> list[Command]:
    """The commands (in order) that install ``targets`` into ``env``."""
    if env.kind == UV_TOOL:
        return [_uv_tool(env, add=targets, upgrade=upgrade)]
    if env.kind == PIPX:
        return _pipx_inject(env, targets, upgrade)
    if env.kind in (UV_PROJECT, UV_VENV):
        uv = find_uv()
        if uv:
            argv = [uv, "pip", "install", "--python", env.python]
            for t in targets:
                argv += ["--editable", t.spec] if t.editable else [t.spec]
                argv += _refresh(t, upgrade)
            return [Command(argv, installer="uv", files=_keep_own(env))]
        if _has_pip(env.python):
            return [_pip(env, targets, upgrade)]
        raise NoInstaller(f"uv made {env.describe()} but `uv` is not on PATH and the environment has no pip: "
                          "put uv on PATH (https://docs.astral.sh/uv/) and run the command again")
    if env.kind == VENV:
        if _has_pip(env.python):
            return [_pip(env, targets, upgrade)]
        uv = find_uv()
        if uv:
            return install_commands(Environment(UV_VENV, env.prefix, env.python), targets, upgrade=upgrade)
        raise NoInstaller(f"{env.describe()} has no pip and `uv` is not on PATH: add pip "
                          f"(`{env.python} -m ensurepip`) or install uv, and run the command again")
    raise NoInstaller(f"voice-transcriber runs from the system's Python ({env.prefix}), not from an environment of its "
                      "own: install it with `uv tool install` or `pipx install` (see the getting-started guide), "
                      "then add plugins with `voice-transcriber install`")


def _pipx_inject(env: Environment, targets: list[Target], upgrade: bool) -> list[Command]:
    """``pipx inject`` (a path to rebuild, or -U: ``pipx uninject`` first); pip into the pipx venv without pipx."""
    pipx = shutil.which("pipx")
    if not pipx:
        return [_pip(env, targets, upgrade, note="pipx is not on PATH, so pip installs it into the pipx "
                                                 "environment; `pipx reinstall` would drop it (`pipx inject` keeps it)")]
    home = {"PIPX_HOME": str(env.prefix.parent.parent)}
    # pipx leaves an injected package alone, and its --force reinstalls the plugin's dependencies too
    # (voice-transcriber-core, looked up on the index): a local path to rebuild, or -U, is uninjected first.
    again = [t.name for t in targets if t.name and _installed_here(env, t.name)
             and (upgrade or t.path is not None and not t.editable)]
    argv = [pipx, "inject", env.name]
    for t in targets:
        argv += ["--editable", t.spec] if t.editable else [t.spec]
    return ([Command([pipx, "uninject", env.name, *again], home, "pipx")] if again else []) + [
        Command(argv, home, "pipx")]


def _installed_here(env: Environment, name: str) -> bool:
    """Whether distribution ``name`` is installed in ``env`` (known only for this process's environment)."""
    if env.prefix != Path(sys.prefix):
        return False
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution(name)
    except PackageNotFoundError:
        return False
    return True


def _refresh(t: Target, upgrade: bool) -> list[str]:
    """uv's flags for one target: a local path is rebuilt even when its version did not change (a plugin
    author's edits), and ``-U`` upgrades a named package."""
    if not t.name:
        return []
    flags = ["--reinstall-package", t.name] if t.path is not None and not t.editable else []
    return flags + (["--upgrade-package", t.name] if upgrade else [])


def _pip(env: Environment, targets: list[Target], upgrade: bool, note: str = "") -> Command:
    argv = [env.python, "-m", "pip", "install", "--disable-pip-version-check"]
    if upgrade:
        argv.append("--upgrade")
    for t in targets:
        argv += ["--editable", t.spec] if t.editable else [t.spec]
    return Command(argv, installer="pip", note=note, files=_keep_own(env))


#: voice-transcriber's own distributions (plugins.FIRST_PARTY and the meta-distribution; this module imports
#: nothing of the package): a plugin install never replaces them (see :func:`_keep_own`).
OWN = ("voice-transcriber", "voice-transcriber-core", "voice-transcriber-backends", "voice-transcriber-formatter",
       "voice-transcriber-clipboard", "voice-transcriber-typing", "voice-transcriber-notify",
       "voice-transcriber-benchmark", "voice-transcriber-tray")


def _keep_own(env: Environment) -> list[tuple[str, str]]:
    """A constraint file pinning voice-transcriber's own distributions to the versions installed here (the
    running process is the environment's): a plugin that needs another version fails to resolve instead of
    replacing the core of a checkout with a package of the same name from an index."""
    if env.prefix != Path(sys.prefix):
        return []
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for name in OWN:
        try:
            pins.append(f"{name}=={version(name)}\n")
        except PackageNotFoundError:
            continue
    return [("--constraint", "".join(pins))] if pins else []


def uninstall_command(env: Environment, dists: list[str]) -> Command:
    """The command that removes the distributions ``dists`` from ``env``."""
    if env.kind == UV_TOOL:
        return _uv_tool(env, remove=dists)
    if env.kind == PIPX:
        pipx = shutil.which("pipx")
        if pipx:
            # uninject takes one or more packages; it also removes what only they needed
            return Command([pipx, "uninject", env.name, *dists], {"PIPX_HOME": str(env.prefix.parent.parent)}, "pipx")
        return Command([env.python, "-m", "pip", "uninstall", "--yes", *dists], installer="pip")
    if env.kind in (UV_PROJECT, UV_VENV, VENV):
        uv = find_uv()
        if env.kind != VENV and uv:
            return Command([uv, "pip", "uninstall", "--python", env.python, *dists], installer="uv")
        if _has_pip(env.python):
            return Command([env.python, "-m", "pip", "uninstall", "--yes", *dists], installer="pip")
        if uv:
            return Command([uv, "pip", "uninstall", "--python", env.python, *dists], installer="uv")
        raise NoInstaller(f"{env.describe()} has no pip and `uv` is not on PATH: put uv on PATH and run the command again")
    raise NoInstaller(f"voice-transcriber runs from the system's Python ({env.prefix}): remove the plugin with the "
                      "tool that installed it")


# -- uv tool: the receipt's requirements, plus or minus plugins ----------------------------------------------

def receipt_requirements(env: Environment) -> list[dict[str, Any]]:
    return list(env.receipt.get("requirements", []))


def _uv_tool(env: Environment, add: list[Target] = (), remove: list[str] = (), upgrade: bool = False) -> Command:
    """``uv tool install`` with everything the receipt records (the tool's own requirement first, its
    ``--with`` requirements, constraints, overrides, Python and options), plus ``add``, minus ``remove``."""
    uv = find_uv()
    if not uv:
        raise NoInstaller(f"voice-transcriber runs from {env.describe()} but `uv` is not on PATH: put uv on PATH "
                          "(it installed this tool) and run the command again")
    requirements = receipt_requirements(env)
    if not requirements:
        raise NoInstaller(f"the uv receipt of {env.describe()} lists no requirements: reinstall the tool with "
                          "`uv tool install --force ...`, then add plugins")
    main, *withs = requirements
    removed = {canonical(d) for d in remove}
    added = {t.name for t in add if t.name}
    argv = [uv, "tool", "install"]
    spec, editable = requirement_arg(main)
    argv += ["--editable", spec] if editable else [spec]
    for requirement in withs:
        name = canonical(str(requirement.get("name", "")))
        if name in removed or name in added:
            continue
        spec, editable = requirement_arg(requirement)
        argv += ["--with-editable" if editable else "--with", spec]
    for t in add:
        argv += ["--with-editable" if t.editable else "--with", t.spec]
        argv += _refresh(t, upgrade)
    if env.receipt.get("python"):
        argv += ["--python", str(env.receipt["python"])]
    options, skipped = receipt_options(env.receipt.get("options", {}))
    argv += options
    environ = {"UV_TOOL_DIR": str(env.prefix.parent)}
    bin_dir = receipt_bin_dir(env.receipt)
    if bin_dir is not None:
        environ["UV_TOOL_BIN_DIR"] = bin_dir
    note = (f"the receipt's option(s) {', '.join(skipped)} cannot be given on uv's command line and are not carried "
            "over; `uv tool install --force` with them restores them" if skipped else "")
    return Command(argv, environ, "uv", note=note, files=receipt_files(env.receipt))
