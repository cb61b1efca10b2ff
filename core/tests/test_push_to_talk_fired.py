"""When a command was fired (push-to-talk's stale-start rule): a script's commands keep their own order."""

from __future__ import annotations

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
