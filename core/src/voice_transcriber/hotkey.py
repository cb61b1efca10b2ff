"""``toggle``, ``start``, ``stop`` and ``cancel`` without a daemon, answered before click loads when
they only look, ignore or signal.

A held key runs its binding 5-7 times a second after the repeat delay, each run a whole
``voice-transcriber`` process: push-to-talk's ``start`` while the recording runs, a toggle within
``--repeat-guard`` of the last. The release's ``stop`` competes with them for the processor and
the control lock, so each should cost what ``--version`` costs, not click, pydantic and the
plugins (about 0.2 s of CPU). :func:`run` decides from the PID file and the autorepeat records
(:mod:`.hotkey_state`, under the same ``control.lock``) with the standard library alone, and exits
with the exact output and code of the command line when it can finish the command itself:

* ``start`` fired before the last stop (autorepeat) or while a recorder runs;
* ``toggle`` repeated within ``--repeat-guard``, or stopping the running recorder;
* ``stop`` and ``cancel`` of the running recorder.

Everything else returns, untouched, to the command line: starting a recorder (it needs the
pipeline options as click resolves them), ``stop``/``cancel`` with nothing recording (a press's
``start`` may still be on its way to start one: the stop must not overtake it), ``--wait``, ``--debug``, a PID file naming a dead
recorder (the command line reports and removes it), a runtime directory still to be created or
made private, and any argument this parser does not plainly understand (click's messages).
The executable calls :func:`run` after asking the daemon (``daemon.client.fast_path``), and only
when no daemon took the command.
"""

from __future__ import annotations

import os
import stat
import sys

from .hotkey_state import (
    LOCK_TIMEOUT,
    NOTHING_RECORDING,
    STALE_START,
    already_recording,
    fired_ticks,
    is_alive,
    lock,
    lock_held,
    not_allowed,
    read_json,
    repeated_toggle_message,
    signalled,
    stale_start,
    stop_record,
    toggle_repeat,
    write_json_atomic,
)
from .option_names import FLAG_OPTIONS, POSITIVE_NUMBERS, ROOT_PARAMS, VALUE_OPTIONS, plain_value, positive_number

TYPE_CHECKING = False  # `typing` costs milliseconds on the hotkey path
if TYPE_CHECKING:
    from typing import NoReturn

COMMANDS = ("toggle", "start", "stop", "cancel")
#: The signals ``stop``/``toggle`` and ``cancel`` send (``_signal``'s numbers: ``signal`` imports ``enum``).
SIGUSR1, SIGUSR2 = 10, 12
#: Options of ``start`` and ``toggle``: the pipeline's, without ``--input`` (they record).
PIPELINE_VALUES = {option for option, param in VALUE_OPTIONS.items() if param not in ROOT_PARAMS | {"input_path"}}
PIPELINE_FLAGS = {option for option, param in FLAG_OPTIONS.items() if param not in ROOT_PARAMS}
ROOT_VALUES = {"--config"}
ROOT_FLAGS = {"--quiet", "-q", "--strict"}  # not --debug: with it, an error also prints its traceback


def run(argv: list[str]) -> None:
    """Finish the hotkey command ``argv`` and exit when it only looks, ignores or signals; else return."""
    parsed = parse(argv)
    if parsed is None or os.environ.get("VOICE_TRANSCRIBER_DEBUG") or os.environ.get("VOICE_TRANSCRIBER_BACKGROUND"):
        return
    folder = runtime_folder()
    if folder is None:
        return
    command, guard = parsed
    fired = fired_ticks(os.getpid()) if command != "cancel" else None
    lock_file = folder + "/control.lock"
    try:
        fd = lock(lock_file)
    except OSError:
        return  # the command line reports it
    if fd is None:
        _exit(1, err=f"voice-transcriber: error: {_safe(lock_held(lock_file, LOCK_TIMEOUT))}")
    try:
        outcome = decide(command, guard, folder, fired)
    finally:
        os.close(fd)
    if outcome is not None:
        _exit(*outcome)


def parse(argv: list[str]) -> tuple[str, float] | None:
    """``(command, --repeat-guard)`` for ``[ROOT OPTIONS] COMMAND [OPTIONS]`` with options click would take as
    they are; None for anything else (``--wait``, ``--help``, ``--debug``, ``-otyping``, a bad value…)."""
    args = list(argv)
    while args and args[0] not in COMMANDS:
        arg = args.pop(0)
        name, has_value, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in ROOT_FLAGS and not has_value:
            continue
        if name not in ROOT_VALUES or not (has_value or args) or not plain_value(value if has_value else args.pop(0)):
            return None
    if not args:
        return None
    command, guard = args.pop(0), 0.0
    while args:
        arg = args.pop(0)
        name, has_value, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if command in ("start", "toggle") and name in PIPELINE_FLAGS and not has_value:
            continue
        if not ((command in ("start", "toggle") and name in PIPELINE_VALUES) or (command == "toggle" and name == "--repeat-guard")):
            return None
        if not has_value:
            if not args:
                return None
            value = args.pop(0)
        if name == "--repeat-guard":
            try:
                guard = float(value)
            except ValueError:
                return None
            if not guard >= 0:  # click's FloatRange(min=0) refuses a negative guard (nan: click judges)
                return None
        elif not (positive_number(value) is not None if VALUE_OPTIONS[name] in POSITIVE_NUMBERS else plain_value(value)):
            return None
    return command, guard


def runtime_folder() -> str | None:
    """``$XDG_RUNTIME_DIR/voice-transcriber`` when it exists as this user's private directory (not a
    symlink); else None: the command line creates it, or refuses it with its message."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if not base.startswith("/"):
        return None
    folder = os.path.join(base, "voice-transcriber")
    try:
        info = os.lstat(folder)
    except OSError:
        return None
    private = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
    return folder if private else None


def decide(command: str, guard: float, folder: str, fired: int | None) -> tuple[int, str, str] | None:
    """Act as the command line would (hold the lock): ``(exit code, stdout line, stderr line)``, or None
    when the command line must (start a recorder, or report a dead one)."""
    pid_file = folder + "/recorder.json"
    data = read_json(pid_file)
    recorder: tuple[int, float] | None = None
    if data and isinstance(data.get("pid"), int):
        try:
            started = float(data.get("started", 0))
        except (TypeError, ValueError):
            return None
        if not is_alive(data["pid"], data.get("ticks")):
            return None  # a recorder that died: the command line says so and removes its PID file
        recorder = data["pid"], started
    if command == "start":
        if stale_start(fired, read_json(folder + "/last-stop.json")):
            return 0, "", f"voice-transcriber: {STALE_START}"
        if recorder is None:
            return None  # a recorder to start
        return 1, "", f"voice-transcriber: error: {already_recording(*recorder)}"
    if command == "toggle":
        last_toggle = folder + "/last-toggle.json"
        gap, record = toggle_repeat(fired, guard, read_json(last_toggle))
        if gap is None and recorder is None:
            return None  # a recorder to start (nothing written: the command line decides again)
        if record is not None:
            write_json_atomic(last_toggle, record)
        if gap is not None:
            return 0, "", f"voice-transcriber: {repeated_toggle_message(gap, guard)}"
    if recorder is None:
        # The command line says "no recording is running" (stop: after noting the stop). Not here: a push-to-talk
        # press's `start` may still be loading the command line to start its recorder, and a stop answered in
        # milliseconds would overtake it (then that start is ignored as fired before the stop: no recording).
        return None
    if command == "stop" and fired is not None:  # a start fired before this stop (key autorepeat) will be ignored
        write_json_atomic(folder + "/last-stop.json", stop_record(fired))
    pid = recorder[0]
    try:
        os.kill(pid, SIGUSR2 if command == "cancel" else SIGUSR1)
    except ProcessLookupError:
        pass  # it ended on its own between the check and now; nothing left to stop
    except PermissionError:
        return 1, "", f"voice-transcriber: error: {not_allowed(pid)}"
    if (current := read_json(pid_file)) is not None and current.get("pid") == pid:
        try:
            os.unlink(pid_file)  # a recorder told to stop or cancel is no longer listening
        except FileNotFoundError:
            pass
    return 0, signalled(pid, cancel=command == "cancel"), ""


def _safe(text: str) -> str:
    from .safe_text import safe_text

    return safe_text(text)


def _exit(code: int, out: str = "", err: str = "") -> NoReturn:
    if out:
        sys.stdout.write(out + "\n")
    if err:
        sys.stderr.write(err + "\n")
    sys.exit(code)
