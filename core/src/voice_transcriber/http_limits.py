"""Limits every HTTP call of an httpx client keeps, whatever the server does.

* **A whole-call deadline.** httpx's timeouts apply to each socket operation: a server that
  drips one byte a second never trips a 30 s read timeout and can hold a dictation for ever.
  Here every socket operation of a request — the host name lookup, connecting, each write of
  the upload, each read of the reply, streamed or not — gets at most the time left until the request's deadline
  (``request.extensions["vt_deadline"]``, a :func:`time.monotonic` instant), so the whole call
  ends by then: :class:`CallTooSlow`.
* **A cap on the reply body.** Counting the bytes as they arrive (after decompression), the
  call fails with :class:`ReplyTooLarge` past ``max_reply_bytes`` — at once when
  ``Content-Length`` announces more — instead of reading a 2 GB body into memory.
* **A name for a reply cut off mid-body**: :class:`ReplyCutOff` says how much had arrived.

These are httpx exceptions (``TimeoutException``, ``TransportError``, ``RemoteProtocolError``),
so code that catches httpx's errors catches them too; ``voice_transcriber.http`` turns them
into one line. This module imports httpx and httpcore: import it only where a request is made.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

__all__ = ["DEADLINE", "CallTooSlow", "ReplyCutOff", "ReplyTooLarge", "limit_client"]

#: ``request.extensions`` key: the :func:`time.monotonic` instant the whole call must end by.
DEADLINE = "vt_deadline"
#: Largest write handed to the socket at once, so each one is bounded by the time left.
_WRITE_PIECE = 64 * 1024


class CallTooSlow(httpx.TimeoutException):
    """The whole call (connect, upload, reply) did not finish by its deadline."""

    def __init__(self, phase: str, budget: float | None, received: int) -> None:
        self.phase, self.budget, self.received = phase, budget, received
        super().__init__(f"the call did not finish in time (during the {phase})")


class ReplyTooLarge(httpx.TransportError):
    """The reply body is larger than the cap (``announced``: its ``Content-Length``, if it said)."""

    def __init__(self, limit: int, announced: int | None = None) -> None:
        self.limit, self.announced = limit, announced
        super().__init__(f"the reply is larger than {limit} bytes")


class ReplyCutOff(httpx.RemoteProtocolError):
    """The connection ended after the reply started and before its body was complete."""

    def __init__(self, received: int, expected: int | None) -> None:
        self.received, self.expected = received, expected
        super().__init__(f"the reply was cut off after {received} bytes")


# --- the deadline, seen by every socket operation of the current request ------------------

_local = threading.local()


@contextmanager
def _deadline(deadline: float | None, budget: float | None) -> Iterator[None]:
    saved = getattr(_local, "deadline", None), getattr(_local, "budget", None)
    _local.deadline, _local.budget, _local.phase = deadline, budget, "connection"
    try:
        yield
    finally:
        _local.deadline, _local.budget = saved


def _bounded(timeout: float | None, phase: str) -> float | None:
    """``timeout`` shortened to the time left; raises :class:`CallTooSlow` when none is left."""
    deadline = getattr(_local, "deadline", None)
    _local.phase = phase
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise CallTooSlow(phase, getattr(_local, "budget", None), getattr(_local, "received", 0))
    return left if timeout is None else min(timeout, left)


def _expired() -> bool:
    deadline = getattr(_local, "deadline", None)
    return deadline is not None and time.monotonic() >= deadline - 0.001


class _Stream(httpcore.NetworkStream):
    """A socket stream whose every operation ends by the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _too_slow_on_timeout():
            return self._inner.read(max_bytes, _bounded(timeout, "reply"))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        with _too_slow_on_timeout():
            for start in range(0, len(view), _WRITE_PIECE):
                self._inner.write(bytes(view[start:start + _WRITE_PIECE]), _bounded(timeout, "upload"))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        with _too_slow_on_timeout():
            return _Stream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout, "connection")))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        with _too_slow_on_timeout():
            failure: Exception | None = None
            for address in _resolve(host, port, _bounded(timeout, "connection")):
                try:
                    return _Stream(self._inner.connect_tcp(address, port, _bounded(timeout, "connection"),
                                                           local_address, socket_options))
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:  # refused on ::1, or IPv6
                    failure = exc                                                 # blackholed: the next one
            raise failure or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        with _too_slow_on_timeout():
            return _Stream(self._inner.connect_unix_socket(path, _bounded(timeout, "connection"), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """The addresses of ``host``, looked up within ``timeout`` (a stuck resolver cannot hold the call:
    the lookup runs in a daemon thread that is left to finish on its own)."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    found: list[Any] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            found.append(exc)

    thread = threading.Thread(target=lookup, daemon=True, name="vt-resolve")
    thread.start()
    thread.join(timeout)
    if not found:
        raise httpcore.ConnectTimeout(f"looking up {host} took longer than {timeout:g} s")
    if isinstance(found[0], OSError):
        raise httpcore.ConnectError(str(found[0]))
    addresses = [info[4][0] for info in found[0]]
    return list(dict.fromkeys(addresses))


@contextmanager
def _too_slow_on_timeout() -> Iterator[None]:
    """A socket timeout that came from the shortened bound is the deadline, not the server's pause."""
    try:
        yield
    except httpcore.TimeoutException:
        if _expired():
            raise CallTooSlow(getattr(_local, "phase", "reply"), getattr(_local, "budget", None),
                              getattr(_local, "received", 0)) from None
        raise


# --- the transport: deadline for the whole exchange, cap on the body ----------------------


class _LimitedTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, max_reply_bytes: int) -> None:
        self._inner = inner
        self.max_reply_bytes = max_reply_bytes
        pool = getattr(inner, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, _Backend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = request.extensions.get(DEADLINE)
        budget = request.extensions.get("vt_budget")
        with _deadline(deadline, budget):
            _local.received = 0
            response = self._inner.handle_request(request)
        announced = _content_length(response)
        if announced is not None and announced > self.max_reply_bytes:
            response.close()
            raise ReplyTooLarge(self.max_reply_bytes, announced)
        try:
            decoder = _decoder(response.headers.get("content-encoding", "identity").strip().lower())
        except httpx.DecodingError:
            response.close()
            raise
        if decoder is not False:
            headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-encoding"]
            response = httpx.Response(response.status_code, headers=headers, stream=response.stream,
                                      extensions=response.extensions)
        response.stream = _LimitedBody(response.stream, deadline, budget, self.max_reply_bytes, announced,
                                       decoder or None)
        return response

    def close(self) -> None:
        self._inner.close()


class _LimitedBody(httpx.SyncByteStream):
    def __init__(self, inner: Any, deadline: float | None, budget: float | None, limit: int,
                 announced: int | None, decoder: Any) -> None:
        self._inner, self._deadline, self._budget = inner, deadline, budget
        self._limit, self._announced, self._decoder = limit, announced, decoder

    def __iter__(self) -> Iterator[bytes]:
        received = kept = 0
        chunks = iter(self._inner)
        while True:
            with _deadline(self._deadline, self._budget):
                _local.received = received
                try:
                    chunk = next(chunks)
                except StopIteration:
                    break
                except CallTooSlow:
                    raise
                except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                    raise ReplyCutOff(received, self._announced) from exc
            received += len(chunk)
            if self._decoder is not None:
                chunk = self._decode(chunk, kept)
            kept += len(chunk)
            if kept > self._limit:
                raise ReplyTooLarge(self._limit, self._announced)
            if chunk:
                yield chunk
        if self._decoder is not None:
            tail = self._decoder.flush()
            if kept + len(tail) > self._limit:
                raise ReplyTooLarge(self._limit, self._announced)
            if tail:
                yield tail

    def _decode(self, chunk: bytes, kept: int) -> bytes:
        """Decompress at most what the cap still allows (plus one byte, to notice going past it)."""
        try:
            out = self._decoder.decompress(chunk, self._limit - kept + 1)
        except zlib.error:
            raise httpx.DecodingError("the compressed reply is damaged") from None
        if self._decoder.unconsumed_tail:
            raise ReplyTooLarge(self._limit, self._announced)
        return out

    def close(self) -> None:
        self._inner.close()


def _content_length(response: httpx.Response) -> int | None:
    try:
        value = int(response.headers.get("content-length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def _decoder(encoding: str) -> Any:
    """A bounded decompressor for ``encoding``; False for identity (nothing to do)."""
    if encoding in ("", "identity"):
        return False
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)
    raise httpx.DecodingError(f"the reply uses the content encoding {encoding[:40]!r}, which was not asked for")


def limit_client(client: httpx.Client, max_reply_bytes: int) -> httpx.Client:
    """Make every transport of ``client`` (proxies included) keep deadlines and the body cap."""
    client._transport = _LimitedTransport(client._transport, max_reply_bytes)  # noqa: SLF001
    client._mounts = {pattern: None if transport is None else _LimitedTransport(transport, max_reply_bytes)  # noqa: SLF001
                      for pattern, transport in client._mounts.items()}  # noqa: SLF001
    return client
