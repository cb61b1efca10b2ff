"""Reading transcription replies: json, text, verbose_json, subtitles, and SSE streams.

Accepts exactly what ``api-spec.md`` documents for OpenAI and Speaches (main and v0.8.3),
and rejects anything else with :class:`ReplyError` (one line, never the body itself) so a
broken server or proxy ends in a clean error instead of a traceback or made-up text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from voice_transcriber import Segment
from voice_transcriber.safe_text import safe_text

_DONE = "[DONE]"
#: Partial text is reported after every piece up to this many characters (any dictation), then
#: each time it grew by an eighth: re-joining a huge stream at every piece would take quadratic time.
_EVERY_PIECE_UP_TO = 4096


class ReplyError(ValueError):
    """The server answered 2xx but not with a transcription we can read."""


@dataclass(frozen=True)
class SpeechFilter:
    """Whisper's own rule for "this segment is not speech": a high ``no_speech_prob``
    together with a low ``avg_logprob`` (faster-whisper's defaults 0.6 and -1.0)."""

    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0

    def is_speech(self, segment: dict[str, Any]) -> bool:
        no_speech = segment.get("no_speech_prob")
        log_prob = segment.get("avg_logprob")
        if not isinstance(no_speech, (int, float)) or not isinstance(log_prob, (int, float)):
            return True
        return not (no_speech > self.no_speech_threshold and log_prob < self.log_prob_threshold)


@dataclass
class Heard:
    """What one reply contained."""

    text: str
    segments: list[Segment] = field(default_factory=list)
    language: str | None = None
    dropped: int = 0


def parse_body(content: bytes, response_format: str, speech: SpeechFilter) -> Heard:
    """Read a non-streaming reply in ``response_format`` (json, text, verbose_json, srt, vtt)."""
    if response_format in ("text", "srt", "vtt"):
        try:
            return Heard(content.decode("utf-8").strip())
        except UnicodeDecodeError:
            raise ReplyError("the text reply is not UTF-8") from None
    body = _json_object(content)
    text = body.get("text")
    if not isinstance(text, str):
        raise ReplyError('the JSON reply has no "text" string')
    language = body.get("language") if isinstance(body.get("language"), str) else None
    if response_format == "verbose_json" and body.get("segments") is not None:
        return _verbose(body["segments"], language, speech)
    return Heard(text.strip(), language=language)


def _verbose(raw_segments: Any, language: str | None, speech: SpeechFilter) -> Heard:
    if not isinstance(raw_segments, list):
        raise ReplyError('"segments" in the verbose_json reply is not a list')
    kept: list[Segment] = []
    dropped = 0
    for item in raw_segments:
        if not (isinstance(item, dict) and isinstance(item.get("text"), str)
                and all(isinstance(item.get(k), (int, float)) for k in ("start", "end"))):
            raise ReplyError("a segment in the verbose_json reply lacks start, end or text")
        if speech.is_speech(item):
            kept.append(Segment(float(item["start"]), float(item["end"]), item["text"].strip()))
        else:
            dropped += 1
    text = " ".join(segment.text for segment in kept if segment.text)
    return Heard(text, kept, language, dropped)


def _json_object(content: bytes) -> dict[str, Any]:
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise ReplyError(f"expected JSON, got {len(content)} bytes that are not JSON") from None
    if not isinstance(body, dict):
        raise ReplyError(f"expected a JSON object, got a JSON {type(body).__name__}")
    return body


def read_stream(lines: Iterable[str], on_text: Callable[[str], None]) -> Heard:
    """Join a Server-Sent-Events transcription stream; ``on_text`` gets the text so far.

    Handles ``transcript.text.delta``/``done`` events (OpenAI; Speaches, whose ``done`` text
    is empty, so the deltas are what counts), a ``data: [DONE]`` end marker, an ``error``
    object mid-stream, and Speaches v0.8.3's per-segment ``data: text`` / ``data: {"text"}``.
    The caller bounds the stream's size and time (``voice_transcriber.http``).
    """
    pieces: list[str] = []
    done_text: str | None = None
    events = size = shown = 0
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments, event: lines
        payload = line[5:].removeprefix(" ")
        if payload.strip() == _DONE:
            break
        events += 1
        piece, finished = _stream_event(payload)
        if finished is not None:
            done_text = finished
        elif piece:
            pieces.append(piece)
            size += len(piece)
            if size <= _EVERY_PIECE_UP_TO or size >= shown + shown // 8:  # a hostile stream of tiny
                shown = size                                                # pieces costs linear time
                on_text("".join(pieces).strip())
    if not events:
        raise ReplyError("the event stream ended without any transcription event")
    return Heard((done_text or "".join(pieces)).strip())


def _stream_event(payload: str) -> tuple[str | None, str | None]:
    """(text piece, final text) of one ``data:`` payload.

    Deltas are token-sized and joined as they are; v0.8.3 sends whole segments, which get a
    separating space when the server did not start them with one.
    """
    if not payload.lstrip().startswith("{"):
        return _segment(payload), None  # v0.8.3 response_format=text: the segment text itself
    try:
        event = json.loads(payload)
    except ValueError:
        raise ReplyError("the event stream contains a truncated or malformed event") from None
    if not isinstance(event, dict):
        raise ReplyError("the event stream contains a malformed event")
    if "error" in event:
        error = event["error"]
        message = error.get("message") if isinstance(error, dict) else error
        said = " ".join(safe_text(message).split())[:200] if isinstance(message, str) else "unknown"
        raise ReplyError(f"the server reported an error mid-stream: {said}")
    kind = event.get("type")
    if kind is not None and not isinstance(kind, str):
        raise ReplyError('an event has a "type" that is not a string')
    key = {"transcript.text.delta": "delta", "transcript.text.done": "text", None: "text"}.get(kind)
    if key is None:
        return None, None  # other event types (segment, future ones) carry nothing we need
    value = event.get(key)
    if not isinstance(value, str):
        raise ReplyError(f'a "{kind or "text"}" event has no "{key}" string')
    if kind == "transcript.text.done":
        return None, value
    return (value if kind else _segment(value)), None


def _segment(text: str) -> str:
    return text if text[:1].isspace() else " " + text
