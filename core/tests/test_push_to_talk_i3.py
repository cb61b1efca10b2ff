"""Push-to-talk under i3 with the documented bindings, keys really held (issue 21 row 1).

Xvfb repeats a held key (here after 100 ms, then every 40 ms) and i3 runs ``start`` for every repeat,
each as its own process; the last ones may reach us after the release's ``stop``. Each hold lasts
0.25 s (and until something records): the press and ~4 repeats, as a 0.4 s hold with a desktop's
usual 250 ms delay gives, in less time; with a shorter hold more of them are still starting when the
``stop`` comes. A ``start`` fired
before the last ``stop`` (it is the same hold) must never begin a recording: after each release
nothing records, and every hold made exactly one recording. Background recorder and daemon.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from voice_transcriber.recordings import list_recordings
from vt_testing.desktop import wait_until
from vt_testing.hotkeys import VT, all_recorded, maybe_daemon, recording, settled_after_release
from vt_testing.i3 import launch_i3

HOLDS = int(os.environ.get("VOICE_TRANSCRIBER_TEST_HOLDS", 20))  # the figure; fewer to debug
#: docs/hotkeys.md's i3 lines, with the absolute path the docs ask for and a spare key (F9).
BINDINGS = f"bindsym F9 exec {VT} start --output stdout\nbindsym --release F9 exec {VT} stop\n"
#: Xvfb's key autorepeat (delay, interval in ms) and how long each hold lasts at least (s): ~4 repeats a hold.
AUTOREPEAT, HELD = (100, 40), 0.25


def hold_f9(x, seconds: float) -> float:
    """Press F9 through XTEST (what ``xdotool keydown``/``keyup`` send), from the test's own X connection
    ``x`` (no process per key), hold it ``seconds`` and until something records (as a user holds the key
    until the recording shows), release it; return how long it was held.

    Until something records: on a starved machine the press's ``start`` process can take longer than the
    hold to reach the daemon, after the release's ``stop`` — a ``start`` fired before the last ``stop`` is
    refused by design (it belongs to a hold already over), and that hold makes no recording (seen once at
    load ~60: 19 recordings of 20 holds). At CI load the press is handled well within the hold."""
    from Xlib import X, XK
    from Xlib.ext import xtest

    code = x.keysym_to_keycode(XK.string_to_keysym("F9"))
    pressed = time.monotonic()
    xtest.fake_input(x, X.KeyPress, code)
    x.sync()
    time.sleep(seconds)  # the X server repeats the key meanwhile: i3 runs `start` again and again
    wait_until(recording, 30, "the press's recording")
    xtest.fake_input(x, X.KeyRelease, code)
    x.sync()
    return time.monotonic() - pressed


def run_holds(i3, runtime: Path) -> int:
    """Hold the key ``HOLDS`` times; return how many times something was recording after the release."""
    from Xlib.display import Display

    strays = 0
    held = []
    x = Display(i3.display)
    try:
        for _ in range(HOLDS):
            pressed = time.time()
            held.append(hold_f9(x, HELD))
            strays += not settled_after_release(runtime, pressed)
    finally:
        x.close()
    print(f"held {min(held):.2f}-{max(held):.2f} s, median {sorted(held)[len(held) // 2]:.2f} s")
    return strays


@pytest.mark.parametrize("daemon", [False, True], ids=["background-recorder", "daemon"])
def test_twenty_push_to_talk_holds_make_twenty_recordings_and_no_stray_one(ptt_world, tmp_path, daemon):
    runtime = ptt_world
    with maybe_daemon(daemon), launch_i3(tmp_path, dict(os.environ), BINDINGS, AUTOREPEAT) as i3:
        strays = run_holds(i3, runtime)
        assert strays == 0, f"{strays} of {HOLDS} holds left a recording running after the release"
        wait_until(lambda: all_recorded(runtime), 60, "the last recording to end")
        assert len(list_recordings()) == HOLDS, "every hold made exactly one recording"
