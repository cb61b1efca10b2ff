"""What the desktop fixtures share: windows under test read back from files, and the processes they start and stop.

The desktops: ``vt_testing.x11`` (Xvfb, Tk windows, xterm), ``vt_testing.i3`` (Xvfb managed by i3),
``vt_testing.sway`` (headless sway, foot), ``vt_testing.gnome`` (headless GNOME Shell). A :class:`Target` is a
window under test whose text is read back from a file. Each desktop's teardown kills what it started,
including the background children that keep a selection alive (xclip, xsel, wl-copy): every process whose
environment names its display (:func:`kill_clients`). Missing packages skip these tests locally and fail
them under CI (``$CI`` set): :func:`require`. Stub tools and the direct sink runner live in
``vt_testing.tool_stubs``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HIDDEN_SESSION_VARS = ("SWAYSOCK", "HYPRLAND_INSTANCE_SIGNATURE", "YDOTOOL_SOCKET")

#: The programs of the terminals under test (``sh -c PROGRAM OUT``): each creates ``OUT.ready`` once its tty is set
#: up (:func:`shell_ready`); keys typed from then on wait in the tty for ``read``/``cat``.
READ_LINES = 'stty -echo; : > "$0.ready"; while IFS= read -r line; do printf "%s\\n" "$line" >> "$0"; done'
READ_RAW = 'stty raw -echo; : > "$0.ready"; exec cat > "$0"'


def shell_ready(out: Path | str) -> bool:
    """The terminal's program (:data:`READ_LINES`, :data:`READ_RAW`) writing to ``out`` has set up its tty."""
    return Path(f"{out}.ready").exists()


def require(*tools: str) -> None:
    """Skip (fail under CI) when a tool the fixture needs is not installed."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        message = f"desktop tests need {', '.join(missing)} (apt-get install the packages in .ci/apt-packages.txt)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def wait_until(check: Callable[[], object], timeout: float, what: str, interval: float = 0.03) -> object:
    """``check()``'s first true result, asked every ``interval`` seconds; TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def kill_clients(var: str, value: str) -> list[int]:
    """SIGTERM every process (not us) whose environment has ``var=value``: the clients we started."""
    needle = f"{var}={value}".encode()
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in (os.getpid(), os.getppid()):
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGTERM)
                killed.append(int(entry.name))
        except (OSError, ProcessLookupError):
            continue
    return killed


def stop(proc: subprocess.Popen, *, group: bool = False, timeout: float = 5) -> None:
    """SIGTERM (the process group with ``group``), SIGKILL after ``timeout`` seconds; reaped either way."""
    if proc.poll() is not None:
        return
    (os.killpg if group else os.kill)(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        (os.killpg if group else os.kill)(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@dataclass
class Target:
    """A window under test: ``text()`` is what arrived so far, ``wait_for(text)`` polls for it."""

    read: Callable[[], str]
    proc: subprocess.Popen
    window_id: str = ""
    extra: dict = field(default_factory=dict)

    def text(self) -> str:
        return self.read()

    def keys(self) -> list[str]:
        """The keysym of every key press the window received (a :func:`vt_testing.x11.tk_window` with ``keys``)."""
        path = self.extra["keys"]
        return path.read_text(encoding="utf-8").split() if path.exists() else []

    def wait_for(self, expected: str, timeout: float = 5.0) -> str:
        """The text once it equals ``expected`` (or whatever arrived when ``timeout`` ran out)."""
        try:  # reading the window's file is cheap: asked often, the test goes on as soon as the text is there
            wait_until(lambda: self.read() == expected, timeout, repr(expected), interval=0.01)
        except TimeoutError:
            pass
        return self.read()

    def settle(self, quiet: float = 0.3, timeout: float = 5.0) -> str:
        """The text once it stopped changing for ``quiet`` seconds."""
        return settle_all(self, quiet=quiet, timeout=timeout)[0]


def settle_all(*targets: Target, quiet: float = 0.3, timeout: float = 5.0) -> list[str]:
    """The texts of ``targets`` once none of them changed for ``quiet`` seconds: one quiet time for all
    the windows a test reads back, not one after the other."""
    deadline = time.monotonic() + timeout
    last, since = [target.read() for target in targets], time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.03)
        now = [target.read() for target in targets]
        if now != last:
            last, since = now, time.monotonic()
    return last


def file_reader(path: Path) -> Callable[[], str]:
    return lambda: path.read_text(encoding="utf-8") if path.exists() else ""


def empty_window(target: Target, timeout: float = 10) -> None:
    """Ask a window of :func:`vt_testing.x11.spawn_tk` (or the GNOME session's GTK window) to empty itself, and
    wait until it has: ``OUT.clear`` created, a line on its stdin; the window empties, writes OUT and removes
    ``OUT.clear``."""
    out = Path(target.extra["out"])
    clear = Path(f"{out}.clear")
    clear.touch()
    assert target.proc.stdin is not None, "the window was started without a pipe on its stdin"
    target.proc.stdin.write(b"\n")
    target.proc.stdin.flush()
    wait_until(lambda: not clear.exists() and target.read() == "", timeout, "the window to be emptied")


#: The nice value of a desktop's processes (compositor, buses, shell, its helpers) and of what they start (a
#: shortcut's command): a desktop is not starved by the tests' own load (whisper decodes, other desktops),
#: as a real one is not by a user's background jobs. At the default priority, with the machine loaded ~20
#: (2 cores), GNOME's gsd-media-keys ran a held key's repeats up to 1 s after the release, so far apart that
#: the toggle recipe's --repeat-guard took one for a new press (the test then retried or failed).
DESKTOP_NICE = -10


def desktop_priority() -> None:
    """``preexec_fn``: a higher priority for a desktop process (root only; elsewhere it keeps its own)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, DESKTOP_NICE)
    except OSError:
        pass
