"""The ``notify`` plugin: one desktop bubble per run, following the pipeline's events.

"Recording…" → "Transcribing…" (with the partial text of streaming backends) → the text
that was delivered, or the error; each update replaces the previous one. Config section
``notify``; silently off when no notification server is running.
"""

from __future__ import annotations

import atexit
import shutil
import time
from typing import Literal

from pydantic import Field

from voice_transcriber import (Audio, Cancelled, Check, ConfigModel, DeliveredElsewhere, RunContext, Transcript,
                               VoiceTranscriberError, hookimpl, redact)

from .bubble import Bubble, Message, find_transport, server_information, session_bus_available

Urgency = Literal["low", "normal", "critical"]
PARTIAL_INTERVAL = 0.5
BODY_LIMIT = 300


class NotifyConfig(ConfigModel):
    enabled: bool = Field(True, description="Show desktop notifications for recording, transcription and the result.")
    urgency: Urgency = Field("normal", description="Urgency of the progress and result bubbles: low, normal or critical.")
    error_urgency: Urgency = Field("critical", description="Urgency of the bubble that reports a failure.")
    timeout: int = Field(5000, ge=-1, description="Milliseconds the result or error stays up (0: until dismissed, -1: the server's default).")
    show_text: bool = Field(True, description="Show the transcribed text in the bubble (false: only how many words).")
    partial_text: bool = Field(True, description="Update the bubble with the text a streaming backend has decoded so far.")
    tool: Literal["auto", "notify-send", "gdbus"] = Field(
        "auto", description="How to reach the notification server: notify-send (libnotify-bin), gdbus (libglib2.0-bin), "
                            "or auto (the first installed).")


#: The run's stages in order: a bubble never goes back to an earlier one.
STAGES = {"recording": 0, "transcribing": 1}
TITLES = {"recording": "Recording…", "transcribing": "Transcribing…"}


class RunBubble:
    """The bubble of one run, with what it has shown so far. It only moves forward: the stage
    (recording → transcribing → result) never goes back, and once text is shown the body is
    text that grows — a status line ("with local") never replaces it."""

    def __init__(self, bubble: Bubble, config: NotifyConfig) -> None:
        self.bubble = bubble
        self.config = config
        self.delivered_to: list[str] = []
        self.last_partial = 0.0
        self.finished = False
        self.stage = "recording"
        self.partial = ""  #: the longest partial text received so far

    def progress(self, stage: str, body: str = "", icon: str = "audio-input-microphone") -> None:
        """Show ``stage``'s title with ``body`` (the partial text instead, once there is one)."""
        if self.finished or STAGES[stage] < STAGES[self.stage]:  # late events must not undo the result or a stage
            return
        self.stage = stage
        if self.partial:
            body = self.text_body(self.partial)
        self.bubble.show(Message(TITLES[stage], body, icon, self.config.urgency, timeout_ms=0))

    def finish(self, summary: str, body: str, icon: str, urgency: str, flush: bool = True) -> None:
        self.finished = True
        self.bubble.show(Message(summary, body, icon, urgency, timeout_ms=self.config.timeout))
        if flush:
            self.bubble.flush()

    def text_body(self, text: str) -> str:
        if not self.config.show_text:
            return f"{len(text.split())} words"
        return text if len(text) <= BODY_LIMIT else text[: BODY_LIMIT - 1] + "…"


#: Bubbles by run id: events of one run arrive in one process, possibly from several threads.
_runs: dict[str, RunBubble | None] = {}


def run_bubble(ctx: RunContext) -> RunBubble | None:
    """This run's bubble, created on its first event; None when notifications are off."""
    if ctx.run_id not in _runs:
        _runs[ctx.run_id] = _new_run_bubble(ctx)
    return _runs[ctx.run_id]


def _new_run_bubble(ctx: RunContext) -> RunBubble | None:
    try:
        config = ctx.settings.section("notify", NotifyConfig, env={})
    except VoiceTranscriberError as exc:
        ctx.warn(f"notifications off: {exc}")
        return None
    if not config.enabled or not session_bus_available():
        ctx.log("notify: off (disabled, or no session bus)")
        return None
    transport = find_transport(config.tool)
    if transport is None:
        ctx.log(f"notify: off ({config.tool} not installed; apt install libnotify-bin)")
        return None
    return RunBubble(Bubble(transport), config)


@hookimpl
def vt_register_settings(register) -> None:
    register("notify", NotifyConfig)


@hookimpl
def vt_doctor_checks(ctx: RunContext) -> list[Check]:
    try:
        config = ctx.settings.section("notify", NotifyConfig, env={})
    except VoiceTranscriberError as exc:
        return [Check("notifications", False, str(exc), "fix the notify section of config.json")]
    if not config.enabled or not session_bus_available():
        return [Check("notifications", True, "off (notify.enabled is false)" if not config.enabled
                      else "off: no session bus ($DBUS_SESSION_BUS_ADDRESS unset)")]
    if find_transport(config.tool) is None:
        return [Check("notifications", False, f"{config.tool} not found",
                      "apt install libnotify-bin (notify-send) or libglib2.0-bin (gdbus)")]
    server = server_information() if shutil.which("gdbus") else "a server (not checked: gdbus missing)"
    if server is None:
        return [Check("notifications", False, "no notification server owns org.freedesktop.Notifications",
                      "start one (dunst, mako, swaync), or set notify.enabled to false")]
    return [Check("notifications", True, f"shown by {server}")]


@hookimpl
def vt_recording_started(ctx: RunContext) -> None:
    if run := run_bubble(ctx):
        profile = f" Profile: {ctx.info['profile']}." if ctx.info.get("profile") else ""
        run.progress("recording", "Speak now; stop with your hotkey or Enter." + profile)


@hookimpl
def vt_recording_stopped(ctx: RunContext, audio: Audio) -> None:
    if run := run_bubble(ctx):
        seconds = f"{audio.duration:.1f} s recorded" if audio.samples is not None else ""
        run.progress("transcribing", seconds, icon="system-run")


@hookimpl
def vt_transcription_started(ctx: RunContext, audio: Audio, backend: str) -> None:
    if run := run_bubble(ctx):
        run.progress("transcribing", f"with {backend}", icon="system-run")


@hookimpl
def vt_partial_text(ctx: RunContext, text: str) -> None:
    run = run_bubble(ctx)
    if run is None or not run.config.partial_text or len(text.strip()) < len(run.partial):
        return  # text only grows in the bubble
    run.partial = text.strip()
    if time.monotonic() - run.last_partial < PARTIAL_INTERVAL:
        return
    run.last_partial = time.monotonic()
    # streamed while recording: the title stays "Recording…"
    run.progress(run.stage, icon="audio-input-microphone" if run.stage == "recording" else "system-run")


@hookimpl
def vt_text_delivered(ctx: RunContext, text: str, sink: str) -> None:
    if run := run_bubble(ctx):
        run.delivered_to.append(sink)
        run.finish(f"Delivered → {', '.join(run.delivered_to)}", run.text_body(text), "dialog-information",
                   run.config.urgency, flush=False)  # more sinks may follow; flushed when the run ends


@hookimpl
def vt_pipeline_finished(ctx: RunContext, transcript: Transcript) -> None:
    if run := run_bubble(ctx):
        if not transcript.text.strip():
            run.finish("No speech detected", "Nothing was delivered.", "dialog-information", run.config.urgency)
        run.bubble.flush()


@hookimpl
def vt_pipeline_failed(ctx: RunContext, error: BaseException) -> None:
    run = run_bubble(ctx)
    if run is None:
        return
    if isinstance(error, (Cancelled, KeyboardInterrupt)):
        run.finish("Dictation cancelled", "Nothing was delivered.", "dialog-information", run.config.urgency)
    elif isinstance(error, DeliveredElsewhere):  # nothing lost: say where the text is
        title = "Delivered partly — the rest is on the clipboard" if error.outcome == "partly" else \
            "On the clipboard instead"
        run.finish(title, redact(str(error)), "dialog-warning", run.config.error_urgency)
    else:
        run.finish("Dictation failed", redact(str(error)), "dialog-error", run.config.error_urgency)


@atexit.register
def _close_unfinished() -> None:
    """A run that ended without a result (killed, crashed) must not leave "Recording…" up forever."""
    for run in _runs.values():
        if run is not None and not run.finished:
            run.finish("Dictation ended", "No text was delivered.", "dialog-information", run.config.urgency)
        if run is not None:
            run.bubble.flush()  # e.g. `paste-last`: delivered outside a run, never "finished"
