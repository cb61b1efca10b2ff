"""Secrets never reach output: every known secret value is masked in messages."""

from __future__ import annotations

import re

_SECRET_KEY = re.compile(r"(api_?key|token|secret|password)$", re.IGNORECASE)
_secrets: set[str] = set()
#: Values that look like keys even when we were never told about them (OpenAI style).
_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,})")


def is_secret_key(key: str) -> bool:
    """True for config keys that hold secrets (``apiKey``, ``token``, ``password`` …)."""
    return bool(_SECRET_KEY.search(key.replace("-", "_")))


def add_secret(value: str) -> None:
    """Remember a secret so :func:`redact` masks it; short or placeholder values are ignored."""
    if value and len(value) >= 6 and value.lower() != "none":
        _secrets.add(value)


def redact(text: str) -> str:
    """Mask every remembered secret and anything shaped like an API key in ``text``."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "****")
    return _KEY_PATTERN.sub("sk-****", text)
