"""When a command was fired (push-to-talk's stale-start rule): a script's commands keep their own order."""

from __future__ import annotations

import os
import subprocess
import sys

from voice_transcriber import control

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
