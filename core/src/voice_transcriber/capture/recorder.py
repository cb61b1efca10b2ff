"""The recording loop: microphone blocks → 16 kHz → memory and the WAV on disk, until a stop.

Samples stay int16 ``bytes`` (numpy is only loaded to resample): the recorder is small while
the user speaks.
"""

from __future__ import annotations

import array
import sys
import time
from typing import TYPE_CHECKING

from ..errors import Cancelled
from ..recordings import RecordingFile
from .meter import LevelMeter
from .microphone import WANTED_RATE, Microphone
from .stops import StopControl

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config import InputSettings
    from ..context import RunContext
    from .segmenter import Segmenter
    from .silence import SilenceDetector
    from .vad import VoiceActivity

TICK = 0.05  #: seconds between two looks at the microphone, the stop requests and the meter
PAUSE_TICK = 0.01  #: the same while a pause the segmenter is to announce is under way


class Recorder:
    """Records one take from ``mic`` into ``file`` until ``stop`` says so or a limit is reached."""

    def __init__(self, mic: Microphone, stop: StopControl, file: RecordingFile, settings: InputSettings,
                 ctx: RunContext) -> None:
        self.mic, self.stop, self.file, self.settings, self.ctx = mic, stop, file, settings, ctx
        # From here on a cancel is the loop's to handle (it keeps the file and names it), also while
        # the taps are set up (a segmenter loads numpy and its model: that can take a moment).
        stop.watched = True
        self.chunks: list[bytes] = []
        self.samples = 0
        #: The loudest sample stored so far (int16 magnitude, 0..32768)
        self.loudest = 0
        #: Called with every new 16 kHz int16 block, in order, from the recording loop (e.g. a
        #: segmenter that transcribes finished phrases while the user is still speaking).
        self.taps: list[Callable[[bytes], None]] = []
        #: A segmenter fed by the taps: flushed at the end of a recording that was not cancelled,
        #: and asked after a stop whether the speech had already ended (then no tail is kept).
        self.segmenter: Segmenter | None = None
        #: Called once when the user stops (before the tail is recorded; not on a cancel), e.g. to get the
        #: backends that prepare at the stop ready while the last words still arrive.
        self.on_stop: list[Callable[[], None]] = []
        self.resampler = None
        if mic.rate != WANTED_RATE:
            import soxr

            self.resampler = soxr.ResampleStream(mic.rate, WANTED_RATE, 1, dtype="int16")
        #: The recording's one voice-activity detector (:meth:`voice_activity`), fed here before the taps
        self.vad: VoiceActivity | None = None
        self.silence: SilenceDetector | None = None
        if settings.silence_stop_seconds:
            from .silence import SilenceDetector

            self.silence = SilenceDetector(settings.silence_stop_seconds, self.voice_activity())
        self.watch_stdin = _stdin_is_terminal()
        hint = "Enter or Ctrl-C: stop · Ctrl-C twice: cancel" if self.watch_stdin else "Ctrl-C: stop · twice: cancel"
        self.meter = LevelMeter(enabled=not ctx.quiet, hint=hint)

    def voice_activity(self) -> VoiceActivity:
        """The Silero VAD of this recording, shared by the silence stop and the segmenter: one
        pass over the audio. Created on first use and fed everything recorded so far."""
        if self.vad is None:
            from .vad import VoiceActivity

            self.vad = VoiceActivity()
            self.vad.feed(b"".join(self.chunks))
        return self.vad

    @property
    def seconds(self) -> float:
        return self.samples / WANTED_RATE

    def run(self) -> bytes:
        """Record until stopped; the whole take as int16 samples (native byte order) at 16 kHz."""
        try:
            while not self._finished():
                self.stop.wait(self._next_look(), self.watch_stdin)
                if self.stop.requested_at is not None:
                    self._stopping()
                peak = self._take(self.mic.drain())
                self.meter.show(self.seconds, peak, self._meter_note())
        finally:
            if self.stop.requested_at is not None and not self.stop.cancelled:
                self.ctx.info["stop → end of recording"] = f"{time.monotonic() - self.stop.requested_at:.3f} s"
            self._stopping()  # a limit, a lost microphone: stopped without a request
            self.mic.close()
            self._take(self.mic.drain(), last=True)
            if self.segmenter is not None and not self.stop.cancelled:
                self.segmenter.flush()  # the last phrase goes to the backend before the file is closed
            self.file.close()
            self.meter.clear()
        if self.stop.cancelled:
            raise Cancelled(f"recording cancelled ({self.stop.reason})")
        return b"".join(self.chunks)

    def _stopping(self) -> None:
        calls, self.on_stop = ([], []) if self.stop.cancelled else (self.on_stop, [])
        for call in calls:
            call()

    def _take(self, blocks: list[bytes], last: bool = False) -> float:
        """Resample and store new blocks; return their peak level (0..1)."""
        if self.resampler is not None and (blocks or last):
            import numpy as np

            joined = np.frombuffer(b"".join(blocks), dtype=np.int16)
            blocks = [self.resampler.resample_chunk(joined, last=last).tobytes()]
        peak = 0
        limit = int(self.settings.max_duration_seconds * WANTED_RATE)  # samples: a take never runs past it
        for block in blocks:
            block = block[: max(0, limit - self.samples) * 2]  # a busy machine may hand over several at once
            if not block:
                continue
            self.chunks.append(block)
            self.samples += len(block) // 2
            self.file.write(block)
            if self.vad is not None:
                self.vad.feed(block)
            for tap in self.taps:
                tap(block)
            samples = array.array("h", block)
            peak = max(peak, max(samples), -min(samples))
        self.loudest = max(self.loudest, peak)
        return peak / 32768

    def _finished(self) -> bool:
        stop, settings = self.stop, self.settings
        if stop.cancelled:
            return True
        if not self.mic.stream.active:
            self.ctx.warn(f"the microphone '{self.mic.name}' stopped delivering audio (unplugged?); "
                          "keeping what was recorded")
            return True
        if self.seconds >= settings.max_duration_seconds:
            self.ctx.warn(f"recording reached the maximum of {settings.max_duration_seconds:g} s "
                          "(--max-duration, input.maxDurationSeconds); stopping")
            return True
        if stop.requested_at is None and self.silence is not None and self.silence.silent_long_enough():
            stop.request_stop(f"{settings.silence_stop_seconds:g} s of silence")
            stop.requested_at -= settings.tail_padding_ms / 1000  # the silence already is the tail
        if stop.requested_at is None:
            return False
        # keep what was said until the request (still in flight: the stream latency) plus the tail,
        # unless the voice activity detector shows the speech had ended before the request
        heard_until, tail_end = stop_deadlines(stop.requested_at, self.mic.latency, settings.tail_padding_ms)
        now = time.monotonic()
        if now < heard_until:
            return False
        if self.segmenter is not None and settings.tail_padding_ms and self.segmenter.ended_in_silence():
            self.ctx.info.setdefault("tail", "none (the speech had ended before the stop)")
            return True
        return now >= tail_end

    def _next_look(self) -> float:
        """Seconds until the loop looks again: :data:`TICK` (:data:`PAUSE_TICK` while the speaker has just gone
        silent and the segmenter is to announce the pause: the work it starts then is what the wait after a stop
        is made of); after a stop request, only until the audio then
        in flight has arrived (and then until the tail is recorded), so that the recording ends as soon
        as it may: the wait after the stop starts there."""
        requested = self.stop.requested_at
        if requested is None:
            return PAUSE_TICK if self.segmenter is not None and self.segmenter.pause_under_way() else TICK
        heard_until, tail_end = stop_deadlines(requested, self.mic.latency, self.settings.tail_padding_ms)
        now = time.monotonic()
        due = heard_until if now < heard_until else tail_end
        return min(TICK, max(due - now, 0.005))

    def _meter_note(self) -> str:
        return "stopping…" if self.stop.requested_at is not None else ""


def stop_deadlines(requested_at: float, latency: float, tail_padding_ms: float) -> tuple[float, float]:
    """After a stop requested at ``requested_at``: when the audio then in flight has arrived (the device
    ``latency``), and when the tail after it is recorded (``input.tailPaddingMs``)."""
    heard_until = requested_at + latency
    return heard_until, heard_until + tail_padding_ms / 1000


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:  # stdin closed
        return False
