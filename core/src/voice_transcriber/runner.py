"""Running the pipeline from parsed options, and ending the process with one line and an exit code.

What the command line shares between commands (:class:`CliState`), flags → config overrides, the
plan checked before any audio is touched, settings → plan → audio → pipeline, and the error exit
(0 ok, 1 runtime failure, 2 usage or configuration error, 130 cancelled). No click: a dictation or a
``transcribe`` whose options are plainly valid runs from here before click loads (:mod:`.dictate`);
the command line (:mod:`.cli`) runs the same functions for everything else.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import EXIT_CANCELLED, EXIT_FAILURE, ConfigError, UsageError, VoiceTranscriberError
from .redact import redact
from .safe_text import safe_text

if TYPE_CHECKING:
    from .config import Settings
    from .context import Backend, RunContext
    from .pipeline import Plan, Streamed
    from .plugin_manager import PluginManager
    from .registry import Registry
    from .types import Audio

# Settings, profiles and the pipeline load when a command runs, not when the command line is
# built: `--help` and the commands that read no config never import pydantic.


@dataclass
class CliState:
    """What the root command parsed, shared with subcommands through ``ctx.obj``."""

    pm: PluginManager
    config_file: str | None = None
    debug: bool = False
    quiet: bool = False
    #: --strict: unknown config keys are errors, not warnings
    strict: bool = False
    _registry: Registry | None = field(default=None, repr=False)
    _keys_checked: bool = field(default=False, repr=False)

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            from .registry import collect

            self._registry = collect(self.pm)
        return self._registry

    def settings(self, overrides: dict[str, Any] | None = None) -> Settings:
        """The settings (file < environment < ``overrides``); the first load also reports unknown keys."""
        from .config import load_settings

        settings = load_settings(self.config_file, overrides=overrides)
        if not self._keys_checked:
            self._keys_checked = True
            self.check_keys(settings)
        return settings

    def check_keys(self, settings: Settings) -> None:
        """Warn about unknown keys (a ConfigError with --strict or strictConfig: true)."""
        from .config_keys import check_keys

        check_keys(settings, known_sections(self, imported_only=True), strict=self.strict,
                   warn=self.context(settings).warn)

    def context(self, settings: Settings) -> RunContext:
        from .context import RunContext

        return RunContext(settings, pm=self.pm, debug=self.debug or settings.benchmark_mode, quiet=self.quiet)


def known_sections(state: CliState, imported_only: bool = False) -> dict[str, Any]:
    """Config section path → model, for every component and plugin that has settings, and the daemon's.

    ``imported_only``: the plugins not imported yet are not imported for this: their sections are their
    keys as the plugin index holds them (all the unknown-key check needs)."""
    from .daemon.live_config import DaemonSettings

    sections: dict[str, Any] = {"daemon": DaemonSettings}
    for components in state.registry.components.values():
        for registered in components.values():
            if imported_only and not registered.loaded:
                if registered.config_section and registered.keys is not None:
                    sections[registered.config_section] = registered.keys
                continue
            cls = registered.cls
            if cls.config_section and cls.config_model:
                sections[cls.config_section] = cls.config_model
    call = state.pm.call_each_loaded if imported_only else state.pm.call_each
    for _, _, exc in call("vt_register_settings", register=sections.__setitem__):
        if exc is not None:  # a broken plugin must not hide the rest of the configuration
            print(f"voice-transcriber: a plugin failed in vt_register_settings: {exc}", file=sys.stderr, flush=True)
    if imported_only:
        for deferred in state.pm.deferred.values():
            sections.update(deferred.record.get("settings", {}))
    return sections


#: Flags that name components → what they name and an example.
NAME_FLAGS = {"backend": ("--backend", "backend", "--backend local"), "output": ("--output", "sink", "--output clipboard"),
              "formatters": ("--format", "formatter", "--format fillers,trim (or --no-format for none)")}


def _names(value: str | None) -> list[str] | None:
    return [n.strip() for n in value.split(",") if n.strip()] if value else None


def _check_names(options: dict[str, Any]) -> None:
    """``--backend ''``, ``--output ,`` …: an empty name is a usage error, not "use the config"."""
    for option, (flag, what, example) in NAME_FLAGS.items():
        value = options.get(option)
        if value is not None and (not _names(value) or any(not n.strip() for n in value.split(","))):
            raise UsageError(f"{flag} has an empty {what} name: name each {what}, e.g. {example}")
    for option, flag in (("language", "--language"), ("profile", "--profile"), ("device", "--device")):
        if options.get(option) is not None and not str(options[option]).strip():
            raise UsageError(f"{flag} is empty: give a value or leave the option out")


def overrides_from(options: dict[str, Any]) -> dict[str, Any]:
    """Map pipeline flags to dotted config keys (flags win over file and environment)."""
    _check_names(options)
    backends = _names(options.get("backend"))
    overrides: dict[str, Any] = {
        "transcription.backend": backends[0] if backends and len(backends) == 1 else backends,
        "output.sinks": _names(options.get("output")),
        "language": options.get("language"),
        "output.stdout.jsonOutput": True if options.get("json_output") else None,
        "output.stdout.trailingNewline": False if options.get("no_newline") else None,
        "input.device": options.get("device"),
        "input.maxDurationSeconds": options.get("max_duration"),
        "input.silenceStopSeconds": None if options.get("continuous") else options.get("silence_stop"),
        "input.continuousSilenceSeconds": options.get("silence_stop") if options.get("continuous") else None,
        "input.continuous": True if options.get("continuous") else None,
        "output.live": True if options.get("live") else None,
    }
    if options.get("formatters"):
        overrides["formatter.chain"] = _names(options["formatters"])
        overrides["formatterEnabled"] = True
    if options.get("no_format"):
        overrides["formatterEnabled"] = False
    return overrides


def build_plan(registry: Registry, ctx: RunContext) -> Plan:
    """Create the configured components and validate their config before any audio is touched."""
    from .pipeline import Plan

    settings = ctx.settings
    try:
        plan = Plan(
            backends=registry.create_all("backend", settings.transcription.chain(), ctx),
            formatters=registry.create_all("formatter", settings.formatter.chain if settings.formatter_enabled else [], ctx),
            sinks=registry.create_all("sink", settings.output.sinks, ctx),
        )
    except ConfigError as exc:  # an unknown name: a plugin `voice-transcriber install` put here may have gone
        from .cli.plugin_record import reinstall_hint

        hint = reinstall_hint(registry, settings)
        raise (ConfigError(f"{exc}; {hint}") if hint else exc) from None
    for component in [*plan.backends, *plan.formatters, *plan.sinks]:
        component.config  # noqa: B018 - validates the component's config section now
    check_language(plan.backends, settings)
    return plan


def check_language(backends: list[Backend], settings: Settings) -> None:
    """``language`` must be one every backend of the chain can transcribe (when it can tell)."""
    code = settings.language
    if code is None:
        return
    for backend in backends:
        known = backend.languages()
        if known is None or code in known:
            continue
        names = known if isinstance(known, Mapping) else {}
        if set(known) == {"en"}:
            problem = f"knows only English (en); {backend.language_fix()}"
        else:
            by_name = [c for c, name in names.items() if str(name).lower().startswith(code)]
            close = list(dict.fromkeys(by_name + difflib.get_close_matches(code, list(known), n=4, cutoff=0.5)))[:4]
            listed = ", ".join(f"{c} ({names[c]})" if c in names else c for c in close)
            problem = (f"does not know it ({'close matches: ' + listed if close else f'{len(known)} languages known'}); "
                       'use a code it knows (ISO-639-1, e.g. "fr"), or "auto" to detect the language')
        raise ConfigError(f"{settings.origin('language')}: language: '{code}': backend '{backend.name}' {problem}")


def _session_recording(audio: Audio) -> bool:
    """``audio`` is the recording of a ``--continuous`` session (its history says so)."""
    from .capture.continuous import is_session

    return audio.path is not None and is_session(str(audio.path))


def run_from_options(state: CliState, options: dict[str, Any], audio: Audio | None = None, *,
                     stored: bool = False, context: str = "", before: tuple[Audio, str] | None = None) -> None:
    """Load settings, build the plan, get the audio (file, stdin or microphone) and run.

    ``stored``: ``audio`` is a recording made here (``retry``): with streaming on it is transcribed
    phrase by phrase as it was while recording (``streaming.replay``), so it gets the live run's text.
    ``context``: the text said before ``audio`` (``retry`` of a ``--continuous`` utterance);
    ``before``: the utterance before it and its text (the end of ``context``), heard again before it.
    """
    from . import recordings
    from .history import add_recovery_hint
    from .profiles import apply_profile

    flags = overrides_from(options)
    ctx = state.context(state.settings(flags))
    apply_profile(ctx, options.get("profile"), flags, state.settings)
    plan = build_plan(state.registry, ctx)
    plan.context = context
    if before is not None and plan.backends and context.endswith(before[1]):
        from .capture.utterances import Continuation, HeardAfter

        plan.streamed = Continuation(plan.backends[0], before[0], HeardAfter.ending(context, before[1]))
    recording = audio is None and not options.get("input_path")
    if options.get("continuous") and not recording:
        raise UsageError("--continuous records from the microphone; it cannot transcribe files or --input")
    try:
        if recording and ctx.settings.input.continuous:
            from .capture.continuous import dictate_continuously

            dictate_continuously(ctx, plan, lambda utterance: build_plan(state.registry, utterance))
        else:
            _run_pipeline(ctx, plan, audio, options.get("input_path"), stored)
        recordings.settle(ctx)
    except (VoiceTranscriberError, KeyboardInterrupt) as exc:
        add_recovery_hint(exc, ctx)
        ctx.pipeline_failed(exc)
        raise
    finally:
        if ctx.debug:
            print_timings(ctx)


def _run_pipeline(ctx: RunContext, plan: Plan, audio: Audio | None, input_path: str | None, stored: bool) -> None:
    """One run of the pipeline, its live text shown: on ``audio``, else on the input (a file, stdin or the
    microphone); a ``stored`` recording is transcribed as it was while recording (:func:`_as_recorded`)."""
    from . import pipeline
    from .live import live_text

    with live_text(plan, ctx):
        if audio is None:
            audio = read_input(input_path, plan, ctx)
        elif stored:
            plan.streamed = _as_recorded(ctx, plan, audio)
        pipeline.run(audio, plan, ctx)


def _as_recorded(ctx: RunContext, plan: Plan, audio: Audio) -> Streamed:
    """What transcribes a stored recording again as it was while recording (``retry``): a ``--continuous``
    session utterance by utterance, else phrase by phrase with the rolling commits the live run made."""
    if plan.backends and _session_recording(audio):
        from .capture.continuous import SessionReplay

        return SessionReplay(ctx, plan.backends[0])  # a --continuous session, as it was
    from .history import commits_of
    from .streaming.phrases import Commit
    from .streaming.stored import replay

    kept = [Commit.from_list(item) for item in (commits_of(audio.path) or []) if audio.path]
    return replay(ctx, plan.backends[0] if plan.backends else None, audio,
                  commits=[commit for commit in kept if commit is not None])


def read_input(input_path: str | None, plan: Plan, ctx: RunContext) -> Audio:
    from .types import Audio

    if input_path == "-":
        return Audio.from_bytes(sys.stdin.buffer.read())
    if input_path:
        return Audio.from_file(input_path)
    from .capture import record

    return record(ctx, plan)


def print_timings(ctx: RunContext) -> None:
    parts = [f"{stage} {seconds:.3f} s" for stage, seconds in ctx.timings.items()]
    print("timings: " + (" · ".join(parts) or "none"), file=sys.stderr)
    for key, value in ctx.info.items():
        print(f"info: {key} = {value}", file=sys.stderr)


def transcribe_files(state: CliState, files: tuple[str, ...], options: dict[str, Any]) -> None:
    """``transcribe FILE...``: each file ('-': stdin) through the whole pipeline, in order."""
    for path in files:
        from .types import Audio

        audio = Audio.from_bytes(sys.stdin.buffer.read()) if path == "-" else Audio.from_file(path)
        run_from_options(state, options, audio)


def report_failures(pm: PluginManager) -> None:
    """One line on stderr for each broken plugin, now and whenever one fails later (at registration)."""
    from .plugins import failure_line

    def warn(failure) -> None:
        print(redact(safe_text(f"voice-transcriber: warning: {failure_line(failure)}")), file=sys.stderr, flush=True)

    for message in pm.warnings:
        print(redact(safe_text(f"voice-transcriber: warning: {message}")), file=sys.stderr, flush=True)
    for failure in pm.failures:
        warn(failure)
    pm.on_failure = warn


def exit_after(command: Callable[[], object], debug: bool) -> NoReturn:
    """Run ``command`` and exit: with its code (an int) or 0, or one line naming the failure and its code."""
    code = None
    try:
        code = command()
    except KeyboardInterrupt:
        fail("cancelled", EXIT_CANCELLED)
    except VoiceTranscriberError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        fail(str(exc), exc.exit_code)
    except Exception as exc:  # last resort: one line, traceback only with --debug
        if debug:
            import traceback

            traceback.print_exc()
        fail(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug and report it)", EXIT_FAILURE)
    finally:
        _ignore_late_cancels()
        _skip_exit_collection()
    sys.exit(code if isinstance(code, int) else 0)


def _skip_exit_collection() -> None:
    """At exit, Python's last garbage collection walks every object left (a loaded model, the pydantic
    schemas): 60-90 ms of a `transcribe` on two cores. The process ends right after; what it frees,
    the system frees. An exit handler freezes the objects first, so that the collection skips them
    (``gc.freeze``); files are closed by their ``with`` blocks, exit handlers still run. Registered once."""
    global _exit_collection_skipped
    if not _exit_collection_skipped:
        import atexit
        import gc

        atexit.register(gc.freeze)
        _exit_collection_skipped = True


_exit_collection_skipped = False


def _ignore_late_cancels() -> None:
    """The run is over: a SIGUSR2 (`cancel`) now has nothing to cancel. Raising Cancelled from it
    while the interpreter joins worker threads at exit would break that join (threads left running
    during finalization), so it is ignored from here on."""
    import signal

    try:
        if signal.getsignal(signal.SIGUSR2) not in (signal.SIG_DFL, signal.SIG_IGN, None):
            signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    except ValueError:  # not the main thread (an embedding caller): its signals are its own
        pass


def fail(message: str, code: int) -> NoReturn:
    """``voice-transcriber: error: MESSAGE`` on stderr (secrets masked), and exit with ``code``."""
    print(redact(safe_text(f"voice-transcriber: error: {message}")), file=sys.stderr, flush=True)
    _publish_early_failure(message, code)
    sys.exit(code)


def _publish_early_failure(message: str, code: int) -> None:
    """A background recorder that fails before its run starts (a bad flag or config: exit 2) publishes the
    failure, so that `start --wait`/`stop --wait` report its cause and exit code, not "exited without a result"."""
    from .control import BACKGROUND_ENV

    if not os.environ.get(BACKGROUND_ENV) or code == EXIT_CANCELLED:
        return
    try:
        from .context import new_run_id
        from .control import recorder_done, start_ticks
        from .runstate import ENDED, find_run, publish

        recorder_done()  # not "a recorder that died": the next command has nothing to clean up

        run = find_run(os.getpid(), start_ticks(os.getpid()))
        if run is None or run.get("state") not in ENDED:
            publish(run["id"] if run else new_run_id(), "failed", error=redact(message), exit_code=code)
    except Exception:  # noqa: BLE001 - the error line above is printed already; this is a courtesy
        pass
