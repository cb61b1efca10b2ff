"""voice-transcriber as users install it, for the tests that install plugins into it.

``tool_install`` (session): ``uv tool install '<checkout>[offline]'`` into a private tool directory.
``checkout`` (session): a copy of the checkout's files (tracked and new, as git lists them) set up with the
README's ``uv sync --inexact``, as a user's clone. Each is made once per session and shared by its tests, which
install plugins into it and take them out again: they share an xdist group (:data:`TOOL_GROUP`,
:data:`CHECKOUT_GROUP`), so one worker makes it and no two of them change it at once.
Offline: uv takes every package from its cache (``UV_CACHE_DIR``, the caller's, see conftest.py), pinned to
this test environment's versions (:func:`pins`); a step that resolves against the index (making an
environment) goes online once where that cache lacks the index's pages (:func:`resolving`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The distributions of this repository that a tool install builds.
OWN_DISTRIBUTIONS = ("voice-transcriber", *(f"voice-transcriber-{name}" for name in (
    "core", "backends", "formatter", "clipboard", "typing", "notify", "benchmark", "tray")))
#: The xdist group of the tests that use ``tool_install``, and of those that use ``checkout``.
TOOL_GROUP = "installed-tool"
CHECKOUT_GROUP = "installed-checkout"


def packaging_env(**extra: str) -> dict[str, str]:
    """The environment of a command of the packaging tests: offline, no project or environment of the
    caller's. (Its Python processes write their bytecode cache, as conftest.py arranges for the whole run: a
    fresh environment's modules are compiled by the first command run in it, not by each.)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    return {**env, "UV_OFFLINE": "1", "UV_NO_PROGRESS": "1", "HF_HUB_OFFLINE": "1", **extra}


def run(argv, *, cwd: Path, env: dict[str, str], check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, f"{argv} exited {done.returncode}:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done


def resolving(argv, *, cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    """A step that resolves against the package index (making an environment to install into): offline from
    uv's cache; where the cache has not the index's pages (a machine whose uv only ever synced from a lock
    file), once more with the registry reachable. Pins (UV_CONSTRAINT) keep the versions to those cached."""
    done = run(argv, cwd=cwd, env=env, check=False, timeout=timeout)
    if done.returncode != 0:
        done = run(argv, cwd=cwd, env={k: v for k, v in env.items() if k != "UV_OFFLINE"}, timeout=timeout)
    return done


@pytest.fixture(scope="session")
def pins(tmp_path_factory) -> Path:
    """A constraints file with the version of every package of this test environment (all in uv's cache:
    an environment resolved with it needs nothing else, offline)."""
    frozen = run(["uv", "pip", "freeze", "--exclude-editable", "--python", sys.executable], cwd=REPO, env=packaging_env())
    path = tmp_path_factory.mktemp("pins") / "pins.txt"
    path.write_text("".join(line + "\n" for line in frozen.stdout.splitlines() if "==" in line))
    # Resolving offline needs the index's page of every package, and a uv cache that only `uv sync` filled
    # (from a lock file: a fresh CI machine) has the wheels but not those pages: resolve the pins once here
    # (offline, else online), so that every later step can resolve offline, the plugin installs that bring
    # pytest into a tool environment (the [test] extra) included.
    resolving(["uv", "pip", "compile", "-q", "--no-header", "--python", sys.executable, path], cwd=path.parent,
              env=packaging_env())
    return path


def site_packages(prefix: Path) -> Path:
    (found,) = prefix.glob("lib/python3*/site-packages")
    return found


def warm_bytecode(target: Path, source: Path | None = None) -> int:
    """Copy this test environment's compiled bytecode (``__pycache__``) into the environment at ``target`` for
    each module file that both environments share: the same file (uv links both from its cache), or, with
    ``source`` given, the module of the same path under ``source`` that has the same size and modification time
    (a copy made with its times). Python checks each .pyc against its module's size and time, so nothing
    changes but that the first commands in a new environment do not compile pytest, pydantic, … again, which a
    user's machine does once. Returns how many files were copied."""
    copied = 0
    pairs = [(site_packages(Path(sys.prefix)), target)] if source is None else [(source, target)]
    for origin, into in pairs:
        for cache in origin.rglob("__pycache__"):
            folder = into / cache.parent.relative_to(origin)
            if not folder.is_dir():
                continue
            for compiled in cache.glob("*.pyc"):
                module = compiled.name.split(".", 1)[0] + ".py"
                mine, theirs = cache.parent / module, folder / module
                try:
                    if source is None:
                        same = os.path.samefile(mine, theirs)
                    else:
                        a, b = mine.stat(), theirs.stat()
                        same = (a.st_size, a.st_mtime_ns) == (b.st_size, b.st_mtime_ns)
                except OSError:
                    continue
                if same:
                    (folder / "__pycache__").mkdir(exist_ok=True)
                    shutil.copy2(compiled, folder / "__pycache__" / compiled.name)
                    copied += 1
    return copied


@dataclass
class Installed:
    """An installed voice-transcriber: its ``bin`` directory (the command) and its environment's Python."""

    bin: Path
    python: Path
    #: UV_CONSTRAINT of every command: the session's :func:`pins`.
    pins: Path
    #: A checkout's environment is activated (``source .venv/bin/activate``); a tool's is not.
    activated: bool = False

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a user of this installation: its command first on PATH, offline."""
        env = packaging_env(PATH=f"{self.bin}:{os.environ['PATH']}", UV_CONSTRAINT=str(self.pins))
        if self.activated:
            env["VIRTUAL_ENV"] = str(self.python.parents[1])
        return {**env, **extra}

    def run(self, command: str, cwd: Path, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
        """A shell command line as a user types it (bash -e -o pipefail)."""
        return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", command], cwd=cwd, env=self.env(**extra),
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def tool_install(tmp_path_factory, pins) -> Installed:
    """voice-transcriber as the docs install it from a clone, with this test environment's Python."""
    root = tmp_path_factory.mktemp("tool")
    env = packaging_env(UV_TOOL_DIR=str(root / "tools"), UV_TOOL_BIN_DIR=str(root / "bin"), UV_CONSTRAINT=str(pins))
    # uv keys its builds of a local project by pyproject.toml: rebuild ours, else a source edit goes unseen.
    ours = [f"--reinstall-package={name}" for name in OWN_DISTRIBUTIONS]
    resolving(["uv", "tool", "install", "-q", *ours, "--python", sys.executable, f"{REPO}[offline]"], cwd=root, env=env)
    warm_bytecode(site_packages(root / "tools" / "voice-transcriber"))
    return Installed(bin=root / "bin", python=root / "tools" / "voice-transcriber" / "bin" / "python", pins=pins)


@pytest.fixture(scope="session")
def checkout(tmp_path_factory, pins) -> Installed:
    root = tmp_path_factory.mktemp("clone") / "voice-transcriber"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True, timeout=60).stdout.decode().split("\0")
    for name in filter(None, listed):
        source, target = REPO / name, root / name
        if not source.exists() and not source.is_symlink():  # deleted in the working tree
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    # From the lock file: offline from uv's cache (`uv sync` filled it), no resolution.
    run(["uv", "sync", "--inexact", "-q"], cwd=root, env=packaging_env(), timeout=600)
    warm_bytecode(site_packages(root / ".venv"))
    for src in ("core/src", *(f"{p.relative_to(REPO)}/src" for p in sorted(REPO.glob("plugins/*")))):
        warm_bytecode(root / src, REPO / src)  # the sources copied with their times: their bytecode too
    return Installed(bin=root / ".venv" / "bin", python=root / ".venv" / "bin" / "python", pins=pins,
                     activated=True)


def shell_blocks(markdown: str) -> list[str]:
    """The bodies of the ```sh blocks of a Markdown text, in order."""
    return re.findall(r"^```sh\n(.*?)^```", markdown, flags=re.S | re.M)
