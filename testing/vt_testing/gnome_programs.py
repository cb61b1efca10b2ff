"""The programs the GNOME fixtures run besides gnome-shell, as Python sources.

The GTK target window (:data:`GTK_TARGET`, ``vt_testing.gnome``'s ``gtk_window``) and the consent clicker
(:data:`CONSENT_CLICKER`) run on the system Python, which has PyGObject (:func:`system_python`); the keyboard holder
(:data:`KEYBOARD_HOLDER`) on ours (dbus-fast). ``vt_testing.gnome_shell`` starts the clicker and the holder with
the session.
"""

from __future__ import annotations

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


def system_python() -> str:
    """The Python with PyGObject (python3-gi): Debian's, not the project's virtualenv."""
    return "/usr/bin/python3"
