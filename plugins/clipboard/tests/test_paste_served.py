"""Paste with restore gives the clipboard back once the target fetched the dictation, not after a fixed delay.

The targets are real and read late on purpose: a Tk window that asks for the clipboard only a while after
its paste key and once the test lets it (X11), a GTK window doing the same under sway.
A clipboard manager's read in between is served and does not count as the paste."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from voice_transcriber import RunContext, SinkError, Transcript
from voice_transcriber.config import load_settings
from voice_transcriber_clipboard.selection import Xclip
from voice_transcriber_clipboard.sink import ClipboardSink
from vt_testing.desktop import Target, stop, wait_until
from vt_testing.sway import sway_focused_app
from vt_testing.x11 import focus_x_window

#: The old fixed restoreDelay was 0.5 s: the late target asks for the clipboard after that.
LATE = 0.6
#: Debian's python3, which has PyGObject (the project's virtualenv has not).
SYSTEM_PYTHON = "/usr/bin/python3"


def require_gtk() -> None:
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('Gtk', '3.0')"], capture_output=True)
    if probe.returncode != 0:
        message = "needs python3-gi and gir1.2-gtk-3.0 (see .ci/apt-packages.txt)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)

LATE_TARGET = r'''
import os, sys, time, tkinter as tk
out, title, late = sys.argv[1], sys.argv[2], float(sys.argv[3])
root = tk.Tk(className="VtLate")
root.title(title)
text = tk.Text(root, width=80, height=5)
text.pack()
text.focus_set()
def fetch(asked):  # a busy application: the clipboard is asked for LATE s after the key, once OUT.go exists
    if not os.path.exists(out + ".go") or time.monotonic() < asked + late:
        root.after(20, fetch, asked)
        return
    try:
        text.insert("end", root.clipboard_get(type="UTF8_STRING"))
    except tk.TclError as exc:
        text.insert("end", f"ERROR: {exc}")
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write(text.get("1.0", "end-1c"))
    os.replace(out + ".tmp", out)
def paste(_event):
    open(out + ".asked", "w").close()
    fetch(time.monotonic())
    return "break"
text.bind("<Control-v>", paste)
root.mainloop()
'''


def xclip(*args: str, check: bool = True) -> str:
    return subprocess.run(["xclip", "-selection", "clipboard", *args], capture_output=True, timeout=5,
                          check=check).stdout.decode("utf-8")


def own_clipboard(text: str) -> None:
    """``text`` on the clipboard, once xclip's background child owns it (``xclip -in`` returns before)."""
    subprocess.run(["xclip", "-selection", "clipboard", "-in"], input=text.encode(), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, timeout=5)  # its child keeps any pipe: none given
    wait_until(lambda: xclip("-out", check=False) == text, 10, "the previous clipboard")  # no owner yet: exit 1


@pytest.fixture
def late_window(x11, tmp_path) -> Iterator[tuple[Target, Path]]:
    """A Tk window with the focus that pastes late (:data:`LATE_TARGET`); its text and its file."""
    out, script = tmp_path / "late.txt", tmp_path / "late.py"
    script.write_text(LATE_TARGET, encoding="utf-8")
    title = f"VT_LATE_{os.getpid()}_{time.monotonic_ns()}"
    proc = subprocess.Popen([sys.executable, str(script), str(out), title, str(LATE)], env=os.environ.copy())
    try:
        window_id = focus_x_window(title, x11.display)
        yield Target(lambda: out.read_text(encoding="utf-8") if out.exists() else "", proc, window_id), out
    finally:
        stop(proc)


def deliver(text: str, clipboard: dict, more: dict | None = None) -> RunContext:
    overrides = {"output.clipboard": {"paste": True, "restore": True, **clipboard}, **(more or {})}
    ctx = RunContext(load_settings(overrides=overrides), debug=True)
    ClipboardSink(ctx).deliver(text, Transcript(text=text, backend="test"))
    return ctx


class InThread:
    """:func:`deliver` in a thread (the test plays the late target meanwhile); :meth:`result` re-raises."""

    def __init__(self, *args) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=args, daemon=True)
        self.thread.start()

    def _run(self, *args) -> None:
        try:
            deliver(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc

    def result(self) -> None:
        self.thread.join(120)
        assert not self.thread.is_alive(), "the sink did not return"
        if self.error is not None:
            raise self.error


def test_late_target_gets_the_dictation_and_the_clipboard_comes_back(late_window, capsys):
    window, out = late_window
    own_clipboard("previous content")
    run = InThread("dictated late ñ", {"restoreDelay": 60})  # the cap: only a failing test would reach it
    wait_until(Path(f"{out}.asked").exists, 30, "the paste chord to reach the window")
    # a clipboard manager reads the new selection after the chord: it gets the dictation, and that is not the paste
    assert xclip("-out") == "dictated late ñ"
    Path(f"{out}.go").touch()  # the window asks for the clipboard now, at least LATE s after its paste key
    assert window.wait_for("dictated late ñ", timeout=30) == "dictated late ñ"
    run.result()
    assert xclip("-out") == "previous content"
    err = capsys.readouterr().err
    assert "the target fetched the paste" in err and "1 other read(s) did not count" in err, err


def test_target_that_never_fetches_gets_the_clipboard_back_at_the_cap(late_window, capsys):
    # no OUT.go: this window never asks for the clipboard
    own_clipboard("previous content")
    deliver("never fetched", {"restoreDelay": 0.2})
    assert xclip("-out") == "previous content"
    err = capsys.readouterr().err
    assert "the target did not fetch the paste within restoreDelay (0.2 s; 0 other read(s) did not count); " \
           "restoring anyway" in err, err


GTK_X11_TARGET = r'''
import os, sys, gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk
out, title = sys.argv[1], sys.argv[2]
window = Gtk.Window(title=title)
view = Gtk.TextView()
window.add(view)
def changed(buffer):
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write(buffer.get_text(buffer.get_start_iter(), buffer.get_end_iter(), False))
    os.replace(out + ".tmp", out)
view.get_buffer().connect("changed", changed)
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()
'''


def test_gtk_window_on_x11_asks_for_a_format_we_refuse_and_the_list_first(x11, tmp_path, capsys):
    """GTK's own paste: GTK_TEXT_BUFFER_CONTENTS (refused), TARGETS, then the text: only the text counts."""
    require_gtk()
    script, out = tmp_path / "gtk.py", tmp_path / "gtk.txt"
    script.write_text(GTK_X11_TARGET, encoding="utf-8")
    title = f"VT_GTK_{os.getpid()}_{time.monotonic_ns()}"
    proc = subprocess.Popen([SYSTEM_PYTHON, str(script), str(out), title],
                            env={**os.environ, "GDK_BACKEND": "x11", "NO_AT_BRIDGE": "1"})
    try:
        focus_x_window(title, x11.display)
        own_clipboard("previous content")
        deliver("pasted into GTK ü", {"restoreDelay": 60})
        window = Target(lambda: out.read_text(encoding="utf-8") if out.exists() else "", proc)
        assert window.wait_for("pasted into GTK ü", timeout=30) == "pasted into GTK ü"
        assert xclip("-out") == "previous content"
    finally:
        stop(proc)
    err = capsys.readouterr().err
    assert "TARGETS from" in err and "the target fetched the paste" in err, err


def test_a_failed_restore_is_one_line_and_the_paste_stands(x_window, capsys, monkeypatch):
    own_clipboard("previous content")

    def refuse(self, saved):
        raise SinkError("xclip failed: Error: Can't open display: :0")

    monkeypatch.setattr(Xclip, "restore", refuse)
    deliver("pasted anyway", {"restoreDelay": 60})
    err = capsys.readouterr().err
    assert x_window.wait_for("pasted anyway") == "pasted anyway", err
    lines = [line for line in err.splitlines() if not line.startswith("debug:")]
    assert lines == ["voice-transcriber: clipboard: could not put your previous clipboard back after pasting "
                     "(xclip failed: Error: Can't open display: :0); it is empty now"]


def test_xsel_gives_the_clipboard_back_too(x_window):
    own_clipboard("previous for xsel")
    deliver("pasted, xsel restores", {"tool": "xsel", "restoreDelay": 60})
    assert x_window.wait_for("pasted, xsel restores") == "pasted, xsel restores"
    assert xclip("-out") == "previous for xsel"  # xsel's background child owns it already (we waited for that)


def test_an_empty_clipboard_keeps_the_dictation_after_our_x11_owner_left(x_window):
    own_clipboard("")  # an owner offering nothing: nothing to give back
    deliver("kept on the clipboard", {"restoreDelay": 60})
    assert x_window.wait_for("kept on the clipboard") == "kept on the clipboard"
    assert xclip("-out") == "kept on the clipboard"  # handed to xclip before this process's owner closed


def test_an_empty_wayland_clipboard_keeps_the_dictation(foot_raw_window):
    subprocess.run(["wl-copy", "--clear"], check=True, timeout=5)
    deliver("kept on wl", {"restoreDelay": 60, "pasteChords": {"vt-foot-target": "ctrl+shift+v"}})
    assert foot_raw_window.wait_for("kept on wl") == "kept on wl"
    # the wl-copy serving it runs the real cat now that our directory is gone
    assert [wl_paste() for _ in range(2)] == ["kept on wl", "kept on wl"]


def test_wayland_late_target_gets_the_dictation_past_a_clipboard_manager(gtk_late_window, tmp_path, capsys):
    window, out = gtk_late_window
    subprocess.run(["wl-copy", "previous wl"], check=True, timeout=5)
    wait_until(lambda: wl_paste() == "previous wl", 10, "the previous clipboard")
    # a clipboard manager as cliphist is run: every new selection is read and stored as it appears
    store = tmp_path / "history"
    manager = subprocess.Popen(["wl-paste", "--watch", "sh", "-c", 'cat >> "$0"; echo >> "$0"', str(store)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: store.exists() and "previous wl" in store.read_text(encoding="utf-8"), 10, "the manager")
        # the hook before the chord waits until the manager has stored the dictation: its read comes before the
        # chord, as a manager's does, and must not count as the paste
        stored = ["sh", "-c", 'until grep -qxF "$1" "$0"; do sleep 0.01; done', str(store), "wl dictated é"]
        run = InThread("wl dictated é", {"restoreDelay": 60}, {"output.beforeCommand": stored})
        wait_until(Path(f"{out}.asked").exists, 30, "the paste chord to reach the window")
        Path(f"{out}.go").touch()  # the window asks for the clipboard now, at least LATE s after its paste key
        assert window.wait_for("wl dictated é", timeout=30) == "wl dictated é"
        run.result()
        assert wl_paste() == "previous wl"
    finally:
        stop(manager)
    err = capsys.readouterr().err
    assert "the target fetched the paste" in err and "(wl-copy;" in err, err
    assert "output.beforeCommand" not in err, err  # the manager had stored the dictation before the chord


def wl_paste() -> str:
    return subprocess.run(["wl-paste", "--no-newline"], capture_output=True, timeout=5).stdout.decode("utf-8")


GTK_LATE_TARGET = r'''
import os, sys, time, gi
gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk
out, late = sys.argv[1], float(sys.argv[2])
GLib.set_prgname("vt-gtk-late")  # the Wayland app id
window = Gtk.Window(title="VT_GTK_LATE")
view = Gtk.TextView()
window.add(view)
clipboard = Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD)
def got(_clipboard, text):
    buffer = view.get_buffer()
    buffer.insert(buffer.get_end_iter(), text if text is not None else "ERROR: no text")
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write(buffer.get_text(buffer.get_start_iter(), buffer.get_end_iter(), False))
    os.replace(out + ".tmp", out)
def fetch(asked):  # a busy application: the clipboard is asked for LATE s after the key, once OUT.go exists
    if not os.path.exists(out + ".go") or time.monotonic() < asked + late:
        return True
    clipboard.request_text(got)
    return False
def key(_view, event):
    if event.state & Gdk.ModifierType.CONTROL_MASK and Gdk.keyval_to_lower(event.keyval) == Gdk.KEY_v:
        open(out + ".asked", "w").close()
        GLib.timeout_add(20, fetch, time.monotonic())
        return True
    return False
view.connect("key-press-event", key)
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()
'''


@pytest.fixture
def gtk_late_window(wayland) -> Iterator[tuple[Target, Path]]:
    """A GTK window under sway with the focus that pastes late, as :data:`LATE_TARGET` does on X11."""
    require_gtk()
    folder = Path(wayland.runtime_dir, f"gtk-late-{time.monotonic_ns()}")
    folder.mkdir()
    if wayland.user:
        os.chown(folder, pwd.getpwnam(wayland.user).pw_uid, -1)
    out, script = folder / "late.txt", folder / "late.py"
    script.write_text(GTK_LATE_TARGET, encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder), "LANG": "C.UTF-8",
           "XDG_RUNTIME_DIR": wayland.runtime_dir, "WAYLAND_DISPLAY": wayland.wayland_display,
           "GDK_BACKEND": "wayland", "NO_AT_BRIDGE": "1"}
    proc = wayland.spawn([SYSTEM_PYTHON, str(script), str(out), str(LATE)], env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: proc.poll() is not None or sway_focused_app(wayland) == "vt-gtk-late", 30,
                   "the GTK window to get the focus")
        assert proc.poll() is None, "the GTK window exited"
        yield Target(lambda: out.read_text(encoding="utf-8") if out.exists() else "", proc), out
    finally:
        stop(proc, group=True)
        wait_until(lambda: sway_focused_app(wayland) != "vt-gtk-late", 5, "the GTK window to close")
