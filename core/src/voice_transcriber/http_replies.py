"""What a web service's reply says: its error code and message in one line, whether to retry, and when.

Part of ``voice_transcriber.http`` (which plugins import these names from); reading a reply needs no
httpx at load, only the response object a call returned.
"""

from __future__ import annotations

import email.utils
import json
import time
from typing import TYPE_CHECKING, Any

from .redact import redact

if TYPE_CHECKING:
    import httpx

__all__ = ["NEVER_RETRY", "error_code", "error_message", "is_retryable", "one_line", "retry_after"]

#: Statuses that mean "this exact request will never work": fail at once, do not retry.
NEVER_RETRY = frozenset({400, 401, 403, 404, 413, 415, 422})
_RETRY_STATUSES = frozenset({408, 409, 429})
_MAX_MESSAGE = 200


def error_code(response: httpx.Response) -> str | None:
    """OpenAI's ``error.code`` (or ``error.type``), e.g. ``insufficient_quota``; else None."""
    body = _json_body(response)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        return code if isinstance(code, str) else None
    return None


def error_message(response: httpx.Response) -> str:
    """The server's explanation in one short line.

    OpenAI ``{"error": {"message"}}``, Speaches/FastAPI ``{"detail": str}`` or the 422 list
    of ``{"msg", "loc"}`` (its ``input`` may echo the upload and is never shown), a plain
    ``message``; else a short printable text body; else a description of the opaque bytes.
    """
    body = _json_body(response)
    message = _message_from_json(body) if body is not None else None
    if message is None:
        message = _printable_text(response)
    if message is None:
        kind = response.headers.get("content-type", "unknown type").split(";")[0]
        message = f"unreadable reply ({len(response.content)} bytes of {kind})"
    return one_line(message)


def _message_from_json(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    if isinstance(error, str):
        return error
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict) and isinstance(item.get("msg"), str):
                loc = item.get("loc")
                field = loc[-1] if isinstance(loc, list) and loc else None
                parts.append(f"{field}: {item['msg']}" if isinstance(field, str) else item["msg"])
        return "; ".join(parts) or None
    message = body.get("message")
    return message if isinstance(message, str) else None


def _json_body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _printable_text(response: httpx.Response) -> str | None:
    content = response.content[:2000]
    if not content.strip():
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if sum(ch.isprintable() or ch.isspace() for ch in text) < 0.95 * len(text):
        return None
    if "<html" in text[:500].lower():  # a proxy's error page: its title is the useful part
        start = text.lower().find("<title>")
        end = text.lower().find("</title>")
        return text[start + 7:end] if 0 <= start < end else "an HTML error page"
    return text


def one_line(text: str) -> str:
    """A server's (or an error's) words as one short line, safe for a terminal and without secrets."""
    from .safe_text import safe_text  # a server's words, quoted: no escape sequence reaches a terminal

    line = " ".join(safe_text(text).split())
    if len(line) > _MAX_MESSAGE:
        line = line[: _MAX_MESSAGE - 1] + "…"
    return redact(line)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, ``Retry-After`` seconds or date)."""
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def is_retryable(response: httpx.Response) -> bool:
    """408, 409, 429 (unless the quota is exhausted) and 5xx may work on another try."""
    status = response.status_code
    if status in NEVER_RETRY:
        return False
    if status == 429:
        return error_code(response) != "insufficient_quota"
    return status in _RETRY_STATUSES or status >= 500
