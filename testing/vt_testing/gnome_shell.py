"""A headless GNOME Shell (Wayland) with the RemoteDesktop portal: started, stopped, diagnosed (:class:`GnomeSession`).

The session: a private system bus (gnome-shell needs one), a private session bus (the portal and its GNOME backend
are D-Bus activated on it), the input source set to ``de``, ``gnome-shell --headless --wayland`` out of its
overview, and two helpers (their programs are in ``vt_testing.gnome_programs``):

- a *keyboard*: a session of mutter's own ``org.gnome.Mutter.RemoteDesktop`` kept open, so
  the seat has a keyboard as on a real desktop (without one, a headless shell gives no
  window the focus and has no keymap);
- a *consent clicker*: it accepts the portal's "Allow remote interaction" dialog over the
  accessibility bus (AT-SPI) whenever it shows. The product never clicks its own dialog.

GSettings use the keyfile backend (see :meth:`GnomeSession.start`: dconf can hang GNOME Shell 43).
:meth:`GnomeSession.diagnose` says why a shell stopped answering. The pytest fixtures are in ``vt_testing.gnome``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from vt_testing.desktop import desktop_priority, kill_clients, stop, wait_until
from vt_testing.gnome_programs import CONSENT_CLICKER, KEYBOARD_HOLDER, system_python

@dataclass
class GnomeSession:
    runtime_dir: str = ""
    wayland_display: str = ""
    bus_address: str = ""
    env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen] = field(default_factory=list)
    consent_log: Path | None = None
    keyboard: subprocess.Popen | None = None
    shell: subprocess.Popen | None = None
    #: Counts the (re)starts: a window of an earlier session is gone with it.
    generation: int = 0
    #: A failed test's report already says why this session stopped answering.
    reported: bool = False

    def click(self, x: int = 640, y: int = 400) -> None:
        """Click at ``x, y`` with the session's virtual pointer (a window there gets the focus)."""
        self._ask(f"click {x} {y}", "clicked")

    def hold_keys(self, seconds: float, *keysyms: int) -> None:
        """Press ``keysyms`` in order on the session's virtual keyboard, hold them ``seconds`` (mutter
        repeats them meanwhile, as a real keyboard's), release them in reverse order."""
        self._ask(f"hold {seconds} {' '.join(map(hex, keysyms))}", "held")

    def _ask(self, line: str, answer: str) -> None:
        assert self.keyboard is not None and self.keyboard.stdin is not None
        self.keyboard.stdin.write(f"{line}\n")
        self.keyboard.stdin.flush()
        said = self.keyboard.stdout.readline().strip()
        assert said == answer, f"the session's keyboard holder said {said!r}: {self.log_tail('keyboard')}"

    def client_env(self) -> dict[str, str]:
        return {"XDG_RUNTIME_DIR": self.runtime_dir, "WAYLAND_DISPLAY": self.wayland_display,
                "DBUS_SESSION_BUS_ADDRESS": self.bus_address, "XDG_CURRENT_DESKTOP": "GNOME",
                "XDG_SESSION_TYPE": "wayland"}

    def gsettings(self, *args: str) -> None:
        subprocess.run(["gsettings", *args], env=self.env, check=True, capture_output=True, timeout=60)

    def set_layouts(self, *layouts: str) -> None:
        """Make ``layouts`` the input sources (the first one active), and wait for the keymap."""
        from voice_transcriber_clipboard import wayland
        from voice_transcriber_clipboard.xkb import Keymap

        sources = ", ".join(f"('xkb', '{layout}')" for layout in layouts)
        self.gsettings("set", "org.gnome.desktop.input-sources", "sources", f"[{sources}]")
        wanted = [Keymap.from_names(layout).names[0] for layout in layouts]

        def applied() -> bool:
            found = wayland.probe(keymap=True, timeout=10, environ={**os.environ, **self.client_env()})
            if not (found and found.keymap):
                time.sleep(0.2)  # not yet (or busy): a probe is a client connection, do not hammer it
                return False
            return Keymap.from_string(found.keymap).names[:len(wanted)] == wanted

        try:
            wait_until(applied, 60, f"the {','.join(layouts)} keymap")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{self.diagnose()}") from None

    def consents(self) -> int:
        """How many consent dialogs the clicker accepted so far."""
        if self.consent_log is None or not self.consent_log.exists():
            return 0
        return self.consent_log.read_text().count("accepted")

    def overview_active(self) -> bool | None:
        """Whether GNOME Shell shows its overview (None: it did not answer within 10 s)."""
        said = _shell_call(self.env, "Get", "OverviewActive")
        return None if said is None else "true" in said

    def leave_overview(self, timeout: float = 30) -> None:
        """Close the overview if it is open: there the shell has the keyboard, and no key reaches a window
        (wl-copy's window never gets the focus either)."""
        def closed() -> bool:
            if self.overview_active() is False:
                return True
            _shell_call(self.env, "Set", "OverviewActive", "<false>")
            return False

        wait_until(closed, timeout, "the overview to close")

    def answers(self, timeout: float = 30) -> bool:
        """gnome-shell runs and answers a Wayland client within ``timeout`` seconds (a loaded machine's
        shell answers in well under a second; a hung one never)."""
        from voice_transcriber_clipboard import wayland

        if self.shell is None or self.shell.poll() is not None:
            return False
        return wayland.probe(timeout=timeout, environ={**os.environ, **self.client_env()}) is not None

    def log_tail(self, name: str = "gnome-shell", lines: int = 40) -> str:
        try:
            text = Path(self.runtime_dir, "logs", f"{name}.log").read_text(errors="replace")
        except OSError as exc:
            return f"(no {name}.log: {exc})"
        return "\n".join(text.splitlines()[-lines:])

    def diagnose(self) -> str:
        """Why gnome-shell does not answer: has it exited, what do its threads wait for (and where, with
        gdb installed), and the end of its log."""
        shell = self.shell
        if shell is None:
            return "gnome-shell was not started"
        lines = [f"gnome-shell (pid {shell.pid}): "
                 + (f"exited with {shell.returncode}" if shell.poll() is not None else "running")]
        if shell.poll() is None:
            lines += _threads(shell.pid)
            if shutil.which("gdb"):
                try:
                    done = subprocess.run(["gdb", "-batch", "-p", str(shell.pid), "-ex", "thread apply all bt 16"],
                                          capture_output=True, text=True, timeout=120)
                    bt = [line for line in done.stdout.splitlines() if line.startswith(("Thread ", "#"))]
                    lines += ["its threads' stacks (gdb):", *bt[:400]]
                except subprocess.TimeoutExpired:
                    lines.append("gdb did not finish within 120 s")
        lines += ["end of gnome-shell.log:", self.log_tail()]
        return "\n".join(lines)

    def start(self) -> None:
        """Start the whole session (a fresh runtime directory each time)."""
        self.generation += 1
        self.procs, self.keyboard, self.shell, self.reported = [], None, None, False
        self.runtime_dir = tempfile.mkdtemp(prefix="vt-gnome-", dir="/tmp")
        runtime = self.runtime_dir
        os.chmod(runtime, 0o700)
        home = Path(runtime, "home")
        home.mkdir()
        self.wayland_display = display = f"wayland-vt-{os.getpid()}-{self.generation}"
        # GSettings on the keyfile backend, not dconf: GNOME Shell 43 (GLib 2.74, gjs 1.74) can deadlock when
        # dconf's worker thread delivers a change (it takes a reference to a JS-wrapped GSettings, whose toggle
        # notification waits for the main thread) while the main thread's JS garbage collector releases objects
        # (it waits for the lock the worker holds): the shell then never answers again. Seen here and in CI
        # after `gsettings set … input-sources`, 3 runs of 8 under load. The keyfile backend notices a change
        # with a file monitor on the main thread, so no other thread touches those objects.
        self.env = env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
            "XDG_RUNTIME_DIR": runtime, "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_STATE_HOME": str(home / ".local/state"), "WAYLAND_DISPLAY": display,
            "XDG_CURRENT_DESKTOP": "GNOME", "XDG_SESSION_TYPE": "wayland", "GDK_BACKEND": "wayland",
            "NO_AT_BRIDGE": "0", "GSETTINGS_BACKEND": "keyfile"}
        logs = Path(runtime, "logs")
        logs.mkdir()
        self.consent_log = logs / "consent.log"

        def spawn(argv: list[str], name: str, **kwargs) -> subprocess.Popen:
            with open(logs / f"{name}.log", "wb") as out:  # the child keeps its own descriptor
                stdin = subprocess.PIPE if kwargs.pop("stdin_pipe", False) else subprocess.DEVNULL
                proc = subprocess.Popen(argv, env=env, stdin=stdin, stdout=kwargs.pop("stdout", out),
                                        stderr=out, start_new_session=True, preexec_fn=desktop_priority, **kwargs)
            self.procs.append(proc)
            return proc

        spawn(["dbus-daemon", "--session", "--nofork", f"--address=unix:path={runtime}/system_bus"], "system-bus")
        env["DBUS_SYSTEM_BUS_ADDRESS"] = f"unix:path={runtime}/system_bus"
        bus = spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"], "session-bus",
                    stdout=subprocess.PIPE, text=True)
        self.bus_address = bus.stdout.readline().strip()
        assert self.bus_address, f"dbus-daemon did not start: {self.log_tail('session-bus')}"
        env["DBUS_SESSION_BUS_ADDRESS"] = self.bus_address
        # with the "us" layout mutter drops keysyms it has no key for: the tests type German
        self.gsettings("set", "org.gnome.desktop.input-sources", "sources", "[('xkb', 'de')]")
        shell = self.shell = spawn(["gnome-shell", "--headless", "--wayland", "--no-x11",
                                    f"--wayland-display={display}", "--virtual-monitor", "1280x800"], "gnome-shell")

        def started() -> bool:
            return shell.poll() is not None or "GNOME Shell started at" in self.log_tail(lines=200)

        # a loaded 2-core machine can take a minute before the shell has started; its startup animation ends
        # in the overview, so closing the overview before that line was logged can be undone by it
        wait_until(started, 120, "gnome-shell to start")
        assert shell.poll() is None, self.diagnose()
        self.leave_overview(timeout=60)
        holder = spawn([sys.executable, "-c", KEYBOARD_HOLDER], "keyboard", stdout=subprocess.PIPE,
                       stdin_pipe=True, text=True)
        assert holder.stdout.readline().strip() == "ready", self.log_tail("keyboard")
        self.keyboard = holder
        spawn([system_python(), "-c", CONSENT_CLICKER, str(self.consent_log)], "consent")
        self.set_layouts("de")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop(proc, group=True)
        if self.runtime_dir:
            kill_clients("XDG_RUNTIME_DIR", self.runtime_dir)
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
        self.procs, self.keyboard, self.shell = [], None, None

    def restart(self) -> None:
        self.stop()
        self.start()


def _threads(pid: int) -> list[str]:
    """Each thread of ``pid``: name, state, CPU ticks used over one second, the kernel function it sleeps in."""
    def sample() -> dict[str, tuple[str, str, int, str]]:
        found = {}
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                stat = (task / "stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                found[task.name] = (stat[stat.index("(") + 1:stat.rindex(")")], fields[0],
                                    int(fields[11]) + int(fields[12]), (task / "wchan").read_text())
            except (OSError, ValueError):
                continue
        return found

    try:
        before = sample()
        time.sleep(1)
        after = sample()
    except OSError as exc:
        return [f"its threads: {exc}"]
    return [f"  thread {tid} {name!r}: {state}, {ticks - before.get(tid, ('', '', ticks, ''))[2]} ticks in 1 s, "
            f"waits in {wchan or '-'}" for tid, (name, state, ticks, wchan) in after.items()]


def _shell_call(env: dict[str, str], method: str, *args: str) -> str | None:
    """``org.freedesktop.DBus.Properties.<method>`` on org.gnome.Shell; None while the shell cannot answer.

    A shell still starting (or a loaded machine) may not reply within the call's 10 s: that is
    "not yet", like an error reply, and the caller's ``wait_until`` asks again."""
    try:
        done = subprocess.run(["gdbus", "call", "--session", "-d", "org.gnome.Shell", "-o", "/org/gnome/Shell",
                               "-m", f"org.freedesktop.DBus.Properties.{method}", "org.gnome.Shell", *args],
                              env=env, capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return None
    return done.stdout if done.returncode == 0 else None
