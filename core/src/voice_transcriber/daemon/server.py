"""The daemon's listening side: the socket, one thread per connection, one recording at a time.

The main thread accepts connections; each is served by its own thread, which checks the
peer's credentials, reads the request and acts under :attr:`Daemon.lock` — the daemon's
counterpart of ``control.lock``: two ``toggle``s at once start one recording and stop it,
never start two. A recording the daemon did not start (a terminal's, or a background
recorder from before the daemon) is handed back to the client (``fallback``), which acts on
it the usual way. SIGTERM/SIGINT stop the daemon (a running recording is transcribed and
delivered first), SIGHUP reloads the configuration.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import click

from .. import control, events
from ..config import Settings
from ..context import RunContext
from ..errors import EXIT_USAGE, ControlError, VoiceTranscriberError
from ..paths import runtime_dir
from ..pipeline import prepare_in_background
from ..plugins import PluginManager
from ..redact import redact
from ..registry import collect
from .client import SESSION_VARS
from .dictation import (DaemonCliState, Dictation, adopt_session, device_hint, log, open_microphone, report_end, report_start,
                        warm_up)
from .event_stream import relay_other_runs, stream_events
from .held_keys import ignored_repeat
from .live_config import SNAPSHOT_NAME, DaemonSettings, LiveConfig
from .preroll import PreRoll, reconfigured
from .protocol import ProtocolError, Reply, claim, decode_request, listen, peer_credentials, read_line, refusal, socket_path
from .wakeup import WakeUp

STARTERS = ("toggle", "start")  #: commands that may start a recording
ACCEPT_TICK = 0.2  #: bound on a blocking accept(); the loop itself waits in select, woken by signals (set_wakeup_fd)
REQUEST_TIMEOUT = 5.0  #: a connected peer must send its request line within this


class Daemon:
    """``voice-transcriber daemon``: plugins imported, backends prepared, the socket listening."""

    def __init__(self, pm: PluginManager, config_file: str | None, debug: bool = False, strict: bool = False) -> None:
        self.pm, self.debug, self.strict = pm, debug, strict
        self.registry = collect(pm)
        self.live = LiveConfig(config_file, self._check, runtime_dir() / SNAPSHOT_NAME)
        self.lock = threading.Lock()
        self.current: Dictation | None = None
        self.dictations: list[Dictation] = []
        self.preroll: PreRoll | None = None
        self.started_at = time.time()
        self.stop_requested = False
        self.reload_requested = False
        self.stopped = threading.Event()
        self.ready = False
        self._answered: list[threading.Event] = []  # `daemon stop` clients told that it is over
        #: A dictation was given up at the stop (daemon.stopTimeoutSeconds): end without joining its thread.
        self.abandoned = False
        self._checked_plan: tuple[Any, RunContext] | None = None
        self.daemon_settings = DaemonSettings()
        self._wake: WakeUp | None = None

    # --- life cycle (main thread) --------------------------------------------------------------

    def serve(self, on_ready: Callable[[str], None]) -> None:
        """Run until SIGTERM, SIGINT or ``daemon stop``; raises :class:`DaemonError` if it cannot start."""
        lock_fd = claim(runtime_dir() / "daemon.lock")
        listener: socket.socket | None = None
        try:
            listener = listen(str(socket_path()), ACCEPT_TICK)
            self.live.refresh(force=True)
            self._apply_config()
            warm_up()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._on_stop_signal)
            signal.signal(signal.SIGHUP, self._on_reload_signal)
            self.ready = True
            relay_other_runs(self.stopped)
            on_ready(f"listening on {socket_path()} (pid {os.getpid()}); config: {self.live.file}; "
                     f"backends: {', '.join(self.live.settings.transcription.chain())}")
            self._accept_loop(listener)
        finally:
            self._shut_down(listener)
            os.close(lock_fd)

    def _accept_loop(self, listener: socket.socket) -> None:
        """Accept connections until a stop; sleeps in ``select`` between them (an idle daemon uses no CPU).

        Signals wake it through ``signal.set_wakeup_fd``; ``daemon stop`` (another thread) through :meth:`_wake_up`.
        """
        import select

        with WakeUp() as wake:
            self._wake = wake
            while not self.stop_requested:
                if self.reload_requested:
                    self.reload_requested = False
                    self._reload(None)
                readable, _, _ = select.select([listener, wake], [], [])
                if wake in readable:
                    wake.drain()
                if listener not in readable or self.stop_requested:
                    continue
                try:
                    conn, _ = listener.accept()
                except (BlockingIOError, TimeoutError):
                    continue
                threading.Thread(target=self._serve_connection, args=(conn,), name="client", daemon=True).start()

    def _wake_up(self) -> None:
        """Make the accept loop look at the stop/reload flags now."""
        if self._wake is not None:
            self._wake.wake()

    def _on_stop_signal(self, signum: int, frame: Any) -> None:
        self.stop_requested = True  # plain assignments in handlers (see capture.stops)

    def _on_reload_signal(self, signum: int, frame: Any) -> None:
        self.reload_requested = True

    def _shut_down(self, listener: socket.socket | None) -> None:
        """Stop listening, let the running dictation finish and deliver, release the microphone."""
        if listener is not None:
            listener.close()
            socket_path().unlink(missing_ok=True)
        with self.lock:
            current = self._listening()
            if current is not None:
                current.stop.request_stop("daemon stopping")
        self._wait_for_dictations(self.daemon_settings.stop_timeout_seconds)
        if self.preroll is not None:
            self.preroll.close()
        self.live.close()
        events.hub.close()  # subscribers get {"exit": 0} after the last run's last event
        self.stopped.set()
        for answered in self._answered:
            answered.wait(timeout=5)  # the process must not end before `daemon stop` has its answer
        if self.ready:  # a daemon that could not start says only why (one line)
            log("stopped")

    def _wait_for_dictations(self, timeout: float) -> None:
        """Let running dictations deliver, for ``timeout`` seconds in all; then give the rest up.

        A backend may hang (a server that never answers, a long read timeout): the daemon must
        still stop within a bounded time. A dictation given up is reported as failed, its
        recording kept on disk for ``retry``; its thread is left behind, and :attr:`abandoned`
        tells the command to end the process without waiting for it.
        """
        deadline = time.monotonic() + timeout
        for dictation in list(self.dictations):
            if not dictation.done.wait(max(0.0, deadline - time.monotonic())):
                log(dictation.abandon(timeout))
                self.abandoned = True

    # --- one connection (its own thread) -----------------------------------------------------

    def _serve_connection(self, conn: socket.socket) -> None:
        with conn:
            reply = Reply(conn)
            pid, uid, _ = peer_credentials(conn)
            line, problem, received_at = None, None, None
            try:
                conn.settimeout(REQUEST_TIMEOUT)
                line = read_line(conn)  # read even from a refused peer: its client then gets the reason, not EPIPE
                received_at = time.time()
                conn.settimeout(None)
            except (ProtocolError, OSError) as exc:
                problem = exc
            refused = refusal(uid, os.getuid())
            if refused:
                log(f"refused a connection from pid {pid} (uid {uid})")
                reply.fail(refused)
                return
            try:
                if line is None:
                    raise ProtocolError(str(problem or "no request"))
                request = decode_request(line)
                request["received_at"] = received_at
                request["fired"] = control.fired_ticks(pid) if pid else None  # the client waits: still there
                request["pid"] = pid or None  # its fellow toggles still running count for --repeat-guard
            except ProtocolError as exc:
                reply.fail(f"bad request to the daemon: {exc}", EXIT_USAGE)
                return
            try:
                HANDLERS[request["command"]](self, request, reply)
            except VoiceTranscriberError as exc:
                reply.fail(str(exc), exc.exit_code)
            except Exception as exc:  # noqa: BLE001 - a bug answers one line and leaves the daemon running
                traceback.print_exc()
                reply.fail(f"internal error in the daemon: {type(exc).__name__}: {exc} (see its log and report it)")

    def _note_config(self, reply: Reply) -> None:
        """Pick up a changed config.json; while it is broken, every reply says so."""
        if self.live.refresh():
            self._apply_config()
        if self.live.error:
            reply.send({"err": redact(f"voice-transcriber: {self.live.error}")})

    def _options(self, request: dict[str, Any], reply: Reply) -> dict[str, Any] | None:
        """The command's options parsed by the CLI's own click command (same checks, same messages)."""
        from ..cli import control_cmd

        name = request["command"]
        try:
            return dict(getattr(control_cmd, name).make_context(name, list(request["args"])).params)
        except click.ClickException as exc:
            reply.fail(f"{name}: {exc.format_message()} (see `voice-transcriber {name} --help`)", exc.exit_code)
        except click.exceptions.Exit as exc:
            reply.done(exc.exit_code)
        return None

    # --- the hotkey commands ---------------------------------------------------------------------

    def _toggle(self, request: dict[str, Any], reply: Reply) -> None:
        self._act(request, reply, when_idle=self._begin, when_recording=lambda d: self._end(d, "stop"))

    def _start(self, request: dict[str, Any], reply: Reply) -> None:
        def refuse(current: Dictation) -> Callable[[Reply, bool], None]:
            raise ControlError(f"already recording ({current.name}, daemon pid {os.getpid()}); "
                                       "stop it with `voice-transcriber stop`")

        self._act(request, reply, when_idle=self._begin, when_recording=refuse)

    def _stop(self, request: dict[str, Any], reply: Reply) -> None:
        self._act(request, reply, when_idle=_nothing_to_stop, when_recording=lambda d: self._end(d, "stop"))

    def _cancel(self, request: dict[str, Any], reply: Reply) -> None:
        self._act(request, reply, when_idle=_nothing_to_stop, when_recording=lambda d: self._end(d, "cancel"))

    def _act(self, request: dict[str, Any], reply: Reply, when_idle: Callable[..., Callable[[Reply, bool], None]],
             when_recording: Callable[[Dictation], Callable[[Reply, bool], None]]) -> None:
        """Decide under the lock (fast), then report outside it (``--wait`` may take a while).

        A command that may start a recording opens the microphone first of all: that is the
        hotkey's latency. Should the command then be refused or handed back, it is closed again.
        """
        self._note_config(reply)
        with self.lock:
            if self.stop_requested:  # stopping: a recording started now would not be waited for
                reply.send({"fallback": True})
                return
            ignored = ignored_repeat(request)
            if ignored:
                reply.send({"err": f"voice-transcriber: {ignored}"})
                reply.done(0)
                return
            current = self._listening()
            opened = self._microphone_for(request) if current is None and request["command"] in STARTERS else None
            options = self._options(request, reply)
            handed_back = options is not None and current is None and _foreign_recorder()
            if options is None or handed_back:
                if opened is not None and opened[0] is not None:
                    opened[0].close()
                if handed_back:
                    reply.send({"fallback": True})
                return
            report = when_idle(request, options, opened) if current is None else when_recording(current)
        report(reply, bool(options.get("wait")))

    def _listening(self) -> Dictation | None:
        current = self.current
        return current if current is not None and current.listening() else None

    def _microphone_for(self, request: dict[str, Any]) -> tuple[Any, str | None, float]:
        """(microphone or None, the device it is for, when it was open): the pre-roll's, or opened now."""
        hint = device_hint(request["args"], self.live.settings)
        mic = self.preroll.take(hint) if self.preroll is not None else None
        return mic or open_microphone(hint), hint, time.time()

    def _begin(self, request: dict[str, Any], options: dict[str, Any],
               opened: tuple[Any, str | None, float]) -> Callable[[Reply, bool], None]:
        mic, hint, opened_at = opened
        adopt_session(request["session"])
        state = DaemonCliState(pm=self.pm, config_file=request.get("config"), debug=bool(request.get("debug")) or self.debug,
                               quiet=bool(request.get("quiet")), strict=bool(request.get("strict")),
                               _registry=self.registry, live=self.live)
        dictation = Dictation(state, options, mic, hint, on_capture_end=self._capture_ended)
        dictation.requested_at, dictation.mic_opened_at = request.get("received_at"), opened_at if mic else None
        self.current = dictation
        self.dictations = [d for d in self.dictations if not d.done.is_set()] + [dictation]
        dictation.start()
        return lambda reply, wait: report_start(dictation, reply)

    def _end(self, dictation: Dictation, how: str) -> Callable[[Reply, bool], None]:
        if how == "cancel":
            dictation.stop.cancel("cancel")
            verb = "cancelling (the audio is kept)"
        else:
            dictation.stop.request_stop(how)
            verb = "stopping; the text goes to the sinks"
        self.current = None
        return lambda reply, wait: report_end(dictation, verb, reply, wait)

    def _capture_ended(self) -> None:
        if self.preroll is not None:
            threading.Thread(target=self.preroll.open, name="preroll-open", daemon=True).start()

    # --- the event stream ------------------------------------------------------------------------

    def _events(self, request: dict[str, Any], reply: Reply) -> None:
        """``events``: push every event of every run to this client until it hangs up."""
        stream_events(reply, hello=self.status)

    # --- the daemon's own commands ---------------------------------------------------------------

    def _status(self, request: dict[str, Any], reply: Reply) -> None:
        self._note_config(reply)
        reply.done(0, data=self.status())

    def status(self) -> dict[str, Any]:
        settings = self.live.settings
        current = self._listening()
        last = self.dictations[-1] if self.dictations else None
        return {"pid": os.getpid(), "since": self.started_at, "socket": str(socket_path()),
                "config": str(self.live.file), "configError": self.live.error,
                "backends": settings.transcription.chain() if settings else [],
                "prerollMs": self.preroll.ms if self.preroll else 0,
                "recording": (current.run_id or "starting") if current else None,
                "inFlight": sum(1 for d in self.dictations if not d.done.is_set()),
                "session": {name: os.environ[name] for name in SESSION_VARS if os.environ.get(name)},
                "last": last.status() if last else None}

    def _reload_command(self, request: dict[str, Any], reply: Reply) -> None:
        self._reload(reply)

    def _reload(self, reply: Reply | None) -> None:
        changed = self.live.refresh(force=True)
        if changed:
            self._apply_config()
        if self.live.error:
            log(self.live.error)
            if reply:
                reply.fail(self.live.error)
            return
        message = f"reloaded {self.live.file}; backends: {', '.join(self.live.settings.transcription.chain())}"
        log(message)
        if reply:
            reply.out(message)
            reply.done(0)

    def _shutdown_command(self, request: dict[str, Any], reply: Reply) -> None:
        reply.out(f"stopping the daemon (pid {os.getpid()}); a running recording is transcribed and delivered first "
                  f"(waiting at most {self.daemon_settings.stop_timeout_seconds:g} s, daemon.stopTimeoutSeconds)")
        answered = threading.Event()
        self._answered.append(answered)
        self.stop_requested = True
        self._wake_up()
        self.stopped.wait()
        reply.done(0)
        answered.set()

    # --- configuration -----------------------------------------------------------------------------

    def _check(self, settings: Settings) -> None:
        """What makes a configuration good: every chosen component and the daemon section validate."""
        from ..cli.run_cmd import build_plan

        from ..cli.run_cmd import CliState

        CliState(self.pm, debug=self.debug, strict=self.strict, _registry=self.registry).check_keys(settings)
        ctx = RunContext(settings, pm=self.pm, debug=self.debug, quiet=not self.debug)
        plan = build_plan(self.registry, ctx)
        self.daemon_settings = settings.section("daemon", DaemonSettings)
        self._checked_plan = (plan, ctx)

    def _apply_config(self) -> None:
        """A new configuration loaded: prepare its backends (model load) and set the pre-roll up."""
        if self._checked_plan is not None:
            prepare_in_background(*self._checked_plan)
            self._checked_plan = None
        device = self.live.settings.input.device
        self.preroll = reconfigured(self.preroll, self.daemon_settings.preroll_ms, None if device is None else str(device),
                                    idle=self._listening() is None)


HANDLERS: dict[str, Callable[[Daemon, dict[str, Any], Reply], None]] = {
    "toggle": Daemon._toggle, "start": Daemon._start, "stop": Daemon._stop, "cancel": Daemon._cancel,
    "status": Daemon._status, "reload": Daemon._reload_command, "shutdown": Daemon._shutdown_command,
    "events": Daemon._events,
}


def _nothing_to_stop(*_: Any) -> Callable[[Reply, bool], None]:
    raise ControlError("no recording is running (start one with `voice-transcriber start` or `toggle`)")


def _foreign_recorder() -> bool:
    """True when a recorder the daemon did not start is registered and alive (``control.recorder.json``)."""
    with control.control_lock(timeout=5.0):
        return control.current_recorder() is not None
