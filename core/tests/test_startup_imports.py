"""Each command imports only what it uses: which libraries a real ``voice-transcriber`` process loaded.

The command runs in a subprocess through the console script's own entry point; at exit it writes
the names in ``sys.modules`` to a file. No timings: a library that shows up where it does not
belong is the regression (docs/architecture.md, "What each command may load").
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from vt_testing.core import MODULES_AT_EXIT, SECONDS_BACKEND, make_distribution

HEAVY = ("click", "pydantic", "pluggy", "httpx", "numpy", "sounddevice", "soundfile", "soxr", "faster_whisper",
         "onnxruntime", "importlib.metadata")


@pytest.fixture
def loaded(tmp_path):
    env = {**os.environ, **{f"XDG_{name}_HOME": str(tmp_path / name.lower()) for name in ("CONFIG", "STATE", "CACHE")},
           "XDG_RUNTIME_DIR": str(tmp_path / "runtime")}
    (tmp_path / "runtime").mkdir(mode=0o700)

    def run(*args: str, extra_env: dict[str, str] | None = None, code: int | None = 0) -> tuple[set[str], str]:
        """``args`` run by the real entry point: the modules it loaded and its stdout (``code``: its exit
        status, or None for any)."""
        dump = tmp_path / "modules.json"
        result = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, str(dump), *args],
                                env={**env, **(extra_env or {})}, capture_output=True, text=True, timeout=120)
        assert code is None or result.returncode == code, result.stderr
        return set(json.loads(dump.read_text())), result.stdout

    return run


@pytest.fixture
def indexed(tmp_path, loaded) -> None:
    """``loaded``'s cache holds the plugin index, as a user's does after their first command (any full run writes
    it; the tests that start without one show that): the one made once per worker
    (:func:`vt_testing.core.seed_plugin_index`), instead of a first command here that imports every plugin to
    write it again (~0.4 s of CPU) — unless the worker has none, then that first command."""
    from vt_testing.core import seed_plugin_index

    seed_plugin_index(tmp_path / "cache")
    if not list((tmp_path / "cache" / "voice-transcriber").glob("plugins-*.json")):
        loaded("config", "path")


def heavy(modules: set[str]) -> set[str]:
    return {name for name in HEAVY if name in modules} | {m for m in modules if m.startswith("voice_transcriber_")}


def test_version_loads_nothing_but_the_standard_library(loaded):
    modules, out = loaded("--version")
    assert out == "voice-transcriber, version 0.1.0\n"
    assert heavy(modules) == set()
    assert not {"voice_transcriber.cli", "voice_transcriber.config", "voice_transcriber.plugins"} & modules


def test_version_after_global_flags_is_as_light(loaded):
    modules, out = loaded("--debug", "--version")
    assert out.startswith("voice-transcriber, version ") and heavy(modules) == set()


def test_version_matches_the_installed_distribution():
    from importlib.metadata import version

    from voice_transcriber import __version__

    assert __version__ == version("voice-transcriber-core")


#: What neither help nor ``config path`` may load, even when it loads every plugin (nothing indexed yet).
AUDIO_OR_NETWORK = {"httpx", "numpy", "sounddevice", "soundfile", "soxr", "faster_whisper", "onnxruntime"}


def test_config_path_loads_no_audio_or_network_library(loaded):
    """(``--help`` and ``transcribe --help`` in the same state: the first runs of
    :func:`test_help_imports_no_plugin_once_their_commands_are_indexed`.)"""
    modules, out = loaded("config", "path")
    assert out
    assert not AUDIO_OR_NETWORK & modules


def test_the_command_line_module_itself_needs_no_pydantic():
    code = "import sys, voice_transcriber.cli; print(sorted(m for m in ('pydantic', 'httpx', 'numpy') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"


def test_our_http_client_loads_httpx_without_its_command_line():
    """httpx imports its own CLI (rich, pygments) whenever click and rich are installed; no request needs it."""
    code = ("import sys; from voice_transcriber.http import make_client; make_client().close(); "
            "print(sorted(m for m in ('httpx', 'rich', 'pygments') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "['httpx']"


def test_this_file_runs_the_real_entry_point():
    assert Path(sys.executable).with_name("voice-transcriber").exists()


@pytest.fixture
def history_of_50(tmp_path):
    state = tmp_path / "state" / "voice-transcriber"
    state.mkdir(parents=True)
    with (state / "history.jsonl").open("w", encoding="utf-8") as out:
        for number in range(50):
            out.write(json.dumps({"id": f"20261125-2300{number:02d}-abcdef", "timestamp": "2026-11-25T23:00:00Z",
                                  "text": f"dictation number {number} " * 5, "raw_text": "x"}) + "\n")
    return tmp_path


def full_command(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """The same command through the whole command line (a set plugin variable turns quick handlers off)."""
    env = {**os.environ, **{f"XDG_{name}_HOME": str(tmp_path / name.lower()) for name in ("CONFIG", "STATE", "CACHE")},
           "XDG_RUNTIME_DIR": str(tmp_path / "runtime"), "VOICE_TRANSCRIBER_DISABLE_PLUGINS": ""}
    return subprocess.run([str(Path(sys.executable).with_name("voice-transcriber")), *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [("rofi",), ("rofi", "--dmenu")])
def test_menu_rows_load_no_config_schema_network_audio_or_click(loaded, history_of_50, args):
    modules, out = loaded(*args)
    assert not {"pydantic", "httpx", "numpy", "sounddevice", "click", "pluggy", "importlib.metadata"} & modules
    assert "dictation number 49" in out and out.count("\n") == (17 if args == ("rofi",) else 13)
    full = full_command(history_of_50, *args)
    assert full.returncode == 0 and full.stdout == out  # the same rows as the full command prints


def test_menu_with_a_config_only_the_full_loader_can_judge_gets_its_message(loaded, history_of_50):
    config = history_of_50 / "config" / "voice-transcriber"
    config.mkdir(parents=True)
    (config / "config.json").write_text('{"launcher": {"historyEntries": 500}}', encoding="utf-8")
    result = full_command(history_of_50, "rofi")
    env = {**os.environ, **{f"XDG_{name}_HOME": str(history_of_50 / name.lower()) for name in ("CONFIG", "STATE", "CACHE")},
           "XDG_RUNTIME_DIR": str(history_of_50 / "runtime")}
    quick = subprocess.run([str(Path(sys.executable).with_name("voice-transcriber")), "rofi"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert result.returncode == quick.returncode == 2
    assert quick.stderr == result.stderr and "launcher.historyEntries" in quick.stderr


@pytest.mark.parametrize("args", [("--help",), ("transcribe", "--help"), ("--debug", "config", "--help")])
def test_help_imports_no_plugin_once_their_commands_are_indexed(loaded, args):
    _, full = loaded("--version", "--quiet")  # nothing indexed yet: a --version does not index
    first, out_first = loaded(*args)  # the first help loads the plugins (the index is written by any full run)
    assert out_first and not AUDIO_OR_NETWORK & first  # ... but no audio or network library
    again, out_again = loaded(*args)
    assert out_first == out_again
    assert not {"pydantic", "pluggy", "httpx", "numpy", "importlib.metadata"} & again
    assert not {m for m in again if m.startswith("voice_transcriber_")}
    if args == ("--help",):  # the plugins' commands are listed all the same, with their help lines
        assert "rofi" in out_again and "benchmark" in out_again


def test_an_edited_plugin_module_invalidates_the_help_index(loaded, tmp_path):
    loaded("--help")
    modules, _ = loaded("--help")
    assert not {m for m in modules if m.startswith("voice_transcriber_")}
    [index] = (tmp_path / "cache" / "voice-transcriber").glob("plugins-*.json")
    data = json.loads(index.read_text())
    data["fingerprint"][0][-1] = 1  # as if the first plugin's module had changed since
    index.write_text(json.dumps(data))
    modules, out = loaded("--help")
    assert {m for m in modules if m.startswith("voice_transcriber_")} and "rofi" in out


def test_the_quick_reader_names_the_plugins_group():
    from voice_transcriber import plugins, quick

    assert quick.PLUGINS_GROUP == plugins.ENTRY_POINT_GROUP
    assert {name for _, name, _ in quick.entry_points(quick.PLUGINS_GROUP)} == \
        {ep.name for ep in plugins.installed_entry_points()}


# --- plugins imported only when what they provide is used (the plugin index) ------------------------------

JFK = Path(__file__).resolve().parents[2] / "samples" / "jfk.flac"
#: Plugins that observe every run (they implement hooks of events every run has): imported as those fire.
EVERY_RUN = {"voice_transcriber_notify.notifications", "voice_transcriber_benchmark.plugin"}
#: Plugins that only provide components, commands or hooks nobody asked for in a dictation of a file through
#: vt-seconds to stdout (the clipboard plugin watches recordings start, and a file is no recording).
UNUSED = {"voice_transcriber_backends.local_backend", "voice_transcriber_backends.openai_backend",
          "voice_transcriber_clipboard.sink",
          "voice_transcriber_benchmark.command",  # its plugin observes every run; its command is not used
          "voice_transcriber_formatter.llm", "voice_transcriber_formatter.rules", "voice_transcriber_typing.sink",
          "voice_transcriber_tray.plugin", "voice_transcriber_notify.launcher"}


@pytest.fixture
def seconds_plugin(tmp_path):
    """A third-party plugin, installed as a real distribution on PYTHONPATH, that registers only a backend."""
    make_distribution(tmp_path / "dist", "vt-seconds", "vt_seconds_mod", SECONDS_BACKEND, "seconds")
    return {"PYTHONPATH": str(tmp_path / "dist"), "HF_HUB_OFFLINE": "1"}


def test_a_dictation_imports_only_the_plugins_it_uses(loaded, seconds_plugin):
    args = ("transcribe", str(JFK), "--backend", "vt-seconds", "--output", "stdout")
    first, out_first = loaded(*args, extra_env=seconds_plugin)  # no index yet: every plugin, then the index
    assert UNUSED <= first
    modules, out = loaded(*args, extra_env=seconds_plugin)
    assert out == out_first and out.strip().endswith("11 seconds heard")
    assert "vt_seconds_mod" in modules and EVERY_RUN <= modules
    assert not UNUSED & modules


def test_a_deferred_plugin_command_imports_its_plugin_alone(loaded, indexed):
    modules, out = loaded("models", "--help")
    assert "Whisper models" in out and "voice_transcriber_backends.local_cli" in modules
    assert not {"voice_transcriber_tray.plugin", "voice_transcriber_notify.launcher", "voice_transcriber_typing.sink"} \
        & modules


def test_unknown_config_keys_are_found_without_importing_the_plugins_that_declare_sections(loaded, tmp_path,
                                                                                           seconds_plugin):
    config = tmp_path / "config" / "voice-transcriber"
    config.mkdir(parents=True)
    (config / "config.json").write_text(json.dumps({
        "transcription": {"locl": {}, "local": {"modl": 1, "model": "tiny.en"}}, "tray": {"x": 1},
        "formatter": {"llm": {"ur": 1}, "rules": {}}, "profiles": [{"name": "p", "settings": {"formatter.llm.url": 1}}]}))
    args = ("transcribe", str(JFK), "--backend", "vt-seconds", "--output", "stdout")
    env = {**os.environ, **{f"XDG_{name}_HOME": str(tmp_path / name.lower()) for name in ("CONFIG", "STATE", "CACHE")},
           "XDG_RUNTIME_DIR": str(tmp_path / "runtime"), **seconds_plugin}
    exe = str(Path(sys.executable).with_name("voice-transcriber"))
    full = subprocess.run([exe, *args], env={**env, "VOICE_TRANSCRIBER_DISABLE_PLUGINS": ""}, capture_output=True,
                          text=True, timeout=120)  # a plugin variable: every plugin, no index
    loaded(*args, extra_env=seconds_plugin)  # writes the index
    dump = tmp_path / "lazy-modules.json"  # through the real entry point, as `loaded`, with its stderr
    lazy = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, str(dump), *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert lazy.returncode == full.returncode == 0 and lazy.stdout == full.stdout
    assert lazy.stderr == full.stderr
    for key in ("transcription.locl", "transcription.local.modl", "tray.x", "formatter.llm.ur",
                "profiles[0].settings.formatter.llm.url"):
        assert f"unknown key {key} " in lazy.stderr
    modules = set(json.loads(dump.read_text()))
    assert not {"voice_transcriber_tray.plugin", "voice_transcriber_formatter.llm",
                "voice_transcriber_backends.local_backend"} & modules


def test_plugins_listing_is_the_same_with_the_index(seconds_plugin, tmp_path):
    env = {**seconds_plugin, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    from vt_testing.core import run_cli

    first = run_cli("plugins", "--json", env=env)  # writes the index
    run_cli("config", "path", env=env)
    again = run_cli("plugins", "--json", env=env)
    assert first.returncode == again.returncode == 0 and json.loads(first.stdout) == json.loads(again.stdout)
    assert "seconds" in {record["name"] for record in json.loads(again.stdout)}


def test_a_deferred_plugin_that_breaks_later_costs_one_line_when_used(loaded, tmp_path, seconds_plugin):
    """A dependency removed after the index was written: the plugin's own files (and so the index) unchanged."""
    args = ("transcribe", str(JFK), "--backend", "vt-seconds", "--output", "stdout")
    loaded(*args, extra_env=seconds_plugin)
    module = tmp_path / "dist" / "vt_seconds_mod.py"
    stat = module.stat()
    module.write_text("import vt_gone_dependency\n" + SECONDS_BACKEND)
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    env = {**os.environ, **{f"XDG_{name}_HOME": str(tmp_path / name.lower()) for name in ("CONFIG", "STATE", "CACHE")},
           "XDG_RUNTIME_DIR": str(tmp_path / "runtime"), **seconds_plugin}
    result = subprocess.run([str(Path(sys.executable).with_name("voice-transcriber")), *args], env=env,
                            capture_output=True, text=True, timeout=120)
    lines = result.stderr.splitlines()
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert [line for line in lines if "warning: plugin seconds (distribution vt-seconds 1.2.3) is broken" in line]
    assert lines[-1].startswith("voice-transcriber: error: backend 'vt-seconds' cannot be used: plugin seconds")
    assert "vt_gone_dependency" in lines[-1]


# --- `--help` without click: the text click printed, remembered in the plugin index -------------------------

def test_help_is_answered_without_click_and_is_what_click_prints(loaded, indexed, monkeypatch, capsys):
    from voice_transcriber.cli import core_commands, make_cli
    from voice_transcriber.plugins import get_plugin_manager

    monkeypatch.setenv("COLUMNS", "80")
    cli = make_cli(get_plugin_manager())  # click's own rendering, every plugin loaded
    for argv in [["--help"], ["-h"], *([command.name, "--help"] for command in core_commands()), ["config", "-h"]]:
        modules, out = loaded(*argv, extra_env={"COLUMNS": "80"})
        assert not {"click", "pydantic", "pluggy"} & modules and not heavy(modules), argv
        capsys.readouterr()
        assert cli.main(argv, prog_name="voice-transcriber", standalone_mode=False) == 0
        assert out == capsys.readouterr().out, argv


def test_help_for_a_narrow_terminal_or_with_root_options_is_clicks(loaded, indexed):
    modules, narrow = loaded("--help", extra_env={"COLUMNS": "60"})
    assert "click" in modules and max(len(line) for line in narrow.splitlines()) <= 58
    modules, _ = loaded("--debug", "transcribe", "--help")
    assert "click" in modules and not {m for m in modules if m.startswith("voice_transcriber_")}


# --- the commands bench/command_startup.py measures: what each imports -----------------------------------

#: Every library of the audio, model and network stacks (``av._core``: PyAV itself, not faster-whisper's stand-in).
AUDIO_MODEL_NETWORK = {"numpy", "sounddevice", "soundfile", "soxr", "faster_whisper", "ctranslate2", "tokenizers",
                       "onnxruntime", "av._core", "httpx"}


def plugins_of(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith("voice_transcriber_")}


def test_commands_that_read_no_config_import_no_plugin_and_no_config_schema(loaded, indexed):
    """Plugins are imported when something of theirs is used, event observers included: nothing of a plugin
    is used here, and no config is read, so neither a plugin nor pydantic loads."""
    for args, code in [(("history",), 0), (("config", "path"), 0), (("stop", "--wait"), 1)]:
        modules, out = loaded(*args, code=code)
        assert "click" in modules, args  # the full command line, not a fast path
        assert not plugins_of(modules), args
        assert not {"pydantic", *AUDIO_MODEL_NETWORK} & modules, args


def test_models_list_and_doctor_import_no_pyav_and_models_list_no_model_runtime(loaded, indexed):
    """``models list`` reads faster-whisper's table of model names from its source: no CTranslate2, tokenizers,
    PyAV or numpy; ``doctor`` imports faster-whisper to check it, with PyAV deferred as for a transcription."""
    modules, out = loaded("models", "list")
    assert "tiny.en" in out
    assert not AUDIO_MODEL_NETWORK & modules
    assert not plugins_of(modules) - {"voice_transcriber_backends", "voice_transcriber_backends.local_backend",
                                      "voice_transcriber_backends.local_cli", "voice_transcriber_backends.local_config",
                                      "voice_transcriber_backends.local_models", "voice_transcriber_backends.local_head_start",
                                      "voice_transcriber_backends.languages", "voice_transcriber_backends.prompts",
                                      "voice_transcriber_backends.runaway", "voice_transcriber_backends.local_loading",
                                      "voice_transcriber_backends.local_decode", "voice_transcriber_backends.whisper_window",
                                      "voice_transcriber_backends.whisper_words", "voice_transcriber_backends.local_checks"}
    modules, out = loaded("doctor", code=None)  # FAIL lines for what this machine lacks (a display, a server)
    assert "ok    local model: tiny.en" in out and "faster_whisper" in modules
    assert "av._core" not in modules


def write_config(tmp_path: Path, config: dict) -> None:
    folder = tmp_path / "config" / "voice-transcriber"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")


def test_a_local_transcription_without_the_vad_imports_no_vad_runtime_pyav_network_or_unused_plugin(loaded, indexed,
                                                                                                     tmp_path):
    """The Silero VAD (onnxruntime) loads only when the VAD filter is on; PyAV only for a format libsndfile
    cannot read; the clipboard plugin only when a recording starts or its sink is used."""
    import soundfile

    write_config(tmp_path, {"transcription": {"local": {"vadFilter": False}}})
    samples, rate = soundfile.read(JFK, dtype="int16")
    soundfile.write(tmp_path / "first-second.wav", samples[:rate], rate)
    # The head start's record (the plugin index is ``indexed``'s), from its first second: the files are no input
    # of a head start (the same options, config and environment), and its text is not looked at.
    loaded("transcribe", str(tmp_path / "first-second.wav"))
    modules, out = loaded("transcribe", str(JFK))
    assert "ask not what your country can do for you" in out
    assert "faster_whisper" in modules
    assert not {"onnxruntime", "av._core", "httpx", "click", "sounddevice"} & modules
    assert plugins_of(modules) & UNUSED == {"voice_transcriber_backends.local_backend"}


def test_an_http_transcription_imports_no_model_runtime_and_no_unused_plugin(loaded, indexed, tmp_path, httpserver):
    httpserver.expect_request("/v1/audio/transcriptions", method="POST").respond_with_json(
        {"text": "ask not what your country can do for you"})
    write_config(tmp_path, {"transcription": {"backend": "openai", "openai": {
        "baseUrl": httpserver.url_for("/v1"), "apiKey": "none"}}})
    modules, out = loaded("transcribe", str(JFK))
    assert out.strip() == "ask not what your country can do for you"
    assert "httpx" in modules
    assert not {"faster_whisper", "ctranslate2", "onnxruntime", "av._core", "tokenizers", "click", "sounddevice"} & modules
    assert plugins_of(modules) & UNUSED == {"voice_transcriber_backends.openai_backend"}


def test_retry_of_a_stored_recording_imports_only_the_plugins_it_uses(loaded, tmp_path, seconds_plugin):
    import soundfile

    folder = tmp_path / "state" / "voice-transcriber" / "recordings"
    folder.mkdir(parents=True, mode=0o700)
    samples, rate = soundfile.read(JFK, dtype="int16")
    soundfile.write(folder / "20261206-120000-abc123.wav", samples, rate)
    args = ("retry", "last", "--backend", "vt-seconds", "--output", "stdout")
    loaded("config", "path", extra_env=seconds_plugin)
    modules, out = loaded(*args, extra_env=seconds_plugin)
    assert out.strip().endswith("seconds heard")  # phrase by phrase, as a live run would have streamed it
    assert "vt_seconds_mod" in modules and EVERY_RUN <= modules
    assert not UNUSED & modules
    assert not {"faster_whisper", "av._core", "httpx", "sounddevice"} & modules


# --- the daemon's own commands: a question on its socket (voice_transcriber.daemon.admin) --------------------

#: What answering on the daemon's socket must not cost: the command line, the config schema, the plugins.
COMMAND_LINE = {"click", "pydantic", "pluggy", "importlib.metadata"}


@pytest.fixture
def daemon_home(tmp_path):
    """XDG dirs with the plugin index (as after a user's first command) and a short runtime dir (Unix socket
    paths are limited); the config's backend is openai on a closed port: the daemon starts without a model."""
    from vt_testing.core import seed_plugin_index

    runtime = Path(tempfile.mkdtemp(prefix="vts-", dir="/tmp"))
    env = {**os.environ, **{f"XDG_{name}_HOME": str(tmp_path / name.lower()) for name in ("CONFIG", "STATE", "CACHE")},
           "XDG_RUNTIME_DIR": str(runtime)}
    env = {key: value for key, value in env.items() if not key.startswith("VOICE_TRANSCRIBER_")}
    seed_plugin_index(tmp_path / "cache")
    write_config(tmp_path, {"transcription": {"backend": "openai", "openai": {"apiKey": "none",
                                                                              "baseUrl": "http://127.0.0.1:9/v1"}}})
    yield env
    shutil.rmtree(runtime, ignore_errors=True)


def daemon_command(env: dict[str, str], dump: Path, *args: str, full: bool = False) -> subprocess.CompletedProcess:
    """``voice-transcriber ARGS`` through the real entry point, its modules written to ``dump``; ``full``: through
    the whole command line (a set plugin variable turns every fast path off), as before the fast path."""
    extra = {"VOICE_TRANSCRIBER_DISABLE_PLUGINS": ""} if full else {}
    return subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, str(dump), *args], env={**env, **extra},
                          capture_output=True, text=True, timeout=120)


NO_DAEMON = ("voice-transcriber: error: no daemon is running (start one with `voice-transcriber daemon`, or "
             "`systemctl --user start voice-transcriber`)\n")


def test_daemon_commands_without_a_daemon_answer_as_the_command_line_does_without_loading_it(daemon_home, tmp_path):
    dump = tmp_path / "modules.json"
    quick = daemon_command(daemon_home, dump, "daemon", "status")
    full = daemon_command(daemon_home, dump, "daemon", "status", full=True)
    assert "click" in json.loads(dump.read_text())
    assert (quick.returncode, quick.stdout, quick.stderr) == (full.returncode, full.stdout, full.stderr) == (1, "", NO_DAEMON)
    socket_file = Path(daemon_home["XDG_RUNTIME_DIR"]) / "voice-transcriber" / "daemon.sock"
    stale = ("voice-transcriber: the daemon socket " f"{socket_file} is stale (the daemon is gone); working without it "
             "— restart it with `voice-transcriber daemon`\n")
    for args, left_by_a_dead_daemon in [(("daemon", "status", "--json"), False), (("daemon", "stop"), False),
                                        (("daemon", "reload"), False), (("daemon", "stop"), True)]:
        if left_by_a_dead_daemon:  # a socket file nobody listens on: a note, then the same error
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(str(socket_file))
            listener.close()
        expected = (stale if left_by_a_dead_daemon else "") + NO_DAEMON
        quick = daemon_command(daemon_home, dump, *args)
        modules = set(json.loads(dump.read_text()))
        assert not (COMMAND_LINE | AUDIO_MODEL_NETWORK) & modules and not plugins_of(modules), args
        assert (quick.returncode, quick.stdout, quick.stderr) == (1, "", expected), args


def test_daemon_commands_with_a_daemon_answer_as_the_command_line_does_without_loading_it(daemon_home, tmp_path):
    """``daemon status``, ``reload``, a second ``daemon`` and ``daemon stop`` against a real daemon: the same lines
    and exit codes as through the command line, without click, pydantic or a plugin."""
    dump = tmp_path / "modules.json"
    daemon = subprocess.Popen([str(Path(sys.executable).with_name("voice-transcriber")), "daemon"], env=daemon_home,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    socket_file = Path(daemon_home["XDG_RUNTIME_DIR"]) / "voice-transcriber" / "daemon.sock"
    try:
        deadline = time.monotonic() + 120
        while not socket_file.exists():  # a status command costs a process start: ask once it can answer
            assert daemon.poll() is None, daemon.stderr.read()
            assert time.monotonic() < deadline, "the daemon made no socket"
            time.sleep(0.05)
        while (status := daemon_command(daemon_home, dump, "daemon", "status", "--json")).returncode != 0:
            assert daemon.poll() is None, daemon.stderr.read()
            assert time.monotonic() < deadline, "the daemon did not answer"
            time.sleep(0.2)
        assert json.loads(status.stdout)["pid"] == daemon.pid and status.stderr == ""
        for args, compared in [(("daemon", "status"), True), (("daemon", "reload"), False), (("daemon",), True)]:
            quick = daemon_command(daemon_home, dump, *args)
            modules = set(json.loads(dump.read_text()))
            assert not (COMMAND_LINE | AUDIO_MODEL_NETWORK) & modules and not plugins_of(modules), args
            if compared:
                full = daemon_command(daemon_home, dump, *args, full=True)
                assert (quick.returncode, quick.stdout, quick.stderr) == (full.returncode, full.stdout, full.stderr), args
            else:  # the daemon's own line (test_daemon_server checks what a reload does)
                assert quick.returncode == 0 and quick.stdout.startswith("reloaded "), quick.stderr
        assert quick.returncode == 1 and quick.stderr == (
            f"voice-transcriber: error: a daemon is already running (pid {daemon.pid}); stop it with "
            "`voice-transcriber daemon stop` or use it as it is\n")
        stopped = daemon_command(daemon_home, dump, "daemon", "stop")
        assert stopped.returncode == 0 and stopped.stdout.startswith(f"stopping the daemon (pid {daemon.pid})")
        assert not (COMMAND_LINE | AUDIO_MODEL_NETWORK) & set(json.loads(dump.read_text()))
        assert daemon.wait(timeout=60) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
