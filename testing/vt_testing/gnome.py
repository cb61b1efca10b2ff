"""GNOME on Wayland: a headless gnome-shell with the RemoteDesktop portal, and GTK windows.

* ``gnome`` (session): a private system bus (gnome-shell needs one), a private session bus
  (the portal and its GNOME backend are D-Bus activated on it), the input source set to
  ``de``, ``gnome-shell --headless --wayland`` out of its overview, and two helpers:
  - a *keyboard*: a session of mutter's own ``org.gnome.Mutter.RemoteDesktop`` kept open, so
    the seat has a keyboard as on a real desktop (without one, a headless shell gives no
    window the focus and has no keymap);
  - a *consent clicker*: it accepts the portal's "Allow remote interaction" dialog over the
    accessibility bus (AT-SPI) whenever it shows. The product never clicks its own dialog.
* ``gnome_session`` (per test): this test runs in that session (Wayland variables, the
  session bus); ``gtk_window`` a GTK3 entry, emptied, that has the focus and reports what arrived
  (one window for the session).
* ``gnome.set_layouts("fr")`` switches the input sources (and so the compositor's keymap).

Missing packages skip these tests locally and fail them under CI, as the other desktops do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vt_testing.desktop import Target, kill_clients, require, stop, wait_until

GTK_TARGET = r'''
import os, sys, gi
gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk
out, title = sys.argv[1], sys.argv[2]
def write(path, text):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
window = Gtk.Window(title=title)
entry = Gtk.Entry()
window.add(entry)
entry.connect("changed", lambda e: write(out, e.get_text()))
window.connect("notify::is-active", lambda w, _p: write(out + ".focus", "1" if w.is_active() else "0"))
window.connect("map-event", lambda w, _e: write(out + ".focus", "1" if w.is_active() else "0"))
def clear_when_asked():  # the next test's turn: start empty
    if os.path.exists(out + ".clear"):
        entry.set_text("")
        write(out, "")
        os.remove(out + ".clear")
    return True
GLib.timeout_add(40, clear_when_asked)
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
            nodes = list(walk(app)) if app is not None else []
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
    runtime_dir: str
    wayland_display: str
    bus_address: str
    env: dict[str, str]
    procs: list[subprocess.Popen] = field(default_factory=list)
    consent_log: Path | None = None
    keyboard: subprocess.Popen | None = None

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
        assert self.keyboard.stdout.readline().strip() == answer

    def client_env(self) -> dict[str, str]:
        return {"XDG_RUNTIME_DIR": self.runtime_dir, "WAYLAND_DISPLAY": self.wayland_display,
                "DBUS_SESSION_BUS_ADDRESS": self.bus_address, "XDG_CURRENT_DESKTOP": "GNOME",
                "XDG_SESSION_TYPE": "wayland"}

    def gsettings(self, *args: str) -> None:
        subprocess.run(["gsettings", *args], env=self.env, check=True, capture_output=True, timeout=20)

    def set_layouts(self, *layouts: str) -> None:
        """Make ``layouts`` the input sources (the first one active), and wait for the keymap."""
        from voice_transcriber_clipboard import wayland
        from voice_transcriber_clipboard.xkb import Keymap

        sources = ", ".join(f"('xkb', '{layout}')" for layout in layouts)
        self.gsettings("set", "org.gnome.desktop.input-sources", "sources", f"[{sources}]")
        wanted = [Keymap.from_names(layout).names[0] for layout in layouts]

        def applied() -> bool:
            found = wayland.probe(keymap=True, environ={**os.environ, **self.client_env()})
            return bool(found and found.keymap) and Keymap.from_string(found.keymap).names[:len(wanted)] == wanted

        wait_until(applied, 15, f"the {','.join(layouts)} keymap")

    def consents(self) -> int:
        """How many consent dialogs the clicker accepted so far."""
        if self.consent_log is None or not self.consent_log.exists():
            return 0
        return self.consent_log.read_text().count("accepted")


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
    """Headless GNOME Shell (Wayland) with the RemoteDesktop portal, a keyboard and a consent clicker."""
    require("gnome-shell", "dbus-daemon", "gsettings", "gdbus", "/usr/libexec/xdg-desktop-portal",
            "/usr/libexec/xdg-desktop-portal-gnome")
    probe = subprocess.run([_system_python(), "-c", "import gi; gi.require_version('Gtk', '3.0'); "
                            "gi.require_version('Atspi', '2.0'); from gi.repository import Gtk, Atspi"],
                           capture_output=True)
    if probe.returncode != 0:
        message = "GNOME tests need python3-gi, gir1.2-gtk-3.0 and gir1.2-atspi-2.0 (see .ci/apt-packages.txt)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    runtime = tempfile.mkdtemp(prefix="vt-gnome-", dir="/tmp")
    os.chmod(runtime, 0o700)
    home = Path(runtime, "home")
    home.mkdir()
    display = f"wayland-vt-{os.getpid()}"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "XDG_RUNTIME_DIR": runtime, "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_STATE_HOME": str(home / ".local/state"), "WAYLAND_DISPLAY": display,
           "XDG_CURRENT_DESKTOP": "GNOME", "XDG_SESSION_TYPE": "wayland", "GDK_BACKEND": "wayland",
           "NO_AT_BRIDGE": "0", "GSETTINGS_BACKEND": "dconf"}
    logs = Path(runtime, "logs")
    logs.mkdir()
    session = GnomeSession(runtime, display, "", env, consent_log=logs / "consent.log")

    def spawn(argv: list[str], name: str, **kwargs) -> subprocess.Popen:
        out = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - the child keeps it
        stdin = subprocess.PIPE if kwargs.pop("stdin_pipe", False) else subprocess.DEVNULL
        proc = subprocess.Popen(argv, env=session.env, stdin=stdin, stdout=kwargs.pop("stdout", out),
                                stderr=out, start_new_session=True, **kwargs)
        session.procs.append(proc)
        return proc

    try:
        spawn(["dbus-daemon", "--session", "--nofork", f"--address=unix:path={runtime}/system_bus"], "system-bus")
        env["DBUS_SYSTEM_BUS_ADDRESS"] = f"unix:path={runtime}/system_bus"
        bus = spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"], "session-bus",
                    stdout=subprocess.PIPE, text=True)
        session.bus_address = bus.stdout.readline().strip()
        assert session.bus_address, f"dbus-daemon did not start: {(logs / 'session-bus.log').read_text()}"
        env["DBUS_SESSION_BUS_ADDRESS"] = session.bus_address
        # with the "us" layout mutter drops keysyms it has no key for: the tests type German
        session.gsettings("set", "org.gnome.desktop.input-sources", "sources", "[('xkb', 'de')]")
        shell = spawn(["gnome-shell", "--headless", "--wayland", "--no-x11", f"--wayland-display={display}",
                       "--virtual-monitor", "1280x800"], "gnome-shell")

        def overview() -> str | None:
            if shell.poll() is not None:
                return "exited"
            return _shell_call(env, "Get", "OverviewActive")

        # a loaded 2-core machine can take a minute before the shell answers on the bus
        assert wait_until(overview, 120, "gnome-shell") != "exited", (logs / "gnome-shell.log").read_text()[-800:]
        # the headless shell starts in the overview, where no key reaches a window
        wait_until(lambda: _shell_call(env, "Set", "OverviewActive", "<false>") is not None
                   and "false" in (overview() or ""), 60, "the overview to close")
        holder = spawn([sys.executable, "-c", KEYBOARD_HOLDER], "keyboard", stdout=subprocess.PIPE,
                       stdin_pipe=True, text=True)
        assert holder.stdout.readline().strip() == "ready", (logs / "keyboard.log").read_text()
        session.keyboard = holder
        spawn([_system_python(), "-c", CONSENT_CLICKER, str(session.consent_log)], "consent")
        session.set_layouts("de")
        yield session
    finally:
        for proc in reversed(session.procs):
            stop(proc, group=True)
        kill_clients("XDG_RUNTIME_DIR", runtime)
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def gnome_session(gnome, monkeypatch) -> GnomeSession:
    """This test runs in the GNOME session: its Wayland socket and session bus; no X11, no sway."""
    for var in ("DISPLAY", "SWAYSOCK", "HYPRLAND_INSTANCE_SIGNATURE", "YDOTOOL_SOCKET"):
        monkeypatch.delenv(var, raising=False)
    for var, value in gnome.client_env().items():
        monkeypatch.setenv(var, value)
    return gnome


@pytest.fixture(scope="session")
def gtk_window_of_the_session(gnome, tmp_path_factory) -> Iterator[Target]:
    """The GTK3 entry :func:`gtk_window` hands to each test (one per session: a GTK process per test cost
    about a second of its setup)."""
    folder = tmp_path_factory.mktemp("gtk_window")
    out = folder / "gtk_target.txt"
    script = folder / "gtk_target.py"
    script.write_text(GTK_TARGET, encoding="utf-8")
    env = {**gnome.env, "GDK_BACKEND": "wayland"}
    proc = subprocess.Popen([_system_python(), str(script), str(out), f"VT_GTK_{time.monotonic_ns()}"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(Path(f"{out}.focus").exists, 15, "the GTK window to show")
        yield Target(lambda: out.read_text(encoding="utf-8") if out.exists() else "", proc, extra={"out": out})
    finally:
        stop(proc)


@pytest.fixture
def gtk_window(gnome_session, gtk_window_of_the_session) -> Target:
    """A GTK3 entry (a native Wayland window), empty, with the focus; its text is read back from a file.
    The same window for every test, emptied and given the focus again for each."""
    target = gtk_window_of_the_session
    assert target.proc.poll() is None, "the session's GTK target window exited"
    out = target.extra["out"]
    clear, focus = Path(f"{out}.clear"), Path(f"{out}.focus")
    clear.touch()
    wait_until(lambda: not clear.exists() and target.read() == "", 10, "the GTK window to be emptied")

    def focused() -> bool:
        if focus.read_text() == "1":
            return True
        gnome_session.click()  # GNOME may not give a new window the focus (focus-stealing prevention)
        time.sleep(0.2)
        return False

    wait_until(focused, 15, "the GTK window to get the focus")
    return target
