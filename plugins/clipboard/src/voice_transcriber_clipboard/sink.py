"""The ``clipboard`` sink: copies the text, and optionally pastes it into the focused window (registered by
:mod:`.plugin`, the plugin's hooks)."""

from __future__ import annotations

from collections.abc import Iterable

from voice_transcriber import Check, DeliveredElsewhere, RunContext, Sink, SinkError, Transcript

from .config import ClipboardConfig
from .focus import FocusMoved, Target, current_target, describe, recorded_target
from .keys import key_tool
from .paste import Clipboard, doubt_message
from .selection import selection_tool
from .tools import detect_session, display_problem, keep_text


class ClipboardSink(Sink):
    name = "clipboard"
    description = "Copy the text to the clipboard (wl-copy, xclip or xsel); optionally paste it."
    config_section = "output.clipboard"
    config_model = ClipboardConfig

    def deliver(self, text: str, transcript: Transcript) -> None:
        try:
            clipboard = Clipboard(self.ctx, self.config)
            if not self.config.paste:
                clipboard.copy(text)
                return
            target = delivery_target(self.ctx, self.config.session)
            report = clipboard.paste(text, target=target)
        except FocusMoved as moved:
            moved.rest = text
            raise redirected(self.ctx, self.name, moved, text, target, self.config) from None
        except SinkError as exc:
            keep_text(self.ctx, text)
            raise SinkError(f"clipboard: {exc}") from None
        if report.doubts:
            self.ctx.warn(doubt_message("clipboard", report.doubts))
        self.ctx.log(f"clipboard: pasted with {report.chord} into {report.window}")

    def checks(self) -> Iterable[Check]:
        return desktop_checks("clipboard", self.config, lambda session: [
            selection_tool(self.config.tool, session).name,
            *([key_tool(self.config.key_tool, session).name] if self.config.paste else []),
        ])


def delivery_target(ctx: RunContext, session: str = "auto") -> Target:
    """The window this run's text is for: focused when the recording started, else now."""
    return recorded_target(ctx.info) or current_target(session)


def redirected(ctx: RunContext, sink: str, moved: FocusMoved, text: str, target: Target,
               config: ClipboardConfig) -> SinkError:
    """The error for text that did not (all) reach its window: ``moved.rest`` goes to the
    clipboard, and the one line says what was typed where, and where the rest is."""
    rest = moved.rest or text
    try:
        Clipboard(ctx, config).copy(rest)
    except SinkError as exc:
        keep_text(ctx, rest)
        return SinkError(f"{sink}: {_what_happened(moved, text, rest, target)}; the clipboard failed too ({exc}): "
                         "the text was printed above")
    partly = rest != text or moved.sent > 0
    where = "the rest is on the clipboard" if rest != text else "the whole text is on the clipboard"
    return DeliveredElsewhere(f"{sink}: {_what_happened(moved, text, rest, target)}; {where} — paste it where "
                              "you want it", outcome="partly" if partly else "clipboard")


def _what_happened(moved: FocusMoved, text: str, rest: str, target: Target) -> str:
    if moved.reason:
        typed = len(text) - len(rest)
        return f"{moved.reason}; {typed} of {len(text)} characters were typed" if typed > 0 else \
            f"{moved.reason}; nothing was typed"
    if target.window is None:
        return "no window had the focus (the desktop, an empty workspace or a panel), so nothing was typed"
    typed = len(text) - len(rest) if rest != text else moved.sent  # live typing: what was shown so far
    if typed <= 0:
        return f"the focus is no longer on {describe(target.window)} but on {describe(moved.now)}: nothing was typed"
    return (f"the focus moved from {describe(target.window)} to {describe(moved.now)} after {typed} of {len(text)} "
            "characters; nothing more was typed anywhere")


def desktop_checks(sink: str, config, tools_for) -> list[Check]:
    """Doctor lines shared by the desktop sinks: session, display socket, and each tool."""
    try:
        session = detect_session(config.session)
    except SinkError as exc:
        return [Check(f"{sink} session", False, str(exc), "run doctor from your desktop session")]
    checks = [Check(f"{sink} session", True, session)]
    problem = display_problem(session)
    checks.append(Check(f"{sink} display", problem is None, problem or "reachable",
                        "start your desktop session, or fix $DISPLAY / $WAYLAND_DISPLAY"))
    try:
        checks.append(Check(f"{sink} tools", True, ", ".join(tools_for(session))))
    except SinkError as exc:
        checks.append(Check(f"{sink} tools", False, str(exc), "install the package named above"))
    return checks
