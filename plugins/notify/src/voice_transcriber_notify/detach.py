"""Run a ``voice-transcriber`` command once a launcher's menu has gone.

``python -m voice_transcriber_notify.detach PID SETTLE ARGS...`` waits until process PID
(the launcher) has exited, waits SETTLE seconds more for the focus to return to the
window the user was in, then becomes ``voice-transcriber ARGS...``. The launcher side
starts it in its own session with no pipes, so rofi does not wait for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

MAX_WAIT = 10.0
LOG_ROTATE_BYTES = 1 << 20
POLL = 0.02


def spawn(args: list[str], wait_for_pid: int, settle: float) -> subprocess.Popen:
    """Start ``voice-transcriber ARGS`` detached; its stderr goes to the launcher log."""
    log = launcher_log()
    log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if log.exists() and log.stat().st_size > LOG_ROTATE_BYTES:
        log.replace(log.with_name(log.name + ".1"))
    with open(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600), "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", __name__, str(wait_for_pid), str(settle), *args],
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                   start_new_session=True, close_fds=True)
    process.returncode = 0  # never waited for: it outlives the launcher by design
    return process


def launcher_log() -> Path:
    from xdg_base_dirs import xdg_state_home

    return xdg_state_home() / "voice-transcriber" / "launcher.log"


def wait_until_gone(pid: int, timeout: float = MAX_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while pid > 1 and _running(pid) and time.monotonic() < deadline:
        time.sleep(POLL)


def _running(pid: int) -> bool:
    """Alive and not a zombie (an exited launcher its parent has not reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def main(argv: list[str]) -> None:
    pid, settle, *args = argv
    wait_until_gone(int(pid))
    time.sleep(float(settle))
    os.execv(sys.executable, [sys.executable, "-m", "voice_transcriber", *args])


if __name__ == "__main__":
    main(sys.argv[1:])
