"""A held hotkey's autorepeat: push-to-talk's ``start`` after the release's ``stop``, ``toggle`` within ``--repeat-guard``.

A held key runs its binding again and again, each run a whole process that may reach the control lock out of
order; these functions tell a repeat from a new press by when each command was fired (kernel ticks,
:func:`.hotkey_state.fired_ticks`), given ``last-stop.json`` and ``last-toggle.json``. Used on the hotkey
path (:mod:`.hotkey`) and by the command line (:mod:`.control`): the same standard-library-only modules as
:mod:`.hotkey_state`.
"""

from __future__ import annotations

import os
import time

from .hotkey_state import LOCK_TIMEOUT, boot_id, fired_ticks, read_bytes


def stop_record(fired: int) -> dict:
    """``last-stop.json`` for a ``stop`` fired at ``fired`` ticks."""
    return {"fired": fired, "boot": boot_id(), "at": time.time()}


def stale_start(fired: int | None, last_stop: dict | None) -> bool:
    """True for a ``start`` fired no later than the last ``stop`` (``last-stop.json``): the same key hold,
    repeated by the keyboard's autorepeat while the key was down, reaching us after the release's stop."""
    if fired is None or not last_stop or type(last_stop.get("fired")) is not int or last_stop.get("boot") != boot_id():
        return False
    return fired <= last_stop["fired"]


STALE_START = ("start ignored: it was fired before the last stop — the same key hold, repeated by key "
               "autorepeat (press the key again to record)")


#: How long handled guarded toggles are remembered (``last-toggle.json``'s chains), in seconds: longer than a
#: toggle can take to reach the lock (its start-up, then up to :data:`LOCK_TIMEOUT` waiting).
TOGGLE_MEMORY = 2 * LOCK_TIMEOUT
#: How many chains (key holds) ``last-toggle.json`` remembers at most, the latest.
TOGGLE_CHAINS = 8


def toggle_repeat(fired: int | None, guard: float, last_toggle: dict | None,
                  earlier: tuple[int, ...] = ()) -> tuple[float | None, dict | None]:
    """For a ``toggle --repeat-guard GUARD`` fired at ``fired`` ticks, given ``last-toggle.json``: how many
    seconds after the previous guarded toggle it was fired when that is less than ``guard`` — the key is
    held and its autorepeat runs the command again (GNOME and KDE shortcuts, i3/sway ``bindsym``) — else
    None; and the new ``last-toggle.json`` (None: nothing to write). Every guarded toggle, acted on or not,
    extends the chain: a held key's repeats follow each other closely, so the whole hold counts as one press.

    ``earlier``: when the guarded toggles still running were fired (:func:`toggles_in_flight`). On a busy
    machine a hold's commands reach the lock out of order, so the previous toggle is the latest one fired
    before this one, handled or still running (a KDE hold's third repeat, handled before the first two, once
    started a recording again), and ``last-toggle.json`` keeps the chains of handled toggles (see
    :func:`_chains`): a toggle fired before a chain it belongs to is a repeat only if one of that chain acted
    (a KDE hold's press, in click while its repeats were ignored for it by the fast path, was once ignored as
    fired before them, and the hold recorded nothing). Such a repeat, or one fired inside a chain: 0.0."""
    if fired is None or guard <= 0:
        return None, None
    boot, hertz = boot_id(), os.sysconf("SC_CLK_TCK")
    reach = guard * hertz
    handled = _chains(last_toggle, boot)
    gap = _repeat_gap(fired, reach, sorted([*handled, *([ticks, ticks, 0] for ticks in earlier)]))
    merged, kept = [fired, fired, int(gap is None)], []
    for chain in handled:  # this toggle joins the chains it is within the guard of
        if chain[0] - reach < fired < chain[1] + reach:
            merged = [min(merged[0], chain[0]), max(merged[1], chain[1]), merged[2] | chain[2]]
        else:
            kept.append(chain)
    newest = max(chain[1] for chain in [merged, *kept])
    kept = sorted(chain for chain in [merged, *kept] if chain[1] >= newest - TOGGLE_MEMORY * hertz)
    record = {"fired": newest, "boot": boot, "at": time.time(),
              "chains": " ".join("-".join(map(str, chain)) for chain in kept[-TOGGLE_CHAINS:])}
    return (None if gap is None else max(gap / hertz, 0.0)), record


def _chains(last_toggle: dict | None, boot: str) -> list[list[int]]:
    """``last-toggle.json``'s handled toggles as chains ``[first, last, acted]``: when the first and the last
    were fired (ticks; each toggle less than the guard after the one before), and 1 if one of them acted. A
    record without chains (an older version's): its latest toggle, taken as acted."""
    if not last_toggle or last_toggle.get("boot") != boot:
        return []
    text, fired = last_toggle.get("chains"), last_toggle.get("fired")
    if type(text) is str:
        try:
            chains = [[int(part) for part in chain.split("-")] for chain in text.split()]
        except ValueError:
            chains = []
        if chains and all(len(chain) == 3 and chain[0] <= chain[1] and chain[2] in (0, 1) for chain in chains):
            return chains
    return [[fired, fired, 1]] if type(fired) is int else []


def _repeat_gap(fired: int, reach: float, known: list[list[int]]) -> float | None:
    """Ticks from the latest toggle fired before (or with) ``fired`` when fewer than ``reach``, 0 when a toggle
    fired after it, in reach through the chains (``known``, sorted), acted; None: a press, it acts."""
    latest = max((min(last, fired) for first, last, _ in known if first <= fired), default=None)
    if latest is not None and fired - latest < reach:
        return fired - latest
    end = fired
    for first, last, acted in known:
        if first <= fired:
            continue
        if first - end >= reach:
            break
        if acted:
            return 0
        end = max(end, last)
    return None


def guarded_toggle(fired: int | None, guard: float, last_toggle: dict | None,
                   own: int | None) -> tuple[float | None, dict | None]:
    """:func:`toggle_repeat` for the toggle process ``own`` (None: no other toggle counts), asking which
    toggles still run (:func:`toggles_in_flight`, a look at every process: ~2 ms for 80 of them) only when
    the handled ones alone would let it act: the press, not each of a held key's repeats."""
    gap, record = toggle_repeat(fired, guard, last_toggle)
    if gap is None and record is not None and own is not None:
        gap, record = toggle_repeat(fired, guard, last_toggle, toggles_in_flight(own))
    return gap, record


def toggles_in_flight(own: int) -> tuple[int, ...]:
    """When this user's other ``toggle --repeat-guard`` commands still running (for the same runtime
    directory) were fired, in kernel ticks (:func:`fired_ticks`). Of two fired in the same tick, the one
    with the lower PID counts as the earlier: for the other, fired at the same tick is fired before it;
    for it, the other is not (so one of them acts)."""
    uid, runtime = os.getuid(), os.environ.get("XDG_RUNTIME_DIR", "").encode()
    found: list[int] = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == own:
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            argv = read_bytes(f"/proc/{name}/cmdline").split(b"\0")
            if b"toggle" not in argv or not any(part.startswith(b"--repeat-guard") for part in argv) or \
                    not any(part.endswith((b"voice-transcriber", b"voice_transcriber")) for part in argv):
                continue
            if b"XDG_RUNTIME_DIR=" + runtime not in read_bytes(f"/proc/{name}/environ").split(b"\0"):
                continue
        except OSError:  # gone meanwhile, or not ours to read
            continue
        ticks = fired_ticks(int(name))
        if ticks is not None:
            found.append(ticks if int(name) < own else ticks + 1)  # the same tick: the lower PID first
    return tuple(found)


def repeated_toggle_message(gap: float, guard: float) -> str:
    return (f"toggle ignored: fired {gap:.2f} s after the previous one (under --repeat-guard {guard:g}) — "
            "the key is held and repeated by key autorepeat")
