"""HTTP for plugins that call web services (transcription backends, LLM formatters).

One place for the things every HTTP plugin gets wrong differently: the client, timeouts
scaled by the work, retries with backoff that honour ``Retry-After``, and turning any
failed reply into ONE line that names the service and its URL, says what went wrong and
how to fix it — never the API key, never the uploaded data.

Every call has a whole-call deadline (connect, upload and the whole reply, streamed or not:
the read timeout of the request — ``readTimeout + readTimeoutPerAudioSecond × seconds`` for
the backends — is a budget for the call, not a limit per socket read) and a cap on the reply
body (``maxReplyBytes``); see ``voice_transcriber.http_limits``. A call that breaks one says
so: too slow, too big, or cut off mid-reply (:class:`CallTooSlow`, :class:`ReplyTooLarge`,
:class:`ReplyCutOff`, importable from here for a plugin that reads the reply itself).

httpx is imported inside the functions that need it, so importing this module (and
therefore ``voice-transcriber --help``) stays cheap. Typical use::

    from voice_transcriber import BackendError
    from voice_transcriber.http import HttpOptions, make_client, request

    class MyConfig(HttpOptions): ...

    with make_client(headers=bearer(key)) as client:
        response = request(client, "POST", url, service="openai", error_cls=BackendError,
                           retry=config.retry_policy(), timeout=config.timeouts().for_work(seconds),
                           json=payload)
"""

from __future__ import annotations

import email.utils
import functools
import json
import random
import sys
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from .config import ConfigModel
from .errors import BackendError, ConfigError, VoiceTranscriberError
from .redact import redact

if TYPE_CHECKING:
    import ssl

    import httpx

    from .http_limits import CallTooSlow, ReplyCutOff, ReplyTooLarge

# httpx's package imports its command-line client (``httpx._main``) whenever that client's optional
# dependencies are installed — click, rich and pygments are, here: ~5 MB and ~50 ms no request uses.
# A None entry makes that import fail as if they were missing; httpx then keeps its stub ``main``.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]

__all__ = [
    "DEFAULT_MAX_REPLY_BYTES", "HttpOptions", "NEVER_RETRY", "CallTooSlow", "ReplyCutOff", "ReplyTooLarge", "RetryPolicy",
    "Timeouts", "bearer", "check_response", "describe_failure", "describe_status", "error_code", "error_message",
    "is_retryable", "make_client", "request", "retry_after", "send",
]

#: The errors of a call that broke its limits (httpx exceptions, see ``voice_transcriber.http_limits``),
#: for a plugin that reads a reply itself. Loaded on first use: they import httpx.
_LIMIT_ERRORS = frozenset({"CallTooSlow", "ReplyCutOff", "ReplyTooLarge"})


def __getattr__(name: str) -> Any:
    if name in _LIMIT_ERRORS:
        from . import http_limits

        return getattr(http_limits, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Statuses that mean "this exact request will never work": fail at once, do not retry.
NEVER_RETRY = frozenset({400, 401, 403, 404, 413, 415, 422})
_RETRY_STATUSES = frozenset({408, 409, 429})
_MAX_MESSAGE = 200
#: Reply bodies larger than this fail ("too big"): a transcript of hours is a few MB of verbose_json.
DEFAULT_MAX_REPLY_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """Up to ``max_retries`` more attempts, waiting ``base_delay * 2**n`` (capped, with jitter).

    A server's ``Retry-After`` / ``retry-after-ms`` is honoured when it asks for at most
    ``max_retry_after`` seconds; a longer wait is not worth blocking voice input for, so the
    request fails (and a fallback backend can take over).
    """

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt`` (0-based); None = do not retry."""
        asked = retry_after(response) if response is not None else None
        if asked is not None:
            return asked if asked <= self.max_retry_after else None
        backoff = min(self.max_delay, self.base_delay * 2**attempt)
        return backoff * (1 - self.jitter * random.random())


@dataclass(frozen=True)
class Timeouts:
    """Connect quickly or fail; allow reading time in proportion to the work sent."""

    connect: float = 5.0
    read: float = 30.0
    read_per_second: float = 1.0

    def for_work(self, seconds: float = 0.0) -> httpx.Timeout:
        """An ``httpx.Timeout`` for a request carrying ``seconds`` of audio (or 0)."""
        import httpx

        read = self.read + self.read_per_second * max(0.0, seconds)
        return httpx.Timeout(connect=self.connect, read=read, write=read, pool=self.connect)


class HttpOptions(ConfigModel):
    """Config keys shared by HTTP plugins; subclass it for your section's model."""

    max_retries: int = Field(2, ge=0, le=10, description="Retries after a connection error, 408, 409, 429 or 5xx (exponential backoff with jitter, honouring Retry-After).")
    retry_backoff: float = Field(0.5, ge=0, description="Seconds before the first retry; doubles for each further retry (at most 8 s).")
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to wait for the TCP/TLS connection.")
    read_timeout: float = Field(30.0, gt=0, description="Seconds one whole call may take (connect, upload, reply), plus readTimeoutPerAudioSecond for each second of audio.")
    read_timeout_per_audio_second: float = Field(1.0, ge=0, description="Extra reply time allowed per second of audio sent.")
    max_reply_bytes: int = Field(DEFAULT_MAX_REPLY_BYTES, gt=0, description="A reply body larger than this fails as too big (streamed replies too); far above any real transcript.")

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_retries=self.max_retries, base_delay=self.retry_backoff,
                           max_delay=max(8.0, self.retry_backoff))

    def timeouts(self) -> Timeouts:
        return Timeouts(connect=self.connect_timeout, read=self.read_timeout,
                        read_per_second=self.read_timeout_per_audio_second)


def bearer(api_key: str | None) -> dict[str, str]:
    """The auth header for ``api_key``; none for an empty key or the placeholder ``none``.

    Raises :class:`ConfigError` (without the key) when the key cannot go in a header, which
    is what a paste with smart quotes or a space inside gives.
    """
    key = (api_key or "").strip()
    if not key or key.lower() == "none":
        return {}
    if not key.isascii() or any(ch.isspace() or not ch.isprintable() for ch in key):
        raise ConfigError("the API key contains spaces, quotes or other characters a key never has "
                          "(paste it again, without surrounding quotes)")
    return {"Authorization": f"Bearer {key}"}


def make_client(*, headers: Mapping[str, str] | None = None, timeouts: Timeouts | None = None,
                max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES) -> httpx.Client:
    """An ``httpx.Client`` with our User-Agent, whole-call deadlines and reply bodies capped at
    ``max_reply_bytes``; close it (``with``) when done."""
    import httpx

    from .http_limits import limit_client
    from .version import __version__

    client = httpx.Client(
        headers={"User-Agent": f"voice-transcriber/{__version__}", "Accept-Encoding": "gzip, deflate",
                 **(headers or {})},
        timeout=(timeouts or Timeouts()).for_work(0),
        follow_redirects=True,
        verify=tls_context(),
    )
    return limit_client(client, max_reply_bytes)


def tls_context() -> ssl.SSLContext:
    """The TLS settings every client verifies servers with: what httpx makes for ``verify=True`` (certifi's
    CA bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set), made once per process and those two
    variables. httpx would load the CA bundle again for each client (~25 ms of CPU: more than a whole
    reply from a local server); an ``SSLContext`` is meant to be shared by connections and threads."""
    import os

    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context(verify=True, trust_env=True)


# --- reading replies ---------------------------------------------------------------------


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
    return _one_line(message)


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


def _one_line(text: str) -> str:
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


# --- describing failures -----------------------------------------------------------------

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
    gave_up = response.extensions.get(_GAVE_UP)
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
    url = _plain_url(response.request.url)
    raise _error(error_cls, describe_status(service, url, response, (fixes or {}).get(response.status_code)),
                 retryable=is_retryable(response), status=response.status_code)


# --- sending with retries ----------------------------------------------------------------

_GAVE_UP = "vt_gave_up"


def send(client: httpx.Client, method: str, url: str, *, service: str,
         error_cls: type[VoiceTranscriberError] = BackendError, retry: RetryPolicy | None = None,
         stream: bool = False, expect: Collection[int] = (), unreachable_fix: str | None = None,
         timeout_fix: str | None = None, log: Callable[[str], None] | None = None,
         sleep: Callable[[float], None] = time.sleep, deadline: float | None = None,
         size_fix: str | None = None, **request_kwargs: Any) -> httpx.Response:
    """Send a request, retrying transient failures; return the last reply, whatever its status.

    Connection errors and timeouts are retried too; when they persist, ``error_cls`` is raised
    with one line whose fix is ``unreachable_fix`` (or ``timeout_fix`` when the server was
    reached but too slow). Statuses in ``expect`` are answers, never retried (Speaches' 409
    "already loaded"). With ``stream=True`` a successful reply is
    returned unread (the caller closes it); error replies are always read.
    ``request_kwargs`` go to ``client.build_request`` (``files``, ``data``, ``json``, ``timeout``…);
    pass bytes, not open files, so a retry can resend them.

    Each attempt must end — connection, upload and the whole reply, also when the caller reads
    a streamed one — within ``deadline`` seconds (default: the read timeout of ``timeout``, else
    the client's). An attempt that runs out of time, or whose reply is over the client's size
    cap, is not retried: ``error_cls`` says "too slow" (fix: ``timeout_fix``) / "too big" (fix:
    ``size_fix``) at once. A reply cut off
    mid-body is retried like a dropped connection. A ``Retry-After`` longer than the policy's
    ``max_retry_after`` ends the retries, and the error says so.
    """
    import httpx

    from .http_limits import DEADLINE, CallTooSlow, ReplyCutOff, ReplyTooLarge

    retry = retry or RetryPolicy()
    budget = deadline if deadline is not None else _budget(request_kwargs.get("timeout"), client)
    extensions = request_kwargs.pop("extensions", None) or {}
    attempt = 0
    while True:
        try:
            limits = {"vt_budget": budget, DEADLINE: None if budget is None else time.monotonic() + budget}
            request = client.build_request(method, url, extensions={**extensions, **limits}, **request_kwargs)
            response = client.send(request, stream=stream)
            if response.status_code >= 400:
                response.read()  # an error reply is small; its body says whether to retry
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise _error(error_cls, f"{service}: invalid URL {_plain_url(url)!r}: {_one_line(str(exc))} — fix: "
                         "use a full URL such as http://localhost:8000/v1", retryable=False, status=None) from None
        except (CallTooSlow, ReplyTooLarge, httpx.DecodingError) as exc:  # trying again would only repeat it
            fix = timeout_fix if isinstance(exc, CallTooSlow) else size_fix if isinstance(exc, ReplyTooLarge) else None
            raise _error(error_cls, describe_failure(service, url, exc, fix, tries=attempt + 1),
                         retryable=False, status=None) from None
        except httpx.TransportError as exc:
            failure, response = exc, None
        else:
            if response.status_code < 400 or response.status_code in expect or not is_retryable(response):
                return response
            response.close()
            failure = None
        wait = retry.delay(attempt, response) if attempt < retry.max_retries else None
        if wait is None:
            if response is not None:
                asked = retry_after(response)
                if asked is not None and asked > retry.max_retry_after and attempt < retry.max_retries:
                    response.extensions[_GAVE_UP] = (f"it asked to wait {asked:.0f} s before trying again, longer "
                                                     f"than the {retry.max_retry_after:g} s worth holding a dictation")
                return response
            slow = isinstance(failure, httpx.TimeoutException) and not isinstance(failure, httpx.ConnectTimeout)
            fix = timeout_fix if slow else None if isinstance(failure, ReplyCutOff) else unreachable_fix
            raise _error(error_cls, describe_failure(service, url, failure, fix,
                                                     tries=attempt + 1, timeout=request_kwargs.get("timeout")),
                         retryable=True, status=None) from None
        if log:
            reason = f"HTTP {response.status_code}" if response is not None else type(failure).__name__
            log(f"{service}: {reason} from {_plain_url(url)}; retry {attempt + 1}/{retry.max_retries} in {wait:.2f} s")
        sleep(wait)
        attempt += 1


def _budget(timeout: Any, client: httpx.Client) -> float | None:
    """The whole-call deadline implied by a request's timeout: its read timeout (the reply budget)."""
    import httpx

    if timeout is None:
        timeout = client.timeout
    if isinstance(timeout, (int, float)):
        return float(timeout)
    return timeout.read if isinstance(timeout, httpx.Timeout) else None


def request(client: httpx.Client, method: str, url: str, *, service: str,
            error_cls: type[VoiceTranscriberError] = BackendError, fixes: Mapping[int, str] | None = None,
            **kwargs: Any) -> httpx.Response:
    """:func:`send`, then :func:`check_response`: a successful reply or ``error_cls``."""
    response = send(client, method, url, service=service, error_cls=error_cls, **kwargs)
    return check_response(response, service=service, error_cls=error_cls, fixes=fixes)


def describe_failure(service: str, url: str, exc: BaseException | None, fix: str | None = None, *,
                     tries: int = 1, timeout: Any = None) -> str:
    """One line for a call that got no usable reply: too slow, too big, cut off mid-reply,
    unreachable … (``exc``: the httpx error). Callers that read a streamed reply themselves use
    it for the errors raised while reading."""
    import httpx

    from .http_limits import CallTooSlow, ReplyCutOff, ReplyTooLarge

    where = f"{service} ({_plain_url(url)})"
    after = f" (after {tries} attempts)" if tries > 1 else ""
    if isinstance(exc, CallTooSlow):
        limit = f" within {exc.budget:g} s" if exc.budget is not None else ""
        during = {"upload": "; the upload was still under way", "connection": "; still connecting"}.get(
            exc.phase, f"; {exc.received} bytes of it had arrived" if exc.received else "")
        message = f"{where}: too slow: no complete reply{limit}{during}{after}"
        default_fix = "the server is slow or stuck: raise the read timeout in the config, or check its load"
    elif isinstance(exc, ReplyTooLarge):
        size = (f"it announced {_size(exc.announced)}" if exc.announced and exc.announced > exc.limit
                else f"more than {_size(exc.limit)}")
        message = f"{where}: reply too big: {size}, over the {_size(exc.limit)} limit"
        default_fix = "check that the URL points at the right server (a transcript is a few kB), or raise maxReplyBytes"
    elif isinstance(exc, ReplyCutOff):
        got = f"{exc.received} of {exc.expected} bytes" if exc.expected is not None else f"{exc.received} bytes"
        message = f"{where}: reply cut off mid-reply: the connection ended after {got}{after}"
        default_fix = "try again; the server (or a proxy) dropped the connection: check its log"
    elif isinstance(exc, httpx.DecodingError):
        message = f"{where}: unreadable reply: {_one_line(str(exc))}"
        default_fix = "check that the URL points at the right server, and any proxy in between"
    elif isinstance(exc, httpx.TimeoutException):
        seconds = getattr(timeout, "read", None) if isinstance(exc, httpx.ReadTimeout) else getattr(timeout, "connect", None)
        limit = f" within {seconds:g} s" if isinstance(seconds, (int, float)) else ""
        what = "no connection" if isinstance(exc, httpx.ConnectTimeout) else "too slow: no reply"
        message = f"{where}: {what}{limit}{after}"
        default_fix = ("is the server up and reachable?" if isinstance(exc, httpx.ConnectTimeout)
                       else "the server is slow or stuck: raise the read timeout in the config, or check its load")
    else:
        message = f"{where}: {_transport_cause(exc)}{after}"
        default_fix = "is the server running and the URL right? check your network"
    return redact(f"{message} — fix: {fix or default_fix}")


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
        return "cannot connect" + (f" ({_one_line(str(exc))})" if str(exc) else "")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return "the server closed the connection before answering"
    return f"request failed: {type(exc).__name__}" + (f" ({_one_line(str(exc))})" if str(exc) else "")


def _error(error_cls: type[VoiceTranscriberError], message: str, *, retryable: bool,
           status: int | None) -> VoiceTranscriberError:
    """Build ``error_cls(message)``; ``status`` and ``retryable`` are attached for callers."""
    message = redact(message)
    error = error_cls(message, retryable=retryable) if issubclass(error_cls, BackendError) else error_cls(message)
    error.status = status  # type: ignore[attr-defined]
    error.retryable = retryable  # type: ignore[attr-defined]
    return error


def _plain_url(url: Any) -> str:
    """The URL without credentials or query (a key could hide in either)."""
    text = str(url)
    try:
        import httpx

        parsed = httpx.URL(text)
        return str(parsed.copy_with(userinfo=b"", query=None, fragment=None)) if parsed.host else text
    except Exception:
        return text.split("?")[0]
