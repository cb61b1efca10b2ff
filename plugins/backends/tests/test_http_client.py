"""voice_transcriber.http: retries, Retry-After, timeouts and one-line messages, against a local server."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
from vt_testing.openai_api import (
    OPENAI_QUOTA,
    OPENAI_RATE_LIMIT,
    OPENAI_WRONG_KEY,
    SPEACHES_WRONG_KEY,
    json_reply,
    slow_reply,
    speaches_422,
    text_reply,
)

from voice_transcriber import BackendError, ConfigError, FormatterError
from voice_transcriber.http import (
    HttpOptions,
    RetryPolicy,
    Timeouts,
    bearer,
    error_message,
    is_retryable,
    make_client,
    request,
    retry_after,
    send,
)

FAST = RetryPolicy(max_retries=2, base_delay=0.01)


def reply(status: int, content: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=content, headers=headers, request=httpx.Request("POST", "http://x/v1"))


def test_error_message_reads_each_documented_shape():
    assert error_message(reply(401, b'{"error": {"message": "Incorrect API key", "type": "x"}}')) == "Incorrect API key"
    assert error_message(reply(403, b'{"detail": "Invalid API key. The provided API key is incorrect."}')) \
        == "Invalid API key. The provided API key is incorrect."
    assert error_message(reply(500, b"Internal Server Error")) == "Internal Server Error"
    assert error_message(reply(502, b"<html><title>502 Bad Gateway</title><body>nginx</body></html>")) == "502 Bad Gateway"
    assert error_message(reply(500, bytes(range(256)))).startswith("unreadable reply (256 bytes")
    assert len(error_message(reply(500, b"x" * 5000))) <= 200


def test_error_message_never_echoes_the_422_input_nor_a_key():
    import json

    body = json.dumps(speaches_422("model", "RIFF....SECRET-AUDIO-BYTES")).encode()
    assert error_message(reply(422, body)) == "model: Field required"
    leaked = b'{"error": {"message": "Incorrect API key provided: sk-live-abcdefghijklmnop"}}'
    assert "abcdefghijklmnop" not in error_message(reply(401, leaked))


def test_retry_after_headers():
    assert retry_after(reply(429, headers={"retry-after-ms": "250"})) == 0.25
    assert retry_after(reply(429, headers={"Retry-After": "3"})) == 3.0
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after(reply(429, headers={"Retry-After": date})) <= 31
    assert retry_after(reply(429, headers={"Retry-After": "soon"})) is None
    assert retry_after(reply(429)) is None


@pytest.mark.parametrize(("status", "body", "retryable"), [
    (408, b"", True), (409, b"", True), (429, b"{}", True), (500, b"", True), (503, b"", True),
    (400, b"", False), (401, b"", False), (403, b"", False), (404, b"", False), (413, b"", False),
    (415, b"", False), (422, b"", False),
    (429, b'{"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}}', False),
])
def test_which_statuses_are_retried(status, body, retryable):
    assert is_retryable(reply(status, body)) is retryable


def test_backoff_grows_with_jitter_and_honours_retry_after():
    policy = RetryPolicy(base_delay=1.0, max_delay=3.0, jitter=0.25)
    for attempt, nominal in [(0, 1.0), (1, 2.0), (2, 3.0), (5, 3.0)]:
        assert 0.75 * nominal <= policy.delay(attempt) <= nominal
    assert policy.delay(0, reply(429, headers={"retry-after": "7"})) == 7.0
    assert policy.delay(0, reply(429, headers={"retry-after": "3600"})) is None  # too long: give up


def test_bearer_header():
    assert bearer("sk-abc") == {"Authorization": "Bearer sk-abc"} == bearer(" sk-abc\n")
    assert bearer("none") == bearer("") == bearer(None) == {}
    for pasted in ("\u201csk-abcdefgh\u201d", "sk-abc defgh"):
        with pytest.raises(ConfigError) as caught:
            bearer(pasted)
        assert "abcdefgh" not in str(caught.value) and "paste it again" in str(caught.value)


def test_options_build_policy_and_scaled_timeouts():
    options = HttpOptions.model_validate({"maxRetries": 4, "retryBackoff": 0.1, "connectTimeout": 2,
                                          "readTimeout": 10, "readTimeoutPerAudioSecond": 0.5})
    assert options.retry_policy().max_retries == 4
    timeout = options.timeouts().for_work(60)
    assert (timeout.connect, timeout.read) == (2, 40)


def test_retries_429_then_succeeds(openai_api):
    openai_api.route("POST", "/v1/x", json_reply(OPENAI_RATE_LIMIT, 429, {"retry-after-ms": "50"}), text_reply("ok"))
    logged: list[str] = []
    with make_client() as client:
        start = time.perf_counter()
        response = request(client, "POST", f"{openai_api.url}/x", service="openai", retry=FAST, log=logged.append)
    assert response.text == "ok"
    assert time.perf_counter() - start >= 0.05
    assert len(openai_api.requests("/x")) == 2
    assert "HTTP 429" in logged[0] and "retry 1/2" in logged[0]


def test_5xx_exhausts_retries_with_one_line(openai_api):
    openai_api.route("POST", "/v1/x", text_reply("Internal Server Error", 500))
    with make_client() as client, pytest.raises(BackendError) as caught:
        request(client, "POST", f"{openai_api.url}/x", service="speaches", retry=FAST)
    assert len(openai_api.requests("/x")) == 3
    message = str(caught.value)
    assert message.startswith(f"speaches ({openai_api.url}/x): HTTP 500") and "Internal Server Error" in message
    assert "\n" not in message and caught.value.retryable


@pytest.mark.parametrize(("status", "body"), [(401, OPENAI_WRONG_KEY), (403, SPEACHES_WRONG_KEY), (429, OPENAI_QUOTA)])
def test_never_retried(openai_api, status, body):
    openai_api.route("POST", "/v1/x", json_reply(body, status))
    with make_client() as client, pytest.raises(BackendError) as caught:
        request(client, "POST", f"{openai_api.url}/x", service="openai", retry=FAST, fixes={401: "set OPENAI_API_KEY"})
    assert len(openai_api.requests("/x")) == 1
    assert f"HTTP {status}" in str(caught.value) and not caught.value.retryable
    if status == 401:
        assert str(caught.value).endswith("— fix: set OPENAI_API_KEY")


def test_error_class_is_the_callers(openai_api):
    openai_api.route("POST", "/v1/chat/completions", json_reply(OPENAI_WRONG_KEY, 401))
    with make_client() as client, pytest.raises(FormatterError, match="llm .*HTTP 401, rejected the API key"):
        request(client, "POST", f"{openai_api.url}/chat/completions", service="llm", error_cls=FormatterError, retry=FAST)


def test_slow_reply_times_out_with_the_limit_named(openai_api):
    openai_api.route("POST", "/v1/x", slow_reply(1.0, text_reply("late")))
    timeouts = Timeouts(connect=1, read=0.2, read_per_second=0)
    with make_client() as client, pytest.raises(BackendError, match=r"too slow: no complete reply within 0.2 s —"):
        send(client, "POST", f"{openai_api.url}/x", service="speaches", retry=RetryPolicy(max_retries=1, base_delay=0.01),
             timeout=timeouts.for_work(0))
    assert len(openai_api.seen) == 1  # a call that used up its time is not tried again


def test_refused_and_dropped_connections(closing_server):
    with make_client() as client:
        with pytest.raises(BackendError, match="connection refused.*fix: is Speaches running"):
            send(client, "GET", "http://127.0.0.1:9/v1/models", service="speaches", retry=FAST,
                 unreachable_fix="is Speaches running?")
        with pytest.raises(BackendError, match="closed the connection before answering"):
            send(client, "GET", f"{closing_server}/models", service="speaches", retry=FAST)


def test_invalid_url_is_not_retried():
    with make_client() as client, pytest.raises(BackendError, match="invalid URL 'localhost:8000/v1'"):
        send(client, "GET", "localhost:8000/v1", service="speaches", retry=FAST)


@pytest.fixture
def https_server(tmp_path):
    """A local HTTPS server whose certificate (for localhost, self-signed: ``cert.pem``) no CA signed."""
    import shutil
    import ssl
    import subprocess

    from pytest_httpserver import HTTPServer

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make the test server's certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="localhost", ssl_context=context)
    server.start()
    server.expect_request("/v1/models").respond_with_data("ok")
    yield server.url_for("/v1/models"), cert
    server.clear()
    server.stop()


def test_servers_are_verified_with_one_tls_context_per_process(https_server, monkeypatch):
    """Every client verifies the server against certifi's CAs, or SSL_CERT_FILE's, as httpx does by itself;
    the CA bundle is loaded once per process (it cost ~25 ms of CPU per client), not per client."""
    import ssl

    from voice_transcriber import http

    url, cert = https_server
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    http._tls_context.cache_clear()
    loads = []
    real = ssl.SSLContext.load_verify_locations
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", lambda self, *a, **kw: loads.append(a or kw) or
                        real(self, *a, **kw))
    for _ in range(3):
        with make_client() as client, pytest.raises(BackendError, match="CERTIFICATE_VERIFY_FAILED"):
            send(client, "GET", url, service="speaches", retry=FAST)
    assert len(loads) == 1 and http.tls_context().verify_mode == ssl.CERT_REQUIRED
    assert http.tls_context().check_hostname and http.tls_context().cert_store_stats()["x509_ca"] > 10

    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the user's own CA (here the server's certificate itself)
    for _ in range(2):
        with make_client() as client:
            assert send(client, "GET", url, service="speaches", retry=FAST).text == "ok"
    assert len(loads) == 2 and http.tls_context().cert_store_stats()["x509_ca"] == 1
