"""Fuzz: a raw socket server answers with random status lines, headers, bodies and timing —
dripping, stalling, closing mid-reply, compressing, sending far more than it announced.

Whatever it does, a transcription through the pipeline ends in text that is safe to type or in
one clean line (never a traceback); it never hangs past its deadline (the call runs in a thread
that must finish well within the budget of every attempt plus a generous margin for a loaded
machine); and it never allocates more than a few MB, even when the server sends 64 MB (measured
with tracemalloc around the call). Through the command line (`retry last`), the stored recording is
always kept, and a failure names it.
"""

from __future__ import annotations

import gzip
import json
import select
import threading
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_transcriber import Audio, BackendError
from voice_transcriber.pipeline import transcribe
from voice_transcriber.safe_text import clean_text

BUDGET = 0.8  # readTimeout: the whole-call deadline of each attempt (a local exchange takes ~10 ms)
CAP = 4096  # maxReplyBytes
RETRIES = 1
#: Peak bytes allocated by one call (imports on the first one included): a body read whole would be 64 MB.
ALLOCATION = 16_000_000
#: Far above what a call may take (BUDGET per attempt, 10 ms backoff) unless it hangs.
HANG = (RETRIES + 1) * BUDGET + 20

HOSTILE_TEXT = "tab\there esc\x1b[31mred\x1b[0m bs\x08x cr\rend nul\x00 \ud800"
texts = st.text(max_size=40) | st.just(HOSTILE_TEXT) | st.text(st.characters(max_codepoint=0x9f), max_size=20)
json_bodies = st.one_of(
    texts.map(lambda t: {"text": t}),
    st.builds(lambda t, n: {"text": t, "segments": [{"start": 0, "end": 1, "text": t, "no_speech_prob": n,
                                                     "avg_logprob": -0.1}]}, texts, st.floats(0, 1)),
    st.dictionaries(st.text(max_size=6), st.none() | st.integers() | texts, max_size=3),
    st.just({"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}),
).map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass"))
sse_bodies = st.lists(texts, max_size=4).map(lambda ts: "".join(
    f"data: {json.dumps({'type': 'transcript.text.delta', 'delta': t})}\n\n" for t in ts).encode("utf-8", "replace"))
bodies = st.one_of(json_bodies, sse_bodies, st.binary(max_size=300), st.just(b""),
                   st.integers(CAP + 1, 3 * CAP).map(lambda n: b'{"text": "' + b"a" * n + b'"}'))


@st.composite
def replies(draw):
    """(bytes to send, how to send them)."""
    status_line = draw(st.sampled_from([
        "HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 201 Created", "HTTP/1.1 204 No Content",
        "HTTP/1.1 400 Bad Request", "HTTP/1.1 413 Too Large", "HTTP/1.1 429 Slow Down", "HTTP/1.1 500 Oops",
        "HTTP/1.1 503 Busy", "HTTP/1.1 999 What", "HTTP/1.0 200 OK", "HTTP/1.1 abc", "garbage", ""]))
    body = draw(bodies)
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/event-stream", "text/plain",
                                                      "text/html", "application/octet-stream"]))}
    encoding = draw(st.sampled_from([None, None, "gzip", "deflate", "br", "x-nonsense"]))
    if encoding == "gzip":
        body = gzip.compress(body) if draw(st.booleans()) else body  # sometimes a lie
    elif encoding == "deflate":
        body = zlib.compress(body)
    if encoding:
        headers["Content-Encoding"] = encoding
    framing = draw(st.sampled_from(["length", "length", "short", "long", "garbage", "none", "chunked", "bad-chunk"]))
    if framing in ("length", "short", "long", "garbage"):
        headers["Content-Length"] = {"length": str(len(body)), "short": str(max(0, len(body) - 5)),
                                     "long": str(len(body) + 50), "garbage": "lots"}[framing]
    elif framing in ("chunked", "bad-chunk"):
        headers["Transfer-Encoding"] = "chunked"
        size = f"{len(body):x}" if framing == "chunked" else "zz"
        body = f"{size}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    if draw(st.booleans()):
        headers["Retry-After"] = draw(st.sampled_from(["0", "0.01", "3600", "-1", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"]))
    if draw(st.booleans()):
        headers[draw(st.sampled_from(["X-Junk", "Set-Cookie", "Connection"]))] = draw(
            st.sampled_from(["close", "keep-alive", "a\x01b", "é"]))
    head = status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    data = head.encode("utf-8", "replace") + body
    timing = draw(st.sampled_from(["at once", "at once", "drip", "stall", "close early", "endless"]))
    return data, timing, draw(st.integers(0, max(0, len(data) - 1)))


def play(server, data: bytes, timing: str, cut_at: int):
    """The script a connection gets: send ``data`` as ``timing`` says."""
    def gone(conn) -> bool:  # the client closed its end (readable with nothing to read)
        return bool(select.select([conn], [], [], 0)[0]) and not conn.recv(1, 2)  # 2 = MSG_PEEK

    def script(conn, request) -> None:
        if timing == "drip":  # the whole reply would take 2 s: longer than the budget
            for start in range(0, len(data), max(1, len(data) // 40)):
                if not server.wait(0.05) or gone(conn):
                    break
                conn.sendall(data[start:start + max(1, len(data) // 40)])
        elif timing == "stall":
            conn.sendall(data[:cut_at])
            while server.wait(0.05) and not gone(conn):
                pass
        elif timing == "close early":
            conn.sendall(data[:cut_at])
        elif timing == "endless":  # promise nothing, send 64 MB
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
            for _ in range(1024):
                conn.sendall(b"x" * 65536)
        else:
            conn.sendall(data)
        conn.close()
        raise ConnectionError("done")
    return script


@pytest.fixture(scope="module")
def speech() -> Audio:
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(8000) / 16000)
    return Audio.from_samples(tone.astype(np.float32), 16000)


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(reply=replies(), stream=st.booleans(), name=st.sampled_from(["openai", "speaches"]))
def test_any_server_behaviour_ends_in_safe_text_or_one_line_in_time_and_memory(hostile_server, http_backend, speech,
                                                                               reply, stream, name):
    data, timing, cut_at = reply
    hostile_server.serve(play(hostile_server, data, timing, cut_at))
    url = {"baseUrl": hostile_server.url} if name == "openai" else {"url": hostile_server.url}
    under_test = http_backend(name, stream=stream, maxRetries=RETRIES, readTimeout=BUDGET, readTimeoutPerAudioSecond=0,
                              maxReplyBytes=CAP, **url)
    under_test.ctx.debug = False
    outcome: list[object] = []

    def call() -> None:
        tracemalloc.start()
        try:
            outcome.append(transcribe(speech, [under_test.backend], under_test.ctx))
        except BaseException as exc:  # noqa: BLE001 - judged below
            outcome.append(exc)
        finally:
            outcome.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(HANG)
    assert not worker.is_alive(), f"hung past {HANG} s ({timing}): {data[:200]!r}"
    result, peak = outcome
    assert peak < ALLOCATION, f"allocated {peak} bytes ({timing})"
    if isinstance(result, BaseException):
        assert isinstance(result, BackendError), f"{type(result).__name__}: {result}"
        message = str(result)
        assert message.startswith(f"{name} (") or message.startswith(f"{name}:"), message
        assert "\n" not in message and len(message) < 700 and "Traceback" not in message
        assert clean_text(message).text == message  # no control character from the server, quoted
    else:
        assert clean_text(result.text).text == result.text  # safe to type
        # a dripped reply takes 1.5-2 s, about two budgets: a transcript would mean the deadline was missed
        assert timing != "drip", f"a dripped reply was accepted: {data[:200]!r}"


@pytest.mark.parametrize("timing", ["at once", "drip", "stall", "close early"])
@settings(max_examples=3, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=texts, cut=st.floats(0, 0.99), chunked=st.booleans())
def test_a_good_reply_with_bad_timing_is_named_by_what_went_wrong(hostile_server, http_backend, speech, text, timing,
                                                                  cut, chunked):
    """The same valid transcription, sent at once, dripped past the deadline, stalled or cut at a
    random byte: the text (made safe), "too slow", or a connection that ended — never anything else."""
    body = json.dumps({"text": text}).encode()
    if chunked:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    else:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    data = head + body
    hostile_server.serve(play(hostile_server, data, timing, int(cut * len(data))))
    under_test = http_backend("openai", baseUrl=hostile_server.url, responseFormat="json", maxRetries=0,
                              readTimeout=BUDGET, readTimeoutPerAudioSecond=0)
    under_test.ctx.debug = False
    try:
        transcript = transcribe(speech, [under_test.backend], under_test.ctx)
    except BackendError as exc:
        message = str(exc)
        assert timing != "at once", message
        if timing in ("drip", "stall"):
            assert f"too slow: no complete reply within {BUDGET:g} s" in message
        else:
            assert ("cut off mid-reply" in message or "closed the connection before answering" in message
                    or "unreadable reply" in message), message
    else:
        assert timing == "at once"
        assert transcript.text.strip() == clean_text(text).text.strip()


@settings(max_examples=6, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(reply=replies())
def test_whatever_the_server_does_the_recording_is_kept(hostile_server, write_config, cli, reply):
    """Through the command line (`retry last`): a stored recording outlives any reply, and a failure
    is one VoiceTranscriberError line (the CLI prints it and exits 1), never another exception."""
    import soundfile

    from voice_transcriber import VoiceTranscriberError
    from voice_transcriber.recordings import recordings_dir

    data, timing, cut_at = reply
    folder = recordings_dir()
    folder.mkdir(parents=True, mode=0o700, exist_ok=True)
    recording = folder / "20261205-130000-fuzz01.wav"
    if not recording.exists():
        soundfile.write(recording, 0.3 * np.sin(2 * np.pi * 220 * np.arange(8000) / 16000), 16000, subtype="PCM_16")
    write_config({"transcription": {"backend": "openai", "openai": {
        "baseUrl": hostile_server.url, "apiKey": "sk-x", "readTimeout": BUDGET, "readTimeoutPerAudioSecond": 0,
        "maxReplyBytes": CAP, "maxRetries": 0}}})
    hostile_server.serve(play(hostile_server, data, timing, cut_at))
    try:
        result = cli("retry", "last", "--output", "stdout")
    except VoiceTranscriberError as exc:
        assert "\n" not in str(exc) and str(recording) in str(exc)
    else:
        assert clean_text(result.stdout).text == result.stdout
    assert recording.exists()
