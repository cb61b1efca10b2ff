"""A hostile HTTP server on a raw socket: it replies however a test scripts it — dripping bytes,
endless bodies, replies cut mid-body, headers that never end, an upload it never reads.

``hostile_server`` (function; :func:`running_hostile_server` outside pytest, as bench/ uses it):
:class:`HostileServer` on 127.0.0.1; ``serve(script)`` sets what
every connection gets. A script is ``script(conn, request) -> None``: ``request`` is what was
read (headers, and the body unless the script asked for ``read_body=False``). Helpers build the
usual scripts (:func:`reply`, :func:`drip`, :func:`endless`, :func:`cut`, :func:`stall_upload`).
Everything stops when the client goes away or the fixture ends, so no thread outlives the test.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest


@dataclass
class Request:
    head: bytes
    body: bytes = b""

    @property
    def line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode("latin-1")


Script = Callable[[socket.socket, Request], None]


@dataclass
class HostileServer:
    port: int
    stopping: threading.Event
    script: Script | None = None
    read_body: bool = True
    requests: list[Request] = field(default_factory=list, repr=False)

    @property
    def url(self) -> str:
        """Base URL with ``/v1``, as users configure it."""
        return f"http://127.0.0.1:{self.port}/v1"

    def serve(self, script: Script, *, read_body: bool = True) -> HostileServer:
        self.script, self.read_body = script, read_body
        return self

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server is stopping (True: keep going)."""
        return not self.stopping.wait(seconds)


def _read_request(conn: socket.socket, read_body: bool, stopping: threading.Event) -> Request:
    data = b""
    while b"\r\n\r\n" not in data:
        while not select.select([conn], [], [], 0.05)[0]:  # an idle keep-alive connection: until we stop
            if stopping.is_set():
                raise ConnectionError("stopped")
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("client closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if read_body:
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError("client closed")
            body += chunk
    return Request(head, body)


@contextmanager
def running_hostile_server() -> Iterator[HostileServer]:
    """A :class:`HostileServer` on 127.0.0.1 for the ``with`` block (the fixture, and bench/)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    server = HostileServer(listener.getsockname()[1], threading.Event())
    threads: list[threading.Thread] = []

    def handle(conn: socket.socket) -> None:
        with conn:
            try:
                while not server.stopping.is_set():  # keep-alive: one request after another
                    request = _read_request(conn, server.read_body, server.stopping)
                    server.requests.append(request)
                    assert server.script is not None, "call hostile_server.serve(script) first"
                    server.script(conn, request)
            except (OSError, ConnectionError):
                pass  # the client gave up or the script closed the connection

    def accept() -> None:
        while not server.stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            thread = threading.Thread(target=handle, args=(conn,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        server.stopping.set()
        acceptor.join(5)
        listener.close()
        for thread in threads:
            thread.join(5)


@pytest.fixture
def hostile_server() -> Iterator[HostileServer]:
    with running_hostile_server() as server:
        yield server


# --- scripts ----------------------------------------------------------------------------


def head(status: int = 200, headers: dict[str, str] | None = None, *, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def reply(body: bytes, status: int = 200, content_type: str = "application/json",
          headers: dict[str, str] | None = None) -> Script:
    """A correct, complete reply (keep-alive)."""
    def script(conn: socket.socket, request: Request) -> None:
        conn.sendall(head(status, {"Content-Type": content_type, **(headers or {})}, length=len(body)) + body)
    return script


def drip(server: HostileServer, body: bytes, interval: float, *, status: int = 200,
         content_type: str = "application/json", headers_too: bool = False, with_length: bool = True,
         first: bytes = b"") -> Script:
    """Send the reply one byte every ``interval`` seconds (the headers too with ``headers_too``);
    ``first`` goes out at once with the headers, before the drip."""
    def script(conn: socket.socket, request: Request) -> None:
        top = head(status, {"Content-Type": content_type, "Connection": "close"},
                   length=len(first + body) if with_length else None)
        if not headers_too:
            conn.sendall(top + first)
        for byte in (top if headers_too else b"") + body:
            if not server.wait(interval):
                return
            conn.sendall(bytes([byte]))
        conn.close()
        raise ConnectionError("done")
    return script


def endless(server: HostileServer, *, total: int = 2 * 1024**3, chunk: bytes = b"x" * 65536,
            content_type: str = "application/json", sse: bool = False) -> Script:
    """A body of ``total`` bytes (default 2 GB) with no Content-Length, sent as fast as it is read."""
    def script(conn: socket.socket, request: Request) -> None:
        conn.sendall(head(200, {"Content-Type": "text/event-stream" if sse else content_type, "Connection": "close"}))
        piece = b"data: " + b"x" * 65000 + b"\n\n" if sse else chunk
        sent = 0
        while sent < total and not server.stopping.is_set():
            conn.sendall(piece)
            sent += len(piece)
        conn.close()
        raise ConnectionError("done")
    return script


def cut(body: bytes, promised: int | None = None, *, content_type: str = "application/json",
        chunked: bool = False) -> Script:
    """Promise ``promised`` bytes (Content-Length) or a chunked body, send ``body``, close mid-reply."""
    def script(conn: socket.socket, request: Request) -> None:
        if chunked:
            conn.sendall(head(200, {"Content-Type": content_type, "Transfer-Encoding": "chunked"})
                         + f"{len(body):x}\r\n".encode() + body + b"\r\n")
        else:
            conn.sendall(head(200, {"Content-Type": content_type}, length=promised or len(body) + 100) + body)
        conn.shutdown(socket.SHUT_RDWR)
        conn.close()
        raise ConnectionError("cut")
    return script


def stall_upload(server: HostileServer) -> Script:
    """Never read the upload (use with ``read_body=False``): the client's writes block."""
    def script(conn: socket.socket, request: Request) -> None:
        while server.wait(0.05):
            pass
        raise ConnectionError("stopped")
    return script
