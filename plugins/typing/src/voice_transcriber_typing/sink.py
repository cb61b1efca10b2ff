"""The ``typing`` and ``auto`` sinks.

``typing`` types the text into the focused window. ``auto`` types short plain-ASCII text
(where typing tools are reliable) and pastes anything else — accents, emoji, line breaks,
long text — through the clipboard with the chord the focused window expects. Both leave the
text on the clipboard when delivery is doubtful, and print it to stderr when it failed.
"""

from __future__ import annotations

import string
from collections.abc import Iterable

from pydantic import Field

from voice_transcriber import Check, ConfigModel, RunContext, Sink, SinkError, Transcript, hookimpl
from voice_transcriber_clipboard.config import ClipboardConfig
from voice_transcriber_clipboard.focus import (FocusMoved, Target, current_target, note_delivery, recorded_target,
                                               separator_for)
from voice_transcriber_clipboard.keys import key_tool
from voice_transcriber_clipboard.paste import Clipboard, doubt_message
from voice_transcriber_clipboard.selection import selection_tool
from voice_transcriber_clipboard.sink import delivery_target, desktop_checks, redirected
from voice_transcriber_clipboard.tools import keep_text

from .live import LiveTyping
from .typer import TypingConfig, type_text

PLAIN = frozenset(string.ascii_letters + string.digits + string.punctuation + " ")


class AutoConfig(ConfigModel):
    max_typed_chars: int = Field(
        200, ge=0, description="Plain-ASCII text up to this many characters is typed; anything else is pasted.")


def clipboard_config(ctx: RunContext) -> ClipboardConfig:
    return ctx.settings.section("output.clipboard", ClipboardConfig)


class TypingSink(Sink):
    name = "typing"
    description = "Type the text into the focused window (X11 keys, a virtual keyboard, the RemoteDesktop portal or ydotool); --live types it as it is recognised."
    config_section = "output.typing"
    config_model = TypingConfig
    live = True
    _live: LiveTyping | None = None
    _prefix: str | None = None  #: the separator from the previous dictation (found once per run)

    @property
    def typing_config(self) -> TypingConfig:
        return self.config

    def show_partial(self, text: str) -> None:
        if self._live is None:
            if not text:
                return
            self._live = LiveTyping(self.ctx, self.typing_config, clipboard_config(self.ctx))
        self._live.show(self.separated(text))

    def deliver(self, text: str, transcript: Transcript) -> None:
        live, self._live = self._live, None
        target = live.target if live is not None else None
        try:
            target = target or delivery_target(self.ctx, self.typing_config.session)
            text = self.separated(text, target)
            if live is not None:
                doubts = live.finish(text)
            else:
                doubts = type_text(self.ctx, text, self.typing_config, clipboard_config(self.ctx), target)
        except FocusMoved as moved:
            raise redirected(self.ctx, self.name, moved, text, target, clipboard_config(self.ctx)) from None
        except SinkError as exc:
            raise undelivered(self.ctx, self.name, exc, text) from None
        note_delivery(target, text, ended_line=self.typing_config.press_enter)
        if doubts:
            report_doubts(self.ctx, self.name, doubts, text, copy=self.typing_config.clipboard_on_doubt)

    def separated(self, text: str, target: Target | None = None) -> str:
        """``text`` after the separator from the previous dictation into the same window, and the
        --continuous session's utterance separator."""
        text = self._after_utterance_separator(text)
        if self._prefix is None:
            try:
                target = target or recorded_target(self.ctx.info) or current_target(self.typing_config.session)
            except SinkError:
                target = None
            self._prefix = separator_for(target, text, self.typing_config.separator)
        return self._prefix + text if text and not text[0].isspace() else text

    def _after_utterance_separator(self, text: str) -> str:
        """``text`` after ``utteranceSeparator`` when it is not the first utterance of a --continuous session."""
        if text and self.ctx.info.get("utterance", 1) > 1 and not text[0].isspace():
            return self.typing_config.utterance_separator + text
        return text

    def checks(self) -> Iterable[Check]:
        from .method import method_checks

        config = self.typing_config
        return [*desktop_checks(self.name, config, lambda session: [key_tool(config.tool, session).name]),
                *method_checks(self.name, config.tool, config.session)]


class AutoSink(TypingSink):
    name = "auto"
    description = "Type short plain-ASCII text; paste anything else through the clipboard."
    config_section = "output.auto"
    config_model = AutoConfig
    live = False  # whether it types or pastes depends on the final text

    @property
    def typing_config(self) -> TypingConfig:
        return self.ctx.settings.section("output.typing", TypingConfig)

    def deliver(self, text: str, transcript: Transcript) -> None:
        try:
            target = delivery_target(self.ctx, self.typing_config.session)
        except SinkError as exc:
            raise undelivered(self.ctx, self.name, exc, text) from None
        text = self.separated(text, target)
        if should_type(text, self.config.max_typed_chars):
            return super().deliver(text, transcript)
        try:
            report = Clipboard(self.ctx, clipboard_config(self.ctx)).paste(text, target=target)
        except FocusMoved as moved:
            moved.rest = text
            raise redirected(self.ctx, self.name, moved, text, target, clipboard_config(self.ctx)) from None
        except SinkError as exc:
            raise undelivered(self.ctx, self.name, exc, text) from None
        note_delivery(target, text)
        if report.doubts:
            self.ctx.warn(doubt_message(self.name, report.doubts))

    def checks(self) -> Iterable[Check]:
        from .method import method_checks

        config = clipboard_config(self.ctx)
        return [*desktop_checks(self.name, config, lambda session: [
            key_tool(self.typing_config.tool, session).name, selection_tool(config.tool, session).name]),
            *method_checks(self.name, self.typing_config.tool, self.typing_config.session)]


def should_type(text: str, max_chars: int) -> bool:
    """Short text made only of printable ASCII (no line breaks, no tabs) is safe to type."""
    return len(text) <= max_chars and all(char in PLAIN for char in text)


def undelivered(ctx: RunContext, sink: str, error: SinkError, text: str) -> SinkError:
    """The error to raise when the text did not arrive: the text goes to stderr and, if possible,
    to the clipboard, and the one-line message says where it is."""
    keep_text(ctx, text)
    try:
        Clipboard(ctx, clipboard_config(ctx)).copy(text)
    except SinkError:
        return SinkError(f"{sink}: {error}")
    return SinkError(f"{sink}: {error}; the text is on the clipboard")


def report_doubts(ctx: RunContext, sink: str, doubts: list[str], text: str, *, copy: bool) -> None:
    """Warn that delivery is uncertain, leaving the text on the clipboard (or stderr) to be safe."""
    try:
        if not copy:
            raise SinkError("clipboardOnDoubt is off")
        Clipboard(ctx, clipboard_config(ctx)).copy(text)
    except SinkError:
        keep_text(ctx, text)
        ctx.warn(f"{sink}: delivery uncertain ({'; '.join(doubts)}); the text was printed above")
        return
    ctx.warn(doubt_message(sink, doubts))


@hookimpl
def vt_register_sinks(register) -> None:
    register(TypingSink)
    register(AutoSink)
