"""GNOME on Wayland: a headless gnome-shell with the RemoteDesktop portal, and GTK windows.

* ``gnome`` (session): a private system bus (gnome-shell needs one), a private session bus
  (the portal and its GNOME backend are D-Bus activated on it), the input source set to
  ``de``, ``gnome-shell --headless --wayland`` out of its overview, and two helpers:
  - a *keyboard*: a session of mutter's own ``org.gnome.Mutter.RemoteDesktop`` kept open, so
    the seat has a keyboard as on a real desktop (without one, a headless shell gives no
    window the focus and has no keymap);
  - a *consent clicker*: it accepts the portal's "Allow remote interaction" dialog over the
    accessibility bus (AT-SPI) whenever it shows. The product never clicks its own dialog.
  GSettings use the keyfile backend (see :meth:`GnomeSession.start`: dconf can hang GNOME Shell 43).
* ``gnome_session`` (per test): this test runs in that session (Wayland variables, the
  session bus); ``gtk_window`` a GTK3 entry, emptied, that has the focus and reports what arrived
  (one window per session).
* A session that stopped answering (gnome-shell exited or hung) never fails the tests after the
  one it happened in: the failed test's report gets a "GNOME session" section (does the shell
  answer; if not, its threads, their stacks with gdb installed, the end of its log), and the next
  test gets a new session.
* ``gnome.set_layouts("fr")`` switches the input sources (and so the compositor's keymap).
* The session stops after the last test of this process that uses it (the GNOME tests share an xdist group, so
  they run one after the other in one worker, first thing in the run): idle, with what the tests left behind
  (portal sessions, the accessibility bus), it used 1.5-1.9 CPU-s a minute, 6-8 for the rest of a CI run
  (:func:`pytest_runtest_teardown`). A GNOME test after that (``-n 0`` runs files in order) starts it again.

Missing packages skip these tests locally and fail them under CI, as the other desktops do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vt_testing.desktop import Target, desktop_priority, empty_window, kill_clients, require, stop, wait_until

GTK_TARGET = r'''
import os, sys, time, gi
gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk, Gdk
out, title = sys.argv[1], sys.argv[2]
def write(path, text):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
window = Gtk.Window(title=title)
entry = Gtk.Entry()
window.add(entry)
entry.connect("changed", lambda e: write(out, e.get_text()))
def log(event):  # what the window saw, for a failed test's report
    with open(out + ".events", "a", encoding="utf-8") as f:
        print(f"{time.monotonic():.3f} {event}", file=f)
def focus_changed(w, _p):
    write(out + ".focus", "1" if w.is_active() else "0")
    log("focus in" if w.is_active() else "focus out")
window.connect("notify::is-active", focus_changed)
def key(w, e):
    log(f"{'press' if e.type == Gdk.EventType.KEY_PRESS else 'release'} {Gdk.keyval_name(e.keyval)}")
    return False
window.connect("key-press-event", key)
window.connect("key-release-event", key)
window.connect("map-event", lambda w, _e: write(out + ".focus", "1" if w.is_active() else "0"))
def asked(fd, _condition):  # a line on stdin with OUT.clear there: the next test's turn, start empty
    if not os.read(fd, 64):
        return False  # no one can ask any more
    if os.path.exists(out + ".clear"):
        entry.set_text("")
        write(out, "")
        os.remove(out + ".clear")
    return True
# events only, no polling: the window idles for the rest of the run (a 40 ms poll took ~0.6 % of a core)
GLib.io_add_watch(sys.stdin.fileno(), GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP, asked)
window.maximize()  # the whole screen: a click anywhere gives it the focus
window.show_all()
Gtk.main()
'''

CONSENT_CLICKER = r'''
import sys, time, gi
gi.require_version("Atspi", "2.0")
from gi.repository import GLib, Atspi
log = open(sys.argv[1], "a", buffering=1)
def walk(node, depth=0):
    yield node
    if depth < 30:
        for i in range(node.get_child_count()):
            child = node.get_child_at_index(i)
            if child is not None:
                yield from walk(child, depth + 1)
while True:
    try:
        desktop = Atspi.get_desktop(0)
        for i in range(desktop.get_child_count()):
            app = desktop.get_child_at_index(i)
            # the dialog is xdg-desktop-portal-gnome's window: only the portals' trees are walked (walking the
            # shell's, all its actors, five times a second kept the idle shell and this script at ~12 % of a core)
            portal = app is not None and (app.get_name() or "").startswith("xdg-desktop-portal")
            nodes = list(walk(app)) if portal else []
            allow = [n for n in nodes if n.get_role_name() == "check box" and n.get_name() == "Allow remote interaction"]
            share = [n for n in nodes if n.get_role_name() == "push button" and (n.get_name() or "").endswith("Share")]
            if allow and share:
                if not allow[0].get_state_set().contains(Atspi.StateType.CHECKED):
                    allow[0].do_action(0)
                    time.sleep(0.2)
                share[0].do_action(0)
                print("accepted", file=log)
                time.sleep(1)
    except GLib.Error:
        pass  # the accessibility tree changes under us: look again
    time.sleep(0.2)
'''

#: Opens and starts a session of mutter's RemoteDesktop (the start of the scripts below).
MUTTER_REMOTE_DESKTOP = r'''
import asyncio, sys
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus
SESSION = "org.gnome.Mutter.RemoteDesktop.Session"
async def start_session():
    """A started session of mutter's RemoteDesktop, and ``call(path, interface, member, signature, *body)``."""
    bus = await MessageBus().connect()
    async def call(path, interface, member, signature="", *body):
        reply = await bus.call(Message(destination="org.gnome.Mutter.RemoteDesktop", path=path, interface=interface,
                                       member=member, signature=signature, body=list(body)))
        if reply.message_type == MessageType.ERROR:
            sys.exit(f"{member}: {reply.error_name} {reply.body}")
        return reply.body
    session, = await call("/org/gnome/Mutter/RemoteDesktop", "org.gnome.Mutter.RemoteDesktop", "CreateSession")
    await call(session, SESSION, "Start")
    return session, call
'''

#: Holds a session of mutter's RemoteDesktop open, so the seat has a keyboard and a pointer;
#: reads "click X Y" lines from stdin and clicks there (the pointer is first pushed to 0,0), and
#: "hold SECONDS KEYSYM..." lines: presses the keys in order, holds them (mutter repeats them as it
#: would a real keyboard's), releases them in reverse order.
KEYBOARD_HOLDER = MUTTER_REMOTE_DESKTOP + r'''
async def main():
    session, call = await start_session()
    for state in (True, False):  # the devices join the seat with their first event: a Shift tap types nothing
        await call(session, SESSION, "NotifyKeyboardKeysym", "ub", 0xFFE1, state)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command, *args = line.split()
        if command == "hold":
            seconds, keysyms = float(args[0]), [int(sym, 0) for sym in args[1:]]
            for sym in keysyms:
                await call(session, SESSION, "NotifyKeyboardKeysym", "ub", sym, True)
            await asyncio.sleep(seconds)
            for sym in reversed(keysyms):
                await call(session, SESSION, "NotifyKeyboardKeysym", "ub", sym, False)
            print("held", flush=True)
            continue
        x, y = args
        await call(session, SESSION, "NotifyPointerMotionRelative", "dd", -10000.0, -10000.0)
        await call(session, SESSION, "NotifyPointerMotionRelative", "dd", float(x), float(y))
        for state in (True, False):
            await call(session, SESSION, "NotifyPointerButton", "ib", 0x110, state)  # BTN_LEFT
        print("clicked", flush=True)
asyncio.run(main())
'''


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
        spawn([_system_python(), "-c", CONSENT_CLICKER, str(self.consent_log)], "consent")
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


def _system_python() -> str:
    """The Python with PyGObject (python3-gi): Debian's, not the project's virtualenv."""
    return "/usr/bin/python3"


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


@pytest.fixture(scope="session")
def gnome() -> Iterator[GnomeSession]:
    """Headless GNOME Shell (Wayland) with the RemoteDesktop portal, a keyboard and a consent clicker.
    A test that leaves it not answering gets the reason in its report, and the next test a new one
    (:func:`gnome_session`)."""
    require("gnome-shell", "dbus-daemon", "gsettings", "gdbus", "/usr/libexec/xdg-desktop-portal",
            "/usr/libexec/xdg-desktop-portal-gnome")
    probe = subprocess.run([_system_python(), "-c", "import gi; gi.require_version('Gtk', '3.0'); "
                            "gi.require_version('Atspi', '2.0'); from gi.repository import Gtk, Atspi"],
                           capture_output=True)
    if probe.returncode != 0:
        message = "GNOME tests need python3-gi, gir1.2-gtk-3.0 and gir1.2-atspi-2.0 (see .ci/apt-packages.txt)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    session = GnomeSession()
    _STARTED.append(session)
    try:
        session.start()
        yield session
    finally:
        session.stop()
        _STARTED.remove(session)


#: The session of the ``gnome`` fixture while it is set up (for :func:`pytest_runtest_teardown`).
_STARTED: list[GnomeSession] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last test of a run of GNOME tests (the next test of this process does not use the session),
    gnome-shell and its helpers stop instead of idling until the end of the run: headless gnome-shell, its buses,
    portal and accessibility services used 1.9 CPU-s in 60 s and 3.1 in 120 s idle after the GNOME tests (AMD
    EPYC, nice 19, /proc utime+stime of the session's processes, 2026-12-07); the GNOME group ends ~40 s into a
    ~300 s run (CI rehearsals s34e-g).
    ``nextitem`` is the test this process runs next (xdist's worker keeps one in hand for this); at the end of
    the run (None) the fixture's own teardown stops it."""
    yield
    if nextitem is not None and "gnome" in getattr(item, "fixturenames", ()) \
            and "gnome" not in getattr(nextitem, "fixturenames", ()):
        for session in _STARTED:
            session.stop()


@pytest.fixture
def gnome_session(gnome, monkeypatch) -> Iterator[GnomeSession]:
    """This test runs in the GNOME session: its Wayland socket and session bus; no X11, no sway.

    A session that no longer answers (gnome-shell exited or hung) is started again first, so one
    stall cannot fail the tests after it; the test it happened in says why (:func:`pytest_runtest_makereport`)."""
    if gnome.shell is None:  # stopped after the GNOME tests before this one (pytest_runtest_teardown)
        gnome.start()
    elif not gnome.answers(timeout=30):
        why = "(the failed test before this one says why)" if gnome.reported else gnome.diagnose()
        warnings.warn(f"the GNOME session stopped answering before this test: started again\n{why}", stacklevel=1)
        gnome.restart()
    for var in ("DISPLAY", "SWAYSOCK", "HYPRLAND_INSTANCE_SIGNATURE", "YDOTOOL_SOCKET"):
        monkeypatch.delenv(var, raising=False)
    for var, value in gnome.client_env().items():
        monkeypatch.setenv(var, value)
    yield gnome


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A GNOME test that failed says whether gnome-shell still answers, and if not why (its threads, its
    log); the session is then started again for the next test."""
    outcome = yield
    report = outcome.get_result()
    session = getattr(item, "funcargs", {}).get("gnome_session")
    if not isinstance(session, GnomeSession) or not report.failed or call.when == "teardown":
        return
    if session.answers(timeout=30):
        report.sections.append(("GNOME session", f"gnome-shell answers; overview open: {session.overview_active()}; "
                                "the end of its log:\n" + session.log_tail()))
        window = item.funcargs.get("gtk_window")
        if isinstance(window, Target):
            events = Path(f"{window.extra['out']}.events")
            seen = events.read_text(encoding="utf-8").splitlines()[-60:] if events.exists() else []
            report.sections.append(("GTK window", "its last focus changes and keys (monotonic s):\n" + "\n".join(seen)))
        return
    report.sections.append(("GNOME session", "gnome-shell does NOT answer (the next test gets a new session):\n"
                            + session.diagnose()))
    session.reported = True


@dataclass
class GtkWindows:
    """The GTK3 entry :func:`gtk_window` hands to each test: one per GNOME session (a GTK process per test
    cost about a second of its setup), started again with the session."""

    folder: Path
    target: Target | None = None
    generation: int = 0
    #: The window kept the focus out of the overview once: the fresh session's start-up is over.
    steady: bool = False

    def current(self, session: GnomeSession) -> Target:
        if self.target is not None and self.generation == session.generation and self.target.proc.poll() is None:
            return self.target
        self.close()
        out = self.folder / f"gtk_target-{session.generation}.txt"
        script = self.folder / "gtk_target.py"
        script.write_text(GTK_TARGET, encoding="utf-8")
        proc = subprocess.Popen([_system_python(), str(script), str(out), f"VT_GTK_{time.monotonic_ns()}"],
                                env={**session.env, "GDK_BACKEND": "wayland"}, stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # empty_window asks there
        self.target = Target(lambda: out.read_text(encoding="utf-8") if out.exists() else "", proc, extra={"out": out})
        self.generation, self.steady = session.generation, False
        wait_until(Path(f"{out}.focus").exists, 60, "the GTK window to show")
        return self.target

    def close(self) -> None:
        if self.target is not None:
            stop(self.target.proc)
            self.target = None


@pytest.fixture(scope="session")
def gtk_window_of_the_session(gnome, tmp_path_factory) -> Iterator[GtkWindows]:
    windows = GtkWindows(tmp_path_factory.mktemp("gtk_window"))
    try:
        yield windows
    finally:
        windows.close()


@pytest.fixture
def gtk_window(gnome_session, gtk_window_of_the_session) -> Target:
    """A GTK3 entry (a native Wayland window), empty, with the focus; its text is read back from a file.
    The same window for every test of a session, emptied and given the focus again for each."""
    windows = gtk_window_of_the_session
    target = windows.current(gnome_session)
    focus = Path(f"{target.extra['out']}.focus")
    empty_window(target, timeout=30)

    def focused() -> bool:
        if gnome_session.overview_active() is not False:  # the shell has the keyboard there
            gnome_session.leave_overview()
            return False
        if focus.read_text() == "1":
            return True
        gnome_session.click()  # GNOME may not give a new window the focus (focus-stealing prevention)
        time.sleep(0.2)
        return False

    def settled() -> bool:
        # a fresh session's overview opened again after it had been closed and the window had the focus (a
        # rehearsal: the window's focus went out 0.7 s after it came in, and wl-copy then never got the focus):
        # the window's first test looks twice, 0.5 s apart; later tests of the session once
        if not focused():
            return False
        if windows.steady:
            return True
        time.sleep(0.5)
        return focused()

    wait_until(settled, 60, "the GTK window to get the focus, out of the overview")
    windows.steady = True
    return target
