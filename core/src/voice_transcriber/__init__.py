"""voice-transcriber: voice input for Linux. The public API for plugins lives here.

Plugins import from this module the hook marker, the component base classes, the values that
flow through the pipeline, the run context and the error classes; beyond it, only the names of
``__all__`` of the public modules docs/plugins.md lists ("The public API": ``http``, ``safe_text``,
``files``, ``paths``, ``history``, ``recordings``, ``capture``, ``daemon``, and in tests
``testing``). ``core/tests/test_public_api.py`` checks the first-party plugins and the example.

The names are loaded on first use (PEP 562), so that importing a submodule such as
``voice_transcriber.capture`` does not pay for pydantic: the executable opens the
microphone before anything slow is imported.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not from `typing`, which costs milliseconds before the microphone opens
if TYPE_CHECKING:
    from typing import Any

    from .config import Settings
    from .config_model import ConfigModel, HttpUrl
    from .context import Backend, Check, Component, Formatter, RunContext, Sink
    from .errors import (
        AudioError,
        BackendError,
        Cancelled,
        CaptureError,
        ConfigError,
        DeliveredElsewhere,
        FormatterError,
        PluginError,
        SinkError,
        UsageError,
        VoiceTranscriberError,
    )
    from .hookspecs import hookimpl
    from .types import ActiveWindow, Audio, Segment, Transcript

# Eager (it is tiny): once the submodule ``voice_transcriber.redact`` is imported, the package
# attribute ``redact`` would be that module, and ``from voice_transcriber import redact`` would
# return it instead of the function.
from .redact import redact  # noqa: E402

from .version import __version__  # noqa: E402

#: Public name → the submodule that defines it.
_EXPORTS = {
    **dict.fromkeys(("Backend", "Check", "Component", "Formatter", "Sink", "RunContext"), "context"),
    **dict.fromkeys(("ConfigModel", "HttpUrl"), "config_model"),
    "Settings": "config",
    **dict.fromkeys(
        ("AudioError", "BackendError", "Cancelled", "CaptureError", "ConfigError", "DeliveredElsewhere", "FormatterError",
         "PluginError", "SinkError", "UsageError", "VoiceTranscriberError"),
        "errors",
    ),
    "hookimpl": "hookspecs",
    **dict.fromkeys(("ActiveWindow", "Audio", "Segment", "Transcript"), "types"),
}

__all__ = sorted([*_EXPORTS, "redact"])


def __getattr__(name: str) -> Any:
    import importlib  # here, not at the top: ~1 ms that the hotkey path (daemon.client) never needs

    module = _EXPORTS.get(name)
    if module is None:  # `voice_transcriber.config` etc. still work after a bare `import voice_transcriber`
        if not name.startswith("_"):
            try:
                return importlib.import_module(f".{name}", __name__)
            except ModuleNotFoundError:
                pass
        raise AttributeError(f"module 'voice_transcriber' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
