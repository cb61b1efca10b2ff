"""Local replicas of the OpenAI and Speaches HTTP APIs, replying exactly as ``api-spec.md`` documents.

Fixtures:

- ``api_server`` (session): a threaded pytest-httpserver; ``openai_api`` (function) clears it
  and wraps it in :class:`ApiReplay`, which installs realistic routes and records requests.
- ``closing_server`` (function): a TCP server that accepts and closes every connection at once
  (a crashed or restarting server).

Bodies are module constants so tests can assert on what a real server sends, and the
chat-completions replay (:meth:`ApiReplay.chat`) serves the llm formatter's tests.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

# --- bodies, as the real servers send them (api-spec.md §2, §3, §4) ----------------------

def openai_error(message: str, type_: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


OPENAI_WRONG_KEY = openai_error("Incorrect API key provided: sk-wrong*****1234. You can find your API key at "
                                "https://platform.openai.com/account/api-keys.", code="invalid_api_key")
OPENAI_MISSING_KEY = openai_error("You didn't provide an API key. You need to provide your API key in an "
                                  "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
OPENAI_BAD_FORMAT = openai_error("Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', "
                                 "'mpga', 'oga', 'ogg', 'wav', 'webm']")
OPENAI_TOO_LARGE = {"error": {"message": "Maximum content size limit (26214400) exceeded (26289329 bytes read)",
                              "type": "server_error", "param": None, "code": None}}
OPENAI_RATE_LIMIT = openai_error("Rate limit reached for whisper-1 in organization org-abc on requests per min (RPM): "
                                 "Limit 50, Used 50, Requested 1.", "requests", "rate_limit_exceeded")
OPENAI_QUOTA = openai_error("You exceeded your current quota, please check your plan and billing details.",
                            "insufficient_quota", "insufficient_quota")
OPENAI_SERVER_ERROR = openai_error("The server had an error while processing your request. Sorry about that!",
                                   "server_error")
OPENAI_OVERLOADED = openai_error("The engine is currently overloaded, please try again later", "server_error")


def openai_model_not_found(model: str) -> dict[str, Any]:
    return openai_error(f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found")


SPEACHES_MISSING_KEY = {"detail": "API key required. Please provide an API key using the Authorization header with Bearer scheme."}
SPEACHES_WRONG_KEY = {"detail": "Invalid API key. The provided API key is incorrect."}
SPEACHES_BAD_AUDIO = {"detail": "Failed to decode audio. The provided file type is not supported."}


def speaches_not_installed(model: str) -> dict[str, Any]:
    return {"detail": f"Model '{model}' is not installed locally. You can download the model using `POST /v1/models`"}


def speaches_422(field_name: str, echoed_input: str) -> dict[str, Any]:
    """FastAPI's validation error; ``input`` echoes what was sent (it may be the upload)."""
    return {"detail": [{"type": "missing", "loc": ["body", field_name], "msg": "Field required",
                        "input": echoed_input}]}


def openai_transcription(text: str, whisper: bool = True) -> dict[str, Any]:
    usage = ({"type": "duration", "seconds": 11} if whisper else
             {"type": "tokens", "input_tokens": 110, "output_tokens": 25, "total_tokens": 135,
              "input_token_details": {"audio_tokens": 110, "text_tokens": 0}})
    return {"text": text, "usage": usage}


def speaches_transcription(text: str) -> dict[str, Any]:
    return {"text": " " + text, "logprobs": None, "usage": None}


def verbose_segment(id_: int, start: float, end: float, text: str, no_speech_prob: float = 0.01,
                    avg_logprob: float = -0.2) -> dict[str, Any]:
    return {"id": id_, "seek": 0, "start": start, "end": end, "text": " " + text, "tokens": [50364, 400, 50614],
            "temperature": 0.0, "avg_logprob": avg_logprob, "compression_ratio": 1.2, "no_speech_prob": no_speech_prob}


def verbose_transcription(segments: list[dict[str, Any]], language: str = "en", duration: float = 11.0) -> dict[str, Any]:
    """Speaches' verbose_json (OpenAI adds ``task`` and ``usage``, names the language in full)."""
    return {"language": language, "duration": duration, "text": "".join(s["text"] for s in segments),
            "segments": segments, "words": None, "usage": None}


def sse(events: list[Any]) -> str:
    """A Server-Sent-Events body: one ``data:`` line per event, each followed by a blank line."""
    return "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events)


def speaches_stream(chunks: list[str]) -> str:
    """Speaches main: one delta per VAD chunk (leading space), then ``done`` with an EMPTY text."""
    return sse([{"type": "transcript.text.delta", "delta": " " + c, "logprobs": None} for c in chunks]
               + [{"type": "transcript.text.done", "text": "", "logprobs": None}])


def openai_stream(tokens: list[str]) -> str:
    """OpenAI gpt-4o: token-sized deltas, then ``done`` with the full text and usage."""
    usage = {"type": "tokens", "input_tokens": 14, "output_tokens": len(tokens), "total_tokens": 14 + len(tokens)}
    return sse([{"type": "transcript.text.delta", "delta": t, "logprobs": []} for t in tokens]
               + [{"type": "transcript.text.done", "text": "".join(tokens), "logprobs": [], "usage": usage}])


def chat_completion(content: str | None, finish_reason: str = "stop", model: str = "gpt-4o-mini") -> dict[str, Any]:
    return {"id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1741570283,
            "model": model, "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                                                 "refusal": None, "annotations": []},
                                         "logprobs": None, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29},
            "service_tier": "default"}


# --- what the server saw -------------------------------------------------------------------

@dataclass
class SeenRequest:
    """One request the replica received, with the multipart parts decoded."""

    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    file_type: str | None = None
    file_data: bytes = b""
    json: Any = None

    @property
    def auth(self) -> str | None:
        return self.headers.get("authorization")


def _record(request: Request) -> SeenRequest:
    seen = SeenRequest(request.method, request.path, {k.lower(): v for k, v in request.headers.items()})
    if request.mimetype == "multipart/form-data":
        seen.fields = {k: v for k, v in request.form.items()}
        upload = request.files.get("file")
        if upload is not None:
            seen.filename, seen.file_type, seen.file_data = upload.filename, upload.mimetype, upload.read()
            upload.stream.seek(0)  # the reply handler may read it too
    elif request.mimetype == "application/json":
        seen.json = json.loads(request.get_data() or b"null")
    return seen


Reply = Callable[[Request], Response]


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return lambda _: Response(json.dumps(body), status, headers, content_type="application/json")


def text_reply(body: str | bytes, status: int = 200, content_type: str = "text/plain; charset=utf-8",
               headers: dict[str, str] | None = None) -> Reply:
    return lambda _: Response(body, status, headers, content_type=content_type)


def sse_reply(body: str) -> Reply:
    return lambda _: Response(body, 200, {"Cache-Control": "no-cache"}, content_type="text/event-stream")


def slow_reply(seconds: float, then: Reply) -> Reply:
    def reply(request: Request) -> Response:
        time.sleep(seconds)
        return then(request)
    return reply


def broken_stream_reply(first: str) -> Reply:
    """Sends ``first`` of an SSE stream, then the connection breaks mid-body."""
    def body() -> Iterator[bytes]:
        yield first.encode()
        raise ConnectionAbortedError("server died mid-stream")
    return lambda _: Response(body(), 200, content_type="text/event-stream")


def short_body_reply(body: bytes) -> Reply:
    """Promises more bytes than it sends (Content-Length), then closes: a dropped connection."""
    return lambda _: Response(body, 200, {"Content-Length": str(len(body) + 100)}, content_type="application/json")


class ApiReplay:
    """Routes of a replica OpenAI/Speaches server on ``server``; replies are queued per route."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.seen: list[SeenRequest] = []
        self._queues: dict[tuple[str, str], list[Reply]] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Base URL with ``/v1``, as users configure it."""
        return self.server.url_for("/v1").rstrip("/")

    @property
    def root(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def route(self, method: str, path: str, *replies: Reply) -> None:
        """Answer ``method path`` with ``replies`` in turn; the last one repeats."""
        key = (method, path)
        with self._lock:
            fresh = key not in self._queues
            self._queues[key] = list(replies)
        if fresh:
            self.server.expect_request(path, method=method).respond_with_handler(lambda r, k=key: self._answer(k, r))

    def _answer(self, key: tuple[str, str], request: Request) -> Response:
        seen = _record(request)
        with self._lock:
            self.seen.append(seen)
            queue = self._queues[key]
            reply = queue.pop(0) if len(queue) > 1 else queue[0]
        return reply(request)

    def requests(self, path_end: str = "/audio/transcriptions") -> list[SeenRequest]:
        return [s for s in self.seen if s.path.endswith(path_end)]

    # --- ready-made servers -------------------------------------------------------------

    def transcriptions(self, *replies: Reply) -> None:
        self.route("POST", "/v1/audio/transcriptions", *replies)

    def speaches(self, installed: tuple[str, ...] = ("Systran/faster-whisper-base",), api_key: str | None = None) -> None:
        """Speaches' model and health routes (§3.1); with ``api_key``, 403s as §3.2 describes."""
        self.route("GET", "/health", json_reply({"message": "OK"}))
        listing = {"data": [{"id": m, "created": 0, "object": "model", "owned_by": m.split("/")[0],
                             "language": ["en"], "task": "automatic-speech-recognition"} for m in installed]
                   + [{"id": "silero_vad_v5", "created": 0, "object": "model", "owned_by": "silero",
                       "language": [], "task": "voice-activity-detection"}], "object": "list"}
        def models(request: Request) -> Response:
            task = request.args.get("task")
            wanted = [m for m in listing["data"] if task is None or m["task"] == task]
            return json_reply({**listing, "data": wanted})(request)

        self.route("GET", "/v1/models", self._guarded(api_key, models))
        for model in installed:
            self.route("POST", f"/v1/models/{model}", self._guarded(api_key, text_reply(f"Model '{model}' already exists", 201)))
            self.route("GET", f"/v1/models/{model}", self._guarded(api_key, json_reply(listing["data"][installed.index(model)])))
            self.route("POST", f"/api/ps/{model}", self._guarded(api_key, json_reply({"message": f"Model '{model}' loaded."}, 201)))

    @staticmethod
    def _guarded(api_key: str | None, reply: Reply) -> Reply:
        if api_key is None:
            return reply

        def check(request: Request) -> Response:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                return json_reply(SPEACHES_MISSING_KEY, 403, {"WWW-Authenticate": "Bearer"})(request)
            if header != f"Bearer {api_key}":
                return json_reply(SPEACHES_WRONG_KEY, 403)(request)
            return reply(request)
        return check

    def chat(self, kind: str = "success", content: str = "Hello, world.") -> None:
        """``POST /v1/chat/completions`` replying as OpenAI does: ``success``, ``unauthorized`` (401),
        ``rate_limited`` (429 + Retry-After), ``quota`` (429 insufficient_quota), ``server_error`` (500),
        ``timeout`` (answers after 3 s), ``not_json`` (an HTML page), ``empty_choices``, ``truncated``
        (finish_reason length), ``refusal`` (content null)."""
        replies: dict[str, Reply] = {
            "success": json_reply(chat_completion(content)),
            "unauthorized": json_reply(OPENAI_WRONG_KEY, 401),
            "rate_limited": json_reply(OPENAI_RATE_LIMIT, 429, {"Retry-After": "0.05"}),
            "quota": json_reply(OPENAI_QUOTA, 429),
            "server_error": json_reply(OPENAI_SERVER_ERROR, 500),
            "timeout": slow_reply(3.0, json_reply(chat_completion(content))),
            "not_json": text_reply("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
                                   200, "text/html"),
            "empty_choices": json_reply({**chat_completion(content), "choices": []}),
            "truncated": json_reply(chat_completion(content, finish_reason="length")),
            "refusal": json_reply(chat_completion(None)),
        }
        self.route("POST", "/v1/chat/completions", replies[kind])


@pytest.fixture(scope="session")
def api_server() -> Iterator[HTTPServer]:
    """A threaded local HTTP server (slow replies do not block other requests)."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


@pytest.fixture
def openai_api(api_server: HTTPServer) -> Iterator[ApiReplay]:
    """A fresh :class:`ApiReplay` on the shared server (routes and log cleared after the test)."""
    api_server.clear()
    api_server.no_handler_status_code = 404  # like FastAPI for a route it does not have
    try:
        yield ApiReplay(api_server)
    finally:
        api_server.clear()


@pytest.fixture
def closing_server() -> Iterator[str]:
    """``http://127.0.0.1:PORT/v1`` where every connection is accepted and closed at once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        thread.join(2)
        listener.close()
