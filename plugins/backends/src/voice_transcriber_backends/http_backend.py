"""What the ``openai`` and ``speaches`` backends share: one OpenAI-style transcription call.

``POST <url>/audio/transcriptions`` as multipart form data, with a silence gate before
the upload, FLAC or Opus encoding, splitting at pauses when the server has a size limit,
retries (``voice_transcriber.http``), SSE streaming with partial text, and Whisper's
no-speech filter on ``verbose_json`` segments. While recording, phrases arrive through
``transcribe_segment`` as concurrent requests (``segment_concurrency``), each prompted with
the text decided before it. Subclasses supply the URL, the key, the
extra form fields and the service-specific fixes in error messages.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from voice_transcriber import Backend, BackendError, ConfigError, ConfigModel, Segment, Transcript
from voice_transcriber.http import bearer, check_response, describe_failure, make_client, send

from .prompts import LANGUAGE_NAMES, segment_prompt, transcription_prompt
from .replies import Heard, ReplyError, SpeechFilter, parse_body, read_stream
from .upload import ENCODINGS, RATE, Chunk, no_frame_above, speech_seconds, split_for_upload

if TYPE_CHECKING:
    import httpx

    from voice_transcriber import Audio

#: OpenAI's verbose_json names the language ("english"); Speaches gives the code ("en").
_LANGUAGE_CODES = {name.lower(): code for code, name in LANGUAGE_NAMES.items()}


class HttpBackendConfig(ConfigModel):
    """Keys every HTTP transcription backend understands. A backend's model combines it as
    ``class MyConfig(HttpOptions, HttpBackendConfig, MyEndpoint)`` so that `config init` lists
    the endpoint keys (URL, key, model) first and the retry/timeout keys after these."""

    response_format: Literal["auto", "json", "text", "verbose_json", "srt", "vtt"] = Field(
        "auto", description='"auto" asks for verbose_json where the model offers it (to drop non-speech segments), else json.')
    stream: bool = Field(False, description="Stream the transcript (SSE) and show partial text while the server decodes.")
    upload_format: Literal["flac", "opus", "wav"] = Field(
        "flac", description='Upload encoding of the 16 kHz mono audio: "flac" (lossless, ~0.56 of WAV), "opus" (~0.065 of WAV), "wav".')
    temperature: float = Field(0.0, ge=0, le=1, description="Sampling temperature (0 = deterministic).")
    skip_silence: bool = Field(True, description="Do not upload a clip with no speech (energy gate); return an empty transcript instead.")
    silence_threshold_db: float = Field(-48.0, le=0, description="A 30 ms frame louder than this (dBFS) counts as possible speech.")
    min_speech_seconds: float = Field(0.25, ge=0, description="Upload only when at least this much audio is louder than silenceThresholdDb.")
    no_speech_threshold: float = Field(0.6, ge=0, le=1, description="verbose_json: drop a segment whose no_speech_prob is above this …")
    log_prob_threshold: float = Field(-1.0, description="… and whose avg_logprob is below this (Whisper's own rule).")
    max_upload_bytes: int | None = Field(None, gt=0, description="Split longer audio at pauses into uploads under this size; null = no limit.")


class HttpBackend(Backend):
    """An OpenAI-compatible ``/audio/transcriptions`` client; subclasses set the details."""

    #: Name of the base URL key in this backend's config section, for error messages.
    url_key = "url"
    #: Streamed phrases in flight at once: a pause-to-pause phrase takes a server about as long as
    #: the next one takes to speak, so a few requests are enough to keep up.
    segment_concurrency = 3
    #: Below ~8 s one request is about as quick as the last phrase alone, so the recorder skips
    #: the voice-activity model (~45 MB) for short dictations; longer ones stream from there on.
    stream_after_seconds = 8.0
    #: An upload of at least this many seconds that the server refuses as too large (HTTP 413) is sent
    #: again in pieces; a shorter one fails with the 413's line (a server refusing 15 s is misconfigured).
    split_refused_from = 30.0
    #: The client (httpx, TLS: ~8 MB, ~50 ms) is created when the recording stops, not held by the
    #: recorder while the user speaks; a subclass whose prepare() talks to the server sets it True.
    prepare_while_recording = False

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._client_lock = threading.Lock()
        self._client: httpx.Client | None = None

    # --- what subclasses provide ---------------------------------------------------------

    @property
    def base_url(self) -> str:
        return str(getattr(self.config, self.url_key)).rstrip("/")

    def verbose_json_supported(self) -> bool:
        return True

    def extra_fields(self) -> dict[str, str]:
        """Server-specific form fields (Speaches' ``hotwords`` …)."""
        return {}

    def status_fixes(self, status: int) -> str | None:
        """The fix to print for a failed reply with ``status``; None = a generic one."""
        return None

    def unreachable_fix(self) -> str:
        return f"check {self.config_section}.{self.url_key} and your network"

    def timeout_fix(self, seconds: float) -> str:
        allowed = self.config.timeouts().for_work(seconds).read
        return (f"the server needed more than {allowed:g} s for {seconds:.0f} s of audio: raise "
                f"{self.config_section}.readTimeout or readTimeoutPerAudioSecond, or use a smaller model")

    def size_fix(self) -> str:
        return (f"check that {self.config_section}.{self.url_key} is a transcription server (a transcript is "
                f"a few kB), or raise {self.config_section}.maxReplyBytes")

    def before_upload(self) -> None:
        """Called before the first upload (Speaches makes sure its model is loaded)."""

    # --- the call -------------------------------------------------------------------------

    @property
    def client(self) -> httpx.Client:
        """One client per backend instance, so a run reuses its connection."""
        with self._client_lock:
            if self._client is None:
                try:
                    headers = bearer(self.config.api_key)
                except ConfigError as exc:
                    raise ConfigError(f"{self.config_section}.apiKey: {exc}") from None
                self._client = make_client(headers=headers, timeouts=self.config.timeouts(),
                                           max_reply_bytes=self.config.max_reply_bytes)
            return self._client

    def prepare(self) -> None:
        self.client  # noqa: B018 - create the client (and its TLS context) while the user speaks

    def transcribe(self, audio: Audio) -> Transcript:
        return self._transcribe(audio, context=None)

    def transcribe_segment(self, audio: Audio, context: str) -> Transcript:
        """One phrase while recording (several run at once), prompted with the text decided before it."""
        return self._transcribe(audio, context=context)

    def _transcribe(self, audio: Audio, context: str | None) -> Transcript:
        """``context`` None: a whole recording (partial text reported here); else a streamed phrase."""
        gate, threshold = self.config.skip_silence and self.config.min_speech_seconds > 0, self.config.silence_threshold_db
        if gate and audio.peak is not None and no_frame_above(audio.peak, threshold):
            return self._silence(audio.duration)  # a silent recording: not decoded (no numpy, no soundfile)
        samples = audio.pcm(RATE)
        duration = len(samples) / RATE
        if gate and speech_seconds(samples, threshold) < self.config.min_speech_seconds:
            return self._silence(duration)
        self.before_upload()
        try:
            chunks = split_for_upload(samples, self.config.upload_format, self.config.max_upload_bytes)
        except BackendError as exc:  # a piece too short to split further is still over the limit
            raise BackendError(f"{self.name}: {exc}", retryable=False) from None
        heard, sent = Heard(""), []
        pending = list(chunks)
        while pending:
            chunk = pending.pop(0)
            try:
                part = self._send_chunk(chunk, heard.text, context)
            except BackendError as exc:
                halves = self._split_refused(samples, chunk, exc)
                pending[:0] = halves
                continue
            sent.append(chunk)
            heard = _joined(heard, part, chunk.offset)
            if (len(sent) > 1 or pending) and not self.config.stream and context is None:
                self.ctx.partial_text(heard.text)  # progress through a long recording
        chunks = sent
        uploaded = sum(len(chunk.data) for chunk in chunks)
        wav_bytes = 44 + 2 * len(samples)
        self.ctx.info[f"{self.name} upload"] = (f"{uploaded} bytes {self.config.upload_format} in {len(chunks)} request(s), "
                                                f"{uploaded / wav_bytes:.3f} of 16-bit WAV")
        if heard.dropped:
            self.ctx.log(f"{self.name}: dropped {heard.dropped} segment(s) the model flagged as not speech")
        return self._transcript(heard, duration, uploaded)

    def _silence(self, duration: float) -> Transcript:
        """What the silence gate answers for ``duration`` seconds of audio without speech: nothing uploaded."""
        self.ctx.log(f"{self.name}: no sound above {self.config.silence_threshold_db:g} dBFS in {duration:.1f} s of audio; not uploaded")
        self.ctx.info[f"{self.name} upload"] = "skipped (silence)"
        return self._transcript(Heard(""), duration, uploaded=0)

    def _split_refused(self, samples, chunk: Chunk, error: BackendError) -> list[Chunk]:
        """A server that refused ``chunk`` as too large (HTTP 413) gets it again in pieces split at pauses,
        each at most half its size; re-raises ``error`` for any other failure or a piece too short to split."""
        if getattr(error, "status", None) != 413 or chunk.duration < self.split_refused_from:
            raise error
        start = round(chunk.offset * RATE)
        piece = samples[start:start + round(chunk.duration * RATE)]
        try:
            halves = split_for_upload(piece, self.config.upload_format, max(1, len(chunk.data) // 2))
        except BackendError:
            raise error from None
        self.ctx.warn(f"{self.name}: the server refused {len(chunk.data)} bytes ({chunk.duration:.0f} s of audio) as too "
                      f"large; sending it in {len(halves)} pieces split at pauses (set {self.config_section}."
                      "maxUploadBytes to split before sending)")
        return [Chunk(half.data, chunk.offset + half.offset, half.duration) for half in halves]

    def _send_chunk(self, chunk: Chunk, text_before: str, context: str | None = None) -> Heard:
        import httpx

        url = f"{self.base_url}/audio/transcriptions"
        encoding = ENCODINGS[self.config.upload_format]
        self.ctx.log(f"{self.name}: POST {url} ({len(chunk.data)} bytes {encoding.name}, {chunk.duration:.1f} s of audio)")
        response = send(self.client, "POST", url, service=self.name, retry=self.config.retry_policy(),
                        stream=self.config.stream, unreachable_fix=self.unreachable_fix(), log=self.ctx.log,
                        timeout_fix=self.timeout_fix(chunk.duration), size_fix=self.size_fix(),
                        timeout=self.config.timeouts().for_work(chunk.duration), data=self.form_fields(context),
                        files={"file": (encoding.filename, chunk.data, encoding.content_type)})
        try:
            check_response(response, service=self.name, fixes=_only(response.status_code, self.status_fixes))
            if "text/event-stream" in response.headers.get("content-type", ""):
                prefix = f"{text_before} " if text_before else ""
                report = (lambda so_far: self.ctx.partial_text(prefix + so_far)) if context is None else (lambda _: None)
                return read_stream(response.iter_lines(), report)
            return parse_body(response.read(), self.reply_format(), self.speech_filter)
        except ReplyError as exc:
            raise BackendError(f"{self.name} ({url}): unreadable reply: {exc} — fix: check that "
                               f"{self.config_section}.{self.url_key} points at a {self.name} server", retryable=True) from None
        except httpx.HTTPError as exc:  # while reading the body: too slow, too big, cut off mid-reply
            from voice_transcriber.http import CallTooSlow, ReplyTooLarge  # not at the top: they import httpx

            fix = self.timeout_fix(chunk.duration) if isinstance(exc, CallTooSlow) else (
                self.size_fix() if isinstance(exc, ReplyTooLarge) else None)
            raise BackendError(describe_failure(self.name, url, exc, fix),
                               retryable=not isinstance(exc, (CallTooSlow, ReplyTooLarge))) from None
        finally:
            response.close()

    def form_fields(self, context: str | None = None) -> dict[str, str]:
        """The multipart fields besides ``file``, in the names both APIs use (``context``: the
        text decided before a streamed phrase)."""
        fields = {"model": self.config.model, "response_format": self.reply_format(),
                  "temperature": f"{self.config.temperature:g}"}
        if self.ctx.settings.language:
            fields["language"] = self.ctx.settings.language
        prompt = transcription_prompt(self.ctx.settings) if context is None else segment_prompt(self.ctx.settings, context)
        if prompt:
            fields["prompt"] = prompt
        if self.config.stream:
            fields["stream"] = "true"
        return {**fields, **self.extra_fields()}

    def reply_format(self) -> str:
        chosen = self.config.response_format
        if self.config.stream:
            return "json"  # the only format every server streams; Speaches ignores it anyway
        if chosen == "auto":
            return "verbose_json" if self.verbose_json_supported() else "json"
        return chosen

    @cached_property
    def speech_filter(self) -> SpeechFilter:
        return SpeechFilter(self.config.no_speech_threshold, self.config.log_prob_threshold)

    def _transcript(self, heard: Heard, duration: float, uploaded: int) -> Transcript:
        language = _LANGUAGE_CODES.get((heard.language or "").lower(), heard.language) or self.ctx.settings.language
        return Transcript(text=heard.text, backend=self.name, language=language,
                          model=self.config.model, segments=tuple(heard.segments), audio_duration=duration,
                          extra={"uploaded_bytes": uploaded, "dropped_segments": heard.dropped})


def _joined(before: Heard, after: Heard, offset: float) -> Heard:
    """Append the reply for a chunk starting at ``offset`` seconds to the earlier replies."""
    moved = [Segment(s.start + offset, s.end + offset, s.text) for s in after.segments]
    text = " ".join(part for part in (before.text, after.text) if part)
    return Heard(text, before.segments + moved, before.language or after.language, before.dropped + after.dropped)


def _only(status: int, fixes) -> dict[int, str]:
    """The ``fixes`` mapping for just this status (computed only when the request failed)."""
    if status < 400:
        return {}
    fix = fixes(status)
    return {status: fix} if fix else {}
