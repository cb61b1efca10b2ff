"""Secrets never reach output: every known secret value is masked in messages."""

from __future__ import annotations

TYPE_CHECKING = False  # the package imports this module eagerly: nothing that costs start-up time
if TYPE_CHECKING:
    import re

_secrets: set[str] = set()
#: Compiled on first use: ``re`` (and ``enum`` under it) costs ~5 ms, a third of the interpreter's own
#: start, and the hotkey path (``voice-transcriber toggle`` with a daemon running) never needs it.
_patterns: dict[str, re.Pattern[str]] = {}


def _pattern(name: str) -> re.Pattern[str]:
    if not _patterns:
        import re

        _patterns["secret_key"] = re.compile(r"(api_?key|token|secret|password)$", re.IGNORECASE)
        # Values that look like keys even when we were never told about them (OpenAI style).
        _patterns["key"] = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,})")
    return _patterns[name]


def is_secret_key(key: str) -> bool:
    """True for config keys that hold secrets (``apiKey``, ``token``, ``password`` …)."""
    return bool(_pattern("secret_key").search(key.replace("-", "_")))


def add_secret(value: str) -> None:
    """Remember a secret so :func:`redact` masks it; short or placeholder values are ignored."""
    if value and len(value) >= 6 and value.lower() != "none":
        _secrets.add(value)


def redact(text: str) -> str:
    """Mask every remembered secret and anything shaped like an API key in ``text``."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "****")
    return _pattern("key").sub("sk-****", text)
