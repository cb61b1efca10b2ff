"""One dictation in the daemon: the microphone it was given, its stop control, its pipeline thread.

The worker thread runs exactly what the CLI runs (:func:`~voice_transcriber.cli.run_cmd.run_from_options`):
settings, profile, plan, :func:`~voice_transcriber.capture.record` (streamed to disk as always, so
a killed daemon loses nothing: ``retry`` recovers the file), transcription, formatters, sinks,
history. The microphone opened by the daemon when the request arrived is handed to the
recorder through :func:`voice_transcriber.capture.early.hand_over`.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import events
from ..capture import early
from ..capture.stops import ThreadStopControl
from ..cli.run_cmd import CliState, run_from_options
from ..context import RunContext
from ..errors import EXIT_CANCELLED, EXIT_FAILURE, Cancelled, VoiceTranscriberError
from ..redact import redact
from .client import SESSION_VARS
from .live_config import LiveConfig

if TYPE_CHECKING:
    from ..capture.microphone import Microphone
    from ..config import Settings
    from ..types import Audio
    from .protocol import Reply

Listener = Callable[[dict[str, Any]], None]


class Dictation:
    """A recording the daemon started, from the hotkey to the delivered text (or the failure)."""

    def __init__(self, state: DaemonCliState, options: dict[str, Any], mic: Microphone | None,
                 device_hint: str | None, on_capture_end: Callable[[], None]) -> None:
        self.options = options
        self.mic, self.device_hint = mic, device_hint
        #: When the daemon had read the request, and when the microphone was open (set by the server;
        #: shown by ``daemon status --json``, measured by bench/daemon_latency.py)
        self.requested_at: float | None = None
        self.mic_opened_at: float | None = None
        self.stop = ThreadStopControl()
        self.state = state
        state.dictation = self
        self.on_capture_end = on_capture_end
        #: Set once the recording runs (the file exists) or the run ended before it could.
        self.recording = threading.Event()
        self.done = threading.Event()
        self.run_id: str | None = None
        self.started_at: float | None = None
        self.code: int | None = None
        self.error: str | None = None
        self._listeners: list[Listener] = []
        self._capture_ended = False
        #: Given up at a daemon stop while it was still being transcribed (its thread may still run).
        self.abandoned = False
        self.thread = threading.Thread(target=self._work, name="dictation", daemon=True)

    @property
    def name(self) -> str:
        return f"run {self.run_id}" if self.run_id else "the new recording"

    def start(self) -> None:
        self.thread.start()

    def listening(self) -> bool:
        """True until a stop or cancel request, or until the recording ended by itself (limit, silence, failure)."""
        return not (self.done.is_set() or self._capture_ended or self.stop.cancelled or self.stop.requested_at is not None)

    def listen(self, listener: Listener) -> None:
        """Pass the run's warnings (as ``{"err": line}``) to ``listener`` until it ends."""
        self._listeners.append(listener)

    def tell(self, message: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(message)

    def recording_started(self, ctx: RunContext) -> None:
        self.run_id, self.started_at = ctx.run_id, time.time()
        self.recording.set()

    def capture_ended(self) -> None:
        if not self._capture_ended:
            self._capture_ended = True
            self.on_capture_end()

    def status(self) -> dict[str, Any]:
        state = "done" if self.done.is_set() else "recording" if self.listening() else "transcribing"
        return {"id": self.run_id, "state": state, "requestedAt": self.requested_at, "micOpenedAt": self.mic_opened_at,
                "firstFrameAt": self.mic.first_frame_at if self.mic is not None else None,
                "startedAt": self.started_at, "exit": self.code, "error": self.error}

    def _work(self) -> None:
        early.hand_over(self.mic, self.stop, self.device_hint)
        try:
            run_from_options(self.state, self.options)
            self._end(*self._judge())
        except (Cancelled, KeyboardInterrupt):
            self._end(EXIT_CANCELLED, None)
        except VoiceTranscriberError as exc:
            self._end(exc.exit_code, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must not take the daemon down: one line to the client, traceback to the log
            traceback.print_exc()
            self._end(EXIT_FAILURE, f"internal error: {type(exc).__name__}: {exc} (see the daemon's log and report it)")
        finally:
            leftover, _ = early.take(None)  # the run failed before the recorder took the microphone
            if leftover is not None:
                leftover.close()
            self.capture_ended()
            self.recording.set()
            self.done.set()

    def _judge(self) -> tuple[int, str | None]:
        """A run that returned succeeded: it delivered its text, or found no speech, which exits 0 as
        ``transcribe`` does (the README's exit codes; the "no speech detected" line reached the clients
        as a warning, and ``status`` shows it)."""
        return 0, None

    def abandon(self, waited: float) -> str:
        """The daemon stops and cannot wait longer: end this run as failed, its recording kept. The message."""
        ctx = self.state.last_context
        recording = ctx.info.get("recording") if ctx is not None else None
        kept = (f"the recording is kept: {recording}; `voice-transcriber retry {os.path.basename(recording).removesuffix('.wav')}` "
                "transcribes it again") if recording else "nothing was recorded yet"
        message = f"the daemon stopped while {self.name} was still being transcribed (waited {waited:g} s); {kept}"
        self._end(EXIT_FAILURE, message)
        self.abandoned = True
        self.recording.set()
        self.done.set()
        return message

    def _end(self, code: int, error: str | None) -> None:
        if self.abandoned:  # the daemon gave this run up at its stop and already reported it
            return
        self.code, self.error = code, redact(error) if error else None
        if not events.ended(self.run_id):  # it failed before its pipeline could say so (no microphone …)
            if code == EXIT_CANCELLED:
                events.emit(self.run_id, "cancelled", "idle", cancelled=True)
            elif code != 0:
                events.emit(self.run_id, "failed", "failed", error=self.error)
        print(f"voice-transcriber daemon: {self.name} ended: exit {code}" + (f" — {self.error}" if self.error else ""),
              file=sys.stderr, flush=True)


@dataclass
class DaemonRunContext(RunContext):
    """A run inside the daemon: warnings also reach the waiting clients; the recording's life is reported."""

    dictation: Dictation | None = None

    def warn(self, message: str) -> None:
        super().warn(message)
        if self.dictation is not None and not self.quiet:
            self.dictation.tell({"err": redact(f"voice-transcriber: {message}")})

    def recording_started(self) -> None:
        super().recording_started()
        if self.dictation is not None:
            self.dictation.recording_started(self)

    def recording_stopped(self, audio: Audio) -> None:
        if self.dictation is not None:
            self.dictation.capture_ended()
        super().recording_stopped(audio)


@dataclass
class DaemonCliState(CliState):
    """The CLI's state for one request: settings come from the daemon's live configuration."""

    live: LiveConfig | None = None
    dictation: Dictation | None = None
    last_context: RunContext | None = field(default=None, repr=False)

    def settings(self, overrides: dict[str, Any] | None = None) -> Settings:
        """The live settings with this request's flags; unknown keys were reported when the daemon loaded the
        file, so they are checked again only for a ``--strict`` request."""
        assert self.live is not None
        settings = self.live.load(self.config_file, overrides)
        if self.strict and not self._keys_checked:
            self._keys_checked = True
            self.check_keys(settings)
        return settings

    def context(self, settings: Settings) -> RunContext:
        ctx = DaemonRunContext(settings, pm=self.pm, debug=self.debug or settings.benchmark_mode, quiet=self.quiet,
                               dictation=self.dictation)
        self.last_context = ctx
        return ctx


def report_start(dictation: Dictation, reply: Reply) -> None:
    """Answer once the recording runs (the file exists) — or with the reason it could not start."""
    dictation.recording.wait()
    if dictation.run_id is None:
        if dictation.code == EXIT_CANCELLED:
            reply.done(EXIT_CANCELLED)
        else:
            reply.fail(dictation.error or "the recording did not start", dictation.code or 1)
        return
    reply.out(f"recording ({dictation.name}, daemon pid {os.getpid()}); stop with `voice-transcriber stop`")
    reply.done(0)


def report_end(dictation: Dictation, verb: str, reply: Reply, wait: bool) -> None:
    """Say what was done; with ``--wait``, relay the run's warnings and answer with its exit code."""
    dictation.recording.wait()  # stopped while still starting: name it once its run id exists
    reply.out(f"{verb} — {dictation.name} (daemon pid {os.getpid()})")
    if not wait:
        reply.done(0)
        return
    dictation.listen(reply.send)
    dictation.done.wait()
    if dictation.code in (0, EXIT_CANCELLED):
        reply.done(dictation.code)
    else:
        reply.fail(f"the recording ({dictation.name}) failed: {dictation.error}")


def adopt_session(session: dict[str, str]) -> None:
    """Take the client's display variables (a daemon started at login may predate the compositor).

    Only the names in ``client.SESSION_VARS``, and only when they changed: a sink started by
    this dictation (xdotool, wtype, wl-copy, notify-send) then reaches the user's display.
    """
    for name, value in session.items():
        if name in SESSION_VARS and value and os.environ.get(name) != value:
            log(f"using {name}={value} from the client's session")
            os.environ[name] = value


def device_hint(args: list[str], settings: Settings | None) -> str | None:
    """The device a start request will record from: its --device, else the configured one.

    Read from the raw arguments, before click parses them, to open the microphone sooner; if
    this guess is wrong the recorder opens the right device (``capture.early.take``).
    """
    for position, arg in enumerate(args):
        if arg in ("--device", "-d") and position + 1 < len(args):
            return args[position + 1]
        if arg.startswith("--device="):
            return arg.split("=", 1)[1]
    configured = settings.input.device if settings is not None else None
    return None if configured is None else str(configured)


def open_microphone(hint: str | None) -> Any:
    """The microphone, opened now; None if it cannot be (the recorder tries again and reports why)."""
    from ..capture.microphone import Microphone

    try:
        return Microphone(hint)
    except VoiceTranscriberError:
        return None


def warm_up() -> None:
    """Import and initialise what a dictation needs, so the first hotkey is as fast as the next."""
    import numpy  # noqa: F401
    import soundfile  # noqa: F401

    from ..capture import recorder  # noqa: F401
    from ..capture.microphone import sounddevice
    from ..cli import control_cmd  # noqa: F401

    try:
        sounddevice().query_devices()  # initialises PortAudio and its ALSA/PulseAudio plugins
    except Exception as exc:  # noqa: BLE001 - no sound system yet: each dictation reports it
        log(f"audio devices not available yet: {exc}")


def log(message: str) -> None:
    print(redact(f"voice-transcriber daemon: {message}"), file=sys.stderr, flush=True)
