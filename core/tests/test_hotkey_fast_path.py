"""The hotkey commands a held key fires over and over finish before click loads, and say what the command line says.

Without a daemon, ``start`` while a recording runs or after the release's ``stop`` (key autorepeat),
``toggle`` within ``--repeat-guard`` or stopping the recorder, ``stop`` and ``cancel`` are answered by
``voice_transcriber.hotkey`` with the standard library alone. Each case runs twice from the same state:
through the real executable and through the click command line (``voice_transcriber.cli.main``, in the
test's process), and the output, the exit code, the signal the recorder got and the files left must be
the same. No timings: which modules the process loaded is what is pinned.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vt_testing.tool_stubs import run_in_process
from voice_transcriber import control
from voice_transcriber.hotkey_state import boot_id

#: Runs the console script's entry point and, at exit, writes the loaded modules' names to a file.
EXECUTABLE = """
import atexit, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
sys.argv[0] = "voice-transcriber"
from voice_transcriber.__main__ import main
main()
"""
#: What a hotkey command answered by the fast path must not load (unless bare Python does).
HEAVY = ("click", "pydantic", "pluggy", "importlib.metadata", "json", "pathlib", "typing", "voice_transcriber.cli",
         "voice_transcriber.control", "voice_transcriber.config", "voice_transcriber.plugins")
#: ... nor, unless it starts a recorder (``subprocess`` imports them), these.
LIGHT_ONLY = ("enum", "re", "signal", "subprocess")
FUTURE = 1 << 60  # kernel ticks no command was fired after


def run(argv: list[str], *, fast: bool, dump: Path | None = None) -> subprocess.CompletedProcess:
    """The executable in a process of its own (what it loads is the point), or the click command line in this one
    (the command line's code without a process's imports, ~0.3 CPU-s a case; what it loads is not compared)."""
    if not fast:
        return run_in_process(*argv, text=True)
    return subprocess.run([sys.executable, "-c", EXECUTABLE, str(dump), *argv], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    """One cache folder for the module: the first command-line run writes the plugin index, the others read it."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def bare_modules():
    """The modules plain Python loads at start in this environment."""
    return set(subprocess.run([sys.executable, "-c", "import sys; print(*sys.modules)"], capture_output=True, text=True,
                              check=True).stdout.split())


@pytest.fixture
def runtime(isolated_dirs, shared_cache, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_cache))
    folder = Path(os.environ["XDG_RUNTIME_DIR"]) / "voice-transcriber"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def pending(pid: int) -> list[str]:
    """The signals sent to the process ``pid`` and not yet handled (blocked: see :func:`stand_in_recorder`)."""
    status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
    mask = int(status["ShdPnd"], 16) | int(status["SigPnd"], 16)
    return [signal.Signals(number).name for number in range(1, 65) if mask >> (number - 1) & 1]


def stand_in_recorder() -> subprocess.Popen:
    """A recorder's stand-in: ``sleep`` with SIGUSR1 and SIGUSR2 blocked (the mask survives exec), so a stop or
    cancel sent to it stays pending, for the test to read. (A SIGSTOPped ``sleep`` once lost its SIGUSR2 on a
    loaded machine; a blocked signal is never delivered, whatever else happens to the process.)"""
    return subprocess.Popen(["sleep", "120"], preexec_fn=lambda: signal.pthread_sigmask(
        signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGUSR2}))


class World:
    """A runtime folder in a given state, rebuilt before each of the two runs."""

    def __init__(self, runtime: Path, recorder: str | None, last_stop: int | None = None,
                 last_toggle: int | None = None) -> None:
        self.runtime, self.recorder_kind, self.last_stop, self.last_toggle = runtime, recorder, last_stop, last_toggle
        self.process: subprocess.Popen | None = None

    def build(self) -> None:
        for name in ("recorder.json", "last-stop.json", "last-toggle.json"):
            (self.runtime / name).unlink(missing_ok=True)
        if self.recorder_kind == "live":
            self.process = stand_in_recorder()
            control.register(control.Recorder(self.process.pid, control.start_ticks(self.process.pid),
                                              time.mktime((2026, 12, 6, 7, 30, 15, 0, 0, -1)), "/tmp/log"))
        elif self.recorder_kind == "dead":
            gone = subprocess.Popen(["true"])
            gone.wait()
            control.register(control.Recorder(gone.pid, 12345, time.time(), "/tmp/log"))
        for name, fired in (("last-stop.json", self.last_stop), ("last-toggle.json", self.last_toggle)):
            if fired is not None:  # last-toggle.json: a key held (and acted on) from tick 1 to ``fired``
                chains = {"chains": f"1-{fired}-1"} if name == "last-toggle.json" else {}
                control.write_json_atomic(self.runtime / name, {"fired": fired, "boot": boot_id(), "at": time.time(),
                                                                **chains})

    def outcome(self) -> dict:
        """What the command left: the recorder's fate and the state files (times and the recorder's PID aside;
        a recorder the command started is not compared: it ends by itself here, with no microphone)."""
        signalled = None
        if self.process is not None:
            signalled = pending(self.process.pid)
            self.process.kill()
            self.process.wait()
        files = {}
        for name in ("recorder.json", "last-stop.json", "last-toggle.json"):
            data = control.read_json(self.runtime / name)
            if name == "recorder.json" and self.recorder_kind is None:
                continue
            if data is not None:
                data = {key: value for key, value in data.items() if key not in ("at", "pid", "ticks", "started")}
                if "chains" in data:  # the command's own ticks, as "fired" below
                    data["chains"] = re.sub(rf"\b{data['fired']}\b", "FIRED", data["chains"]) \
                        if data["fired"] != self.last_toggle else data["chains"]
                if name != "recorder.json" and data["fired"] != {"last-stop.json": self.last_stop,
                                                                 "last-toggle.json": self.last_toggle}[name]:
                    data["fired"] = "this command's" if data["fired"] > 0 else data["fired"]
            files[name] = data
        return {"signal": signalled, "files": files}

    def result(self, argv: list[str], fast: bool, dump: Path) -> tuple[int, str, str, dict]:
        """Build the state, run ``argv``, and say what happened (the recorder's PID written as PID)."""
        self.build()
        result = run(argv, fast=fast, dump=dump)
        started = re.search(r"recording in the background \(pid (\d+)\)", result.stdout)
        if started:  # it would end by itself (no microphone here) after its start-up's ~0.5 CPU-s: not compared
            pid = int(started.group(1))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):  # this process's child when the command line ran here
                os.waitpid(pid, 0)
        out, err = (re.sub(r"pid \d+", "pid PID", text) for text in (result.stdout, result.stderr))
        return result.returncode, out, err, self.outcome()


CASES = {
    "start while recording": ("live", None, None, ["start"]),
    "start with options while recording": ("live", None, None, ["-q", "--config", "/nowhere.json", "start", "--output",
                                                                 "typing", "-b", "local", "--max-duration=5", "--live"]),
    "start fired before the last stop": ("live", FUTURE, None, ["start", "--output", "typing"]),
    "start after the stop, recorder gone": (None, FUTURE, None, ["start"]),
    "stop": ("live", None, None, ["stop"]),
    "cancel": ("live", None, None, ["cancel"]),
    "toggle stops": ("live", None, None, ["toggle", "--output", "typing"]),
    "toggle stops, after a guarded toggle long ago": ("live", None, 1, ["toggle", "--repeat-guard", "0.8"]),
    "toggle repeated within the guard": ("live", None, FUTURE, ["toggle", "--output", "typing", "--repeat-guard=0.8"]),
    "toggle repeated within the guard, nothing recording": (None, None, FUTURE, ["toggle", "--repeat-guard", "0.8"]),
    "start with nothing recording": (None, None, None, ["--config", "/nowhere.json", "start", "--output", "typing"]),
    "toggle with nothing recording": (None, None, 1, ["toggle", "--repeat-guard", "0.8", "--backend=openai"]),
}
STARTS = {"start with nothing recording", "toggle with nothing recording"}


@pytest.mark.parametrize("case", CASES)
def test_the_fast_path_does_what_the_command_line_does_and_loads_no_library(runtime, tmp_path, bare_modules, case):
    recorder, last_stop, last_toggle, argv = CASES[case]
    world = World(runtime, recorder, last_stop, last_toggle)
    dump = tmp_path / "modules.json"
    fast = world.result(argv, True, dump)
    modules = set(dump.read_text().split())
    assert fast == world.result(argv, False, dump)
    heavy = HEAVY if case in STARTS else HEAVY + LIGHT_ONLY
    assert [name for name in heavy if name in modules and name not in bare_modules] == []
    assert not [name for name in modules if name.startswith("voice_transcriber_")], "a plugin was imported"


def test_what_each_case_does(runtime, tmp_path):
    """The cases above do what their names say (so the equality above compares real outcomes)."""
    def once(name: str) -> tuple[int, str, str, dict]:
        recorder, last_stop, last_toggle, argv = CASES[name]
        return World(runtime, recorder, last_stop, last_toggle).result(argv, True, tmp_path / "modules.json")

    code, _, err, outcome = once("start while recording")
    assert code == 1 and "already recording (pid PID," in err and "since 07:30:15" in err and outcome["signal"] == []
    code, _, err, outcome = once("start fired before the last stop")
    assert code == 0 and "start ignored: it was fired before the last stop" in err
    assert outcome["files"]["recorder.json"] is not None, "the recording goes on"
    code, out, _, outcome = once("stop")
    assert code == 0 and out == "stopping; the text goes to the sinks — recorder pid PID\n"
    assert outcome["signal"] == ["SIGUSR1"] and outcome["files"]["recorder.json"] is None
    assert outcome["files"]["last-stop.json"]["fired"] == "this command's", "a start fired before it will be ignored"
    code, out, _, outcome = once("cancel")
    assert code == 0 and out.startswith("cancelling (the audio is kept)") and outcome["signal"] == ["SIGUSR2"]
    code, _, err, outcome = once("toggle repeated within the guard")
    assert code == 0 and "toggle ignored: fired 0.00 s after the previous one" in err and outcome["signal"] == []
    code, out, _, outcome = once("toggle with nothing recording")
    assert code == 0 and out.startswith("recording in the background (pid PID); stop with `voice-transcriber stop`, log: ")
    assert outcome["files"]["last-toggle.json"]["fired"] == "this command's", "the start of a guarded chain"
    code, out, _, outcome = once("toggle stops, after a guarded toggle long ago")
    assert code == 0 and out.startswith("stopping;") and outcome["files"]["last-toggle.json"]["fired"] == "this command's"


@pytest.mark.parametrize("argv", [
    ["start", "--max-duration", "-1"],  # click's range check: exit 2
    ["start", "-otyping"],
    ["start", "--wait"],
    ["--debug", "start"],
    ["toggle", "--repeat-guard", "-0.5"],
    ["stop", "--bogus"],
    ["start", "-q"],  # a root option after the command: click's message
    ["--strict", "stop"],  # nothing recording: a press's start may still be starting one (see hotkey.py)
    ["cancel"],
])
def test_what_the_fast_path_does_not_plainly_understand_goes_to_click(runtime, tmp_path, argv):
    """The executable then runs the command line as always (its messages, its checks): click is loaded."""
    World(runtime, None if argv[-1] in ("stop", "cancel") else "live").result(argv, True, tmp_path / "modules.json")
    assert "click" in (tmp_path / "modules.json").read_text().split()


def test_the_first_hotkey_after_login_makes_the_runtime_folder_and_stays_fast(runtime, tmp_path):
    """A fresh ``$XDG_RUNTIME_DIR`` (each login) has no voice-transcriber folder yet: the fast path makes it 0700, as
    the command line does, and answers (before, each command went through click until one had made it: 50 toggles
    fired at once in a fresh one all did)."""
    runtime.rmdir()
    code, out, _, _ = World(runtime, None).result(["toggle"], True, tmp_path / "modules.json")
    assert code == 0 and out.startswith("recording in the background (pid PID)")
    assert "click" not in (tmp_path / "modules.json").read_text().split()
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700


def test_a_dead_recorders_pid_file_is_reported_by_the_command_line(runtime, tmp_path):
    code, _, err, outcome = World(runtime, "dead").result(["stop"], True, tmp_path / "modules.json")
    assert "removed the PID file of a recorder that died" in err and code == 1
    assert outcome["files"]["recorder.json"] is None


def test_the_fast_paths_options_are_those_of_the_click_commands():
    """An option click has and the fast path does not know only means "click parses it"; one the fast path
    knows and click does not would skip click's "No such option": they are kept the same."""
    from voice_transcriber import hotkey
    from voice_transcriber.cli import make_cli

    root = make_cli(None)
    own = {"--wait", "-w", "--repeat-guard", "--help", "-h"}
    for name in ("start", "toggle"):
        params = [param for param in root.commands[name].params if param.opts[0] not in own]
        assert {opt for param in params if not param.is_flag for opt in param.opts} == hotkey.PIPELINE_VALUES, name
        assert {opt for param in params if param.is_flag for opt in param.opts} == hotkey.PIPELINE_FLAGS, name
        assert tuple(param.name for param in params) == hotkey.PIPELINE_ORDER, "a recorder's arguments are in click's order"
    for name in ("stop", "cancel"):
        assert {opt for param in root.commands[name].params for opt in param.opts} <= own
    root_options = {opt: param.is_flag for param in root.params for opt in param.opts}
    assert hotkey.ROOT_VALUES | hotkey.ROOT_FLAGS <= set(root_options)
    assert not any(root_options[opt] for opt in hotkey.ROOT_VALUES) and all(root_options[opt] for opt in hotkey.ROOT_FLAGS)


@pytest.mark.parametrize("argv", [
    ["toggle"],
    ["start", "--output", "typing", "--output=clipboard"],
    ["--config", "/x/c.json", "-q", "--strict", "toggle", "--repeat-guard", "0.8", "-o", "typing,clipboard", "-l", "fr",
     "--no-format", "--profile", "mail", "-d", "2", "--max-duration", "5", "--silence-stop=1e-1", "--live", "--json",
     "--continuous", "--no-newline", "-b", "local", "-f", "rules", "--live"],
    ["--config=", "start", "--device", "-", "--format", "rules,llm"],
])
def test_a_recorder_the_fast_path_starts_gets_the_arguments_the_command_line_gives_it(runtime, cli, monkeypatch, argv):
    from voice_transcriber import hotkey

    spawned = []
    monkeypatch.setattr(control, "spawn_recorder",
                        lambda args: spawned.append(list(args)) or control.Recorder(1, None, 0, "log"))
    cli(*argv)
    assert spawned == [hotkey.parse(argv).recorder_argv()]


def test_recorder_debug_makes_the_recorder_debug_and_leaves_the_hotkey_commands_fast(runtime, monkeypatch):
    """``VOICE_TRANSCRIBER_RECORDER_DEBUG``: the recorder the fast path starts runs with ``--debug`` (its log gets
    the timeline a hotkey test prints when it fails), the command itself stays on the fast path, and the
    variable is no config key."""
    from voice_transcriber import hotkey, hotkey_state
    from voice_transcriber.config_sources import env_overrides

    monkeypatch.setenv("VOICE_TRANSCRIBER_RECORDER_DEBUG", "1")
    monkeypatch.delenv("VOICE_TRANSCRIBER_DEBUG", raising=False)
    started: list[dict[str, str]] = []

    class Spawned:
        pid = os.getpid()

        def __init__(self, argv, **options):
            started.append(options["env"])

    monkeypatch.setattr(subprocess, "Popen", Spawned)
    with pytest.raises(SystemExit) as answered:  # the fast path answered (click would have returned here)
        hotkey.run(["toggle"])
    assert answered.value.code == 0
    assert [(env.get("VOICE_TRANSCRIBER_DEBUG"), env.get(hotkey_state.BACKGROUND_ENV)) for env in started] == [("1", "1")]
    assert "recorder_debug" not in env_overrides(os.environ)


def test_a_repeat_reaching_the_lock_before_an_earlier_one_is_still_a_repeat(runtime):
    """Two runs of a held toggle key, fired 0.3 s apart, the last handled toggle 6 s before the second: the second
    reaches the lock first. Six seconds after that toggle alone, over the 5 s guard, it would stop the recording;
    the first, fired before it and still running, makes it a repeat. The first, 5.7 s after the last handled
    toggle, is the hold's press: handled last, it still stops the recording (it was once ignored as fired
    before the handled second, and a KDE hold whose press came last recorded nothing). One signal in all."""
    from voice_transcriber import hotkey_state

    recorder = stand_in_recorder()
    toggle = [str(Path(sys.executable).with_name("voice-transcriber")), "toggle", "--repeat-guard", "5"]
    held = hotkey_state.lock(str(runtime / "control.lock"))
    assert held is not None
    first = second = None
    try:
        control.register(control.Recorder(recorder.pid, control.start_ticks(recorder.pid), time.time(), "/tmp/log"))
        first = subprocess.Popen(toggle, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)
        second = subprocess.Popen(toggle, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first.send_signal(signal.SIGSTOP)  # behind: the second takes the lock first
        fired = [control.start_ticks(first.pid), control.start_ticks(second.pid)]
        assert None not in fired and 0 < fired[1] - fired[0] < 4 * os.sysconf("SC_CLK_TCK"), fired
        control.write_json_atomic(runtime / "last-toggle.json",
                                  {"fired": fired[1] - 6 * os.sysconf("SC_CLK_TCK"), "boot": boot_id(), "at": 0})
        os.close(held)
        held = None
        out, err = second.communicate(timeout=60)
        assert re.fullmatch(r"voice-transcriber: toggle ignored: fired 0\.\d\d s after the previous one .*\n", err), \
            (out, err)
        first.send_signal(signal.SIGCONT)
        out, err = first.communicate(timeout=60)
        assert out.startswith("stopping;") and err == "", (out, err)
        assert pending(recorder.pid) == ["SIGUSR1"] and not (runtime / "recorder.json").exists()
    finally:
        if held is not None:
            os.close(held)
        for proc in (first, second, recorder):
            if proc is not None:
                proc.kill()
                proc.wait()
