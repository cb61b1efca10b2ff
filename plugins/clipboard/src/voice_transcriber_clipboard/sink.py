"""The ``clipboard`` sink: copies the text, and optionally pastes it into the focused window."""

from __future__ import annotations

from collections.abc import Iterable

from voice_transcriber import ActiveWindow, Check, RunContext, Sink, SinkError, Transcript, hookimpl

from .config import ClipboardConfig
from .keys import key_tool
from .paste import Clipboard, doubt_message
from .selection import selection_tool
from .tools import detect_session, display_problem, keep_text
from .window import active_window


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
            report = clipboard.paste(text)
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


@hookimpl
def vt_register_sinks(register) -> None:
    register(ClipboardSink)


@hookimpl
def vt_active_window(ctx: RunContext) -> ActiveWindow | None:
    """Profiles match on the window our paste chord is chosen for (same detection)."""
    window = active_window()
    if window is None:
        return None
    return ActiveWindow(window_class=window.class_, title=window.title, instance=window.instance, source=window.source)
