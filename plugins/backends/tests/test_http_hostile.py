"""Hostile servers against the HTTP backends: slow drip, endless bodies, replies cut mid-body,
upload stalls, Retry-After for an hour, compression bombs — every call ends by its documented
deadline, never reads an unbounded body, and says in one line what happened.

The servers are raw sockets (``vt_testing.hostile_http``) or the replica API (``openai_api``).
No assertion here is about time: each slow server would *succeed* after longer than the budget,
so a call that did not keep its deadline fails the test by its outcome, not by a stopwatch.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from vt_testing.hostile_http import cut, drip, endless, reply, stall_upload
from vt_testing.openai_api import json_reply, openai_transcription

from voice_transcriber import Audio, BackendError
from voice_transcriber.http import RetryPolicy, Timeouts, make_client, send

#: A reply that is fine, for servers that send it too slowly.
GOOD = json.dumps(openai_transcription("hello there from a slow server")).encode()


@pytest.fixture(scope="module")
def tone() -> Audio:
    """Two seconds loud enough for the silence gate (the budget is per second of audio)."""
    samples = 0.3 * np.sin(2 * np.pi * 220 * np.arange(2 * 16000) / 16000)
    return Audio.from_samples(samples.astype(np.float32), 16000)


def backend(http_backend, server, name: str = "openai", **config):
    url = {"baseUrl": server.url} if name == "openai" else {"url": server.url}
    return http_backend(name, responseFormat="json", **url, **config)


def failure(under_test, audio) -> str:
    with pytest.raises(BackendError) as caught:
        under_test.transcribe(audio)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- row 3: the timeout is a budget for the whole call, not per read -----------------------


def test_a_reply_dripped_byte_by_byte_ends_at_the_documented_budget(hostile_server, http_backend, tone):
    """Issue 18 row 3: 1 byte per 0.1 s — every read is quick, but the reply takes 6 s; the
    budget is readTimeout + readTimeoutPerAudioSecond × 2 s = 1.2 s."""
    hostile_server.serve(drip(hostile_server, GOOD, 0.1))
    message = failure(backend(http_backend, hostile_server, readTimeout=1, readTimeoutPerAudioSecond=0.1), tone)
    assert "openai (" in message and "too slow: no complete reply within 1.2 s" in message
    assert "raise transcription.openai.readTimeout or readTimeoutPerAudioSecond" in message
    assert len(hostile_server.requests) == 1  # a call that used up its time is not tried again


def test_headers_dripped_byte_by_byte_end_at_the_budget_too(hostile_server, http_backend, tone):
    hostile_server.serve(drip(hostile_server, GOOD, 0.02, headers_too=True))
    message = failure(backend(http_backend, hostile_server, name="speaches", readTimeout=0.5,
                              readTimeoutPerAudioSecond=0), tone)
    assert "speaches (" in message and "too slow: no complete reply within 0.5 s" in message


def test_a_streamed_reply_dripped_event_by_event_ends_at_the_budget(hostile_server, http_backend, tone):
    events = "".join(f'data: {{"type": "transcript.text.delta", "delta": " word{n}"}}\n\n' for n in range(1, 80))
    first = b'data: {"type": "transcript.text.delta", "delta": " word0"}\n\n'
    hostile_server.serve(drip(hostile_server, events.encode(), 0.002, content_type="text/event-stream",
                              with_length=False, first=first))  # the whole stream would take 10 s
    under_test = backend(http_backend, hostile_server, stream=True, readTimeout=2, readTimeoutPerAudioSecond=0)
    message = failure(under_test, tone)
    assert "too slow: no complete reply within 2 s" in message
    assert under_test.partials and under_test.partials[0] == "word0"  # shown while it came


def test_an_upload_the_server_never_reads_ends_at_the_budget(hostile_server):
    hostile_server.serve(stall_upload(hostile_server), read_body=False)
    with make_client() as client, pytest.raises(BackendError) as caught:
        send(client, "POST", f"{hostile_server.url}/audio/transcriptions", service="openai",
             content=b"\0" * 64_000_000, timeout=Timeouts(read=0.5, read_per_second=0).for_work(0))
    assert "too slow: no complete reply within 0.5 s; the upload was still under way" in str(caught.value)


# --- row 4: reply bodies are capped, streamed or not, announced or not -----------------------


@pytest.mark.parametrize("sse", [False, True], ids=["body", "event-stream"])
def test_an_endless_body_fails_as_too_big_at_the_configured_cap(hostile_server, http_backend, tone, sse):
    hostile_server.serve(endless(hostile_server, sse=sse))
    message = failure(backend(http_backend, hostile_server, stream=sse, maxReplyBytes=1_000_000), tone)
    assert "reply too big: more than 977 KiB, over the 977 KiB limit" in message
    assert "raise transcription.openai.maxReplyBytes" in message
    assert len(hostile_server.requests) == 1


def test_a_huge_content_length_is_refused_before_reading(hostile_server, http_backend, tone):
    def announce(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2147483648\r\n\r\n{")
    hostile_server.serve(announce)
    message = failure(backend(http_backend, hostile_server), tone)
    assert "reply too big: it announced 2.05e+03 MiB, over the 32 MiB limit" in message


def test_a_compression_bomb_is_capped_after_decompression(hostile_server, http_backend, tone):
    bomb = gzip.compress(b'{"text": "' + b" " * 20_000_000 + b'"}')  # 20 MB in 20 kB
    assert len(bomb) < 100_000
    hostile_server.serve(reply(bomb, headers={"Content-Encoding": "gzip"}))
    message = failure(backend(http_backend, hostile_server, maxReplyBytes=1_000_000), tone)
    assert "reply too big" in message


def test_a_compressed_reply_still_works(hostile_server, http_backend, tone):
    hostile_server.serve(reply(gzip.compress(GOOD), headers={"Content-Encoding": "gzip"}))
    assert backend(http_backend, hostile_server).transcribe(tone).text == "hello there from a slow server"


RSS_PROBE = textwrap.dedent('''
    import resource, sys
    import numpy as np
    from voice_transcriber import Audio, BackendError, RunContext
    from voice_transcriber.config import load_settings
    from voice_transcriber_backends.openai_backend import OpenAIBackend
    settings = load_settings(overrides={"transcription.openai": {
        "baseUrl": sys.argv[1], "apiKey": "sk-x", "responseFormat": "json", "stream": sys.argv[2] == "sse"}})
    audio = Audio.from_samples((0.3 * np.sin(np.arange(32000) / 4)).astype(np.float32), 16000)
    backend = OpenAIBackend(RunContext(settings))
    backend.prepare()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        backend.transcribe(audio)
    except BackendError as exc:
        print(exc)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
''')


def test_a_2_gb_body_without_content_length_costs_no_more_than_the_cap(hostile_server):
    """Issue 18 row 4: RSS grew to 2.0 GB. With the default 32 MiB cap the process grows by at most
    a few times the cap (the body's pieces and their join), whatever the server sends. (A streamed
    reply has the same cap: test_an_endless_body_fails_as_too_big_at_the_configured_cap.)"""
    hostile_server.serve(endless(hostile_server))
    probe = subprocess.run([sys.executable, "-c", RSS_PROBE, hostile_server.url, "json"], capture_output=True,
                           text=True, timeout=120)
    *lines, grown_mb = probe.stdout.strip().splitlines()
    assert probe.returncode == 0, probe.stderr
    assert "reply too big: more than 32 MiB, over the 32 MiB limit" in lines[0]
    assert int(grown_mb) < 120, f"peak RSS grew by {grown_mb} MB"


# --- row 16: cut replies and Retry-After are named ------------------------------------------


def test_a_body_cut_mid_reply_is_named_so(hostile_server, http_backend, tone):
    hostile_server.serve(cut(b'{"text": "And so my', promised=200))
    message = failure(backend(http_backend, hostile_server, maxRetries=1), tone)
    assert "reply cut off mid-reply: the connection ended after 19 of 200 bytes (after 2 attempts)" in message
    assert "closed the connection before answering" not in message
    assert len(hostile_server.requests) == 2  # a dropped connection is worth one more try


def test_a_stream_cut_mid_reply_is_named_so(hostile_server, http_backend, tone):
    event = b'data: {"type": "transcript.text.delta", "delta": " And so"}\n\n'
    hostile_server.serve(cut(event, chunked=True, content_type="text/event-stream"))
    under_test = backend(http_backend, hostile_server, stream=True, maxRetries=0)
    message = failure(under_test, tone)
    assert "reply cut off mid-reply: the connection ended after" in message
    assert under_test.partials == ["And so"]


def test_retry_after_an_hour_gives_up_at_once_and_says_why(openai_api, http_backend, tone):
    """Issue 18 row 16: `Retry-After: 3600` ended the call after one attempt without saying why."""
    body = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
    openai_api.transcriptions(json_reply(body, 429, {"Retry-After": "3600"}))
    message = failure(http_backend("openai"), tone)
    assert "HTTP 429, is rate limiting us: Rate limit reached" in message
    assert "it asked to wait 3600 s before trying again, longer than the 60 s worth holding a dictation" in message
    assert len(openai_api.requests()) == 1


def test_a_short_retry_after_is_honoured(openai_api, http_backend, tone):
    body = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
    openai_api.transcriptions(json_reply(body, 429, {"Retry-After": "0.05"}),
                              json_reply(openai_transcription("second time lucky")))
    assert http_backend("openai", responseFormat="json").transcribe(tone).text == "second time lucky"


def test_core_send_names_each_limit_in_one_line(hostile_server):
    """The same lines for any plugin using voice_transcriber.http."""
    hostile_server.serve(endless(hostile_server))
    with make_client(max_reply_bytes=10_000) as client, pytest.raises(BackendError) as caught:
        send(client, "GET", f"{hostile_server.url}/models", service="my-plugin", retry=RetryPolicy(max_retries=0))
    assert str(caught.value).startswith("my-plugin (http") and "reply too big: more than 9.77 KiB" in str(caught.value)


def test_a_server_refusing_a_long_upload_gets_one_line_saying_how_to_split(openai_api, http_backend, tone):
    openai_api.speaches()
    openai_api.transcriptions(json_reply({"detail": "Request Entity Too Large"}, 413))
    message = failure(http_backend("speaches"), tone)
    assert "HTTP 413, refused the upload as too large" in message
    assert "set transcription.speaches.maxUploadBytes (e.g. 20000000) so long audio is split at pauses" in message


# --- end to end: the recording survives a hostile server, and `retry` works afterwards ----------


def test_a_hostile_server_never_costs_the_recording(hostile_server, write_config, cli):
    import soundfile

    from voice_transcriber.recordings import DELIVERED, recordings_dir

    folder = recordings_dir()
    folder.mkdir(parents=True, mode=0o700)
    recording = folder / "20261205-120000-abc123.wav"
    samples = 0.3 * np.sin(2 * np.pi * 220 * np.arange(2 * 16000) / 16000)
    soundfile.write(recording, samples, 16000, subtype="PCM_16")
    write_config({"transcription": {"backend": "openai", "openai": {
        "baseUrl": hostile_server.url, "apiKey": "sk-x", "responseFormat": "json", "readTimeout": 1,
        "readTimeoutPerAudioSecond": 0, "maxReplyBytes": 100_000, "maxRetries": 0}}})
    for script, what in ((drip(hostile_server, GOOD, 0.1), "too slow"), (endless(hostile_server), "reply too big"),
                         (cut(GOOD[:10], promised=100), "cut off mid-reply")):
        hostile_server.serve(script)
        with pytest.raises(BackendError) as caught:
            cli("retry", "last", "--output", "stdout")
        message = str(caught.value)
        assert what in message and "\n" not in message
        assert str(recording) in message and "voice-transcriber retry 20261205-120000-abc123" in message
        assert recording.exists() and not recording.with_suffix(DELIVERED).exists()
    hostile_server.serve(reply(json.dumps({"text": "back\x1b[2J again"}).encode()))
    assert cli("retry", "last", "--output", "stdout").stdout.strip() == "back again"


def test_a_long_upload_refused_as_too_large_is_sent_again_in_pieces(openai_api, http_backend, capsys):
    """A server behind a proxy with a body limit (nginx: 1 MB by default) and no maxUploadBytes set:
    the 413 is answered by splitting at pauses, and the texts are joined in order."""
    from werkzeug import Response

    rng = np.random.default_rng(0)
    period = np.zeros(2 * 16000, dtype=np.float32)
    period[: int(1.6 * 16000)] = 0.3 * rng.standard_normal(int(1.6 * 16000))  # noise does not compress
    audio = Audio.from_samples(np.tile(period, 40), 16000)  # 80 s, a pause every 2 s
    limit = 700_000

    def limited(request):
        size = len(request.files["file"].read())
        if size > limit:
            return Response(json.dumps({"detail": "Request Entity Too Large"}), 413, content_type="application/json")
        return Response(json.dumps({"text": f"part{len(openai_api.requests())}"}), content_type="application/json")

    openai_api.speaches()
    openai_api.transcriptions(limited)
    transcript = http_backend("speaches", responseFormat="json").transcribe(audio)
    seen = openai_api.requests()
    accepted = [s for s in seen if len(s.file_data) <= limit]
    assert len(seen) > len(accepted) >= 2
    assert transcript.text.split() == [f"part{n}" for n in range(1, len(seen) + 1) if len(seen[n - 1].file_data) <= limit]
    assert re.search(r"speaches: the server refused \d+ bytes \(80 s of audio\) as too large; sending it in \d+ "
                     r"pieces split at pauses \(set transcription.speaches.maxUploadBytes", capsys.readouterr().err)


def test_a_stuck_name_lookup_is_inside_the_deadline(openai_api, http_backend, tone, monkeypatch):
    """A resolver that hangs (an offline laptop, a dead DNS server) cannot hold the call either."""
    import socket
    import threading

    real = socket.getaddrinfo
    release = threading.Event()

    def slow_lookup(host, *args, **kwargs):
        if host == "stuck-dns.test":
            release.wait(10)  # would answer, correctly, after the budget
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_lookup)
    openai_api.transcriptions(json_reply(openai_transcription("resolved")))
    stuck = openai_api.url.replace("127.0.0.1", "stuck-dns.test")
    try:
        message = failure(http_backend("openai", baseUrl=stuck, readTimeout=0.5, readTimeoutPerAudioSecond=0), tone)
    finally:
        release.set()
    assert "too slow: no complete reply within 0.5 s; still connecting" in message
    by_name = openai_api.url.replace("127.0.0.1", "localhost")  # an ordinary lookup still works
    assert http_backend("openai", baseUrl=by_name, responseFormat="json").transcribe(tone).text == "resolved"


def test_an_unreachable_first_address_falls_back_to_the_next(openai_api, http_backend, tone, monkeypatch):
    """Like socket.create_connection: a dead or blackholed address (IPv6 without a route) is skipped."""
    import socket

    real = socket.getaddrinfo

    def two_addresses(host, port, *args, **kwargs):
        if host != "two-addresses.test":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.255.255.1", port)),
                *real("127.0.0.1", port, *args, **kwargs)]

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    openai_api.transcriptions(json_reply(openai_transcription("second address")))
    url = openai_api.url.replace("127.0.0.1", "two-addresses.test")
    under_test = http_backend("openai", baseUrl=url, responseFormat="json", connectTimeout=0.3)
    assert under_test.transcribe(tone).text == "second address"
