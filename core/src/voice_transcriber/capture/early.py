"""Open the microphone before anything slow: the first word must not be cut off.

``voice-transcriber`` (see ``voice_transcriber.__main__``) calls :func:`start` first
thing when the command line means "record": the stop signals are taken over and the
stream starts buffering, and only then are click, pydantic, the plugins and the model
loaded. :func:`take` hands the running microphone to the recorder. Anything that goes
wrong here is left for the recorder to report properly, with the full configuration.

Stdlib only (plus sounddevice when recording): this runs before the rest of the CLI.
"""

from __future__ import annotations

import os
import sys
from _thread import get_ident  # not `threading`: milliseconds before the microphone opens

from ..option_names import FLAG_OPTIONS, VALUE_OPTIONS  # (shared with dictate and hotkey)
from .stops import StopControl

TYPE_CHECKING = False  # typing, json and pathlib would cost milliseconds before the microphone opens
if TYPE_CHECKING:
    from .microphone import Microphone

#: Thread id → the microphone opened ahead of the recorder, its stop control and the device hint.
#: Per thread: the daemon hands a microphone to each dictation's worker thread.
_early: dict[int, tuple[Microphone | None, StopControl, str | None]] = {}


def parse_root_options(argv: list[str]) -> dict[str, str] | None:
    """Root options and their values; None when there is a subcommand, --help or anything unknown."""
    found: dict[str, str] = {}
    args = iter(argv)
    for arg in args:
        name, has_value, value = arg.partition("=")
        if name in VALUE_OPTIONS:
            found[name] = value if has_value else next(args, "")
        elif arg in FLAG_OPTIONS:
            found[arg] = ""
        else:
            return None
    return found


def records(options: dict[str, str]) -> bool:
    """True when the root command's ``options`` mean recording (no ``--input``)."""
    return "--input" not in options and "-i" not in options


def device_hint(options: dict[str, str]) -> str | None:
    """The device the settings will name: --device, else the env variable, else config.json."""
    flag = options.get("--device") or options.get("-d")
    if flag:
        return flag
    if os.environ.get("VOICE_TRANSCRIBER_INPUT__DEVICE"):
        return os.environ["VOICE_TRANSCRIBER_INPUT__DEVICE"]
    try:
        with open(_config_file(options), encoding="utf-8") as file:
            configured = file.read()
        import json

        lines = ["" if line.lstrip().startswith("//") else line for line in configured.splitlines()]
        device = json.loads("\n".join(lines)).get("input", {}).get("device")
    except (OSError, ValueError, AttributeError):
        return None  # no file, or a broken one that the real configuration loader will report
    return None if device is None else str(device)


def _config_file(options: dict[str, str]) -> str:
    # Same rule as config.config_path(), which cannot be imported this early (pydantic).
    explicit = options.get("--config") or os.environ.get("VOICE_TRANSCRIBER_CONFIG")
    if explicit:
        return explicit
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return os.path.join(config_home, "voice-transcriber", "config.json")


def start(argv: list[str]) -> None:
    """Take over the stop signals and start the microphone, if ``argv`` records."""
    options = parse_root_options(argv)
    if options is None or not records(options):
        return  # a subcommand, --help, --input or an option this parser does not know
    stop = StopControl().install()
    hint = device_hint(options)
    if stop.requested_at is not None:
        # Stopped while starting: the launcher (``control.spawn_recorder``) starts a recorder with the stop
        # signals blocked, and the hotkey's next press came before the handlers existed. Nothing was said into
        # this recording and what is said after a stop is not part of it: the device stays closed (no
        # sounddevice, PortAudio or numpy) and the recorder ends at once with an empty take (``capture.record``).
        stop.before_recording = True
        hand_over(None, stop, hint)
        return
    # Until the first block arrives, this thread (importing the command line next) hands the GIL to
    # PortAudio's callback thread within 0.5 ms instead of Python's 5 ms: the recording starts when the
    # device delivers, not when an import lets go. The first block restores the interval.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.0005))
    try:
        from .microphone import Microphone

        mic = Microphone(hint, until_first_frame=interval)
    except Exception:  # noqa: BLE001 - the recorder opens it again and reports the problem
        mic = None
        sys.setswitchinterval(interval)
    hand_over(mic, stop, hint)


def hand_over(mic: Microphone | None, stop: StopControl, hint: str | None) -> None:
    """Leave an open microphone and its stop control for the recorder this thread runs next.

    ``hint`` is the device the microphone was opened for (as the settings would name it).
    """
    _early[get_ident()] = (mic, stop, hint)


def take(device: str | int | None) -> tuple[Microphone | None, StopControl | None]:
    """The early microphone (if it is the ``device`` the settings name) and stop control."""
    early = _early.pop(get_ident(), None)
    if early is None:
        return None, None
    mic, stop, hint = early
    wanted = None if device is None else str(device)
    if mic is not None and wanted != hint:
        mic.close()
        mic = None
    return mic, stop
