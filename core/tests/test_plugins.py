"""Plugin discovery through real entry points, and isolation of broken plugins."""

from __future__ import annotations

import json

import pytest

from voice_transcriber import Backend, Transcript, hookimpl
from voice_transcriber.plugins import get_plugin_manager
from voice_transcriber.registry import collect
from vt_testing.core import SECONDS_BACKEND, make_distribution, run_cli


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


# --- a broken plugin costs one line (issue 22) ------------------------------------------------------------

RAISES_AT_REGISTRATION = """
    from voice_transcriber import hookimpl
    @hookimpl
    def vt_register_sinks(register):
        raise RuntimeError('bad sink table')
"""


def warnings(result) -> list[str]:
    return [line for line in result.stderr.decode().splitlines() if line.strip()]


@pytest.mark.parametrize("code", ["raise ImportError('needs libfoo')\n", "import no_such_module_vt22\n",
                                  "raise ValueError('broken at import')\n"])
def test_broken_plugin_costs_one_line_and_not_the_command(tmp_path, code):
    make_distribution(tmp_path, "vt-broken", "vt_broken_mod", code, "broken")
    result = run_cli("config", "path", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0 and result.stdout.strip()
    [line] = warnings(result)
    assert "plugin broken" in line and "vt-broken 1.2.3" in line and "uninstall" in line and "vt-broken" in line
    assert "VOICE_TRANSCRIBER_DISABLE_PLUGINS=broken" in line and "Traceback" not in line


def test_plugin_raising_at_registration_costs_one_line_and_others_work(tmp_path):
    make_distribution(tmp_path, "vt-badreg", "vt_badreg_mod", RAISES_AT_REGISTRATION, "badreg")
    result = run_cli("plugins", "--json", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0
    [line] = warnings(result)
    assert "plugin badreg" in line and "vt-badreg 1.2.3" in line and "bad sink table" in line and "uninstall" in line
    records = {r["name"]: r for r in json.loads(result.stdout)}
    assert records["stdout"]["sinks"] == ["stdout"] and records["append-file"]["sinks"] == ["append-file"]


def test_fix_command_names_the_uninstall_command():
    from voice_transcriber.plugin_manager import PluginFailure
    from voice_transcriber.plugins import fix_command

    third_party = fix_command(PluginFailure("shout", "Voice_Transcriber_Shout", "0.1.0", "ImportError: x"))
    assert third_party == ("remove it: `voice-transcriber uninstall voice-transcriber-shout`, "
                           "or skip it with VOICE_TRANSCRIBER_DISABLE_PLUGINS=shout")
    first_party = fix_command(PluginFailure("tray", "voice-transcriber-tray", "0.1.0", "ImportError: x"))
    assert first_party.startswith("reinstall voice-transcriber") and "uninstall" not in first_party


# --- VOICE_TRANSCRIBER_PLUGINS -----------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "third_party"), [
    ("", set()),
    ("append-file", {"append-file"}),                     # by plugin (entry-point) name
    ("voice_transcriber_Append_File", {"append-file"}),   # by distribution name, compared the PEP 503 way
    (" nonesuch , ", set()),
])
def test_plugins_variable_limits_third_party_plugins_only(value, third_party):
    pm = get_plugin_manager(environ={"VOICE_TRANSCRIBER_PLUGINS": value})
    assert {name for name, origin in pm.origins.items() if origin.dist == "voice-transcriber-append-file"} == third_party
    assert {"stdout", "tracker", "local", "clipboard", "typing", "launcher"} <= set(pm.origins)  # first-party: always


def test_plugins_variable_empty_skips_a_broken_third_party_plugin(tmp_path):
    make_distribution(tmp_path, "vt-broken", "vt_broken_mod", "raise ImportError('needs libfoo')\n", "broken")
    env = {"PYTHONPATH": str(tmp_path), "VOICE_TRANSCRIBER_PLUGINS": ""}
    result = run_cli("plugins", "--json", env=env)
    assert result.returncode == 0 and warnings(result) == []
    names = {r["name"] for r in json.loads(result.stdout)}
    assert "broken" not in names and "append-file" not in names and "stdout" in names
    named = run_cli("plugins", "--json", env={**env, "VOICE_TRANSCRIBER_PLUGINS": "append-file"})
    assert "append-file" in {r["name"] for r in json.loads(named.stdout)} and warnings(named) == []
    typo = run_cli("config", "path", env={**env, "VOICE_TRANSCRIBER_PLUGINS": "append-file,apend-file"})
    assert typo.returncode == 0
    assert warnings(typo) == ["voice-transcriber: warning: VOICE_TRANSCRIBER_PLUGINS names 'apend-file', "
                              "which is no installed plugin or distribution (see `voice-transcriber plugins`)"]


# --- `plugins` lists everything a plugin provides ------------------------------------------------------------

def test_plugins_lists_commands_hooks_and_doctor_checks():
    result = run_cli("plugins", "--json")
    records = {r["name"]: r for r in json.loads(result.stdout)}
    launcher = records["launcher"]
    assert launcher["distribution"] == "voice-transcriber-notify" and launcher["version"]
    assert launcher["commands"] == ["rofi"]  # paste-last/type-last are the core's commands (cli/redeliver_cmd.py)
    assert "vt_register_commands" in launcher["hooks"]
    assert "vt_doctor_checks" in records["notify"]["hooks"] and records["notify"]["doctor_checks"] == ["own checks"]
    assert records["stdout"]["commands"] == [] and records["stdout"]["sinks"] == ["stdout"]
    assert records["local"]["doctor_checks"] == ["backend local"] and records["local"]["backends"] == ["local"]
    text = run_cli("plugins").stdout.decode()
    block = text.split("\nlauncher ", 1)[1].split("\n\n")[0]
    assert "voice-transcriber-notify" in block and "commands: rofi" in block and "register_settings" in block
    assert "doctor checks: own checks" in text.split("\nnotify ", 1)[1].split("\n\n")[0]
    assert "(nothing)" not in text




def test_a_dictation_runs_through_the_other_plugins_beside_a_broken_one(tmp_path):
    from pathlib import Path

    jfk = Path(__file__).resolve().parents[2] / "samples" / "jfk.flac"
    make_distribution(tmp_path / "a", "vt-broken", "vt_broken_mod", "raise ImportError('needs libfoo')\n", "broken")
    make_distribution(tmp_path / "b", "vt-seconds", "vt_seconds_mod", SECONDS_BACKEND, "seconds")
    env = {"PYTHONPATH": f"{tmp_path / 'a'}:{tmp_path / 'b'}", "HF_HUB_OFFLINE": "1"}
    result = run_cli("transcribe", str(jfk), "--backend", "vt-seconds", "--output", "stdout", env=env)
    assert result.returncode == 0
    assert result.stdout.decode().strip().endswith("11 seconds heard")
    [line] = [ln for ln in warnings(result) if "plugin broken" in ln]
    assert "vt-broken 1.2.3" in line and "uninstall" in line
