"""The pushed run event stream: the journal and its inotify tail, the hub, ``status --follow``, the daemon's ``events``."""

from __future__ import annotations

import json
import select
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from voice_transcriber import events, runstate
from vt_testing.daemon import DaemonWorld, EventLog
from vt_testing.desktop import wait_until


def _event(pid: int, seq: int, run: str, event: str, state: str, **details) -> dict:
    return {"v": 1, "seq": seq, "run": run, "pid": pid, "time": time.time(), "event": event, "state": state, **details}


def test_the_journal_tail_reads_every_line_in_order_across_rotations(tmp_path, monkeypatch):
    monkeypatch.setattr(events, "ROTATE_BYTES", 2000)
    tail = events.JournalTail(tmp_path)
    try:
        events.append(_event(1, 0, "before", "recording", "recording"), tmp_path)  # the tail opened on no file
        seen: list[dict] = []
        for seq in range(1, 301):  # ~20 rotations
            events.append(_event(1, seq, f"r{seq // 3}", "partial", "transcribing", partial="x" * (seq % 50)), tmp_path)
            if seq % 7 == 0:
                assert select.select([tail], [], [], 5)[0], "inotify did not wake the tail"
                seen += tail.read()
        while select.select([tail], [], [], 0.2)[0]:
            seen += tail.read()
        seen += tail.read()
    finally:
        tail.close()
    assert [e["seq"] for e in seen] == list(range(0, 301))
    assert (tmp_path / "events.jsonl.1").exists()


def test_an_idle_tail_sleeps_until_a_line_comes(tmp_path):
    tail = events.JournalTail(tmp_path)
    try:
        assert select.select([tail], [], [], 0.3)[0] == []  # nothing written: not readable, no wake-ups
        events.append(_event(1, 1, "a", "recording", "recording"), tmp_path)
        assert select.select([tail], [], [], 5)[0] == [tail]
        assert [e["run"] for e in tail.read()] == ["a"]
    finally:
        tail.close()


def test_a_slow_subscriber_is_cut_off_with_an_overflow_event_never_silently():
    hub = events.Hub()
    subscription = hub.subscribe(limit=3)
    for seq in range(5):
        hub.publish({"seq": seq})
    got = [subscription.get(timeout=1) for _ in range(5)]
    assert got[:3] == [{"seq": 0}, {"seq": 1}, {"seq": 2}]
    assert got[3]["event"] == "overflow" and "cut off" in got[3]["error"]
    assert got[4] is None


def test_the_folder_prints_each_state_change_once_and_drops_events_seen_twice():
    folder = runstate.Folder(linger=5)
    stream = [_event(7, 1, "a", "recording", "recording"), _event(7, 2, "a", "recorded", "transcribing"),
              _event(7, 3, "a", "transcribing", "transcribing", backend="local"),
              _event(7, 4, "a", "partial", "transcribing", partial="Hello"),
              _event(7, 5, "a", "transcript", "transcribing"), _event(7, 6, "a", "sink", "transcribing", sink="x"),
              _event(7, 7, "a", "delivered", "delivered", text="Hello there.", sinks=["x"])]
    records = [folder.add(e) for e in stream + stream[2:5]]  # the second copy came through the other source
    printed = [(r["event"], r["state"], r["backend"]) for r in records if r is not None]
    assert printed == [("recording", "recording", None), ("recorded", "transcribing", None),
                       ("transcribing", "transcribing", "local"), ("partial", "transcribing", "local"),
                       ("delivered", "delivered", "local")]
    assert records[6]["transcript"] == "Hello there." and records[6]["tooltip"].startswith("delivered to x")
    assert records[3]["partial"] == "Hello"
    assert 0 < folder.timeout() <= 5 and folder.expire() is None  # idle comes after --linger


@pytest.fixture
def daemon_world(pulse, tiny_model_dir, heard_backend) -> Iterator[DaemonWorld]:
    """A daemon whose dictations go to the third-party backend ``vt-heard`` (a real plugin through the real
    pipeline): the events are the point here, not the words; the local backend's runs through the daemon are
    tested in test_daemon_server. With tiny.en the eleven runs took 9.7 CPU-s (the daemon's and the terminal
    run's model loads and decodes)."""
    with DaemonWorld(pulse.env, tiny_model_dir, config={"transcription": {"backend": "vt-heard"}},
                     extra_env=heard_backend) as world:
        world.start_daemon()
        yield world


SPEECH = ("Please send the report by Friday, and after that we can talk about the budget, the schedule and the "
          "people we still need to hire, because the launch is close and nobody wants to be late again this year.")
RUN_ORDER = ["recording", "recorded", "transcribing", "transcript"]


@pytest.mark.slow
def test_ten_back_to_back_dictations_push_every_event_of_every_run(daemon_world, pulse, espeak_wav):
    """Start, stop, start again at once (runs overlap: one records while the last is transcribed), ten times."""
    log = EventLog(daemon_world.socket)
    follow = daemon_world.popen("status", "--follow", "--json", "--linger", "0.5", stdout=subprocess.PIPE, text=True)
    assert json.loads(follow.stdout.readline())["state"] == "idle"  # it runs and said where things stand
    speaker = pulse.play(espeak_wav(SPEECH))
    runs = []
    try:
        for _ in range(10):
            started = daemon_world.vt("start", "--wait")
            assert started.returncode == 0, started.stderr
            runs.append(started.stdout.split("(run ")[1].split(",")[0])
            time.sleep(0.3)
            assert daemon_world.vt("stop").returncode == 0
        seen = log.wait_for(lambda evs: sum(e["event"] in events.ENDINGS for e in evs) >= 10)
        # A run in another process (a terminal's): the daemon relays it from the journal, in order.
        wav = espeak_wav("Hello from the terminal.")
        assert daemon_world.vt("--input", str(wav), "--output", "stdout").returncode == 0
        foreign = [e for e in log.wait_for(lambda evs: any(e["event"] == "delivered" and e["pid"] != daemon_world.process.pid
                                                          for e in evs)) if e["pid"] != daemon_world.process.pid]
    finally:
        speaker.terminate()
        log.close()
    assert [e["event"] for e in foreign if e["event"] != "partial"] == ["transcribing", "transcript", "sink", "delivered"]
    assert [e["seq"] for e in foreign] == list(range(foreign[0]["seq"], foreign[0]["seq"] + len(foreign)))
    seen = [e for e in seen if e not in foreign]
    daemon_pid = daemon_world.process.pid
    assert [e["seq"] for e in seen] == list(range(seen[0]["seq"], seen[0]["seq"] + len(seen)))  # none dropped
    assert {e["pid"] for e in seen} == {daemon_pid}
    for run in runs:
        mine = [e["event"] for e in seen if e["run"] == run]
        outcome = mine[-1]
        assert outcome in ("delivered", "failed"), (run, mine)
        core = [e for e in mine if e in RUN_ORDER]
        assert core == RUN_ORDER, (run, mine)  # every step, in order
        assert mine.count(outcome) == 1 and mine.index("recording") == 0
    assert [e["run"] for e in seen if e["event"] == "recording"] == runs
    assert sum(e["event"] == "delivered" for e in seen) >= 1  # the microphone heard speech: some text arrived

    # status --follow printed the same story: recording → transcribing → outcome for each run, then idle
    lines: list[dict] = []

    def read() -> None:
        for line in follow.stdout:
            lines.append(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_until(lambda: lines and lines[-1]["state"] == "idle" and len({r["id"] for r in lines if r.get("event")}) >= 11,
               60, "status --follow to print every run and idle")
    follow.terminate()
    for run in runs:
        # the text so far comes as it is decoded: a backend quicker than tiny.en decodes the phrase handed out at
        # the stop while the stop's tail is still recorded, so a partial line may say "recording" too (as
        # test_toggle_recorder's do); the state changes are the story
        story = [(r["state"], r.get("event")) for r in lines if r["id"] == run]
        assert all(state in ("recording", "transcribing") for state, event in story if event == "partial"), (run, story)
        states = [state for state, event in story if event != "partial"]
        assert states[0] == "recording" and states[-1] in ("delivered", "failed"), (run, states)
        assert set(states[1:-1]) == {"transcribing"}, (run, states)


def test_nothing_is_published_for_a_run_after_its_outcome(tmp_path, monkeypatch):
    """A streaming backend's thread may decode one more phrase after the run failed: it must not revive the run."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    subscription = events.hub.subscribe()
    try:
        events.emit("late-run", "recording", "recording")
        events.emit("late-run", "failed", "failed", error="no speech detected")
        assert events.emit("late-run", "partial", "transcribing", partial="too late") == {}
        got = [subscription.get(timeout=1)["event"] for _ in range(2)]
    finally:
        subscription.close()
    assert got == ["recording", "failed"]
    journal = [json.loads(line) for line in (runtime / "voice-transcriber" / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in journal] == ["recording", "failed"]
    folder = runstate.Folder(linger=5)
    assert folder.add(journal[0])["state"] == "recording" and folder.add(journal[1])["state"] == "failed"
    assert folder.add({**journal[0], "seq": journal[1]["seq"] + 1, "event": "partial"}) is None
