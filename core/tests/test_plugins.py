"""Plugin discovery through real entry points, and isolation of broken plugins."""

from __future__ import annotations

import json
import textwrap

import pytest

from voice_transcriber import Backend, Transcript, hookimpl
from voice_transcriber.plugins import get_plugin_manager
from voice_transcriber.registry import collect
from vt_testing.core import run_cli


def make_distribution(root, dist: str, module: str, code: str, entry_name: str) -> None:
    """A real installed distribution on PYTHONPATH: dist-info with an entry point, plus a module."""
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[voice_transcriber]\n{entry_name} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(code))


def test_first_party_plugins_are_discovered_with_their_distribution():
    pm = get_plugin_manager()
    assert pm.origins["stdout"].dist == "voice-transcriber-core"
    assert pm.origins["append-file"].dist == "voice-transcriber-append-file"
    registry = collect(pm)
    assert registry.sinks["stdout"].plugin == "stdout"
    assert "append-file" in registry.sinks


def test_plugins_command_json_lists_distributions():
    result = run_cli("plugins", "--json")
    assert result.returncode == 0
    records = {r["name"]: r for r in json.loads(result.stdout)}
    assert records["stdout"]["distribution"] == "voice-transcriber-core"
    assert records["stdout"]["sinks"] == ["stdout"]
    assert records["append-file"]["sinks"] == ["append-file"]


def test_broken_plugin_is_reported_and_others_still_work(tmp_path):
    make_distribution(tmp_path, "vt-broken", "vt_broken_mod", "raise ImportError('needs libfoo')\n", "broken")
    env = {"PYTHONPATH": str(tmp_path)}
    result = run_cli("plugins", env=env)
    out = result.stdout.decode()
    assert result.returncode == 0
    assert "broken" in out and "vt-broken 1.2.3" in out and "needs libfoo" in out
    assert "stdout" in out
    doctor = run_cli("doctor", env=env)
    assert "FAIL  plugin broken" in doctor.stdout.decode()
    assert "VOICE_TRANSCRIBER_DISABLE_PLUGINS=broken" in doctor.stdout.decode()
    quiet = run_cli("plugins", "--json", env={**env, "VOICE_TRANSCRIBER_DISABLE_PLUGINS": "broken"})
    assert "broken" not in {r["name"] for r in json.loads(quiet.stdout)}


def test_misspelled_hook_is_rejected_with_plugin_name(tmp_path):
    code = """
        from voice_transcriber import hookimpl
        @hookimpl
        def vt_register_backend(register):
            pass
    """
    make_distribution(tmp_path, "vt-typo", "vt_typo_mod", code, "typo")
    records = {r["name"]: r for r in json.loads(run_cli("plugins", "--json", env={"PYTHONPATH": str(tmp_path)}).stdout)}
    assert "unknown hook vt_register_backend" in records["typo"]["error"]
    assert records["typo"]["distribution"] == "vt-typo"


def test_duplicate_component_names_name_both_plugins():
    class One(Backend):
        name = "same"

        def transcribe(self, audio):
            return Transcript(text="one", backend=self.name)

    class First:
        @hookimpl
        def vt_register_backends(self, register):
            register(One)

    class Second:
        @hookimpl
        def vt_register_backends(self, register):
            register(One)

    pm = get_plugin_manager(load_entry_points=False)
    pm.register_plugin(First(), "first")
    pm.register_plugin(Second(), "second")
    registry = collect(pm)
    # pluggy calls the last registered plugin first, so "second" claims the name
    assert registry.backends["same"].plugin == "second"
    assert len(pm.failures) == 1
    assert pm.failures[0].name == "first"
    assert "by plugin second" in pm.failures[0].error and "plugin first cannot" in pm.failures[0].error


def test_register_rejects_wrong_types():
    class Bad:
        @hookimpl
        def vt_register_backends(self, register):
            register(object)

    pm = get_plugin_manager(load_entry_points=False)
    pm.register_plugin(Bad(), "bad")
    registry = collect(pm)
    assert registry.backends == {}
    assert "expects a Backend subclass" in pm.failures[0].error


@pytest.mark.parametrize(("var", "value", "present"), [
    ("VOICE_TRANSCRIBER_LOAD_PLUGINS", "stdout", {"stdout"}),
    ("VOICE_TRANSCRIBER_LOAD_PLUGINS", "", set()),
])
def test_load_plugins_selection(var, value, present):
    pm = get_plugin_manager(environ={var: value})
    assert set(pm.origins) == present


def test_trace_plugins_prints_hook_calls():
    result = run_cli("plugins", env={"VOICE_TRANSCRIBER_TRACE_PLUGINS": "1"})
    assert "vt_register_sinks" in result.stderr.decode()
