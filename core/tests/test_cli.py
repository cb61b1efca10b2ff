"""The command line as a user runs it: exit codes, one-line errors, secrets, lean start-up."""

from __future__ import annotations

import json
import subprocess
import sys

from voice_transcriber import Backend, BackendError, Cancelled, ConfigModel, hookimpl
from vt_testing.core import run_cli, run_in_process


def test_version_and_help():
    assert run_cli("--version").stdout.decode().startswith("voice-transcriber, version 0.1.0")
    help_text = run_cli("--help").stdout.decode()
    for command in ("transcribe", "plugins", "config", "doctor"):
        assert command in help_text


def test_usage_error_exit_2():
    result = run_cli("--no-such-flag")
    assert result.returncode == 2 and "No such option" in result.stderr.decode()


def test_missing_input_file_exit_1_one_line():
    result = run_cli("transcribe", "/nonexistent/speech.flac", "--output", "stdout")
    err = result.stderr.decode()
    assert result.returncode in (1, 2)
    assert err.count("\n") == 1 and "Traceback" not in err


def test_lean_startup_does_not_import_heavy_modules():
    code = (
        "import sys\n"
        "from voice_transcriber.cli import main\n"
        "for argv in (['--help'], ['plugins'], ['config', 'path']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('numpy', 'httpx', 'faster_whisper', 'sounddevice', 'ctranslate2', 'soundfile') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY=\n" in result.stderr, result.stderr[-2000:]


class FakeKeySection(ConfigModel):
    api_key: str = ""


class Secretive(Backend):
    name = "fake-secretive"
    config_section = "transcription.fake"  # a known section: no unknown-key warning before the error
    config_model = FakeKeySection

    def transcribe(self, audio):
        raise BackendError(f"server said: bad key {self.ctx.settings.raw['transcription']['fake']['apiKey']}")


class CancelBackend(Backend):
    name = "fake-cancel"

    def transcribe(self, audio):
        raise Cancelled("cancelled by the user")


class SecretPlugin:
    @hookimpl
    def vt_register_backends(self, register):
        register(Secretive)
        register(CancelBackend)


def test_secrets_are_redacted_from_errors(plugin_manager, jfk_path, write_config, capsys):
    from voice_transcriber.cli import main

    write_config({"transcription": {"fake": {"apiKey": "my-very-secret-key-42"}}})
    plugin_manager.register_plugin(SecretPlugin(), "secret")
    import voice_transcriber.plugins as plugins_module  # main() takes the manager from there when it runs

    original = plugins_module.get_plugin_manager
    plugins_module.get_plugin_manager = lambda **_: plugin_manager
    try:
        for backend, code in (("fake-secretive", 1), ("fake-cancel", 130)):
            try:
                main(["--input", str(jfk_path), "--backend", backend])
            except SystemExit as exit_:
                assert exit_.code == code
            err = capsys.readouterr().err
            assert "my-very-secret-key-42" not in err and "Traceback" not in err
            assert err.startswith("voice-transcriber: error:")
    finally:
        plugins_module.get_plugin_manager = original
        plugin_manager.unregister(name="secret")


def test_plugins_text_output_lists_providers():
    out = run_in_process("plugins").stdout.decode()  # what it lists is the point, not the process (~0.35 CPU-s)
    assert "stdout" in out and "voice-transcriber-core" in out and "sinks: stdout" in out


def test_doctor_reports_each_check(write_config):
    write_config({"transcription": {"backend": "nonesuch"}})
    result = run_in_process("doctor")  # in this process, as above
    out = result.stdout.decode()
    assert result.returncode == 1
    assert "ok    config" in out and "fix:" in out
    assert "FAIL  backend nonesuch: the config names it, but no installed plugin provides it (installed backends: " in out
    assert "voice-transcriber install PACKAGE_OR_PATH" in out


def test_plugins_json_is_valid_json():
    assert isinstance(json.loads(run_in_process("plugins", "--json").stdout), list)  # in this process, as above


def test_pipeline_option_before_a_command_is_a_usage_error(jfk_path):
    result = run_cli("--backend", "openai", "transcribe", str(jfk_path))
    err = result.stderr.decode()
    assert result.returncode == 2
    assert "--backend belongs after the command: `voice-transcriber transcribe ... --backend ...`" in err
    assert result.stdout == b""


def test_doctor_checks_the_microphone(pulse_env, tmp_path):
    out = run_cli("doctor").stdout.decode()
    assert "ok    microphone: " in out
    gone = run_cli("doctor", env={"PULSE_SERVER": f"unix:{tmp_path}/no-such-socket"})
    assert gone.returncode == 1
    assert "FAIL  microphone: " in gone.stdout.decode() and "voice-transcriber devices" in gone.stdout.decode()
