"""The version of voice-transcriber-core (kept equal to core/pyproject.toml's; a test checks it)."""

__version__ = "0.1.0"
