"""The coordination files on their own: stale PID files, PID reuse, dead runs, linger, option forwarding."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from voice_transcriber import control, runstate


@pytest.fixture(autouse=True)
def runtime(tmp_path, monkeypatch):
    path = tmp_path / "run"
    path.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    return path / "voice-transcriber"


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_pid_file_naming_a_dead_process_is_stale_and_removed(runtime):
    control.register(control.Recorder(dead_pid(), None, time.time()))
    stale = []
    with control.control_lock():
        assert control.current_recorder(on_stale=stale.append) is None
    assert len(stale) == 1 and not (runtime / "recorder.json").exists()
    assert (runtime.stat().st_mode & 0o777) == 0o700


def test_a_reused_pid_is_not_the_recorder():
    me = os.getpid()
    assert control.Recorder(me, control.start_ticks(me), 0).alive()
    assert not control.Recorder(me, control.start_ticks(me) - 1, 0).alive()  # same PID, another process


def test_a_run_whose_process_died_is_reported_failed_with_the_retry_command(runtime):
    runs = runtime / "runs"
    runs.mkdir(parents=True)
    (runs / "old.json").write_text(json.dumps({"id": "old", "state": "delivered", "since": time.time() - 100}))
    record = {"id": "20261125-120000-abc123", "state": "transcribing", "pid": dead_pid(), "ticks": None,
              "since": time.time(), "recording": "/x/20261125-120000-abc123.wav"}
    (runs / "20261125-120000-abc123.json").write_text(json.dumps(record))
    status = runstate.current_status(linger=60)
    assert status["state"] == "failed" and status["class"] == "failed"
    assert "died while transcribing" in status["error"]
    assert "`voice-transcriber retry 20261125-120000-abc123`" in status["error"]
    assert [p.name for p in runs.iterdir()] == ["20261125-120000-abc123.json"]  # only the newest outcome stays


def test_outcomes_linger_then_idle_and_active_states_win():
    runstate.publish("done", "delivered", sinks=["clipboard"])
    assert runstate.current_status(linger=60)["tooltip"].startswith("delivered to clipboard")
    idle = runstate.current_status(linger=0)
    assert idle["state"] == "idle" and idle["last"]["id"] == "done" and idle["pid"] is None
    runstate.publish("live", "transcribing", backend="local")  # this very process: alive
    busy = runstate.current_status(linger=0)
    assert (busy["state"], busy["backend"], busy["pid"]) == ("transcribing", "local", os.getpid())


def test_toggle_hands_exactly_the_given_options_to_the_recorder(cli, monkeypatch):
    spawned = []
    monkeypatch.setattr(control, "spawn_recorder",
                        lambda argv: spawned.append(list(argv)) or control.Recorder(1, None, 0, "log"))
    cli("toggle", "--output", "typing,clipboard", "-l", "fr", "--no-format", "--profile", "mail", "-d", "2")
    [argv] = spawned
    given = {"--output": "typing,clipboard", "--language": "fr", "--profile": "mail", "--device": "2"}
    assert sorted(argv) == sorted([*given, *given.values(), "--no-format"])
    assert all(argv[argv.index(option) + 1] == value for option, value in given.items())


def test_a_terminal_recording_registers_only_if_it_handles_sigusr1(runtime, monkeypatch):
    import signal

    # What capture.record calls when the microphone opens and when the recording ends.
    control.recorder_listening()  # pytest does not handle SIGUSR1: `stop` would kill it, so it stays unregistered
    assert control.read_recorder() is None
    monkeypatch.setattr(signal, "getsignal", lambda signum: (lambda *_: None))  # as the capture's handler
    control.recorder_listening()
    assert control.read_recorder().pid == os.getpid()
    control.recorder_done()
    assert control.read_recorder() is None


def test_a_run_ending_beside_another_keeps_its_outcome_for_stop_wait(runtime):
    """Two runs that end at the same moment each keep their record, so ``stop --wait`` of either finds its
    outcome (it once read "exited without publishing a result"); old and surplus outcomes still go."""
    runs = runtime / "runs"
    runs.mkdir(parents=True)
    (runs / "old.json").write_text(json.dumps({"id": "old", "state": "delivered",
                                               "since": time.time() - runstate.OUTCOME_KEEP - 1}))
    runstate.publish("cancelled-one", "idle", cancelled=True)
    runstate.publish("other", "delivered", sinks=["stdout"])
    assert sorted(p.name for p in runs.iterdir()) == ["cancelled-one.json", "other.json"]
    me = os.getpid()
    assert runstate.find_run(me, control.start_ticks(me))["id"] == "other"
    assert {r["id"]: r.get("cancelled") for r in runstate.read_runs()} == {"cancelled-one": True, "other": None}
    assert runstate.current_status(linger=60)["state"] == "delivered"  # the newest outcome is the status
    for number in range(runstate.OUTCOME_MAX + 5):
        runstate.publish(f"run-{number:02d}", "delivered")
    assert len(list(runs.iterdir())) == runstate.OUTCOME_MAX
