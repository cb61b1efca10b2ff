"""``voice-transcriber install``/``uninstall``: real installs of a small local plugin into a uv tool
environment and into a checkout-like uv project, offline (the wheel of the core is built here, every other
package comes from uv's cache); and the pieces (receipts, installer output, environment kinds) on their own."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from vt_testing.core import bash_complete
from vt_testing.installed import TOOL_GROUP, packaging_env, resolving, run, site_packages, warm_bytecode
from vt_testing.openai_api import json_reply, openai_transcription
from vt_testing.speech import JFK_TEXT

from voice_transcriber.cli import plugin_env, scaffold, uv_receipt
from voice_transcriber.cli.installer import explain

REPO = Path(__file__).resolve().parents[2]
UV = shutil.which("uv")
needs_uv = pytest.mark.skipif(UV is None, reason="uv is not on PATH")
# The real installs share one xdist worker (xdist_group), so the wheel of the core is built once per run.

#: The small local plugin the installs use: the formatter `voice-transcriber plugins new shout --kind formatter`
#: writes (upper-cases the text), with its ``[test]`` extra.
SHOUT = scaffold.files(scaffold.Names("shout", "formatter"))
#: A plugin whose import fails, as one that needs a library its author forgot to declare.
BROKEN = {**scaffold.files(scaffold.Names("broken", "formatter")),
          "src/voice_transcriber_broken/__init__.py": "import voice_transcriber_no_such_library\n"}


def write_plugin(folder: Path, files: dict[str, str] = SHOUT) -> Path:
    scaffold.write(folder, files)
    return folder


@dataclass(frozen=True)
class Wheelhouse:
    """The core's wheel built from this checkout, and the session's ``pins``: the version of every package of
    this test environment (all in uv's cache: the environments made here resolve to them)."""

    folder: Path
    pins: Path

    @property
    def core_wheel(self) -> Path:
        return next(self.folder.glob("voice_transcriber_core-*.whl"))

    def env(self, **extra: str) -> dict[str, str]:
        """uv offline, every package pinned to the version this test environment has (so in uv's cache)."""
        return packaging_env(UV_CONSTRAINT=str(self.pins), **extra)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory, pins) -> Wheelhouse:
    house = Wheelhouse(tmp_path_factory.mktemp("wheelhouse"), pins)
    resolving([UV, "build", "--package", "voice-transcriber-core", "--wheel", "--out-dir", house.folder, "-q", REPO],
              cwd=REPO, env=house.env())
    return house


def add_whisper(module: str) -> str:
    """The plugin's module with a second formatter, ``whisper`` (the author's edit)."""
    return (module.replace("    register(ShoutFormatter)", "    register(ShoutFormatter)\n    register(Whisper)")
            + "\n\nclass Whisper(ShoutFormatter):\n    name = 'whisper'\n")


def plugin_names(exe: Path, cwd: Path, env: dict[str, str]) -> dict[str, dict]:
    records = json.loads(run([exe, "plugins", "--json"], cwd=cwd, env=env).stdout)
    return {record["name"]: record for record in records}


@pytest.mark.slow
@needs_uv
@pytest.mark.xdist_group(TOOL_GROUP)
def test_uv_tool_install_survives_upgrade_and_uninstall_removes_it(tmp_path, jfk_path, tool_install, openai_api):
    """voice-transcriber installed as the README says (`uv tool install` of a clone, with the bundled model; the
    session's, which the plugin guide's test uses too): the plugin goes into uv's receipt (`--with`), a dictation
    uses it, `uv tool upgrade` keeps it, uninstall drops it.

    The dictation's transcript comes from the OpenAI replica server (the plugin is the point here, not the
    decode); the plugin guide's tutorial dictates with the bundled model in this same tool environment."""
    tools, work = tool_install.bin.parent / "tools", tmp_path / "work"
    work.mkdir()
    env = tool_install.env(UV_TOOL_DIR=str(tools), UV_TOOL_BIN_DIR=str(tool_install.bin))
    exe = tool_install.bin / "voice-transcriber"
    receipt = tomllib.loads((tools / "voice-transcriber" / "uv-receipt.toml").read_text())["tool"]
    assert [r["name"] for r in receipt["requirements"]] == ["voice-transcriber"], "a plugin is left from another test"
    plugin = write_plugin(tmp_path / "shout")

    # Offline and not in the cache; no uv to run: one line each, exit 1, nothing changed.
    offline = run([exe, "install", "voice-transcriber-no-such-plugin"], cwd=work, env=env, check=False)
    assert offline.returncode == 1
    assert offline.stderr.splitlines()[-1] == (
        "voice-transcriber: error: uv failed to install voice-transcriber-no-such-plugin: offline, and it is not in "
        "the local package cache: connect to the network (or unset UV_OFFLINE), or give the path of a local wheel "
        "or directory (--debug shows the installer's output)")
    no_uv = {k: v for k, v in env.items() if k != "UV"} | {"PATH": str(Path(sys.executable).parent.parent / "no-such-bin")}
    missing = run([exe, "install", plugin], cwd=work, env=no_uv, check=False)
    assert missing.returncode == 1 and len(missing.stderr.splitlines()) == 1
    assert "no installer: voice-transcriber runs from the uv tool environment voice-transcriber " in missing.stderr
    assert "`uv` is not on PATH" in missing.stderr

    done = run([exe, "install", "-e", ".[test]"], cwd=plugin, env=env)  # as a plugin author does, in its folder
    assert "installed voice-transcriber-shout 0.1.0: plugin shout (formatter shout)" in done.stdout
    assert "uv tool install" in done.stderr and "--with-editable" in done.stderr
    receipt = tomllib.loads((tools / "voice-transcriber" / "uv-receipt.toml").read_text())["tool"]
    assert receipt["requirements"][1] == {"name": "voice-transcriber-shout", "extras": ["test"], "editable": str(plugin)}
    assert receipt["requirements"][0] == {"name": "voice-transcriber", "extras": ["offline"], "directory": str(REPO)}
    assert receipt["python"] == sys.executable  # the tool's own source, extras and Python are kept
    openai_api.transcriptions(json_reply(openai_transcription(JFK_TEXT)))
    replica = {"VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__API_KEY": "sk-test",
               "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": openai_api.url}
    dictated = run([exe, "transcribe", "--backend", "openai", "--format", "shout", jfk_path], cwd=work,
                   env={**env, **replica}).stdout
    assert dictated == JFK_TEXT.upper() + "\n"
    assert len(openai_api.requests()) == 1

    run([UV, "tool", "upgrade", "voice-transcriber"], cwd=work, env=env)
    assert "shout" in plugin_names(exe, work, env)

    refused = run([exe, "uninstall", "shout"], cwd=work, env=env, check=False)  # no terminal to ask, no -y
    assert refused.returncode == 2 and "pass -y" in refused.stderr

    done = run([exe, "uninstall", "-y", "shout"], cwd=work, env=env)
    assert "uninstalled voice-transcriber-shout 0.1.0" in done.stdout
    assert "shout" not in plugin_names(exe, work, env)
    receipt = tomllib.loads((tools / "voice-transcriber" / "uv-receipt.toml").read_text())["tool"]
    assert [r["name"] for r in receipt["requirements"]] == ["voice-transcriber"]


@pytest.mark.slow
@needs_uv
@pytest.mark.xdist_group("plugin-installs")
def test_pipx_install_is_injected_and_survives_upgrade(tmp_path, wheelhouse):
    """pipx (its uv backend, offline): `pipx inject` puts the plugin in pipx's metadata, so
    `pipx upgrade` keeps it; uninstall runs `pipx uninject`."""
    pytest.importorskip("pipx")
    work = tmp_path / "work"
    work.mkdir()
    env = wheelhouse.env(PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "bin"),
                      PIPX_MAN_DIR=str(tmp_path / "man"), PIPX_DEFAULT_BACKEND="uv",
                      PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    pipx = [sys.executable, "-m", "pipx"]
    resolving([*pipx, "install", "--python", sys.executable, wheelhouse.core_wheel], cwd=work, env=env)
    warm_bytecode(site_packages(tmp_path / "pipx" / "venvs" / "voice-transcriber-core"))  # as the tool_install's
    exe = tmp_path / "bin" / "voice-transcriber"
    plugin = write_plugin(tmp_path / "shout")

    done = run([exe, "install", plugin], cwd=work, env=env)
    assert "installed voice-transcriber-shout 0.1.0: plugin shout (formatter shout)" in done.stdout
    assert "pipx inject voice-transcriber-core" in done.stderr
    metadata = json.loads((tmp_path / "pipx" / "venvs" / "voice-transcriber-core" / "pipx_metadata.json").read_text())
    assert "voice-transcriber-shout" in metadata["injected_packages"]

    module = plugin / "src" / "voice_transcriber_shout" / "__init__.py"  # the author edits it and installs again
    module.write_text(add_whisper(module.read_text()))
    run([exe, "install", plugin], cwd=work, env=env)
    assert plugin_names(exe, work, env)["shout"]["formatters"] == ["shout", "whisper"]

    run([*pipx, "upgrade", "--include-injected", "voice-transcriber-core"], cwd=work, env=env)
    assert "shout" in plugin_names(exe, work, env)

    run([exe, "uninstall", "-y", "voice-transcriber-shout"], cwd=work, env=env)
    assert "shout" not in plugin_names(exe, work, env)
    metadata = json.loads((tmp_path / "pipx" / "venvs" / "voice-transcriber-core" / "pipx_metadata.json").read_text())
    assert "voice-transcriber-shout" not in metadata["injected_packages"]


@pytest.mark.slow
@needs_uv
@pytest.mark.xdist_group("plugin-installs")
def test_plain_venv_uses_its_pip(tmp_path, wheelhouse):
    """A virtual environment no installer manager made (python -m venv): its own pip installs and removes."""
    venv, work = tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    env = wheelhouse.env(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=work, env=env)
    resolving([UV, "pip", "install", "-q", "--python", venv / "bin" / "python", "pip", wheelhouse.core_wheel],
              cwd=work, env=env)  # pip from uv's cache: quicker than ensurepip, and pyvenv.cfg stays python's
    warm_bytecode(site_packages(venv))  # the modules it shares with this environment: as the tool_install's
    plugin = write_plugin(tmp_path / "shout")
    run([UV, "build", "--wheel", "--out-dir", tmp_path / "dist", "-q", plugin], cwd=work, env=env)
    wheel = next((tmp_path / "dist").glob("voice_transcriber_shout-*.whl"))
    exe = venv / "bin" / "voice-transcriber"

    done = run([exe, "install", wheel], cwd=work, env=env)
    assert f"{venv / 'bin' / 'python'} -m pip install" in done.stderr
    assert "installed voice-transcriber-shout 0.1.0: plugin shout (formatter shout)" in done.stdout
    if shutil.which("script"):  # at a terminal, uninstall asks; "n" keeps the plugin (exit 130)
        asked = subprocess.run(["script", "-qec", f"{exe} uninstall shout", "/dev/null"], input="n\n", cwd=work,
                               env=env, capture_output=True, text=True, timeout=120)
        assert "Uninstall voice-transcriber-shout 0.1.0 (plugin shout)" in asked.stdout
        assert asked.returncode == 130 and "shout" in plugin_names(exe, work, env)
    run([exe, "uninstall", "-y", "shout"], cwd=work, env=env)
    assert "shout" not in plugin_names(exe, work, env)


def readme_setup_command() -> list[str]:
    """The README's set-up command (the first shell block of "Try it"), as argv."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Try it", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1).strip()
    assert "\n" not in block and block.startswith("uv sync"), block
    return block.split()


@pytest.mark.slow
@needs_uv
@pytest.mark.xdist_group("plugin-installs")
def test_checkout_install_survives_the_readme_setup_command(tmp_path, wheelhouse):
    """A checkout's .venv (a uv project): `uv pip install` puts the plugin in (never a core of another
    version); the README's set-up command keeps it; a plain `uv sync` removes it, and doctor says so and how
    to get it back; a plugin that does not load costs exit 1 and a warning naming its uninstall command."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [project]
        name = "checkout"
        version = "0.0.0"
        requires-python = ">=3.11"
        dependencies = ["voice-transcriber-core"]

        [tool.uv]
        package = false
        environments = ["sys_platform == 'linux'"]
        constraint-dependencies = {json.dumps(wheelhouse.pins.read_text().split())}

        [tool.uv.sources]
        voice-transcriber-core = {{ path = "{wheelhouse.core_wheel}" }}
        """))
    env = wheelhouse.env(UV_PYTHON=sys.executable)
    resolving([UV, "sync", "-q"], cwd=checkout, env=env)
    exe = checkout / ".venv" / "bin" / "voice-transcriber"
    plugin = write_plugin(tmp_path / "shout")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"formatterEnabled": True, "formatter": {"chain": ["shout"]}}))
    env["VOICE_TRANSCRIBER_CONFIG"] = str(config)

    # A plugin made for another version of the core never replaces the checkout's core: one line, exit 1.
    needy = write_plugin(tmp_path / "needy", {name: text.replace("shout", "needy").replace(
        '"voice-transcriber-core"]', '"voice-transcriber-core>=99"]') for name, text in SHOUT.items()})
    refused = run([exe, "install", needy], cwd=tmp_path, env=env, check=False)
    assert refused.returncode == 1, refused.stderr
    core = f"voice-transcriber-core {importlib.metadata.version('voice-transcriber-core')}"
    assert f"it needs voice-transcriber-core>=99, but {core} is installed here" in refused.stderr

    done = run([exe, "install", "-e", plugin], cwd=tmp_path, env=env)  # a plugin author's: editable
    assert "uv pip install" in done.stderr and "project environment" in done.stderr
    assert "`uv sync --inexact` (the set-up command) keeps it" in done.stderr
    assert plugin_names(exe, tmp_path, env)["shout"]["formatters"] == ["shout"]
    module = plugin / "src" / "voice_transcriber_shout" / "__init__.py"  # an edit applies without reinstalling
    module.write_text(add_whisper(module.read_text()))
    assert plugin_names(exe, tmp_path, env)["shout"]["formatters"] == ["shout", "whisper"]

    run(readme_setup_command(), cwd=checkout, env=env)
    assert "shout" in plugin_names(exe, tmp_path, env), "the README's set-up command removed an installed plugin"

    run([UV, "sync", "-q"], cwd=checkout, env=env)  # exact: what the lock does not name goes
    assert "shout" not in plugin_names(exe, tmp_path, env)
    doctor = run([exe, "doctor"], cwd=tmp_path, env=env, check=False)
    assert doctor.returncode == 1
    assert re.search(r"FAIL\s+formatter shout: .*voice-transcriber-shout", doctor.stdout), doctor.stdout
    assert f"voice-transcriber install -e {plugin}" in doctor.stdout

    run([exe, "install", "-e", plugin], cwd=tmp_path, env=env)  # the command doctor gave brings it back
    assert "shout" in plugin_names(exe, tmp_path, env)

    # A plugin that installs but does not load: exit 1, and its warning names the command that removes it.
    failed = run([exe, "install", write_plugin(tmp_path / "broken", BROKEN)], cwd=tmp_path, env=env, check=False)
    assert failed.returncode == 1, failed.stderr
    assert "fails to load: ModuleNotFoundError" in failed.stdout
    warning = run([exe, "plugins"], cwd=tmp_path, env=env).stderr
    command = re.search(r"remove it: `(voice-transcriber uninstall [\w-]+)`", warning).group(1)
    assert command == "voice-transcriber uninstall voice-transcriber-broken"
    run([exe, *command.split()[1:], "-y"], cwd=tmp_path, env=env)
    assert "broken" not in run([exe, "plugins"], cwd=tmp_path, env=env).stdout


def test_a_recorded_plugin_that_went_missing(write_config, jfk_path, capsys):
    """The record of `install` tells doctor and the run where a component the config names came from.
    (The command line's own entry point, in this process: no installer runs.)"""
    from voice_transcriber.cli import main, plugin_record

    def run_cli(*argv: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        out, err = capsys.readouterr()
        return exited.value.code or 0, out, err

    plugin_record.remember("voice-transcriber-shout", {
        "requirement": "/src/my shout", "editable": True, "version": "0.1.0", "plugins": ["shout"],
        "provides": {"backends": [], "formatters": ["shout"], "sinks": [], "commands": []}})
    write_config({"formatterEnabled": True, "formatter": {"chain": ["shout"]}})
    doctor = run_cli("doctor")[1]
    assert "FAIL  formatter shout: the config names it, but its plugin is not installed (it came from " \
           "voice-transcriber-shout)" in doctor
    assert "fix: `voice-transcriber install -e '/src/my shout'`, or take 'shout' out of the config" in doctor
    assert "FAIL  plugin voice-transcriber-shout" not in doctor  # one line, one fix: the formatter's says it all

    code, _, err = run_cli("transcribe", str(jfk_path))
    assert code == 2
    assert err.strip().endswith(
        "it came from voice-transcriber-shout, which is no longer installed: "
        "`voice-transcriber install -e '/src/my shout'`"), err
    assert len(err.strip().splitlines()) == 1

    write_config({})  # the config no longer needs it: doctor still says it left, and how to get it back
    doctor = run_cli("doctor")[1]
    assert "FAIL  plugin voice-transcriber-shout: installed with `voice-transcriber install`, but no longer" in doctor
    assert "fix: `voice-transcriber install -e '/src/my shout'`, or forget it: " \
           "`voice-transcriber uninstall voice-transcriber-shout`" in doctor

    code, out, _ = run_cli("uninstall", "voice-transcriber-shout")  # gone already: uninstall only forgets it
    assert code == 0 and "no longer installed; forgotten" in out
    assert plugin_record.here() == {}


# -- the pieces ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("requirement", "expected"), [
    ({"name": "voice-transcriber"}, ("voice-transcriber", False)),
    ({"name": "voice-transcriber", "specifier": ">=0.1, <1", "extras": ["offline"]},
     ("voice-transcriber[offline]>=0.1,<1", False)),
    ({"name": "vt-x", "path": "/w/vt_x-1-py3-none-any.whl"}, ("vt-x @ file:///w/vt_x-1-py3-none-any.whl", False)),
    ({"name": "vt-x", "directory": "/src/vt x"}, ("vt-x @ file:///src/vt%20x", False)),
    ({"name": "vt-x", "editable": "/src/vt-x"}, ("/src/vt-x", True)),
    ({"name": "vt-x", "git": "https://example.org/a/b?subdirectory=plugins%2Fx&rev=v1#0123abcd"},
     ("vt-x @ git+https://example.org/a/b@v1#subdirectory=plugins/x", False)),
    ({"name": "vt-x", "url": "https://example.org/vt_x-1.tar.gz"}, ("vt-x @ https://example.org/vt_x-1.tar.gz", False)),
    ({"name": "vt-x", "marker": "sys_platform == 'linux'"}, ("vt-x ; sys_platform == 'linux'", False)),
])
def test_receipt_requirements_become_arguments(requirement, expected):
    assert uv_receipt.requirement_arg(requirement) == expected


def test_receipt_options_become_flags():
    options = {"find-links": ["file:///w"], "no-index": True, "index-strategy": "unsafe-best-match",
               "index": [{"url": "https://pkgs.example/simple", "name": "corp"}], "compile-bytecode": False}
    options["dependency-metadata"] = [{"name": "x", "requires-dist": []}]
    assert uv_receipt.receipt_options(options) == (["--find-links", "file:///w", "--no-index", "--index-strategy",
                                             "unsafe-best-match", "--index", "corp=https://pkgs.example/simple"],
                                            ["dependency-metadata"])


def test_uv_tool_command_keeps_the_receipt(tmp_path, monkeypatch):
    monkeypatch.setenv("UV", sys.executable)  # any executable file stands in for uv: nothing runs
    prefix = tmp_path / "tools" / "voice-transcriber"
    prefix.mkdir(parents=True)
    (prefix / "uv-receipt.toml").write_text(textwrap.dedent("""\
        [tool]
        requirements = [
            { name = "voice-transcriber", directory = "/src/voice-transcriber" },
            { name = "voice-transcriber-emoji" },
            { name = "voice-transcriber-shout", editable = "/src/shout" },
        ]
        constraints = [{ name = "numpy", specifier = "<3" }]
        python = "3.12"
        entrypoints = [{ name = "voice-transcriber", install-path = "/home/u/.local/bin/voice-transcriber", from = "voice-transcriber" }]

        [tool.options]
        find-links = ["file:///w"]
        """))
    env = plugin_env.detect(prefix, "/x/bin/python")
    assert env.kind == plugin_env.UV_TOOL and env.name == "voice-transcriber"

    [added] = plugin_env.install_commands(env, [plugin_env.Target("voice-transcriber-new", "voice-transcriber-new")])
    assert added.argv[1:] == ["tool", "install", "voice-transcriber @ file:///src/voice-transcriber",
                              "--with", "voice-transcriber-emoji", "--with-editable", "/src/shout",
                              "--with", "voice-transcriber-new", "--python", "3.12", "--find-links", "file:///w"]
    assert added.files == [("--constraints", "numpy<3\n")]
    assert added.env == {"UV_TOOL_DIR": str(prefix.parent), "UV_TOOL_BIN_DIR": "/home/u/.local/bin"}

    removed = plugin_env.uninstall_command(env, ["voice-transcriber-emoji"])
    assert "voice-transcriber-emoji" not in removed.argv and "/src/shout" in removed.argv


def test_environment_kinds(tmp_path):
    pipx = tmp_path / "pipx" / "venvs" / "voice-transcriber"
    pipx.mkdir(parents=True)
    (pipx / "pipx_metadata.json").write_text("{}")
    assert plugin_env.detect(pipx).kind == plugin_env.PIPX

    project = tmp_path / "checkout"
    (project / ".venv").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (project / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\nuv = 0.9.0\n")
    env = plugin_env.detect(project / ".venv")
    assert env.kind == plugin_env.UV_PROJECT and env.project == project

    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert plugin_env.detect(venv).kind == plugin_env.VENV
    assert plugin_env.detect(tmp_path).kind == plugin_env.SYSTEM
    with pytest.raises(plugin_env.NoInstaller, match="system's Python"):
        plugin_env.install_commands(plugin_env.detect(tmp_path), [plugin_env.Target("x", "x")])


def test_pipx_command(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "pipx"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    prefix = tmp_path / "pipx" / "venvs" / "voice-transcriber"
    prefix.mkdir(parents=True)
    (prefix / "pipx_metadata.json").write_text("{}")
    env = plugin_env.detect(prefix)
    [command] = plugin_env.install_commands(env, [plugin_env.Target("/src/shout", "voice-transcriber-shout",
                                                                  Path("/src/shout"), editable=True)])
    assert command.argv == [str(fake), "inject", "voice-transcriber", "--editable", "/src/shout"]
    assert command.env == {"PIPX_HOME": str(tmp_path / "pipx")}
    [fresh] = plugin_env.install_commands(env, [plugin_env.Target("/src/shout", "voice-transcriber-shout", Path("/src/shout"))])
    assert fresh.argv == [str(fake), "inject", "voice-transcriber", "/src/shout"]
    assert plugin_env.uninstall_command(env, ["voice-transcriber-shout"]).argv == [
        str(fake), "uninject", "voice-transcriber", "voice-transcriber-shout"]


def test_targets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_plugin(tmp_path / "shout")
    local = plugin_env.target("./shout")
    assert (local.spec, local.name) == (str(tmp_path / "shout"), "voice-transcriber-shout")
    assert plugin_env.target("Voice_Transcriber.Emoji>=1").name == "voice-transcriber-emoji"
    assert plugin_env.target("git+https://example.org/x.git").name is None
    monkeypatch.chdir(tmp_path / "shout")
    with_extras = plugin_env.target(".[test, dev]", editable=True)  # a project folder with extras
    assert (with_extras.spec, with_extras.name) == (f"{tmp_path / 'shout'}[test,dev]", "voice-transcriber-shout")
    assert plugin_env.target("voice-transcriber-x[test]").name == "voice-transcriber-x"
    with pytest.raises(FileNotFoundError):
        plugin_env.target("./missing")


@pytest.mark.parametrize(("output", "expected"), [
    ("error: No solution found when resolving dependencies:\n  Because voice-transcriber-nope was not found in the "
     "cache and you require voice-transcriber-nope, we can conclude that your requirements are unsatisfiable.\n\n"
     "hint: Packages were unavailable because the network was disabled.", "offline"),
    ("× No solution found when resolving dependencies:\n  ╰─▶ Because voice-transcriber-nope was not found in the "
     "package registry and you require voice-transcriber-nope, we can conclude that your requirements are "
     "unsatisfiable.", "package not found"),
    ("ERROR: Could not find a version that satisfies the requirement voice-transcriber-nope (from versions: none)\n"
     "ERROR: No matching distribution found for voice-transcriber-nope", "package not found"),
    ("error: Request failed after 3 retries\n  Caused by: Failed to fetch: `https://pypi.org/simple/x/`\n"
     "  Caused by: dns error: failed to lookup address information", "network error"),
    ("× Failed to build `x @ file:///src/x`\n├─▶ The build backend returned an error\n╰─▶ Call to "
     "`hatchling.build.build_wheel` failed (exit status: 1)", "does not build"),
])
def test_installer_failures_in_one_line(output, expected):
    line = explain(output, "x")
    assert expected in line and "\n" not in line


def test_a_password_in_a_url_is_never_shown():
    from voice_transcriber.cli.installer import masked

    line = masked("installing x @ https://me:s3cr3t-t0ken@pkgs.example/x-1-py3-none-any.whl\x1b[2J")
    assert "s3cr3t" not in line and "https://****@pkgs.example/" in line and "\x1b" not in line


def test_a_damaged_or_unwritable_record_costs_nothing(tmp_path, monkeypatch, capsys):
    from voice_transcriber.cli import plugin_record
    from voice_transcriber.cli.install_cmd import _remember

    path = plugin_record.record_path()
    path.parent.mkdir(parents=True)
    path.write_text('{"environments": [1, 2')  # cut short
    assert plugin_record.load() == {} and plugin_record.provider("formatter", "shout") is None
    plugin_record.remember("voice-transcriber-shout", {"provides": {"formatters": ["shout"]}})
    assert plugin_record.provider("formatter", "shout")[0] == "voice-transcriber-shout"
    assert path.stat().st_mode & 0o077 == 0  # private, like every file voice-transcriber writes

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path.unlink()
    path.parent.rmdir()
    path.parent.symlink_to(elsewhere)  # planted by someone else: never written through
    _remember(plugin_env.detect(), "voice-transcriber-x", {})
    assert "could not be recorded" in capsys.readouterr().err and not list(elsewhere.iterdir())
    plugin_record.forget(["voice-transcriber-shout"])  # nothing to forget there, nothing raised


@pytest.mark.parametrize("output", [
    "error: No solution found when resolving dependencies\n  cause: Because voice-transcriber-need==0.1.0 depends on "
    "voice-transcriber-core>=9 and voice-transcriber-core==0.1.0, we can conclude that voice-transcriber-need==0.1.0 "
    "cannot be used.",
    "ERROR: Cannot install voice-transcriber-need because these package versions have conflicting dependencies.\n"
    "The conflict is caused by:\n    voice-transcriber-need 0.1.0 depends on voice-transcriber-core>=9\n"
    "    The user requested (constraint) voice-transcriber-core==0.1.0\nERROR: ResolutionImpossible",
])
def test_a_plugin_never_replaces_the_core(output):
    from importlib.metadata import version

    assert explain(output, "x") == (
        f"it needs voice-transcriber-core>=9, but voice-transcriber-core {version('voice-transcriber-core')} is "
        "installed here, and a plugin install never replaces voice-transcriber's own packages: upgrade "
        "voice-transcriber first, or install a release of the plugin made for this version")


def test_own_packages_are_pinned_for_pip_and_uv_pip(monkeypatch):
    from importlib.metadata import version

    monkeypatch.setenv("UV", sys.executable)
    env = plugin_env.Environment(plugin_env.UV_PROJECT, Path(sys.prefix), sys.executable)
    [command] = plugin_env.install_commands(env, [plugin_env.Target("voice-transcriber-x", "voice-transcriber-x")])
    [(flag, pins)] = command.files
    assert flag == "--constraint" and f"voice-transcriber-core=={version('voice-transcriber-core')}\n" in pins


def test_a_running_daemon_is_told_about(monkeypatch, capsys):
    from voice_transcriber.cli import install_cmd
    from voice_transcriber.cli.run_cmd import CliState
    from voice_transcriber.daemon import client

    state = CliState(pm=None)
    monkeypatch.setattr(client, "exchange", lambda line, path, on_message: None)  # no daemon answers
    install_cmd._daemon_note(state)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(client, "exchange", lambda line, path, on_message: {"code": 0})  # one does
    install_cmd._daemon_note(state)
    assert "restart it to use this change (`voice-transcriber daemon stop`" in capsys.readouterr().err


def test_shell_completion(tmp_path):
    """bash completes installed third-party plugins after `uninstall`, file names after `install`."""
    # the example plugin; first-party ones never
    assert bash_complete("uninstall", "app", cwd=tmp_path) == ["append-file"]
    offered = bash_complete("uninstall", "voice-transcriber-", cwd=tmp_path)
    assert "voice-transcriber-append-file" in offered and not set(offered) & set(plugin_env.OWN)
    # after `install`, click's bash script hands the word to bash's own file-name completion (compopt -o default)
    raw = subprocess.run([Path(sys.executable).with_name("voice-transcriber")], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path, env={**os.environ, "_VOICE_TRANSCRIBER_COMPLETE": "bash_complete",
                                                        "COMP_WORDS": "voice-transcriber install ./my", "COMP_CWORD": "2"})
    assert raw.stdout.split() == ["file,./my"]


def test_own_distributions_are_the_first_party_ones():
    from voice_transcriber.plugins import FIRST_PARTY

    assert set(plugin_env.OWN) == FIRST_PARTY | {"voice-transcriber"}


def test_refusals_touch_nothing(tmp_path, capsys):
    """First-party plugins, names that are no plugin, missing paths: exit 2, one line, before any installer runs.
    (The command line's own entry point, in this process: the refusals come before any process is started.)"""
    from voice_transcriber.cli import main

    cases = {
        ("uninstall", "-y", "local"): "local is part of voice-transcriber (voice-transcriber-backends) and cannot be "
                                      "uninstalled on its own; to stop it loading set VOICE_TRANSCRIBER_DISABLE_PLUGINS=local",
        ("uninstall", "-y", "numpy"): "numpy is no installed plugin or plugin distribution (third-party ones installed:",
        ("install", "voice-transcriber-backends"): "voice-transcriber-backends is part of voice-transcriber, not a plugin "
                                                   "to install on its own",
        ("install", str(tmp_path / "nope")): f"{tmp_path / 'nope'}: no such file or directory",
        ("install", "-e", "voice-transcriber-emoji"): "-e installs a local directory in editable mode",
    }
    for argv, message in cases.items():
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        err = capsys.readouterr().err
        assert exited.value.code == 2 and message in err and len(err.strip().splitlines()) == 1, (argv, err)
