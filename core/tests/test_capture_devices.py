"""Devices, device errors, the terminal (Enter and the level meter), and the early start's option parser."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from voice_transcriber.capture import early
from voice_transcriber.cli import make_cli
from voice_transcriber.plugins import get_plugin_manager
from vt_testing.core import run_cli, run_in_process
from vt_testing.recorder import RecordingProcess, recordings_of, wav_seconds


def test_devices_lists_the_pulse_inputs_as_text_and_json(pulse_env):
    """In this process (PortAudio listed again in the server's env by ``pulse_env``): the list is the point,
    not the process (~0.35 CPU-s a run)."""
    listed = json.loads(run_in_process("devices", "--json").stdout)
    names = {d["name"] for d in listed}
    assert {"pulse", "default"} <= names
    assert all({"index", "hostapi", "default_samplerate", "max_input_channels"} <= d.keys() for d in listed)
    text = run_in_process("devices").stdout.decode()
    assert "pulse" in text and "ALSA" in text and "*" in text  # the default is marked


def test_an_unknown_device_is_one_line_naming_the_fix_exit_2(pulse):
    result = run_cli("--device", "no-such-microphone", "--output", "stdout", env=pulse.env, timeout=30)
    err = result.stderr.decode()
    assert result.returncode == 2
    assert err.count("\n") == 1 and "no-such-microphone" in err and "voice-transcriber devices" in err, err
    assert result.stdout == b""


def test_no_sound_server_is_one_line_with_the_fix(tmp_path):
    env = {"PULSE_SERVER": f"unix:{tmp_path}/nothing-listens-here", "PULSE_SOURCE": "virtmic"}
    result = run_cli("--output", "stdout", "--backend", "local", env=env, timeout=60)
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert err.count("\n") == 1 and "microphone" in err and "Traceback" not in err, err


def test_a_missing_portaudio_library_names_the_package_to_install(tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    result = run_cli("--output", "stdout", env={"PYTHONPATH": str(fake)}, timeout=60)
    err = result.stderr.decode()
    assert result.returncode == 1
    assert err.count("\n") == 1 and "apt install libportaudio2" in err, err
    devices = run_cli("devices", env={"PYTHONPATH": str(fake)})
    assert devices.returncode == 1 and "libportaudio2" in devices.stderr.decode()


@pytest.mark.slow
def test_enter_stops_and_the_meter_draws_only_on_a_terminal(pulse, isolated_dirs):
    """stdin and stderr are a pseudo-terminal; stdout stays a pipe and gets nothing but the result. The silence
    recorded ends at the silence gate: the openai backend is never reached (nor a model loaded for nothing)."""
    master, slave = pty.openpty()
    env = {**pulse.env, "OPENAI_API_KEY": "sk-test-not-used",
           "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": "http://127.0.0.1:9/v1"}
    rec = RecordingProcess("--backend", "openai", "--output", "stdout", "--max-duration", "20", env=env,
                           stdin=slave, stderr=slave)
    os.close(slave)
    store = recordings_of(isolated_dirs)
    path = rec.wait_for_file(store)
    drawn = b""  # read until the meter and the prompt are drawn (a loaded machine may draw them late)
    deadline = time.monotonic() + 30
    while not ("● REC 00:0".encode() in drawn and b"Enter or Ctrl-C: stop" in drawn) and time.monotonic() < deadline:
        drawn += _read_for(master, 0.1)
    os.write(master, b"\n")
    code, out, _ = rec.finish(timeout=60)
    screen = (drawn + _read_for(master, 0.2)).decode(errors="replace")
    os.close(master)

    assert code == 0
    assert "● REC 00:0" in screen and "Enter or Ctrl-C: stop" in screen, screen
    assert out == "", "silence: no text, and no meter or prompt on stdout"
    assert wav_seconds(path) < 5


def _read_for(fd: int, seconds: float) -> bytes:
    data = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                data += os.read(fd, 4096)
            except OSError:
                break
    return data


def test_early_start_parser_knows_every_root_option():
    """An option missing from early.VALUE/FLAG_OPTIONS would silently disable the early start."""
    root = make_cli(get_plugin_manager())
    for param in root.params:
        for opt in [*param.opts, *param.secondary_opts]:
            if opt in ("--help", "-h", "--version"):
                continue
            known = early.VALUE_OPTIONS if not getattr(param, "is_flag", False) else early.FLAG_OPTIONS
            assert opt in known, f"{opt} is missing from capture/early.py"


@pytest.mark.parametrize(("argv", "records"), [
    ([], True),
    (["--backend", "local", "-o", "stdout", "--debug"], True),
    (["--device=3", "--silence-stop", "2"], True),
    (["--input", "a.wav"], False),
    (["-i", "-"], False),
    (["transcribe", "a.wav"], False),
    (["--backend", "local", "toggle"], False),
    (["--help"], False),
    (["--version"], False),
    (["--some-plugin-option"], False),
])
def test_early_start_only_when_the_command_line_records(argv, records):
    options = early.parse_root_options(argv)
    assert (options is not None and early.records(options)) == records


def test_device_hint_follows_flag_then_env_then_config(write_config, monkeypatch):
    write_config('// comment\n{"input": {"device": 7}}')
    assert early.device_hint({}) == "7"
    monkeypatch.setenv("VOICE_TRANSCRIBER_INPUT__DEVICE", "USB")
    assert early.device_hint({}) == "USB"
    assert early.device_hint({"--device": "pulse"}) == "pulse"


def test_the_microphone_opens_before_click_pydantic_numpy_or_plugins(pulse):
    code = ("import sys\nfrom voice_transcriber.capture import early\n"
            "early.start(['--backend', 'local'])\nmic, stop = early.take(None)\n"
            "print(mic.rate, *(m in sys.modules for m in ('click', 'pydantic', 'numpy', 'pluggy')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, **pulse.env})
    assert result.stdout.split() == ["16000", "False", "False", "False", "False"], result.stderr[-500:]


def test_help_and_plugins_do_not_import_sounddevice(tmp_path):
    """Neither `--help` through click with every plugin loaded (no plugin index yet: a first run) nor the one
    answered from the plugin index (every test's cache starts with it) loads sounddevice or numpy."""
    code = ("import sys, runpy\nsys.argv = ['voice-transcriber', '--help']\n"
            "try:\n    runpy.run_module('voice_transcriber', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('sounddevice' in sys.modules, 'numpy' in sys.modules, 'click' in sys.modules, file=sys.stderr)")
    first_run = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "empty-cache")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=first_run)
    assert result.stderr.strip().endswith("False False True"), result.stderr[-500:]  # click did load the plugins
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stderr.strip().endswith("False False"), result.stderr[-500:]


@pytest.mark.slow
def test_a_sound_server_that_vanishes_mid_recording_ends_it_with_the_audio_kept(isolated_dirs, tmp_path):
    """Like unplugging the microphone: no hang, a warning, the file so far is kept and processed."""
    from vt_testing.pulse import start_pulse

    server = start_pulse(tmp_path / "doomed-pulse")
    try:
        rec = RecordingProcess("--backend", "openai", "--output", "stdout", env=server.env)
        path = rec.wait_for_file(recordings_of(isolated_dirs))
        # mid-recording: a second of audio is in the file. A fixed second's sleep could end before a recorder on a
        # loaded machine read anything (likely why it "hung" in full runs under load while passing on its own)
        deadline = time.monotonic() + 30
        while path.stat().st_size < 44 + 32_000 and time.monotonic() < deadline and rec.process.poll() is None:
            time.sleep(0.05)
        assert path.stat().st_size >= 44 + 32_000, "no audio reached the file within 30 s"
    finally:
        server.stop()
    code, out, err = rec.finish(timeout=30)
    assert "stopped delivering audio" in err, err
    assert path.exists() and out == ""


def test_a_long_running_process_finds_a_sound_server_that_started_after_it(pulse, monkeypatch):
    """PortAudio lists devices once, when it is initialised: a daemon started before PulseAudio (or before a USB
    microphone was plugged in) found no 'pulse' device for ever after. The microphone lists them again when a
    device is not found, and never while one of its streams is open (PortAudio would close it)."""
    import sounddevice as sd

    from voice_transcriber.capture import microphone

    monkeypatch.delenv("PULSE_SERVER", raising=False)
    sd._terminate()
    sd._initialize()  # as when the daemon started: no sound server in reach
    assert not any(device["name"] == "pulse" for device in sd.query_devices())
    for key, value in pulse.env.items():  # the server comes up later
        monkeypatch.setenv(key, value)

    mic = microphone.Microphone("pulse")  # found after one refresh of the list
    try:
        assert mic.name == "pulse"
        with pytest.raises(microphone.ConfigError, match="no-such-microphone"):
            microphone.resolve_device("no-such-microphone")  # no refresh now: it would close the open stream
        deadline = time.monotonic() + 30
        while not mic.blocks and time.monotonic() < deadline:
            time.sleep(0.02)
        assert mic.blocks, "the open stream still delivers after the failed lookup"
    finally:
        mic.close()
    assert microphone._open_streams == 0
