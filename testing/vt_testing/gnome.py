"""GNOME on Wayland fixtures: a headless gnome-shell with the RemoteDesktop portal, and GTK windows.

* ``gnome`` (session): a :class:`~vt_testing.gnome_shell.GnomeSession` started (``vt_testing.gnome_shell``): its
  private buses, ``gnome-shell --headless --wayland`` with the input source ``de``, a keyboard on the seat and
  a clicker that accepts the portal's consent dialog.
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
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vt_testing.desktop import Target, empty_window, require, stop, wait_until
from vt_testing.gnome_programs import GTK_TARGET, system_python
from vt_testing.gnome_shell import GnomeSession

@pytest.fixture(scope="session")
def gnome() -> Iterator[GnomeSession]:
    """Headless GNOME Shell (Wayland) with the RemoteDesktop portal, a keyboard and a consent clicker.
    A test that leaves it not answering gets the reason in its report, and the next test a new one
    (:func:`gnome_session`)."""
    require("gnome-shell", "dbus-daemon", "gsettings", "gdbus", "/usr/libexec/xdg-desktop-portal",
            "/usr/libexec/xdg-desktop-portal-gnome")
    probe = subprocess.run([system_python(), "-c", "import gi; gi.require_version('Gtk', '3.0'); "
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
        proc = subprocess.Popen([system_python(), str(script), str(out), f"VT_GTK_{time.monotonic_ns()}"],
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
