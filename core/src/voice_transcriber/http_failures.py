"""One line for a failed call: the status a service answered with, or why no usable reply came.

Part of ``voice_transcriber.http`` (which plugins import these names from). Each line names the service
and its URL (without credentials or query), says what went wrong and how to fix it; never the API key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import BackendError, VoiceTranscriberError
from .http_replies import error_code, error_message, is_retryable, one_line
from .redact import redact

if TYPE_CHECKING:
    import httpx

__all__ = ["GAVE_UP", "call_error", "check_response", "describe_failure", "describe_status", "plain_url"]

#: ``response.extensions`` key: why the retries stopped before the policy's last one (said in the error line).
GAVE_UP = "vt_gave_up"
_SLOW_FIX = "the server is slow or stuck: raise the read timeout in the config, or check its load"


_STATUS_TEXT: dict[int, tuple[str, str]] = {
    400: ("rejected the request", "check the options in your config"),
    401: ("rejected the API key", "set a valid API key"),
    403: ("refused access (API key missing or wrong)", "set a valid API key"),
    404: ("does not know this model or endpoint", "check the model name and the URL"),
    408: ("timed out reading the request", "try again; check your network"),
    409: ("reported a conflict", "try again in a moment"),
    413: ("refused the upload as too large", "send shorter audio"),
    415: ("cannot decode the audio", "send WAV or FLAC audio"),
    422: ("rejected a field of the request", "check the options in your config"),
    429: ("is rate limiting us", "wait a minute and try again"),
}


def describe_status(service: str, url: str, response: httpx.Response, fix: str | None = None) -> str:
    """One line for a failed reply: ``openai (URL): HTTP 401, rejected the API key: … — fix: …``."""
    status = response.status_code
    what, default_fix = _STATUS_TEXT.get(status, ("had an internal error", "try again later; check the server's log")
                                          if status >= 500 else ("answered with an error", "check the URL"))
    if status == 429 and error_code(response) == "insufficient_quota":
        what, default_fix = "says the quota is exhausted", "check your plan and billing"
    gave_up = response.extensions.get(GAVE_UP)
    note = f" ({gave_up})" if gave_up else ""
    return f"{service} ({url}): HTTP {status}, {what}: {error_message(response)}{note} — fix: {fix or default_fix}"


def check_response(response: httpx.Response, *, service: str, error_cls: type[VoiceTranscriberError] = BackendError,
                   fixes: Mapping[int, str] | None = None) -> httpx.Response:
    """Return ``response`` if it succeeded; else raise ``error_cls`` with :func:`describe_status`.

    ``fixes`` maps a status to the fix to print for it (e.g. ``{401: "set OPENAI_API_KEY"}``).
    """
    if response.status_code < 400:
        return response
    if not response.is_closed:
        response.read()
    url = plain_url(response.request.url)
    raise call_error(error_cls, describe_status(service, url, response, (fixes or {}).get(response.status_code)),
                 retryable=is_retryable(response), status=response.status_code)

def describe_failure(service: str, url: str, exc: BaseException | None, fix: str | None = None, *,
                     tries: int = 1, timeout: Any = None) -> str:
    """One line for a call that got no usable reply: too slow, too big, cut off mid-reply,
    unreachable … (``exc``: the httpx error). Callers that read a streamed reply themselves use
    it for the errors raised while reading."""
    after = f" (after {tries} attempts)" if tries > 1 else ""
    what, default_fix = _broken_limit(exc, after) or _no_reply(exc, after, timeout)
    return redact(f"{service} ({plain_url(url)}): {what} — fix: {fix or default_fix}")


def _broken_limit(exc: BaseException | None, after: str) -> tuple[str, str] | None:
    """What went wrong and the usual fix, for a call that broke a limit of ``http_limits``; else None."""
    from .http_limits import CallTooSlow, ReplyCutOff, ReplyTooLarge

    if isinstance(exc, CallTooSlow):
        limit = f" within {exc.budget:g} s" if exc.budget is not None else ""
        during = {"upload": "; the upload was still under way", "connection": "; still connecting"}.get(
            exc.phase, f"; {exc.received} bytes of it had arrived" if exc.received else "")
        return f"too slow: no complete reply{limit}{during}{after}", _SLOW_FIX
    if isinstance(exc, ReplyTooLarge):
        size = (f"it announced {_size(exc.announced)}" if exc.announced and exc.announced > exc.limit
                else f"more than {_size(exc.limit)}")
        return (f"reply too big: {size}, over the {_size(exc.limit)} limit",
                "check that the URL points at the right server (a transcript is a few kB), or raise maxReplyBytes")
    if isinstance(exc, ReplyCutOff):
        got = f"{exc.received} of {exc.expected} bytes" if exc.expected is not None else f"{exc.received} bytes"
        return (f"reply cut off mid-reply: the connection ended after {got}{after}",
                "try again; the server (or a proxy) dropped the connection: check its log")
    return None


def _no_reply(exc: BaseException | None, after: str, timeout: Any) -> tuple[str, str]:
    """What went wrong and the usual fix, for a call httpx could not complete."""
    import httpx

    if isinstance(exc, httpx.DecodingError):
        return (f"unreadable reply: {one_line(str(exc))}",
                "check that the URL points at the right server, and any proxy in between")
    if isinstance(exc, httpx.TimeoutException):
        seconds = getattr(timeout, "read", None) if isinstance(exc, httpx.ReadTimeout) else getattr(timeout, "connect", None)
        limit = f" within {seconds:g} s" if isinstance(seconds, (int, float)) else ""
        if isinstance(exc, httpx.ConnectTimeout):
            return f"no connection{limit}{after}", "is the server up and reachable?"
        return f"too slow: no reply{limit}{after}", _SLOW_FIX
    return f"{_transport_cause(exc)}{after}", "is the server running and the URL right? check your network"


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.3g} MiB"
    return f"{count / 1024:.3g} KiB" if count >= 1024 else f"{count} bytes"


def _transport_cause(exc: Exception | None) -> str:
    import httpx

    text = str(exc).lower()
    if isinstance(exc, httpx.ConnectError):
        if "refused" in text:
            return "connection refused"
        if "name or service" in text or "nodename" in text or "getaddrinfo" in text or "resolve" in text:
            return "cannot resolve the host name"
        return "cannot connect" + (f" ({one_line(str(exc))})" if str(exc) else "")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return "the server closed the connection before answering"
    return f"request failed: {type(exc).__name__}" + (f" ({one_line(str(exc))})" if str(exc) else "")


def call_error(error_cls: type[VoiceTranscriberError], message: str, *, retryable: bool,
               status: int | None) -> VoiceTranscriberError:
    """Build ``error_cls(message)``; ``status`` and ``retryable`` are attached for callers."""
    message = redact(message)
    error = error_cls(message, retryable=retryable) if issubclass(error_cls, BackendError) else error_cls(message)
    error.status = status  # type: ignore[attr-defined]
    error.retryable = retryable  # type: ignore[attr-defined]
    return error


def plain_url(url: Any) -> str:
    """The URL without credentials or query (a key could hide in either)."""
    text = str(url)
    try:
        import httpx

        parsed = httpx.URL(text)
        return str(parsed.copy_with(userinfo=b"", query=None, fragment=None)) if parsed.host else text
    except Exception:
        return text.split("?")[0]
