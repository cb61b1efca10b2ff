"""Error classes shared by the core and plugins.

Plugins raise these; the CLI turns each into one line on stderr and an exit code.
A traceback is only shown with ``--debug``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
#: The text did not (all) reach the window it was for; the rest is on the clipboard (nothing lost).
EXIT_REDIRECTED = 3
EXIT_CANCELLED = 130


class VoiceTranscriberError(Exception):
    """Base class. ``str(error)`` is the one line shown to the user: cause and fix."""

    exit_code: int = EXIT_FAILURE


class ConfigError(VoiceTranscriberError):
    """Bad configuration file, key, value, or unknown component name."""

    exit_code = EXIT_USAGE


class UsageError(VoiceTranscriberError):
    """Bad command-line usage that click itself could not detect."""

    exit_code = EXIT_USAGE


class PluginError(VoiceTranscriberError):
    """A plugin failed to load or misbehaved (e.g. registered a duplicate name)."""


class AudioError(VoiceTranscriberError):
    """Audio could not be read, decoded or captured."""


class CaptureError(AudioError):
    """The microphone could not be opened or read."""


class BackendError(VoiceTranscriberError):
    """A transcription backend failed.

    ``retryable`` tells a fallback chain whether trying again could help; every backend
    failure lets the next backend in the chain try the same audio.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class FormatterError(VoiceTranscriberError):
    """A formatter failed. The pipeline keeps the unformatted text and reports why."""


class SinkError(VoiceTranscriberError):
    """A sink could not deliver the text."""


class ControlError(VoiceTranscriberError):
    """A control command (``toggle``, ``stop`` …) found nothing to act on, or could not coordinate."""


class DeliveredElsewhere(SinkError):
    """The text did not (all) reach the window it was dictated for, and went to the clipboard instead.

    ``outcome`` is ``"partly"`` (the start was typed, the rest is on the clipboard) or
    ``"clipboard"`` (nothing was typed: the whole text is on the clipboard). Nothing is lost,
    but it is not success either: exit code 3, and the history says which.
    """

    exit_code = EXIT_REDIRECTED

    def __init__(self, message: str, *, outcome: str = "clipboard") -> None:
        super().__init__(message)
        self.outcome = outcome


class Cancelled(VoiceTranscriberError):
    """The user cancelled (second Ctrl-C, ``cancel`` command)."""

    exit_code = EXIT_CANCELLED
