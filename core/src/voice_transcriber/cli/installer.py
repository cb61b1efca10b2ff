"""Running a plugin installer (uv, pipx, pip) in the environment, and what comes of it, each in one line.

:func:`run_installer` runs one of :mod:`.plugin_env`'s commands; when it fails, :func:`explain` finds the
cause in the installer's output and says the fix. :func:`plugins_after` asks the environment, in a new
process, which plugins it loads now. Whatever is shown is :func:`masked`: a token in an index URL never is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import PluginError

if TYPE_CHECKING:
    from .plugin_env import Command, Environment

#: Variables that limit which plugins load: the check after installing must see every plugin.
SELECTION_VARIABLES = ("VOICE_TRANSCRIBER_PLUGINS", "VOICE_TRANSCRIBER_LOAD_PLUGINS", "VOICE_TRANSCRIBER_DISABLE_PLUGINS")


class InstallError(PluginError):
    """The installer failed; the message is one line: cause and fix."""


def installer_commands(make: Callable[[], list[Command]]) -> list[Command]:
    """``make()``: the installer's commands; no installer for this environment is an :class:`InstallError`."""
    from .plugin_env import NoInstaller

    try:
        return make()
    except NoInstaller as exc:
        raise InstallError(f"no installer: {exc}") from None


def run_installer(command: Command, what: str, *, debug: bool) -> None:
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
    if debug:
        sys.stderr.write(masked(output) + "\n")
    if done.returncode != 0:
        raise InstallError(masked(f"{command.installer or argv[0]} failed to install {what}: {explain(output, what)}"
                                  + ("" if debug else " (--debug shows the installer's output)")))


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
        return f"it does not build: {last_error(output)} (fix the plugin's pyproject.toml; --debug shows the build log)"
    if "no virtual environment found" in lowered or "externally-managed" in lowered or "externally managed" in lowered:
        return f"the environment refused it: {last_error(output)}"
    return last_error(output) or "the installer exited with an error"


def last_error(output: str) -> str:
    """The installer's (or a process's) last error line, shortened: what it said went wrong."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith(("error", "× ", "caused by", "╰─▶"))]
    chosen = errors[-1] if errors else (lines[-1] if lines else "")
    return " ".join(chosen.split())[:300]


def plugins_after(env: Environment) -> tuple[list[dict[str, Any]] | None, str]:
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
        return None, last_error(done.stderr) or f"exit code {done.returncode}"
    return (records, "") if isinstance(records, list) else (None, "unexpected output of `plugins --json`")


def masked(text: str) -> str:
    """``text`` safe to show: a password in a URL (``https://user:TOKEN@index/...``), known secrets and
    control characters masked."""
    import re

    from ..redact import redact
    from ..safe_text import safe_text

    return safe_text(redact(re.sub(r"(?<=://)[^/@\s]+@", "****@", text)))
