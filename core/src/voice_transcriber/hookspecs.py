"""Every hook a voice-transcriber plugin can implement, grouped by pipeline stage.

Hooks are called with keyword arguments only; an implementation may accept any subset of
the documented arguments, so new optional arguments can be added without breaking plugins.
Implement them with ``@voice_transcriber.hookimpl`` in a module named by an entry point in
the ``voice_transcriber`` group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pluggy

from .context import Backend, Formatter, Sink

if TYPE_CHECKING:
    import click
    from pydantic import BaseModel

    from .context import Check, RunContext
    from .types import ActiveWindow, Audio, Transcript

hookspec = pluggy.HookspecMarker("voice_transcriber")
hookimpl = pluggy.HookimplMarker("voice_transcriber")


# --- Contributions: called once when the plugins are collected ---------------------------


@hookspec
def vt_register_backends(register: Callable[[type[Backend]], None]) -> None:
    """Contribute transcription backends.

    Fires once per process, when the core first needs the list of components.
    Call ``register(BackendClass)`` for each :class:`~voice_transcriber.Backend` subclass;
    its ``name`` attribute is the name users select (``--backend NAME``). The core rejects
    duplicate names, naming both plugins. Returns nothing.
    """


@hookspec
def vt_register_formatters(register: Callable[[type[Formatter]], None]) -> None:
    """Contribute formatters (post-processing). Fires once per process, like :func:`vt_register_backends`.

    ``register(FormatterClass)`` for each :class:`~voice_transcriber.Formatter` subclass;
    users select them with ``--format NAME[,NAME]``. Returns nothing.
    """


@hookspec
def vt_register_sinks(register: Callable[[type[Sink]], None]) -> None:
    """Contribute output sinks. Fires once per process, like :func:`vt_register_backends`.

    ``register(SinkClass)`` for each :class:`~voice_transcriber.Sink` subclass; users
    select them with ``--output NAME[,NAME]``. Returns nothing.
    """


@hookspec
def vt_register_settings(register: Callable[[str, type[BaseModel]], None]) -> None:
    """Declare config sections a plugin reads that belong to no component (e.g. ``notify``).

    Fires when ``config init`` or ``config show`` lists the configuration. Call
    ``register("notify", NotifyConfig)`` with the dotted section path and its
    :class:`~voice_transcriber.ConfigModel`; its fields and descriptions then appear in
    ``config init`` and ``config show`` like a component's. Returns nothing.
    """


@hookspec
def vt_register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``voice-transcriber`` command line.

    Fires once when the CLI starts, before arguments are parsed. ``cli`` is the root
    :class:`click.Group`; call ``cli.add_command(...)``. Keep imports inside the command
    functions so ``--help`` stays fast. Returns nothing.
    """


@hookspec
def vt_doctor_checks(ctx: RunContext) -> list[Check] | None:
    """Contribute health checks to ``voice-transcriber doctor``.

    Fires when ``doctor`` runs, after the selected components' own ``checks()``.
    ``ctx.settings`` is the effective configuration. Returns a list of
    :class:`~voice_transcriber.Check` (each ok or failed with a fix hint), or None.
    """


# --- Run start -----------------------------------------------------------------------------


@hookspec(firstresult=True)
def vt_active_window(ctx: RunContext) -> ActiveWindow | None:
    """Tell which window has the keyboard focus, so a profile can be chosen for it.

    Fires at the start of a run (and of ``paste-last``/``type-last``), before the plan is
    built, and only when the config has ``profiles`` with a ``match``. ``ctx.settings``
    holds the settings before any profile is applied. Returns an
    :class:`~voice_transcriber.ActiveWindow`, or None when this plugin cannot tell (no
    display, tool missing); the first non-None result wins (``firstresult``). Must be fast
    and never raise for an ordinary "cannot tell".
    """


# --- Capture events -----------------------------------------------------------------------


@hookspec
def vt_recording_started(ctx: RunContext) -> None:
    """The microphone is open and audio is being kept. ``ctx.run_id`` names the recording.

    Fires in the recording process right after the input stream opens; slow work done here
    delays nothing the user waits for only if it is started in a thread. Returns nothing.
    """


@hookspec
def vt_recording_stopped(ctx: RunContext, audio: Audio) -> None:
    """Recording ended (Enter, signal, silence, time limit); ``audio`` is what was captured.

    Fires before transcription starts. Returns nothing.
    """


# --- Transcription events -----------------------------------------------------------------


@hookspec
def vt_transcription_started(ctx: RunContext, audio: Audio, backend: str) -> None:
    """Backend ``backend`` is about to transcribe ``audio``.

    Fires once per backend attempt (a fallback chain may fire it several times). Returns nothing.
    """


@hookspec
def vt_partial_text(ctx: RunContext, text: str) -> None:
    """A streaming backend decoded more speech; ``text`` is everything decoded so far.

    Fires zero or more times during transcription, from the backend's thread. Use it for
    progress display or notifications; the final text still comes through the sinks.
    Returns nothing.
    """


@hookspec
def vt_transcript_ready(ctx: RunContext, transcript: Transcript) -> None:
    """The backend finished; ``transcript`` is its raw (unformatted) result.

    Fires once per run, before the formatters. Returns nothing.
    """


# --- Output events ------------------------------------------------------------------------


@hookspec
def vt_text_delivered(ctx: RunContext, text: str, sink: str, transcript: Transcript) -> None:
    """Sink ``sink`` delivered the final ``text`` (``transcript`` is the formatted record).

    Fires once per sink that succeeded, in the order the sinks ran. Returns nothing.
    """


@hookspec
def vt_pipeline_finished(ctx: RunContext, transcript: Transcript) -> None:
    """The run succeeded: every sink delivered ``transcript.text`` (the formatted record).

    Fires once, after the last sink; also when there was no speech (``transcript.text`` is
    then empty and nothing was delivered). A failed run fires :func:`vt_pipeline_failed`
    instead. Returns nothing.
    """


@hookspec
def vt_pipeline_failed(ctx: RunContext, error: BaseException) -> None:
    """A run failed or was cancelled; ``error`` is the exception the user is shown.

    Fires once, before the command exits with a non-zero code. ``ctx.transcript`` is the
    text so far when the backend answered (e.g. a sink failed), else None. Returns nothing.
    """


@hookspec
def vt_run_event(ctx: RunContext, event: dict[str, Any]) -> None:
    """One event of the run event stream: ``event`` is the record ``status --follow --json``,
    the daemon's subscribers (the tray) and the journal ``events.jsonl`` get — ``event``
    (recording, recorded, transcribing, partial, transcript, sink, delivered, failed,
    cancelled), ``state``, ``seq``, ``run`` and its details (see docs/events.md).

    Fires in the run's process right after the event is published, in the order of the stream,
    for every event of every run of this process (partial texts included), and never after the
    run's outcome (delivered, failed or cancelled). Build progress displays on it rather than on
    the hooks above: it is the same story everyone else sees. Returns nothing.
    """


#: What each ``vt_register_*`` hook accepts: kind → base class (``register(cls)`` checks it).
COMPONENT_KINDS = {"backend": Backend, "formatter": Formatter, "sink": Sink}

#: Hooks that observe a run. Their implementations are isolated: one that raises is reported
#: with its plugin's name and the others still run.
EVENT_HOOKS = frozenset({
    "vt_recording_started", "vt_recording_stopped", "vt_transcription_started", "vt_partial_text",
    "vt_transcript_ready", "vt_text_delivered", "vt_pipeline_finished", "vt_pipeline_failed", "vt_run_event",
})
