"""Profiles: settings per application, chosen by the focused window or by ``--profile NAME``.

A profile is a named set of overrides in config.json's ``profiles`` list::

    "profiles": [
      {"name": "terminal", "match": {"windowClass": "^(kitty|Alacritty|foot|XTerm)$"},
       "formatters": ["verbatim"], "sinks": ["typing"], "pasteChord": "ctrl+shift+v"},
      {"name": "mail", "match": {"windowClass": "thunderbird", "title": "^Write"},
       "formatters": ["llm"], "formattingPrompt": "Rewrite this as a formal e-mail paragraph."}
    ]

At the start of a run the core asks the plugins which window has the focus (the
``vt_active_window`` hook) and applies the first profile whose ``match`` fits. Precedence:
defaults < config file < environment < profile < command-line flags.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from .config import Settings
from .config_model import ConfigModel, validate
from .errors import ConfigError
from .types import ActiveWindow

if TYPE_CHECKING:
    from .context import RunContext

#: Config key of the clipboard sink's paste chord, which ``pasteChord`` sets.
PASTE_CHORD_KEY = "output.clipboard.pasteChord"


class ProfileMatch(ConfigModel):
    window_class: str | None = Field(None, description="Regular expression searched (case-insensitive) in the window class (or WM_CLASS instance) or Wayland app_id.")
    title: str | None = Field(None, description="Regular expression searched (case-insensitive) in the window title.")

    @field_validator("window_class", "title")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return pattern

    def matches(self, window: ActiveWindow) -> bool:
        """True when every pattern given matches; a match with no pattern matches nothing."""
        checks = [(self.window_class, [window.window_class, window.instance]), (self.title, [window.title])]
        given = [(pattern, values) for pattern, values in checks if pattern is not None]
        return bool(given) and all(any(re.search(pattern, value, re.IGNORECASE) for value in values if value)
                                   for pattern, values in given)


class Profile(ConfigModel):
    name: str = Field(description="Name used by --profile and shown with --debug.")
    match: ProfileMatch | None = Field(None, description="Window this profile is for; without it, only --profile selects it.")
    formatters: list[str] | None = Field(None, description="Formatter chain; [] delivers the backend's text unformatted.")
    formatting_prompt: str | None = Field(None, description="System prompt of the llm formatter (formattingPrompt).")
    transcription_prompt: str | None = Field(None, description="Prompt for the backend (transcriptionPrompt).")
    language: str | None = Field(None, description="Spoken language (language).")
    backend: str | list[str] | None = Field(None, description="Backend or fallback chain (transcription.backend).")
    sinks: list[str] | None = Field(None, description="Sinks (output.sinks).")
    paste_chord: str | None = Field(None, description=f"Key chord that pastes in this application ({PASTE_CHORD_KEY}).")
    settings: dict[str, Any] = Field(default_factory=dict, description='Any other keys, dotted: {"output.typing.keyDelay": 20}.')

    def overrides(self) -> dict[str, Any]:
        """The dotted config keys this profile sets (None: left alone)."""
        overrides: dict[str, Any] = {
            "formattingPrompt": self.formatting_prompt,
            "transcriptionPrompt": self.transcription_prompt,
            "language": self.language,
            "transcription.backend": self.backend,
            "output.sinks": self.sinks,
            PASTE_CHORD_KEY: self.paste_chord,
        }
        if self.formatters is not None:
            overrides["formatter.chain"] = self.formatters
            overrides["formatterEnabled"] = bool(self.formatters)
        overrides.update(self.settings)
        return {key: value for key, value in overrides.items() if value is not None}


class ProfilesConfig(ConfigModel):
    profiles: list[Profile] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> ProfilesConfig:
        names = [profile.name for profile in self.profiles]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"profile name {duplicates[0]!r} is used twice; give each profile its own name")
        return self


def load_profiles(settings: Settings) -> list[Profile]:
    """The validated ``profiles`` list (empty when there is none)."""
    raw = settings.raw.get("profiles")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{settings.source}: profiles: must be a list of objects, e.g. [{{\"name\": \"terminal\", ...}}]")
    return validate(ProfilesConfig, {"profiles": raw}, prefix="", where=settings.source).profiles


def choose(profiles: list[Profile], window: ActiveWindow | None, forced: str | None = None) -> Profile | None:
    """``--profile NAME`` if given (unknown names are an error), else the first that matches ``window``."""
    if forced:
        for profile in profiles:
            if profile.name == forced:
                return profile
        known = ", ".join(p.name for p in profiles) or "none configured"
        raise ConfigError(f"unknown profile '{forced}' (profiles: {known}; add it to `profiles` in config.json)")
    if window is None:
        return None
    return next((p for p in profiles if p.match is not None and p.match.matches(window)), None)


def detect_active_window(ctx: RunContext) -> ActiveWindow | None:
    """Ask the ``vt_active_window`` plugins in turn; the first answer wins. Never raises."""
    if ctx.pm is None:
        return None
    for plugin, result, exc in ctx.pm.call_each("vt_active_window", ctx=ctx):
        if exc is not None:
            ctx.log(f"plugin {ctx.pm.describe(plugin)} failed in vt_active_window: {type(exc).__name__}: {exc}")
        elif result is not None:
            if not isinstance(result, ActiveWindow):
                ctx.log(f"plugin {ctx.pm.describe(plugin)}: vt_active_window returned {type(result).__name__}, not ActiveWindow")
                continue
            return result
    return None


def apply_profile(ctx: RunContext, forced: str | None, flags: Mapping[str, Any],
                  load: Callable[[dict[str, Any]], Settings]) -> Profile | None:
    """Choose this run's profile and replace ``ctx.settings`` with the settings it implies.

    ``flags`` are the command line's dotted overrides (None = not given); ``load(overrides)``
    loads the settings with overrides on top, so flags still beat the profile.
    """
    profiles = load_profiles(ctx.settings)
    if not profiles and not forced:
        return None
    window = None
    if not forced and any(p.match is not None for p in profiles):
        window = detect_active_window(ctx)
        ctx.log(f"active window: {window}")
    profile = choose(profiles, window, forced)
    if profile is None:
        return None
    given = {key: value for key, value in flags.items() if value is not None}
    ctx.settings = load({**profile.overrides(), **given})
    ctx.info["profile"] = profile.name
    ctx.log(f"profile '{profile.name}' applied")
    return profile
