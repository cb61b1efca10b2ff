"""voice-transcriber: voice input for Linux. The public API for plugins lives here.

Plugins import only from this module: the hook marker, the component base classes, the
values that flow through the pipeline, the run context and the error classes.
"""

from __future__ import annotations

from .components import Backend, Check, Component, Formatter, Sink
from .config import ConfigModel, Settings
from .context import RunContext
from .errors import (
    AudioError,
    BackendError,
    Cancelled,
    CaptureError,
    ConfigError,
    FormatterError,
    PluginError,
    SinkError,
    UsageError,
    VoiceTranscriberError,
)
from .hookspecs import hookimpl
from .profiles import ActiveWindow
from .redact import redact
from .types import Audio, Segment, Transcript

__version__ = "0.1.0"

__all__ = [
    "ActiveWindow",
    "Audio",
    "AudioError",
    "Backend",
    "BackendError",
    "Cancelled",
    "CaptureError",
    "Check",
    "Component",
    "ConfigError",
    "ConfigModel",
    "Formatter",
    "FormatterError",
    "PluginError",
    "RunContext",
    "Segment",
    "Settings",
    "Sink",
    "SinkError",
    "Transcript",
    "UsageError",
    "VoiceTranscriberError",
    "hookimpl",
    "redact",
]
