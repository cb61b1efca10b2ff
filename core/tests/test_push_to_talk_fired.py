"""When a command was fired (push-to-talk's stale-start rule): a script's commands keep their own order."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from voice_transcriber import autorepeat, control, hotkey_state

REPORT = "import os; from voice_transcriber import control; print(control.fired_ticks(os.getpid()), " \
         "control.start_ticks(os.getpid()), control.start_ticks(os.getppid()))"


def run_in_shell(script: str) -> list[list[int]]:
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60, check=True).stdout
    return [[int(x) for x in line.split()] for line in out.splitlines()]


def test_commands_of_a_script_are_fired_when_they_start_not_when_the_shell_did():
    py = f"'{sys.executable}' -c \"{REPORT}\""
    (first, *_), (second, own, shell) = run_in_shell(f"sleep 0.1; {py}; {py}")
    assert second == own > shell, "`stop; start` in a script: the start is fired after the stop, not with the shell"


def test_a_stop_recorded_after_a_start_makes_only_that_start_stale(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path).chmod(0o700)
    with control.control_lock():
        control.note_stop(1000)
        assert control.stale_start(999) and control.stale_start(1000)  # fired before (or with) the stop
        assert not control.stale_start(1001)  # a new press after the release
        assert not control.stale_start(None)


def test_a_held_toggle_key_counts_as_one_press_under_the_repeat_guard(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    tmp_path.chmod(0o700)
    tick = os.sysconf("SC_CLK_TCK")
    with control.control_lock():
        assert control.repeated_toggle(1000, 0.8) is None, "the first press acts"
        assert control.repeated_toggle(1000 + tick // 2, 0.8) == 0.5, "the first repeat, after the repeat delay"
        for n in range(1, 40):  # the repeats keep the chain going for as long as the key is held
            assert control.repeated_toggle(1000 + tick // 2 + n * 3, 0.8) is not None
        assert control.repeated_toggle(1000, 0.8) == 0.0, "a repeat that reached us late is still a repeat"
        last = 1000 + tick // 2 + 39 * 3
        assert control.repeated_toggle(last + tick, 0.8) is None, "a new press a second after the release acts"
        assert control.repeated_toggle(last + tick + 1, 0) is None, "no guard: every toggle acts"
        assert control.repeated_toggle(None, 0.8) is None, "unknown firing time: acts"


def test_a_held_toggles_repeats_reaching_the_lock_out_of_order_stay_one_press():
    """A KDE hold on a busy machine: the press (fired at 0) was handled; its repeats fired at 0.60 s, 0.81 s and
    0.92 s, and the last one reaches the lock first. 0.92 s after the press alone it would be a new press (it
    started a recording again at load ~20); the repeats fired before it, still running, make it a repeat."""
    tick = os.sysconf("SC_CLK_TCK")
    handled = {"fired": 1000, "boot": hotkey_state.boot_id(), "at": 0.0}
    last = 1000 + round(0.92 * tick)
    assert autorepeat.toggle_repeat(last, 0.8, handled)[0] is None, "the press alone: a new press (the fault)"
    gap, record = autorepeat.toggle_repeat(last, 0.8, handled, (1000 + round(0.6 * tick), 1000 + round(0.81 * tick)))
    assert gap == pytest.approx(0.11, abs=1 / tick) and record["fired"] == last
    later = 1000 + round(0.81 * tick) + round(0.85 * tick)  # still running, fired after this one: not before it
    assert autorepeat.toggle_repeat(last, 0.8, handled, (later,))[0] is None


def test_a_held_toggles_press_reaching_the_lock_after_all_its_repeats_still_acts():
    """A KDE hold on a busy machine (a fresh-clone CI run): the press, fired at 0 and still on its way (through
    click: the runtime folder did not exist yet), is handled after its repeats at 0.60, 0.64 and 0.68 s, which
    were ignored because the press was still running. It was then ignored too, as fired before the last handled
    toggle, and the hold recorded nothing; it is the hold's press, and acts. A press not yet seen running when
    its repeat was handled (that repeat acted) is the same hold's: it stays ignored."""
    tick = os.sysconf("SC_CLK_TCK")
    press, repeats = 1000, [1000 + round(seconds * tick) for seconds in (0.6, 0.64, 0.68)]
    record = None
    for repeat in (repeats[2], repeats[0], repeats[1]):  # the last repeat first, as they reached the lock
        running = (press, *(other for other in repeats if other != repeat))
        gap, record = autorepeat.toggle_repeat(repeat, 0.8, record, running)
        assert gap is not None, f"the repeat fired at {repeat - press} ticks acted"
    gap, record = autorepeat.toggle_repeat(press, 0.8, record)
    assert gap is None, "the press, handled last, acts"
    assert autorepeat.toggle_repeat(repeats[2] + tick, 0.8, record)[0] is None, "a new press a second later acts"

    gap, record = autorepeat.toggle_repeat(repeats[0], 0.8, None)  # the press unseen: its first repeat acts
    assert gap is None
    assert autorepeat.toggle_repeat(press, 0.8, record)[0] == 0.0, "the press after it: the same hold"


def test_toggles_in_flight_are_this_users_guarded_toggles_of_this_runtime_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    ours = subprocess.Popen([*sleeper, "/usr/bin/voice-transcriber", "toggle", "--repeat-guard", "0.8"])
    unguarded = subprocess.Popen([*sleeper, "voice-transcriber", "toggle"])
    elsewhere = subprocess.Popen([*sleeper, "voice-transcriber", "toggle", "--repeat-guard=0.8"],
                                 env={**os.environ, "XDG_RUNTIME_DIR": str(tmp_path / "other")})
    try:
        ticks = hotkey_state.start_ticks(ours.pid)
        assert ticks is not None
        found = autorepeat.toggles_in_flight(os.getpid())
        assert found == ((ticks,) if ours.pid < os.getpid() else (ticks + 1,)), found  # a tie: the lower PID first
    finally:
        for proc in (ours, unguarded, elsewhere):
            proc.kill()
            proc.wait()
