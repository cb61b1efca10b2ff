"""Cut a live recording into phrases at natural pauses, while it is being recorded.

The Silero VAD (:mod:`.vad`) judges each 32 ms window. A phrase (:class:`SpeechSegment`)
is finished when speech is followed by ``min_pause`` seconds of silence; it carries
``padding`` seconds of audio after its speech and ``lead`` seconds before it (never overlapping
its neighbours). A phrase
that grows past ``max_seconds`` without a pause is cut at its quietest window in its second
half. Bits of speech shorter than ``min_speech`` seconds in all (a click, a cough) are dropped.
Optionally, ``on_pause`` hears of a phrase as soon as ``early_pause`` seconds of silence follow
it: a phrase that *may* be finished, to start work on it early. If the speaker goes on, that one
is void; else the same phrase (equal ``index``, ``start`` and ``end``) follows through ``on_segment``.
With ``first_pause`` (shorter than ``padding``), ``on_first_pause`` hears of it sooner still, after
that much silence, with only that much audio after its speech (each phrase carries in ``quiet``
how much of its end the VAD judged silent, so a listener can cut any phrase the same way).

With ``split_seconds``, the last phrase of the recording — the one the stop cuts off, or the one
the recording ends less than :data:`HOLD_SECONDS` after — is handed out in two when it has a pause
of ``padding`` seconds that leaves at least ``split_seconds`` on both sides: up to its last such
pause (the head, the very phrase ``on_pause`` announced at that pause), then the rest (the tail,
``final``). Only the tail is then left to transcribe after a stop in fluent speech. So a phrase
that could be split is handed out only once the speaker goes on (whole), after
:data:`HOLD_SECONDS` of silence (whole), or at the stop (split); the phrase ``on_pause`` announces
carries ``split``, where a stop then would split it. The cut depends on the audio alone, so a
replay of the recording cuts the same.

How to use it (the recorder's ``taps`` hand it every 16 kHz int16 block, in order)::

    from voice_transcriber.capture.segmenter import Segmenter, SpeechSegment

    def on_segment(segment: SpeechSegment) -> None:   # called in the recording thread: be quick
        queue.put(segment.audio())                     # an Audio of the phrase, 16 kHz float32

    segmenter = Segmenter(on_segment)                  # starts loading the VAD model in a thread
    recorder.taps.append(segmenter.feed)
    recorder.segmenter = segmenter                     # optional: the adaptive tail after a stop
    recorder.run()
    last = segmenter.flush()                           # the phrase cut by the stop, also given to on_segment

``feed``, ``flush`` and ``ended_in_silence`` must be called from one thread (the recording
loop). ``on_segment`` runs in that thread. Audio fed before the model is loaded (~50 ms) is
judged as soon as it is. Needs faster-whisper and onnxruntime (:func:`.vad.available`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .vad import GROUP, RATE, THRESHOLD, WINDOW, VoiceActivity

if TYPE_CHECKING:
    import numpy as np

    from ..types import Audio

#: Below this probability a window ends speech (hysteresis, as Silero's own get_speech_timestamps).
END_THRESHOLD = THRESHOLD - 0.15
#: With ``split_seconds``: a phrase that could be split is handed out whole after this much silence
#: (a stop later than that leaves it whole: its transcription, started at the pause, is done by then)
HOLD_SECONDS = 2.0


@dataclass(frozen=True)
class SpeechSegment:
    """One phrase of the recording: int16 samples starting at sample ``start`` (16 kHz)."""

    index: int  #: 0, 1, 2 … in recording order
    start: int  #: first sample, counted from the start of the recording
    samples: np.ndarray  #: int16 mono at 16 kHz
    final: bool = False  #: the phrase the stop cut off (the last one, from :meth:`Segmenter.flush`)
    split: int | None = None  #: announced by ``on_pause``: the sample where a stop then would split it (``split_seconds``)
    quiet: int = 0  #: samples at its end after its last speech window (judged silent), at most ``padding``

    @property
    def end(self) -> int:
        return self.start + len(self.samples)

    @property
    def start_seconds(self) -> float:
        return self.start / RATE

    @property
    def end_seconds(self) -> float:
        return self.end / RATE

    def audio(self) -> Audio:
        """The phrase as float32 :class:`~voice_transcriber.Audio`."""
        from ..types import Audio

        return Audio.from_samples(self.samples.astype("float32") / 32768.0, RATE,
                                  label=f"segment {self.index} ({self.start_seconds:.1f}–{self.end_seconds:.1f} s)")


class Segmenter:
    """Feed it the recording (:meth:`feed`); it calls ``on_segment`` with each finished phrase."""

    def __init__(self, on_segment: Callable[[SpeechSegment], None], *, min_pause: float = 0.6,
                 padding: float = 0.2, max_seconds: float = 28.0, min_speech: float = 0.25,
                 on_pause: Callable[[SpeechSegment], None] | None = None, early_pause: float = 0.15,
                 soft_seconds: float | None = None, soft_pause: float = 0.25, min_seconds: float = 0.0,
                 tight_seconds: float | None = None, lead: float | None = None,
                 split_seconds: float | None = None, first_pause: float | None = None,
                 on_first_pause: Callable[[SpeechSegment], None] | None = None,
                 activity: VoiceActivity | None = None) -> None:
        self.on_segment, self.on_pause = on_segment, on_pause
        self.min_pause, self.padding = int(min_pause * RATE), int(padding * RATE)
        #: Audio kept before a phrase's first speech window (down to the previous phrase's end): a
        #: word the VAD scores weakly ("ask" before "not" in jfk.flac) is then still in the phrase
        self.lead = self.padding if lead is None else max(int(lead * RATE), self.padding)
        self.early_pause = max(int(early_pause * RATE), self.padding)
        #: ``on_first_pause`` hears of the phrase after this much silence (samples), with that much after its speech
        self.on_first_pause = on_first_pause
        self.first_pause = None if first_pause is None or on_first_pause is None else int(first_pause * RATE)
        if self.first_pause is not None and not 0 < self.first_pause < self.padding:
            raise ValueError(f"first_pause must be above 0 and below the padding ({padding} s)")
        self.max_samples, self.min_speech = int(max_seconds * RATE), int(min_speech * RATE)
        #: A phrase at least ``soft_seconds`` long already ends at a pause of ``soft_pause`` s (None: off)
        self.soft_samples = None if soft_seconds is None else int(soft_seconds * RATE)
        self.soft_pause = max(int(soft_pause * RATE), self.padding)
        #: A phrase shorter than this does not end at a pause: it goes on with the next words (a
        #: lone "ask not" decoded on its own lost "ask"); the stop still ends it
        self.min_samples = int(min_seconds * RATE)
        #: A phrase at least ``tight_seconds`` long ends at any pause of ``padding`` s (None: off)
        self.tight_samples = None if tight_seconds is None else int(tight_seconds * RATE)
        #: The phrase the stop cuts off is split at its last pause leaving this much on both sides (None: off)
        self.split_samples = None if split_seconds is None else int(split_seconds * RATE)
        #: The recording's voice activity: shared (fed by the recorder, also read by the silence
        #: stop: one VAD pass per recording) or the segmenter's own (fed by :meth:`feed`).
        self.activity = activity or VoiceActivity()
        self._own_activity = activity is None
        self._init_state()

    def _init_state(self) -> None:
        """The cut before the first block: nothing judged, nothing handed out, no phrase under way."""
        import numpy as np

        self._judged = 0  #: windows of :attr:`activity` looked at so far
        self.count = 0  #: phrases handed out so far
        self.split_at_stop = False  #: :meth:`flush` handed out the last phrase in two (``split_seconds``)
        self._buffer = np.zeros(0, dtype=np.int16)  #: the recording from sample ``_buffer_start`` on
        self._buffer_start = 0
        self._cut = 0  #: everything before this sample was handed out or dropped
        self._start: int | None = None  #: first sample of the phrase being spoken, None between phrases
        self._voiced_end = 0  #: end of the last speech window
        self._voiced = 0  #: speech samples in the current phrase
        self._announced = -1  #: ``_voiced_end`` when ``on_pause`` last heard of the current phrase
        self._first_announced = -1  #: the same for ``on_first_pause``
        self._pauses: list[int] = []  #: where the current phrase could be split: ends of speech + padding, before a pause
        #: A finished phrase that could be split, not handed out yet: (start, end, split point)
        self._held: tuple[int, int, int] | None = None

    @property
    def judged(self) -> int:
        """Samples of the recording the segmenter has judged so far (from its start)."""
        return self._judged * WINDOW

    @property
    def speaking(self) -> bool:
        """A phrase has started and not ended (as far as the judged audio shows)."""
        return self._start is not None

    @property
    def pausing(self) -> bool:
        """A phrase is under way and the audio judged after its last speech is silent so far."""
        return self._start is not None and self._judged * WINDOW > self._voiced_end

    def feed(self, block: bytes) -> None:
        """Append int16 samples (16 kHz mono); hand out the phrases this finishes."""
        import numpy as np

        self._buffer = np.concatenate([self._buffer, np.frombuffer(block, dtype=np.int16)])
        if self._own_activity:
            self.activity.feed(block)
        self._judge(final=False)

    def flush(self, wait: float = 5.0) -> SpeechSegment | None:
        """The recording has ended: hand out the phrase still open (``final=True``) and return it.

        None when the recording ended in silence. Waits up to ``wait`` s for a model still
        loading; without a model the whole recording is one phrase.
        """
        recorded_end = self._buffer_start + len(self._buffer)
        if not self.activity.wait_ready(wait):
            return self._emit(self._buffer_start, recorded_end, final=True, force=True) if self.count == 0 else None
        self._judge(final=True)
        if self._held is not None:  # the recording ended in the pause after it: split
            start, end, split = self._held
            self._held = None
            self._voiced = max(self._voiced, self.min_speech)  # it was long enough when it ended
        elif self._start is None:
            return None
        else:
            end = min(self._voiced_end + self.padding, recorded_end)
            start, split = self._start, self._split_point(self._start, end)
        if split is not None:  # the head, then the tail
            self.split_at_stop = True
            head = self._segment(start, split)
            self.count += 1
            self.on_segment(head)
            start = split
        return self._emit(start, end, final=True)

    def open_segment(self) -> SpeechSegment | None:
        """The phrase being spoken, up to its last speech judged (plus padding); None between phrases.

        Its ``index`` is the one it will have once finished; its end may still move."""
        if self._start is None or self._voiced_end <= self._start:
            return None
        return self._segment(self._start, min(self._voiced_end + self.padding, self._buffer_start + len(self._buffer)))

    def commit(self, cut: int) -> SpeechSegment | None:
        """End the phrase being spoken at sample ``cut`` — a boundary between two words the
        transcriber is sure of (:class:`~voice_transcriber.streaming.StreamingTranscription`'s
        rolling commit) — and hand that part out through ``on_segment``; the phrase goes on from
        ``cut`` as the next one. None (nothing done) when ``cut`` is not inside the phrase's speech."""
        if self._start is None or self._held is not None or not self._start < cut < self._voiced_end:
            return None
        start = self._start
        segment = self._segment(start, cut)
        self.count += 1
        self._cut, self._start = cut, cut
        self._voiced = min(self._voiced, self._voiced_end - cut)
        self._pauses = [pause for pause in self._pauses if pause > cut]
        self.on_segment(segment)
        return segment

    def pause_under_way(self) -> bool:
        """True when the phrase being spoken has gone silent and the pause has not been announced yet (through
        ``on_first_pause``, else ``on_pause``): the recorder then looks at the microphone more often, so that the
        announcement, and the work it starts, comes milliseconds after the audio is recorded, not a tick later."""
        if self._start is None or self._judged * WINDOW <= self._voiced_end:
            return False
        announced = self._first_announced if self.first_pause is not None else self._announced
        return announced != self._voiced_end and (self.first_pause is not None or self.on_pause is not None)

    def ended_in_silence(self, seconds: float = 0.25) -> bool:
        """True when the VAD has judged all the audio fed so far and its last ``seconds`` are not speech.

        False while the model loads or when speech goes on to the end: the recorder then keeps its full tail.
        """
        self._judge(final=False)
        if not self.activity.ready or self.activity.fed - self._judged * WINDOW >= GROUP * WINDOW:
            return False
        return self._start is None or self._judged * WINDOW - self._voiced_end >= int(seconds * RATE)

    def _judge(self, final: bool) -> None:
        first = self._judged
        # a shared activity may be ahead of this segmenter's audio only when fed elsewhere first: never
        # read windows whose samples the segmenter does not hold yet
        self.activity.judge(final)
        held = (self._buffer_start + len(self._buffer) + (WINDOW - 1 if final else 0)) // WINDOW
        probabilities = self.activity.since(first)[: max(0, held - first)]
        self._judged = first + len(probabilities)
        for offset, probability in enumerate(probabilities.tolist()):
            self._step((first + offset) * WINDOW, probability)
        self._trim()

    def _step(self, window_start: int, probability: float) -> None:
        window_end = window_start + WINDOW
        if probability >= THRESHOLD or (self._start is not None and probability >= END_THRESHOLD
                                        and window_start == self._voiced_end):
            if self._start is None:
                self._release()  # the speaker went on: the phrase held back is handed out whole
                self._start, self._voiced = max(self._cut, window_start - self.lead), 0
            self._voiced_end = window_end
            self._voiced += WINDOW
        if self._start is None:
            if self._held is not None and window_end - self._held[1] >= HOLD_SECONDS * RATE:
                self._release()
            return
        silent = window_end - self._voiced_end
        long_enough = self._voiced_end - self._start >= self.min_samples or silent >= 2 * RATE
        length = self._voiced_end - self._start
        if long_enough and (silent >= self.min_pause
                            or (self.soft_samples is not None and silent >= self.soft_pause and length >= self.soft_samples)
                            or (self.tight_samples is not None and silent >= self.padding and length >= self.tight_samples)):
            split = self._split_point(self._start, self._voiced_end + self.padding)
            if split is None or self._voiced < self.min_speech:
                self._emit(self._start, self._voiced_end + self.padding)
            else:  # handed out once the speaker goes on (whole) or the stop comes (split)
                if self.on_pause is not None and self._announced != self._voiced_end:
                    self._announced = self._voiced_end
                    self.on_pause(self._segment(self._start, self._voiced_end + self.padding, split=split))
                self._held = (self._start, self._voiced_end + self.padding, split)
                self._cut, self._start, self._voiced, self._pauses = self._held[1], None, 0, []
        elif window_end - self._start >= self.max_samples:
            self._emit(self._start, self._quietest_point(self._start + self.max_samples // 2, window_end), cut_in_speech=True)
        else:
            end = self._voiced_end + self.padding
            if (self.split_samples is not None and silent >= self.padding and end - self._start >= self.split_samples
                    and (not self._pauses or self._pauses[-1] != end)):
                self._pauses.append(end)
            self._first_pause(silent)
            if (self.on_pause is not None and silent >= self.early_pause and self._announced != self._voiced_end
                    and self._voiced >= self.min_speech):
                self._announced = self._voiced_end
                self.on_pause(self._segment(self._start, end, split=self._split_point(self._start, end)))

    def _first_pause(self, silent: int) -> None:
        """Announce the phrase being spoken through ``on_first_pause`` once ``first_pause`` of silence after its
        speech is judged (whole 32 ms windows: 0.1 s takes four). Three windows (96 ms) would announce 32 ms sooner,
        but gaps that long inside speech are ~15 % more common than gaps of four (104 announcements against 89 on
        the nine espeak paragraphs and jfk.flac), and each starts a decode that then holds the worker, unused."""
        if (self.first_pause is None or self._start is None or self._first_announced == self._voiced_end
                or self._voiced < self.min_speech or silent < self.first_pause):
            return
        assert self.on_first_pause is not None
        self._first_announced = self._voiced_end
        self.on_first_pause(self._segment(self._start, self._voiced_end + self.first_pause))

    def _release(self) -> None:
        """Hand out the phrase held back, whole."""
        if self._held is not None:
            start, end, _ = self._held
            self._held = None
            segment = self._segment(start, end)
            self.count += 1
            self.on_segment(segment)

    def _split_point(self, start: int, end: int) -> int | None:
        """Where the phrase ``start``–``end`` is split when the stop ends it: its last pause that leaves
        ``split_samples`` on both sides (None: not split)."""
        if self.split_samples is None:
            return None
        return next((p for p in reversed(self._pauses)
                     if p - start >= self.split_samples and end - p >= self.split_samples), None)

    def _quietest_point(self, begin: int, end: int) -> int:
        """Start of the window with the least energy between samples ``begin`` and ``end``."""
        import numpy as np

        first = (begin - self._buffer_start) // WINDOW * WINDOW + self._buffer_start
        windows = self._buffer[first - self._buffer_start: end - self._buffer_start]
        windows = windows[: len(windows) // WINDOW * WINDOW].astype(np.float32).reshape(-1, WINDOW)
        return first + int(np.argmin((windows ** 2).mean(axis=1))) * WINDOW

    def _emit(self, start: int, end: int, final: bool = False, cut_in_speech: bool = False,
              force: bool = False) -> SpeechSegment | None:
        voiced, self._cut = self._voiced, max(end, self._cut)
        self._pauses = []
        self._start = end if cut_in_speech else None
        self._voiced = max(self._voiced_end - end, 0) if cut_in_speech else 0
        if end <= start or (voiced < self.min_speech and not force):
            return None
        segment = self._segment(start, end, final)
        self.count += 1
        self.on_segment(segment)
        return segment

    def _segment(self, start: int, end: int, final: bool = False, split: int | None = None) -> SpeechSegment:
        samples = self._buffer[start - self._buffer_start: end - self._buffer_start].copy()
        return SpeechSegment(self.count, start, samples, final=final, split=split, quiet=max(0, end - max(start, self._voiced_end)))

    def _trim(self) -> None:
        """Forget audio no phrase can need any more (keep ``padding`` before the judged end)."""
        judged_end = self._judged * WINDOW
        keep_from = self._start if self._start is not None else max(self._cut, judged_end - self.lead)
        if self._held is not None:
            keep_from = min(keep_from, self._held[0])
        drop = min(keep_from, self._buffer_start + len(self._buffer)) - self._buffer_start
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._buffer_start += drop
