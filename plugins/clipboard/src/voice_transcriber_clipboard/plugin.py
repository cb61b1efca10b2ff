"""The clipboard plugin's hooks: the ``clipboard`` sink, the output hooks' settings, the window a recording is for.

This module is what the plugin manager imports for the plugin (its entry point): it holds the hooks
alone, and each imports what it uses when it is called. A recording imports the plugin when it starts
(:func:`vt_recording_started`), and a dictation printed to stdout uses nothing else of it: neither its
config models nor the desktop tools load, and no window is probed.
"""

from __future__ import annotations

from voice_transcriber import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from voice_transcriber import ActiveWindow, RunContext

#: Sinks that never send keys to a window: a run that delivers to these alone needs no focus probe.
WINDOWLESS_SINKS = frozenset({"stdout"})


@hookimpl
def vt_register_sinks(register) -> None:
    from .sink import ClipboardSink

    register(ClipboardSink)


@hookimpl
def vt_register_settings(register) -> None:
    """``output.beforeCommand``/``afterCommand`` (read by every key-sending sink): known keys, in `config init`."""
    from .config import OutputHooksConfig

    register("output", OutputHooksConfig)


@hookimpl
def vt_recording_started(ctx: RunContext) -> None:
    """Remember the window the user is in now: the text is delivered there or nowhere. Only for a run whose
    sinks may send keys (any sink but stdout: a plugin's sink may use :mod:`.focus` too) or that shows its
    text live; a dictation printed to stdout probes no window."""
    if set(ctx.settings.output.sinks) <= WINDOWLESS_SINKS and not ctx.settings.output.live:
        return
    from .focus import TARGET_INFO, TargetProbe

    ctx.info.setdefault(TARGET_INFO, TargetProbe())


@hookimpl
def vt_active_window(ctx: RunContext) -> ActiveWindow | None:
    """Profiles match on the window our paste chord is chosen for (same detection)."""
    from voice_transcriber import ActiveWindow

    from .window import active_window

    window = active_window()
    if window is None:
        return None
    return ActiveWindow(window_class=window.class_, title=window.title, instance=window.instance, source=window.source)
