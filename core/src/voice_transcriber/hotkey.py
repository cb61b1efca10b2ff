"""``toggle``, ``start``, ``stop`` and ``cancel`` without a daemon, answered before click loads.

A held key runs its binding 5-7 times a second after the repeat delay, each run a whole
``voice-transcriber`` process: push-to-talk's ``start`` while the recording runs, a toggle within
``--repeat-guard`` of the last. The release's ``stop`` competes with them for the processor and
the control lock, so each should cost what ``--version`` costs, not click, pydantic and the
plugins (about 0.2 s of CPU); and the press's own ``start`` should register its recorder at once,
before its repeats and the release's ``stop`` arrive. :func:`run` decides from the PID file and the
autorepeat records (:mod:`.hotkey_state`, under the same ``control.lock``, with the same rules and
words as the command line) with the standard library (``subprocess`` to start a recorder), and exits
with the command line's exact output and code when it can finish the command itself:

* ``start``: fired before the last stop (autorepeat: ignored), refused while a recorder runs, or
  starting the background recorder;
* ``toggle``: repeated within ``--repeat-guard`` (ignored), stopping the running recorder, or
  starting one;
* ``stop`` and ``cancel`` of the running recorder.

Everything else returns, untouched, to the command line: ``stop``/``cancel`` with nothing recording
(a press's ``start`` may still be on its way: a stop must not overtake it), ``--wait``, ``--debug``,
a PID file naming a dead recorder (the command line reports and removes it), a runtime directory or
log that cannot be made or must be made private (or is not written plainly), and any argument this parser does
not plainly understand (click's messages). The executable calls :func:`run` after asking the daemon
(``daemon.client.fast_path``), and only when no daemon took the command.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from _signal import SIGUSR1, SIGUSR2  # not `signal`, which imports `enum`

from .autorepeat import STALE_START, guarded_toggle, repeated_toggle_message, stale_start, stop_record
from .hotkey_state import (
    BACKGROUND_ENV,
    LOCK_TIMEOUT,
    already_recording,
    fired_ticks,
    is_alive,
    lock,
    lock_held,
    log_path,
    not_allowed,
    open_log,
    read_json,
    recording_started,
    signalled,
    spawn_recorder,
    start_ticks,
    write_json_atomic,
)
from .files import private_dir
from .option_names import (
    FLAG_OPTIONS,
    PIPELINE_ORDER,
    POSITIVE_NUMBERS,
    ROOT_PARAMS,
    VALUE_OPTIONS,
    option_value,
    plain_value,
    positive_number,
    split_option,
)

TYPE_CHECKING = False  # `typing` costs milliseconds on the hotkey path
if TYPE_CHECKING:
    from typing import NoReturn

COMMANDS = ("toggle", "start", "stop", "cancel")
#: Options of ``start`` and ``toggle``: the pipeline's, without ``--input`` (they record).
PIPELINE_VALUES = {option for option, param in VALUE_OPTIONS.items() if param not in ROOT_PARAMS | {"input_path"}}
PIPELINE_FLAGS = {option for option, param in FLAG_OPTIONS.items() if param not in ROOT_PARAMS}
#: Parameter → its long option, as a background recorder's command line names it.
LONG_NAMES = {param: option for option, param in {**VALUE_OPTIONS, **FLAG_OPTIONS}.items() if option.startswith("--")}
ROOT_VALUES = {"--config"}
ROOT_FLAGS = {"--quiet", "-q", "--strict"}  # not --debug: with it, an error also prints its traceback


class Parsed:
    """A hotkey command line as click would hand it over: the command, its ``--repeat-guard`` and the
    arguments a background recorder it starts gets (``control_cmd.recorder_argv``)."""

    def __init__(self, command: str) -> None:
        self.command, self.guard = command, 0.0
        self.config: str | None = None
        self.strict = False
        self.options: dict[str, str | float | bool] = {}

    def recorder_argv(self) -> list[str]:
        """``--config``, ``--strict``, then the pipeline options given, in click's order, by their long names."""
        args = (["--config", self.config] if self.config else []) + (["--strict"] if self.strict else [])
        for param in PIPELINE_ORDER:
            value = self.options.get(param)
            if value is True:
                args.append(LONG_NAMES[param])
            elif value is not None:
                args += [LONG_NAMES[param], str(value)]
        return args


def run(argv: list[str]) -> None:
    """Finish the hotkey command ``argv`` and exit when it only looks, ignores, signals or starts a
    recorder; else return."""
    if "_VOICE_TRANSCRIBER_COMPLETE" in os.environ:
        return  # a completion request that the plugin index could not answer: click's
    parsed = parse(argv)
    if parsed is None or os.environ.get("VOICE_TRANSCRIBER_DEBUG") or os.environ.get(BACKGROUND_ENV):
        return
    folder = runtime_folder()
    if folder is None:
        return
    fired = fired_ticks(os.getpid()) if parsed.command != "cancel" else None
    lock_file = folder + "/control.lock"
    try:
        fd = lock(lock_file)
    except OSError:
        return  # the command line reports it
    if fd is None:
        _exit(1, err=f"voice-transcriber: error: {_safe(lock_held(lock_file, LOCK_TIMEOUT))}")
    try:
        outcome = decide(parsed, folder, fired)
    finally:
        os.close(fd)
    if outcome is not None:
        _exit(*outcome)


def parse(argv: list[str]) -> Parsed | None:
    """``[ROOT OPTIONS] COMMAND [OPTIONS]`` with options click would take as they are; None for anything
    else (``--wait``, ``--help``, ``--debug``, ``-otyping``, a bad value…): click's."""
    args = list(argv)
    root = _root_options(args)
    if root is None or not args:
        return None
    parsed = Parsed(args.pop(0))
    parsed.config, parsed.strict = root
    records = parsed.command in ("start", "toggle")
    while args:
        arg = args.pop(0)
        name, has_value, value = split_option(arg)
        if records and name in PIPELINE_FLAGS and not has_value:
            parsed.options[FLAG_OPTIONS[name]] = True
            continue
        if not ((records and name in PIPELINE_VALUES) or (parsed.command == "toggle" and name == "--repeat-guard")):
            return None
        given = option_value(has_value, value, args)
        if given is None:
            return None
        if name == "--repeat-guard":
            guard = _repeat_guard(given)
            if guard is None:
                return None
            parsed.guard = guard
            continue
        param = VALUE_OPTIONS[name]
        converted = positive_number(given) if param in POSITIVE_NUMBERS else given if plain_value(given) else None
        if converted is None:
            return None
        parsed.options[param] = converted
    return parsed


def _root_options(args: list[str]) -> tuple[str | None, bool] | None:
    """The root options before the command, taken off ``args``: ``--config``'s value and whether ``--strict`` was
    given; None when click must judge one."""
    config, strict = None, False
    while args and args[0] not in COMMANDS:
        arg = args.pop(0)
        name, has_value, value = split_option(arg)
        if name in ROOT_FLAGS and not has_value:
            strict = strict or name == "--strict"
            continue
        config = option_value(has_value, value, args) if name in ROOT_VALUES else None
        if config is None or not plain_value(config):
            return None
    return config, strict


def _repeat_guard(given: str) -> float | None:
    """``--repeat-guard``'s seconds, as click's ``FloatRange(min=0)`` takes them; None when click must judge."""
    try:
        guard = float(given)
    except ValueError:
        return None
    return guard if guard >= 0 else None  # a negative guard is refused (nan: click judges)


def runtime_folder() -> str | None:
    """``$XDG_RUNTIME_DIR/voice-transcriber`` as this user's private directory (not a symlink), made 0700 when
    missing as the command line makes it (the first hotkey after login, a fresh ``$XDG_RUNTIME_DIR``); else None:
    the command line makes an existing one private, or refuses it, with its message."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if not base.startswith("/"):
        return None
    folder = os.path.join(base, "voice-transcriber")
    if os.path.normpath(folder) != folder:
        return None  # paths are printed and written as pathlib writes them: the command line's
    try:
        private_dir(folder)
        info = os.lstat(folder)
    except OSError:
        return None
    private = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
    return folder if private else None


def decide(parsed: Parsed, folder: str, fired: int | None) -> tuple[int, str, str] | None:
    """Act as the command line would (hold the lock): ``(exit code, stdout line, stderr line)``, or None
    when the command line must (report a dead recorder, say that nothing records, or start a recorder
    where this cannot)."""
    command, pid_file = parsed.command, folder + "/recorder.json"
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
            return start_recorder(parsed, folder)
        return 1, "", f"voice-transcriber: error: {already_recording(*recorder)}"
    if command == "toggle":
        last_toggle = folder + "/last-toggle.json"
        gap, record = guarded_toggle(fired, parsed.guard, read_json(last_toggle), os.getpid())
        outcome = start_recorder(parsed, folder) if gap is None and recorder is None else None
        if gap is None and recorder is None and outcome is None:
            return None  # nothing written: the command line decides again
        if record is not None:
            write_json_atomic(last_toggle, record)
        if gap is not None:
            return 0, "", f"voice-transcriber: {repeated_toggle_message(gap, parsed.guard)}"
        if outcome is not None:
            return outcome
    if recorder is None:
        # The command line says "no recording is running" (stop: after noting the stop). Not here: a stop
        # answered at once could, on a loaded machine, overtake a push-to-talk press's `start` still on its
        # way to the lock, which would then be ignored as fired before the stop (no recording).
        return None
    return _signal(command, folder, recorder[0], fired)


def _signal(command: str, folder: str, pid: int, fired: int | None) -> tuple[int, str, str]:
    """Stop (``stop``, a ``toggle`` that stops) or cancel the recorder ``pid`` as the command line does: the stop
    noted, the signal sent, its PID file removed."""
    pid_file = folder + "/recorder.json"
    if command == "stop" and fired is not None:  # a start fired before this stop (key autorepeat) will be ignored
        write_json_atomic(folder + "/last-stop.json", stop_record(fired))
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


def start_recorder(parsed: Parsed, folder: str) -> tuple[int, str, str] | None:
    """Start the background recorder and register it (hold the lock), as ``control.spawn_recorder``; None
    (nothing done) when the command line must: its log path is not plainly written, or it cannot start."""
    log_file = log_path()
    if os.path.normpath(log_file) != log_file:
        return None  # the command line prints it as pathlib writes it
    opened = open_log(folder)
    if opened is None:
        return None  # the command line says why
    fd, log = opened
    try:
        pid = spawn_recorder(parsed.recorder_argv(), fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    write_json_atomic(folder + "/recorder.json", {"pid": pid, "ticks": start_ticks(pid), "started": time.time(),
                                                  "log": log})
    return 0, recording_started(pid, log), ""


def _safe(text: str) -> str:
    from .safe_text import safe_text

    return safe_text(text)


def _exit(code: int, out: str = "", err: str = "") -> NoReturn:
    if out:
        sys.stdout.write(out + "\n")
    if err:
        sys.stderr.write(err + "\n")
    sys.exit(code)
