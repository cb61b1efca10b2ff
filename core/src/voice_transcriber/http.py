"""HTTP for plugins that call web services (transcription backends, LLM formatters).

One place for the things every HTTP plugin gets wrong differently: the client, timeouts
scaled by the work, retries with backoff that honour ``Retry-After``, and turning any
failed reply into ONE line that names the service and its URL, says what went wrong and
how to fix it — never the API key, never the uploaded data. What a reply says is read in
``http_replies`` and the one-line errors are made in ``http_failures``; plugins import all of it
from here (this module's ``__all__``), the client, its options and :func:`send` included.

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

import functools
import random
import sys
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from .config_model import ConfigModel
from .errors import BackendError, ConfigError, VoiceTranscriberError
from .http_failures import GAVE_UP, call_error, check_response, describe_failure, describe_status, plain_url
from .http_replies import NEVER_RETRY, error_code, error_message, is_retryable, one_line, retry_after

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


# --- sending with retries ----------------------------------------------------------------

def send(client: httpx.Client, method: str, url: str, *, service: str,
         error_cls: type[VoiceTranscriberError] = BackendError, retry: RetryPolicy | None = None,
         stream: bool = False, expect: Collection[int] = (), unreachable_fix: str | None = None,
         timeout_fix: str | None = None, log: Callable[[str], None] | None = None,
         sleep: Callable[[float], None] = time.sleep, deadline: float | None = None,
         size_fix: str | None = None, **request_kwargs: Any) -> httpx.Response:
    """Send a request, retrying transient failures; return the last reply, whatever its status.

    Connection errors and timeouts are retried too; when they persist, ``error_cls`` is raised with one line whose
    fix is ``unreachable_fix`` (or ``timeout_fix`` when the server was reached but too slow). Statuses in ``expect``
    are answers, never retried (Speaches' 409 "already loaded"). With ``stream=True`` a successful reply is returned
    unread (the caller closes it); error replies are always read. ``request_kwargs`` go to ``client.build_request``
    (``files``, ``data``, ``json``, ``timeout``…); pass bytes, not open files, so a retry can resend them.

    Each attempt must end — connection, upload and the whole reply, also when the caller reads a streamed one —
    within ``deadline`` seconds (default: the read timeout of ``timeout``, else the client's). An attempt that runs
    out of time, or whose reply is over the client's size cap, is not retried: ``error_cls`` says "too slow" (fix:
    ``timeout_fix``) / "too big" (fix: ``size_fix``) at once. A reply cut off mid-body is retried like a dropped
    connection. A ``Retry-After`` longer than the policy's ``max_retry_after`` ends the retries, and the error says so.
    """
    retry = retry or RetryPolicy()
    call = _Call(client, method, url, service, error_cls, stream,
                 budget=deadline if deadline is not None else _budget(request_kwargs.get("timeout"), client),
                 extensions=request_kwargs.pop("extensions", None) or {}, request_kwargs=request_kwargs,
                 unreachable_fix=unreachable_fix, timeout_fix=timeout_fix, size_fix=size_fix)
    attempt = 0
    while True:
        response, failure = call.attempt(tries=attempt + 1)
        if response is not None:
            if response.status_code < 400 or response.status_code in expect or not is_retryable(response):
                return response
            response.close()
        wait = retry.delay(attempt, response) if attempt < retry.max_retries else None
        if wait is None:
            return call.last_reply(response, failure, retry, attempt)
        if log:
            log(call.retrying(response, failure, attempt + 1, retry.max_retries, wait))
        sleep(wait)
        attempt += 1


@dataclass(frozen=True)
class _Call:
    """The request :func:`send` repeats, and the errors that end it."""

    client: httpx.Client
    method: str
    url: str
    service: str
    error_cls: type[VoiceTranscriberError]
    stream: bool
    budget: float | None
    extensions: Mapping[str, Any]
    request_kwargs: Mapping[str, Any]
    unreachable_fix: str | None
    timeout_fix: str | None
    size_fix: str | None

    def attempt(self, tries: int) -> tuple[httpx.Response | None, httpx.TransportError | None]:
        """Send it once, by its deadline: the reply (an error reply read), or the transport error a retry
        may get past. What a retry would only repeat (a bad URL, too slow, too big, an undecodable reply)
        raises ``error_cls`` at once."""
        import httpx

        from .http_limits import DEADLINE, CallTooSlow, ReplyTooLarge

        try:
            ends_by = None if self.budget is None else time.monotonic() + self.budget
            limits = {"vt_budget": self.budget, DEADLINE: ends_by}
            request = self.client.build_request(self.method, self.url, extensions={**self.extensions, **limits},
                                                **self.request_kwargs)
            response = self.client.send(request, stream=self.stream)
            if response.status_code >= 400:
                response.read()  # an error reply is small; its body says whether to retry
            return response, None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            invalid = f"{self.service}: invalid URL {plain_url(self.url)!r}: {one_line(str(exc))}"
            raise call_error(self.error_cls, f"{invalid} — fix: use a full URL such as http://localhost:8000/v1",
                             retryable=False, status=None) from None
        except (CallTooSlow, ReplyTooLarge, httpx.DecodingError) as exc:  # trying again would only repeat it
            fix = (self.timeout_fix if isinstance(exc, CallTooSlow) else self.size_fix if isinstance(exc, ReplyTooLarge)
                   else None)
            raise call_error(self.error_cls, describe_failure(self.service, self.url, exc, fix, tries=tries),
                             retryable=False, status=None) from None
        except httpx.TransportError as exc:
            return None, exc

    def retrying(self, response: httpx.Response | None, failure: httpx.TransportError | None, retry: int,
                 retries: int, wait: float) -> str:
        """The line :func:`send` logs before retry number ``retry`` of ``retries``, ``wait`` seconds later."""
        reason = f"HTTP {response.status_code}" if response is not None else type(failure).__name__
        return f"{self.service}: {reason} from {plain_url(self.url)}; retry {retry}/{retries} in {wait:.2f} s"

    def last_reply(self, response: httpx.Response | None, failure: httpx.TransportError | None, retry: RetryPolicy,
                   attempt: int) -> httpx.Response:
        """What :func:`send` ends with when it retries no more: the last reply (saying why its retries stopped
        early, when the server asked for a longer wait), else the error for the transport failure that persisted."""
        if response is None:
            raise self.failed(failure, tries=attempt + 1) from None
        _note_long_retry_after(response, retry, attempt)
        return response

    def failed(self, failure: httpx.TransportError | None, tries: int) -> VoiceTranscriberError:
        """The error for a transport failure that persisted through the retries."""
        import httpx

        from .http_limits import ReplyCutOff

        slow = isinstance(failure, httpx.TimeoutException) and not isinstance(failure, httpx.ConnectTimeout)
        fix = self.timeout_fix if slow else None if isinstance(failure, ReplyCutOff) else self.unreachable_fix
        return call_error(self.error_cls, describe_failure(self.service, self.url, failure, fix, tries=tries,
                                                           timeout=self.request_kwargs.get("timeout")),
                          retryable=True, status=None)


def _note_long_retry_after(response: httpx.Response, retry: RetryPolicy, attempt: int) -> None:
    """Say on a reply whose retries stopped early why: the server asked for a longer wait than a dictation holds."""
    asked = retry_after(response)
    if asked is not None and asked > retry.max_retry_after and attempt < retry.max_retries:
        response.extensions[GAVE_UP] = (f"it asked to wait {asked:.0f} s before trying again, longer "
                                        f"than the {retry.max_retry_after:g} s worth holding a dictation")


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
