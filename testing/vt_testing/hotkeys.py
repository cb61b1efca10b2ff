"""Push-to-talk and toggle hotkeys replayed (``core/tests/test_push_to_talk_*.py``): which
voice-transcriber processes of a test still run, whether something records, GNOME's recipe and a
held key in a real GNOME session, and the desktops that cannot run here (Hyprland, KDE Plasma)
replayed from docs/hotkeys.md's recipes: each command run the way that desktop runs it, on press,
on every autorepeat of a held key where the desktop does that, and on release."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from vt_testing.core import run_cli
from vt_testing.desktop import wait_until
from vt_testing.gnome_shell import GnomeSession

#: The installed command, by absolute path (as the docs tell users to write it in a binding).
VT = str(Path(sys.executable).with_name("voice-transcriber"))
#: A backend that is never reached: the recordings are what these tests count.
SILENT_BACKEND = {"OPENAI_API_KEY": "sk-test-not-used",
                  "VOICE_TRANSCRIBER_TRANSCRIPTION__OPENAI__BASE_URL": "http://127.0.0.1:9/v1"}
#: The config of these tests' dictations. No tail after a stop (``input.tailPaddingMs``, 300 ms by default):
#: a recording ends as soon as its stop is handled, so a hold is over sooner, and a repeat's ``start``
#: reaching us after the release finds nothing recording — only the autorepeat rule can refuse it (with a
#: tail still recording, "already recording" would refuse it too and hide a broken rule).
HOTKEY_CONFIG = {"transcription": {"backend": "openai"}, "formatterEnabled": False, "notify": {"enabled": False},
                 "input": {"tailPaddingMs": 0}}


def ours(runtime: Path, commands: tuple[bytes, ...] | None = (b"start", b"stop", b"toggle")) -> list[int]:
    """voice-transcriber processes of this test (by their environment): the ``commands`` in flight,
    or (None) every one, background recorders and the daemon included."""
    marker = f"XDG_RUNTIME_DIR={runtime}".encode()
    me = str(os.getpid())
    found = []
    # plain os calls, not pathlib: the tests poll this every 30 ms while a hold's commands run, and each call reads
    # every process's cmdline (at 240 processes: 6.8 ms of CPU a call with pathlib, 3.2 ms without)
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            cmdline = _read(f"/proc/{pid}/cmdline").split(b"\0")
            if (commands is None or any(part in commands for part in cmdline)) and \
                    any(b"voice-transcriber" in part or b"voice_transcriber" in part for part in cmdline) and \
                    marker in _read(f"/proc/{pid}/environ").split(b"\0"):
                found.append(int(pid))
        except OSError:
            continue
    return found


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def recording() -> bool:
    """True while a recording runs: the state ``voice-transcriber status`` prints, read in this process (the
    tests poll it every 30 ms; a ``status`` process each time would take a core's worth of CPU)."""
    from voice_transcriber.runstate import current_status

    return current_status(linger=0)["state"] == "recording"


def in_flight(runtime: Path) -> list[int]:
    """The hotkey commands (start, stop, toggle) of this test still running."""
    return ours(runtime)


def background_recorders(runtime: Path) -> list[int]:
    """This test's background recorders still running (``python -m voice_transcriber``, detached by ``start``)."""
    return [pid for pid in ours(runtime, None) if b"-m" in _cmdline(pid)]


def _cmdline(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def stop_handled_since(runtime: Path, since: float) -> bool:
    """A ``stop`` was handled (by the control lock's holder: the command or the daemon) after ``since``
    (``time.time()``): ``last-stop.json``, which every handled stop rewrites."""
    try:
        return json.loads((runtime / "voice-transcriber" / "last-stop.json").read_text())["at"] >= since
    except (OSError, ValueError, KeyError):
        return False


@pytest.fixture
def ptt_world(pulse, pulse_env, write_config, tmp_path, monkeypatch) -> Iterator[Path]:
    """A runtime dir of the test's own (returned), the virtual microphone, a backend never reached;
    every voice-transcriber process the test leaves behind is killed after it."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    for key, value in SILENT_BACKEND.items():
        monkeypatch.setenv(key, value)
    write_config(HOTKEY_CONFIG)
    yield runtime
    for pid in ours(runtime, None):  # commands, recorders and the daemon this test left (a failure midway)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@contextmanager
def maybe_daemon(on: bool, env: dict[str, str] | None = None) -> Iterator[None]:
    """A warm daemon for the block (``on``), run with ``env`` (default: ours), stopped after it;
    nothing otherwise."""
    if not on:
        yield
        return
    warm = subprocess.Popen([VT, "daemon"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env or os.environ.copy())
    try:
        wait_until(lambda: daemon_ready(env), 60, "the daemon")
        yield
    finally:
        warm.terminate()  # SIGTERM stops it as `daemon stop` does (without a command-line process)
        try:
            warm.wait(timeout=30)
        except subprocess.TimeoutExpired:
            warm.kill()
            warm.wait(timeout=10)


def daemon_ready(env: dict[str, str] | None = None) -> bool:
    """What ``voice-transcriber daemon status`` exits 0 on (the daemon answers, its config loaded), asked from
    this process: a ``status`` process every poll while the daemon starts would take the CPU it starts with."""
    from voice_transcriber.daemon.client import exchange
    from voice_transcriber.daemon.protocol import request

    runtime = (env or os.environ)["XDG_RUNTIME_DIR"]
    final = exchange(request("status"), f"{runtime}/voice-transcriber/daemon.sock", lambda message: None)
    return final is not None and int(final.get("exit", 0)) == 0


def all_recorded(runtime: Path) -> bool:
    """Nothing records and no background recorder runs: every recording of the test is in its file. (A
    recorder that a loaded machine started late, and that was told to stop before it began, still records
    a moment and writes its file: it is done when its process is.)"""
    return not recording() and not background_recorders(runtime)


def settled_after_release(runtime: Path, pressed: float | None = None) -> bool:
    """Wait for a hold's commands and its recording to finish; True if nothing records then (False: a
    stray recording, which is cancelled so that the next hold starts clean).

    ``pressed`` (``time.time()`` before the key went down): a push-to-talk hold, whose release runs
    ``stop``; it is waited for first. The desktop may fork it a moment after the release, and a loaded
    machine may not have registered the hold's recorder yet: without this wait the next hold could begin
    before this one's stop (its start then meets this hold's recorder: "already recording")."""
    if pressed is not None:
        wait_until(lambda: stop_handled_since(runtime, pressed), 60, "the release's stop")
    wait_until(lambda: not in_flight(runtime), 60, "the hold's hotkey commands to finish")
    try:  # the hold's own recording ends once its recorder handles the stop; a stray one never does
        wait_until(lambda: not recording(), 20, "the recording to stop")
        return True
    except TimeoutError:
        run_cli("cancel")
        return False


# --- desktops that cannot run here, replayed: their recipes, run the way they run them ----------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "hotkeys.md"


@dataclass
class Desktop:
    """How a desktop runs a shortcut's command and what it does while the key is held.

    ``shell``: through ``/bin/sh -c`` (Hyprland's ``exec``) or split like a shell and executed
    directly (Plasma's commands, through KIO). ``repeat``: (delay, interval) in seconds when the
    desktop runs the command again for every autorepeat of the held key (KWin hands repeated keys
    to global shortcuts; GNOME does the same, measured on a real GNOME Shell 43 by the test suite),
    with the desktop's default rates; None when a binding fires once per press (Hyprland's
    ``bind`` without the ``e`` flag)."""

    name: str
    shell: bool
    repeat: tuple[float, float] | None
    #: The longest time between two runs of the last hold's ``on_press``, on the clock the commands' *fired*
    #: times are read from (their process start times): a starved replay (this test process) can run a
    #: repeat later than the desktop would, and one more than ``--repeat-guard`` after the one before is a
    #: new press by the guard's rule.
    widest_gap: float = 0.0

    def run(self, command: str) -> subprocess.Popen:
        argv = ["/bin/sh", "-c", command] if self.shell else shlex.split(command)
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    def hold(self, seconds: float, on_press: str, on_release: str | None = None,
             until: Callable[[], object] | None = None) -> int:
        """Press the key, hold it ``seconds`` (and, with ``until``, until ``until()`` is true: at most 30 s more),
        release it; return how many times ``on_press`` ran."""
        start = time.monotonic()
        started = [self.run(on_press)]
        if self.repeat is not None:
            delay, interval = self.repeat
            due = start + delay
            while due < start + seconds:
                time.sleep(max(0.0, due - time.monotonic()))
                started.append(self.run(on_press))
                due += interval
        time.sleep(max(0.0, start + seconds - time.monotonic()))
        if until is not None:
            wait_until(until, 30, "the press's command to take effect")
        if on_release is not None:
            started.append(self.run(on_release))
        pressed = [_start_ticks(proc.pid) for proc in started[:len(started) - (on_release is not None)]]
        self.widest_gap = max((b - a for a, b in zip(pressed, pressed[1:])), default=0) / os.sysconf("SC_CLK_TCK")
        for proc in started:  # reaped as they end (the test waits for them through /proc)
            threading.Thread(target=proc.wait, daemon=True).start()
        return len(started) - (on_release is not None)


def _start_ticks(pid: int) -> int:
    """A process's start time in clock ticks since boot (``/proc/PID/stat`` field 22; a zombie has it too)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[19])


HYPRLAND = Desktop("Hyprland", shell=True, repeat=None)
KDE = Desktop("KDE Plasma", shell=False, repeat=(0.6, 0.04))  # kcminputrc RepeatDelay=600, RepeatRate=25


def _section(title: str) -> str:
    text = DOCS.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start: end if end != -1 else len(text)]


def _absolute(command: str) -> str:
    """The recipe's command with this test's ``voice-transcriber`` (the docs' absolute-path advice)."""
    assert command.startswith("voice-transcriber "), command
    return shlex.quote(VT) + command[len("voice-transcriber"):]


def hyprland_push_to_talk() -> tuple[str, str]:
    """The (press, release) commands of docs/hotkeys.md's Hyprland push-to-talk lines."""
    binds = {}
    for line in _section("Hyprland").splitlines():
        kind, _, rest = line.partition("=")
        if kind.strip() in ("bind", "bindr") and ", SPACE," in rest:
            binds[kind.strip()] = rest.split(",", 3)[3].strip()
    return _absolute(binds["bind"]), _absolute(binds["bindr"])


def kde_toggle() -> str:
    """The command of docs/hotkeys.md's KDE Plasma shortcut (the same for Plasma 5 and 6)."""
    found = re.search(r"command\s+`(voice-transcriber [^`]+)`", _section("KDE Plasma"))
    assert found, "the KDE recipe's command"
    return _absolute(found.group(1))


def gnome_recipe_script() -> str:
    """The shell block of docs/hotkeys.md's GNOME recipe, as a user pastes it into a terminal."""
    found = re.search(r"```sh\n(.*?)```", _section("GNOME"), re.S)
    assert found, "the GNOME recipe's shell block"
    return found.group(1)


def gnome_hold(session: GnomeSession, seconds: float) -> None:
    """Hold Super+D ``seconds`` on the GNOME session's virtual keyboard (mutter's RemoteDesktop, kept
    open by the session: no process per press); mutter repeats the held key as it would a real one."""
    session.hold_keys(seconds, 0xFFEB, 0x64)  # Super_L, d
