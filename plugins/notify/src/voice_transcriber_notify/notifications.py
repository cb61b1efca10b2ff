"""The ``notify`` plugin: one desktop bubble per run, following the run event stream.

"Recording…" → "Transcribing…" (with the partial text of streaming backends) → the text
that was delivered, or the error; each update replaces the previous one. The bubble is fed by
``vt_run_event``: the very records the tray and ``status --follow`` get (docs/events.md), in
their order, none after the run's outcome. Config section ``notify``; silently off when no
notification server is running.
"""

from __future__ import annotations

import atexit
import shutil
import time
from typing import Any, Literal

from pydantic import Field

from voice_transcriber import Check, ConfigModel, RunContext, VoiceTranscriberError, hookimpl

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


#: The run's stages in order: a bubble never goes back to an earlier one. Each title is its state's.
STAGES = {"recording": 0, "transcribing": 1}
TITLES = {"recording": "Recording…", "transcribing": "Transcribing…"}
#: A ``failed`` event's error when the run heard nothing (the stream's wording).
NO_SPEECH = "no speech detected"
#: Titles of a run whose text went to the clipboard instead (``DeliveredElsewhere.outcome``).
REDIRECTED = {"partly": "Delivered partly — the rest is on the clipboard", "clipboard": "On the clipboard instead"}


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


#: Bubbles of the runs still going, by run id: events of one run arrive in one process, possibly from
#: several threads. A run leaves at its outcome, so a daemon that runs for weeks keeps only the live ones.
_runs: dict[str, RunBubble | None] = {}
#: The events that end a run (docs/events.md): nothing of that run follows them.
ENDINGS = ("delivered", "failed", "cancelled")


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
def vt_run_event(ctx: RunContext, event: dict[str, Any]) -> None:
    """Follow the run event stream — the records the tray and ``status --follow`` get — so the
    bubble tells the same story, in the same order: a stage per state, never after the outcome."""
    run = run_bubble(ctx)
    if run is not None:
        _show(ctx, run, event)
    if event.get("event") in ENDINGS:
        _runs.pop(ctx.run_id, None)


def _show(ctx: RunContext, run: RunBubble, event: dict[str, Any]) -> None:
    kind = event.get("event")
    if kind == "recording":
        profile = f" Profile: {ctx.info['profile']}." if ctx.info.get("profile") else ""
        run.progress("recording", "Speak now; stop with your hotkey or Enter." + profile)
    elif kind == "recorded":
        duration = event.get("duration")
        run.progress("transcribing", f"{duration:.1f} s recorded" if isinstance(duration, (int, float)) else "",
                     icon="system-run")
    elif kind == "transcribing":
        run.progress("transcribing", f"with {event.get('backend')}", icon="system-run")
    elif kind == "partial":
        _partial(run, str(event.get("partial") or ""), event.get("state"))
    elif kind == "sink":
        run.delivered_to.append(str(event.get("sink")))
        run.finish(f"Delivered → {', '.join(run.delivered_to)}", run.text_body(str(event.get("text") or "")),
                   "dialog-information", run.config.urgency, flush=False)  # more sinks may follow
    elif kind == "delivered":
        if not run.delivered_to:  # delivered without a sink event of its own (a text re-delivered by a plugin)
            sinks = ", ".join(event.get("sinks") or []) or "done"
            run.finish(f"Delivered → {sinks}", run.text_body(str(event.get("text") or "")), "dialog-information",
                       run.config.urgency, flush=False)
        run.finished = True
        run.bubble.flush()
    elif kind == "failed":
        error = str(event.get("error") or "")
        if error == NO_SPEECH:
            run.finish("No speech detected", "Nothing was delivered.", "dialog-information", run.config.urgency)
        elif event.get("outcome") in REDIRECTED:  # nothing lost: say where the text is
            run.finish(REDIRECTED[event["outcome"]], error, "dialog-warning", run.config.error_urgency)
        else:
            run.finish("Dictation failed", error, "dialog-error", run.config.error_urgency)
    elif kind == "cancelled":
        run.finish("Dictation cancelled", "Nothing was delivered.", "dialog-information", run.config.urgency)


def _partial(run: RunBubble, text: str, state: object) -> None:
    if not run.config.partial_text or len(text.strip()) < len(run.partial):
        return  # text only grows in the bubble
    run.partial = text.strip()
    if time.monotonic() - run.last_partial < PARTIAL_INTERVAL:
        return
    run.last_partial = time.monotonic()
    stage = state if state in STAGES else run.stage  # streamed while recording: the title stays "Recording…"
    run.progress(stage, icon="audio-input-microphone" if stage == "recording" else "system-run")


@atexit.register
def _close_unfinished() -> None:
    """A run that ended without a result (killed, crashed) must not leave "Recording…" up forever."""
    for run in _runs.values():
        if run is not None and not run.finished:
            run.finish("Dictation ended", "No text was delivered.", "dialog-information", run.config.urgency)
        if run is not None:
            run.bubble.flush()
