"""X11 fixtures: a real Xvfb with target windows.

* ``xvfb`` (session): an Xvfb server on a free display; ``x11`` (per test) points
  ``DISPLAY`` at it and hides any Wayland session. ``x_window`` is a small Tk text window
  with the focus that reports what arrived; ``x_terminal`` an xterm that does the same.
* :func:`tk_window` and :func:`xterm`: such windows on any display; :func:`give_x_focus` gives a window
  the X input focus (the i3 desktop uses it too).

What they share with the other desktops (:class:`~vt_testing.desktop.Target`, teardown) is in ``vt_testing.desktop``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from vt_testing.desktop import (HIDDEN_SESSION_VARS, READ_LINES, Target, empty_window, file_reader, kill_clients, require,
                                shell_ready, stop, wait_until)

TK_TARGET = r'''
import os, sys, tkinter as tk
out, title = sys.argv[1], sys.argv[2]
root = tk.Tk(className="VtTarget")
root.title(title)
text = tk.Text(root, width=100, height=10)
text.pack()
text.focus_set()
if len(sys.argv) > 3:  # also log the keysym of every key press the window receives
    log = open(sys.argv[3], "a", encoding="utf-8", buffering=1)
    text.bind("<KeyPress>", lambda event: log.write(event.keysym + "\n"), add="+")
last, due = [None], [False]
def dump():  # the text to the file, when it changed
    due[0] = False
    value = text.get("1.0", "end-1c")
    if value != last[0]:
        with open(out + ".tmp", "w", encoding="utf-8") as f:
            f.write(value)
        os.replace(out + ".tmp", out)
        last[0] = value
def changed(_event):  # every change sets the modified flag; cleared here, the next change fires again
    text.edit_modified(False)
    if not due[0]:
        due[0] = True
        root.after_idle(dump)
text.bind("<<Modified>>", changed)
def asked(fd, _mask):  # a line on stdin with OUT.clear there: the next test's turn, start empty
    if not os.read(fd, 64):
        root.tk.deletefilehandler(fd)  # no one can ask any more
        return
    if os.path.exists(out + ".clear"):
        text.delete("1.0", "end")
        dump()
        os.remove(out + ".clear")
# events only, no polling: a window of the session idles for the whole run (a 40 ms poll took ~1 % of a core)
root.tk.createfilehandler(sys.stdin.fileno(), tk.READABLE, asked)
root.after_idle(dump)
root.mainloop()
'''


@dataclass
class XServer:
    display: str
    proc: subprocess.Popen


def free_display() -> int:
    """A display number nobody uses now (bench scripts; the fixture lets Xvfb pick, see :func:`start_xvfb`)."""
    for number in range(90, 400):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            return number
    raise RuntimeError("no free X display number between :90 and :399")


def start_xvfb(log, *extra: str) -> tuple[subprocess.Popen, int]:
    """Start Xvfb on a display number it picks itself (``-displayfd``): parallel test workers
    never race for the same free number. ``extra``: more Xvfb options."""
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24",
                                 "-nolisten", "tcp", *extra], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                pass_fds=(write_fd,))
    finally:
        os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:  # Xvfb writes "N\n" once it listens; EOF if it died
        answer = pipe.readline().strip()
    if not answer.isdigit():
        stop(proc)
        raise RuntimeError(f"Xvfb did not start: see {log.name}")
    return proc, int(answer)


@pytest.fixture(scope="session")
def xvfb(tmp_path_factory) -> Iterator[XServer]:
    """A real Xvfb X server (no window manager) for the whole session."""
    require("Xvfb", "xdotool", "xclip", "xprop")
    log = (tmp_path_factory.mktemp("xvfb") / "xvfb.log").open("wb")
    proc, number = start_xvfb(log)
    env = {**os.environ, "DISPLAY": f":{number}"}
    try:
        wait_until(lambda: proc.poll() is not None or subprocess.run(
            ["xdotool", "getdisplaygeometry"], env=env, capture_output=True).returncode == 0, 10, "Xvfb")
        assert proc.poll() is None, f"Xvfb exited: see {log.name}"
        yield XServer(f":{number}", proc)
    finally:
        kill_clients("DISPLAY", f":{number}")
        stop(proc)
        log.close()


@pytest.fixture
def x11(xvfb, monkeypatch) -> XServer:
    """This test runs in the Xvfb session: ``DISPLAY`` set, Wayland variables removed."""
    monkeypatch.setenv("DISPLAY", xvfb.display)
    for var in ("WAYLAND_DISPLAY", *HIDDEN_SESSION_VARS):
        monkeypatch.delenv(var, raising=False)
    return xvfb


def focus_x_window(title: str, display: str, still_starting: Callable[[], None] | None = None) -> str:
    """Wait for the window titled ``title`` on ``display`` and give it the focus; its id. ``still_starting`` is
    called before each look (it may raise, or start the program again, when the program exited)."""
    env = {**os.environ, "DISPLAY": display}
    def search() -> str | None:
        if still_starting is not None:
            still_starting()
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"],
                               env=env, capture_output=True, text=True, timeout=5)
        return found.stdout.split()[0] if found.stdout.split() else None

    window_id = wait_until(search, 60, f"window {title} on {display}")  # an xterm took > 15 s at load 39
    if not give_x_focus(display, int(window_id)):
        raise RuntimeError(f"window {title} on {display} did not take the focus")
    return window_id


def give_x_focus(display: str, window: int, timeout: float = 10) -> bool:
    """What ``xdotool windowfocus --sync WINDOW`` does, from this process (no xdotool process each time):
    set the X input focus to ``window`` and wait until the server reports it there (or inside it). False
    when the window cannot take it (gone, not mapped) or the focus did not arrive within ``timeout``."""
    from Xlib import X
    from Xlib.display import Display

    x = Display(display)
    try:
        refused: list[object] = []
        x.create_resource_object("window", window).set_input_focus(X.RevertToParent, X.CurrentTime,
                                                                   onerror=refused.append)
        x.sync()
        deadline = time.monotonic() + timeout
        while not refused:
            focus = x.get_input_focus().focus
            focused = focus.id if hasattr(focus, "id") else 0
            while focused not in (0, window, x.screen().root.id):  # a child of the window has it
                focused = x.create_resource_object("window", focused).query_tree().parent.id
            if focused == window:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return False
    finally:
        x.close()


def spawn_tk(folder: Path, title: str, env: dict[str, str], *, window_type: str | None = None,
             keys: Path | None = None) -> tuple[subprocess.Popen, Path]:
    """Start a Tk text window titled ``title`` (WM_CLASS class Vttarget; ``window_type``: an EWMH type
    such as ``desktop`` or ``dock``); returns it and the file its text is written to. With ``keys``,
    every key press it receives is logged there."""
    out = folder / f"{title}.txt"
    script = folder / f"{title}.py"
    code = TK_TARGET if window_type is None else TK_TARGET.replace(
        "root.title(title)", f'root.title(title); root.attributes("-type", "{window_type}")')
    script.write_text(code, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(out), title, *([str(keys)] if keys else [])],
                            stdin=subprocess.PIPE, env=env)  # :func:`empty_window` asks through it
    return proc, out


@contextmanager
def tk_window(display: str, folder: Path, *, title: str | None = None, window_type: str | None = None,
              keys: Path | None = None) -> Iterator[Target]:
    """A Tk text window (:func:`spawn_tk`) given the focus on ``display`` (no window manager needed),
    stopped at the end of the block; ``text()`` is what arrived, ``keys()`` the key presses logged."""
    title = title or f"VT_TARGET_{os.getpid()}_{time.monotonic_ns()}"
    proc, out = spawn_tk(folder, title, {**os.environ, "DISPLAY": display}, window_type=window_type, keys=keys)
    try:
        window_id = focus_x_window(title, display)
        wait_until(out.exists, 5, "the Tk window to report")
        yield Target(file_reader(out), proc, window_id, extra={"out": out, **({"keys": keys} if keys else {})})
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def x_window_of_the_session(xvfb, tmp_path_factory) -> Iterator[Target]:
    """The Tk text window :func:`x_window` hands to each test (one per session: starting a Tk process
    and finding its window for every test cost more than most tests that type into it)."""
    with tk_window(xvfb.display, tmp_path_factory.mktemp("x_window")) as target:
        yield target


@pytest.fixture
def x_window(x11, x_window_of_the_session) -> Target:
    """A Tk text window (WM_CLASS class Vttarget), empty, that has the focus; its text is read back from a
    file. The same window for every test (a new id each time would not matter to any test: what a sink
    remembers of a window lives in the test's own runtime dir), emptied and focused again for each."""
    target = x_window_of_the_session
    assert target.proc.poll() is None, "the session's Tk target window exited"
    empty_window(target)
    if not give_x_focus(x11.display, int(target.window_id)):
        raise RuntimeError("the session's Tk target window did not take the focus")
    return target


@contextmanager
def xterm(display: str, program: str, out: Path, name: str = "VT_XTERM") -> Iterator[tuple[subprocess.Popen, str]]:
    """An xterm (class XTerm) running ``sh -c program out``, given the focus; yields it and its window id."""
    require("xterm")
    title = f"{name}_{os.getpid()}_{time.monotonic_ns()}"
    errors = Path(f"{out}.xterm-errors")

    def start() -> subprocess.Popen:
        with errors.open("wb") as err:
            return subprocess.Popen(["xterm", "-u8", "-title", title, "-e", "sh", "-c", program, str(out)],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    env={**os.environ, "DISPLAY": display})

    proc, starts = start(), 1

    def still_starting() -> None:
        # xterm (set-group-id utmp here) now and then said "Can't open display" on the worker's first use of
        # a fresh Xvfb that xdotool and xdpyinfo reached at that moment (1 in ~6 runs of its files at -n 2):
        # one that exited before its window showed is started again (up to 3 times), and what it said is
        # in the error if it keeps failing. Looked at while its window is searched for: no wait of its own.
        nonlocal proc, starts
        if proc.poll() is None:
            return
        if starts == 4:
            raise RuntimeError(f"xterm exited ({proc.returncode}): {errors.read_text(errors='replace')[-300:]}")
        time.sleep(0.5)
        proc, starts = start(), starts + 1

    try:
        window = focus_x_window(title, display, still_starting)
        yield proc, window
    finally:
        stop(proc)


@pytest.fixture
def x_terminal(x11, tmp_path) -> Iterator[Target]:
    """An xterm (class XTerm) with the focus; every line typed into it is appended to a file."""
    out = tmp_path / "xterm_lines.txt"
    out.touch()
    with xterm(x11.display, READ_LINES, out) as (proc, window_id):
        wait_until(lambda: shell_ready(out), 15, "the shell in the xterm to set up its tty")
        yield Target(file_reader(out), proc, window_id)
