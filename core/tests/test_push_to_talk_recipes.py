"""The push-to-talk and toggle recipes of docs/hotkeys.md, replayed (issue 21 row 1).

* sway: the documented ``bindsym``/``bindsym --release`` lines in a real headless sway; the key
  is held on a virtual keyboard (wtype) and sway repeats the binding itself, 25 times a second
  after 250 ms, each ``start`` its own ``sh -c`` process, as on a desktop.

  A toggle key held past the repeat delay (sway repeats it) toggles once, with the documented
  ``--repeat-guard``.
* GNOME: the recipe's shell block run as written in a real headless GNOME Shell 43 session,
  gsd-media-keys running the custom shortcut, Super+D held on mutter's virtual keyboard (mutter
  repeats it; gsd runs the command again for every repeat).
* Hyprland and KDE Plasma cannot run here: their recipes are read from docs/hotkeys.md and run the
  way those desktops run them (``vt_testing.hotkeys.Desktop``): Hyprland's ``bind`` on press and
  ``bindr`` on release through ``/bin/sh -c``; Plasma's toggle command on press and on every
  autorepeat of the held key, at its default repeat rate.

After each release nothing records (push-to-talk), a held start press leaves one recording running
and a held stop press none (toggle), and every press made exactly one recording.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from voice_transcriber.recordings import list_recordings
from vt_testing.desktop import desktop_priority, stop, wait_until
from vt_testing.gnome_shell import GnomeSession
from vt_testing.hotkeys import (HOTKEY_CONFIG, HYPRLAND, KDE, SILENT_BACKEND, VT, all_recorded, gnome_hold,
                                gnome_recipe_script, hyprland_push_to_talk, in_flight, kde_toggle, maybe_daemon, ours,
                                recording, settled_after_release)
from vt_testing.sway import launch_sway

HOLDS = int(os.environ.get("VOICE_TRANSCRIBER_TEST_HOLDS", 4))  # 1-3 of 6 left running without the rule
#: docs/hotkeys.md's sway lines, with the absolute path the docs ask for and a spare key (F9).
SWAY_BINDINGS = f"bindsym F9 exec {VT} start --output stdout\nbindsym --release F9 exec {VT} stop\n"


def test_sway_push_to_talk_holds_make_one_recording_each_and_no_stray_one(ptt_world, tmp_path):
    """Through the daemon (the background recorder's path is the same rule, held 20 times under i3)."""
    runtime = ptt_world
    with maybe_daemon(True), launch_sway(tmp_path, dict(os.environ), SWAY_BINDINGS) as sway:
        strays = 0
        for _ in range(HOLDS):
            pressed = time.time()
            sway.hold("F9", 0.4)
            strays += not settled_after_release(runtime, pressed)
        assert strays == 0, f"{strays} of {HOLDS} holds left a recording running after the release"
        wait_until(lambda: all_recorded(runtime), 60, "the last recording to end")
        assert len(list_recordings()) == HOLDS, "every hold made exactly one recording"


SWAY_TOGGLE = f"bindsym F10 exec {VT} toggle --output stdout --repeat-guard 0.8\n"
#: Start/stop cycles per toggle test. One is enough for what these tests check: a held start press (its repeats
#: ignored: one recording runs) and a held stop press (its repeats ignored: none runs), each held past the repeat
#: delay; the stop press already comes after a held press's repeats, as a second cycle's start would (GNOME's
#: held start also follows its taps' stop). Each cycle costs two of the user's pauses (~4 s); the repetition of a
#: hold is the twenty i3 holds' job. More to hunt a rare fault: VOICE_TRANSCRIBER_TEST_CYCLES.
CYCLES = int(os.environ.get("VOICE_TRANSCRIBER_TEST_CYCLES", 1))


#: The recipes' ``--repeat-guard``: a press sooner than this after the key's last command counts as the
#: same hold, by design.
GUARD = 0.8
#: How long the user waits between releasing the key and pressing it again: more than the guard, with
#: room for a loaded desktop that forks the hold's last repeats after the release (a pause of 1.0 s from
#: the last repeat seen made "of 2 held stop presses 1 left a recording running" at load ~20).
PAUSE = 1.5
#: How much longer than the guard the user waits at least after the last command the desktop ran for the
#: key (on top of the clock's 10 ms ticks): a repeat forked later than the release pushes the pause on.
PAUSE_MARGIN = 0.2
#: How many cycles may be run again because the desktop ran a repeat after the key was up (see below).
LATE_DESKTOP_RETRIES = 3
#: How long the sway toggle key is held: past sway's 250 ms repeat delay, with ~5 repeats (25 a second) that
#: each run ``toggle`` within the guard.
HELD = 0.45


def ticks_now() -> float:
    """Now on the clock a command's *fired* time is read from: the kernel's process start times, in
    clock ticks since boot."""
    return time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK")


def fired_after(runtime: Path, ticks: float) -> bool:
    """A guarded toggle fired after ``ticks`` was handled (``last-toggle.json`` holds the latest firing)."""
    try:
        fired = json.loads((runtime / "voice-transcriber" / "last-toggle.json").read_text())["fired"]
    except (OSError, ValueError, KeyError):
        return False
    return fired > ticks


def users_pause(runtime: Path, released: float, pause: float = PAUSE) -> None:
    """The user's pause before the next press, once the key's commands finished: ``pause`` after the release
    (``time.monotonic()``), and more than the guard after the last command the desktop ran for the key,
    measured on the clock the guard itself reads (``last-toggle.json``'s fired ticks, the process start
    times): a desktop that forked a repeat late is waited for as long as the guard needs."""
    time.sleep(max(0.0, released + pause - time.monotonic()))
    try:
        fired = json.loads((runtime / "voice-transcriber" / "last-toggle.json").read_text())["fired"]
    except (OSError, ValueError, KeyError):
        return  # no guarded toggle ran: nothing the next press could be taken for
    due = fired + (GUARD + PAUSE_MARGIN) * os.sysconf("SC_CLK_TCK")
    while (left := due - ticks_now()) > 0:
        time.sleep(left / os.sysconf("SC_CLK_TCK"))


def toggle_cycles(hold: Callable[[], object], runtime: Path, pause: float = PAUSE,
                  starved: Callable[[], bool] = lambda: False) -> tuple[int, int, int]:
    """``CYCLES`` times: a held press to start, a held press to stop (each held past the repeat
    delay), with the user's ``pause`` (:func:`users_pause`) before each press but the first. Return
    (presses after which nothing recorded, presses after which something still did, recordings of
    cycles run again).

    A cycle that went wrong (nothing recorded after the first press, something after the second, or
    not one recording) is run again when the desktop ran the key's command after the key was
    released: it was behind (a starved desktop forks its repeats late), and a repeat it forked more
    than ``--repeat-guard`` after the one before is a new press by the guard's rule — the user would
    see it too; the guard cannot tell it from one. ``starved()``, asked after each hold: a replayed
    desktop ran the key's commands further apart than the guard (the same). A repeat forked in time
    while the key was down and taken for a press, the fault this test is for, still fails it."""
    missed = strays = retried = recordings = 0
    done = 0
    released: float | None = None
    while done < CYCLES:
        if released is not None:  # the user's pause after the cycle before (none after the last: no press follows)
            users_pause(runtime, released, pause)
        before = len(list_recordings())
        started, stopped, late, released = toggle_cycle(hold, runtime, pause, starved)
        wrong = not started or not stopped or len(list_recordings()) - before != 1
        if wrong and late and retried < LATE_DESKTOP_RETRIES:
            retried += 1
            wait_until(lambda: all_recorded(runtime), 60, "the recordings of the cycle to end")
            recordings += len(list_recordings()) - before
            continue
        missed, strays, done = missed + (not started), strays + (not stopped), done + 1
    return missed, strays, recordings


def toggle_cycle(hold: Callable[[], object], runtime: Path, pause: float = PAUSE,
                 starved: Callable[[], bool] = lambda: False) -> tuple[bool, bool, bool, float]:
    """A held press to start and a held press to stop, with the user's pause (:func:`users_pause`) between them:
    (a recording ran after the first, nothing after the second, the desktop ran a command after a release,
    when the second was released). The pause after the second is the caller's, before a next press."""
    hold()
    released, released_ticks, late = time.monotonic(), ticks_now(), starved()
    wait_until(lambda: not in_flight(runtime), 60, "the press's toggle commands to finish")
    try:
        wait_until(recording, 30, "the recording the press started")
        started = True
    except TimeoutError:
        started = False
    late = late or fired_after(runtime, released_ticks)
    users_pause(runtime, released, pause)
    hold()
    released, released_ticks, late = time.monotonic(), ticks_now(), late or starved()
    stopped = settled_after_release(runtime)
    # A starved desktop may still run one of this hold's repeats: judged once it ran none for longer than the
    # guard (the next press waits that long anyway); a repeat it ran meanwhile that started a recording is a stray.
    # (Not a pass either: the stray just cancelled, still recording for a moment — a CI failure once reported
    # "0 left one running" of a stop press whose stray recording ran 20 s until cancelled.)
    wait_until(lambda: desktop_done(runtime), 60, "the desktop to run no more commands for the key")
    if recording():
        stopped = settled_after_release(runtime) and stopped
    late = late or fired_after(runtime, released_ticks)
    return started, stopped, late, released


def desktop_done(runtime: Path) -> bool:
    """No command of the key runs, and the last one was fired more than the guard (+ margin) ago."""
    if in_flight(runtime):
        return False
    try:
        fired = json.loads((runtime / "voice-transcriber" / "last-toggle.json").read_text())["fired"]
    except (OSError, ValueError, KeyError):
        return True
    return ticks_now() > fired + (GUARD + PAUSE_MARGIN) * os.sysconf("SC_CLK_TCK")


def test_sway_toggle_key_held_past_the_repeat_delay_toggles_once(ptt_world, tmp_path):
    runtime = ptt_world
    with maybe_daemon(True), launch_sway(tmp_path, dict(os.environ), SWAY_TOGGLE) as sway:
        missed, strays, retried = toggle_cycles(lambda: sway.hold("F10", HELD), runtime)
        assert (missed, strays) == (0, 0), f"of {CYCLES} held start presses {missed} left nothing recording; " \
                                           f"of {CYCLES} held stop presses {strays} left a recording running"
        wait_until(lambda: all_recorded(runtime), 60, "the last recording to end")
        assert len(list_recordings()) == CYCLES + retried, "one recording per start/stop pair"


# --- Hyprland, KDE: their recipes run the way those desktops run them ----------------------------


def test_hyprland_push_to_talk_recipe(ptt_world):
    runtime = ptt_world
    press, release = hyprland_push_to_talk()
    assert " start " in f"{press} " and release.endswith(" stop"), (press, release)
    strays = 0
    with maybe_daemon(True):
        for _ in range(4):
            pressed = time.time()
            # no autorepeat: the press runs once, however long the hold (0.25 s, as the i3 holds). Held until something
            # records (as a user holds the key until the recording shows): a `start` a starved machine gets to the
            # daemon after the release's `stop` is refused as stale by design, and that hold would make no recording
            # (the i3 test's daemon variant, 19 of 20 at load ~60; this test failed once at -n 2, load ~23)
            HYPRLAND.hold(0.25, press, release, until=recording)
            strays += not settled_after_release(runtime, pressed)
    assert strays == 0, f"{strays} of 4 holds left a recording running after the release"
    assert len(list_recordings()) == 4, "every hold made exactly one recording"


def recorder_log_tail(lines: int = 40) -> str:
    """The end of the background recorders' log (``recorder.log``, with their ``--debug`` lines when
    ``VOICE_TRANSCRIBER_RECORDER_DEBUG`` is set): what a failed cycle's recorders did, and when."""
    from voice_transcriber.hotkey_state import log_path

    try:
        return "".join(Path(log_path()).read_text(errors="replace").splitlines(keepends=True)[-lines:])
    except OSError as exc:
        return f"(no recorder log: {exc})"


def last_toggle(runtime: Path) -> str:
    """``last-toggle.json``: the chains of handled toggles (fired ticks of the first and the last, whether one
    acted), which tell a hold's press that was ignored (a chain with nothing acted) from one that never ran."""
    try:
        return (runtime / "voice-transcriber" / "last-toggle.json").read_text()
    except OSError as exc:
        return f"(none: {exc})"


def test_kde_toggle_recipe_with_the_key_held(ptt_world, monkeypatch):
    runtime, toggle = ptt_world, kde_toggle()
    monkeypatch.setenv("VOICE_TRANSCRIBER_RECORDER_DEBUG", "1")  # the recorders' timeline, for a failure's message
    assert f"--repeat-guard {GUARD:g}" in toggle, toggle
    repeats: list[int] = []
    gaps: list[float] = []  # each hold's widest time between two runs of the command (the guard's clock)

    def hold() -> None:
        repeats.append(KDE.hold(0.7, toggle))
        gaps.append(round(KDE.widest_gap, 2))

    # the replay forks every command before hold() returns (none comes late): the guard's wait alone is the pause
    missed, strays, retried = toggle_cycles(hold, runtime, pause=0, starved=lambda: KDE.widest_gap >= GUARD)
    assert min(repeats) > 1, "the key was held past Plasma's repeat delay: the command ran again"
    assert (missed, strays) == (0, 0), f"of {CYCLES} held start presses {missed} left nothing recording; " \
                                       f"of {CYCLES} held stop presses {strays} left one running " \
                                       f"(runs per hold {repeats}, widest gaps {gaps} s); the guard's record " \
                                       f"(chains of handled toggles: first-last-acted) {last_toggle(runtime)}; " \
                                       f"the recorders' log ends:\n{recorder_log_tail()}"
    wait_until(lambda: all_recorded(runtime), 60, "the last recording to end")
    assert len(list_recordings()) == CYCLES + retried, "one recording per start/stop pair"


# --- GNOME for real: the recipe's gsettings block, gsd-media-keys, a key held in gnome-shell ------------------


@pytest.fixture
def gnome_shortcut(gnome_session, pulse, write_config):
    """The GNOME recipe run as written in the headless GNOME session, gsd-media-keys (which runs
    custom shortcuts) started there; yields the session's environment, which its commands get."""
    env = {**gnome_session.env, **pulse.env, **SILENT_BACKEND,
           "PATH": f"{Path(VT).parent}{os.pathsep}{gnome_session.env['PATH']}"}
    config = Path(env["XDG_CONFIG_HOME"], "voice-transcriber", "config.json")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(HOTKEY_CONFIG))
    script = gnome_recipe_script()
    assert f"--repeat-guard {GUARD:g}" in script, script
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    grabs = grabs_log(env).open("wb")  # gsd-media-keys' grab of the shortcut, seen on the session bus
    monitor = subprocess.Popen(["dbus-monitor", "--session", *GRAB_MESSAGES], env=env, stdout=grabs,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    # dbus-monitor prints its own name's NameAcquired once it monitors: only then can it see gsd's call
    wait_until(lambda: monitor.poll() is not None or "NameAcquired" in grabs_log(env).read_text(errors="replace"),
               30, "dbus-monitor")
    log = Path(gnome_session.runtime_dir, "logs", "gsd-media-keys.log").open("wb")
    gsd = subprocess.Popen(["/usr/libexec/gsd-media-keys"], env=env, stdout=log, stderr=log,  # as the session's own
                           stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=desktop_priority)
    try:
        yield env
    finally:
        stop(gsd)
        stop(monitor)
        log.close()
        grabs.close()
        for pid in ours(Path(env["XDG_RUNTIME_DIR"]), None):
            os.kill(pid, signal.SIGKILL)
        subprocess.run(["gsettings", "reset", "org.gnome.settings-daemon.plugins.media-keys", "custom-keybindings"],
                       env=env, capture_output=True, timeout=20)
        config.unlink()
        shutil.rmtree(Path(env["XDG_STATE_HOME"], "voice-transcriber"), ignore_errors=True)


@pytest.mark.xdist_group("gnome")
def test_gnome_toggle_recipe_for_real_with_the_key_held(gnome_shortcut, gnome_session, monkeypatch):
    """docs/hotkeys.md's GNOME block, pasted into a shell of a real (headless) GNOME Shell 43 session;
    gsd-media-keys runs the shortcut, mutter repeats the held Super+D (every 30 ms after 500 ms —
    measured here: a 1.5 s hold ran the command 35 times). Each held press toggles once."""
    env = gnome_shortcut
    for var in ("XDG_RUNTIME_DIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.setenv(var, env[var])  # status and the recordings of the session's dictations
    runtime = Path(env["XDG_RUNTIME_DIR"])
    with maybe_daemon(True, env):  # the warm daemon: no recorder starting up while the repeats come
        retried = gnome_toggle_presses(gnome_session, env, runtime)
    wait_until(lambda: all_recorded(runtime), 60, "the last recording to end")
    assert len(list_recordings()) == CYCLES + 1 + retried, "one recording per start/stop pair (the taps' included)"


#: dbus-monitor's match rules for the messages that tell when gsd-media-keys' shortcuts are grabbed: its calls to
#: gnome-shell that grab accelerators, and the method returns (among them gnome-shell's answers to those calls).
GRAB_MESSAGES = ("type='method_call',interface='org.gnome.Shell',member='GrabAccelerators'",
                 "type='method_call',interface='org.gnome.Shell',member='GrabAccelerator'",
                 "type='method_return'")
#: The recipe's key (docs/hotkeys.md's GNOME block): what the taps and holds press.
GNOME_BINDING = "<Super>d"


def grabs_log(env: dict[str, str]) -> Path:
    return Path(env["XDG_RUNTIME_DIR"], "logs", "gsd-grabs.log")


def shortcut_grabbed(log: Path, accelerator: str = GNOME_BINDING) -> bool:
    """gnome-shell answered the call in which gsd-media-keys grabbed ``accelerator`` (dbus-monitor's ``log``): a
    press of the key now runs the shortcut's command. (gsd-media-keys owns its bus name before that: a tap then
    runs nothing, and a test that took its silence for a slow command waited 30 s for a recording.)"""
    calls = set()
    for message in re.split(r"\n(?=\S)", log.read_text(errors="replace")):  # a message: its header line, its body
        head = message.partition("\n")[0]
        if head.startswith("method call") and "member=GrabAccelerator" in head and f'"{accelerator}"' in message:
            found = re.search(r" sender=(\S+) .* serial=(\d+)", head)
            calls.add(found.groups() if found else None)
        elif head.startswith("method return"):
            found = re.search(r" -> destination=(\S+) serial=\d+ reply_serial=(\d+)", head)
            if found and found.groups() in calls:
                return True
    return False


def gnome_toggle_presses(session: GnomeSession, env: dict[str, str], runtime: Path) -> int:
    """Two taps, then the held cycles; the recordings of cycles run again (see :func:`toggle_cycles`)."""
    # the first tap once gsd-media-keys has grabbed the shortcut (its grab seen on the bus, see shortcut_grabbed)
    wait_until(lambda: shortcut_grabbed(grabs_log(env)), 60, "gsd-media-keys to grab the recipe's shortcut")
    for _ in range(3):  # a tap that still ran nothing (gsd-media-keys had not yet taken the grab's answer): again
        gnome_hold(session, 0.05)
        released = time.monotonic()
        wait_until(lambda: not in_flight(runtime), 60, "the tap's toggle")
        try:
            wait_until(recording, 30, "the recording the tap started")
            break
        except TimeoutError:
            continue
    assert recording(), "the GNOME shortcut runs `voice-transcriber toggle`"
    users_pause(runtime, released)
    gnome_hold(session, 0.05)  # a second tap stops it
    released = time.monotonic()
    assert settled_after_release(runtime), "a tap toggles once"
    users_pause(runtime, released)
    missed, strays, retried = toggle_cycles(lambda: gnome_hold(session, 0.65), runtime)  # the press and ~5 repeats
    said = Path(env["XDG_RUNTIME_DIR"], "logs", "gsd-media-keys.log").read_text(errors="replace")
    said = "\n".join(line for line in said.splitlines() if "keyring" not in line)[-3000:]
    assert (missed, strays) == (0, 0), f"of {CYCLES} held start presses {missed} left nothing recording; " \
                                       f"of {CYCLES} held stop presses {strays} left one running; the toggles said:\n{said}"
    return retried
