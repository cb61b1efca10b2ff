"""Transcribe while recording: each phrase goes to the first backend as soon as the speaker pauses.

:func:`start_streaming` attaches a :class:`~voice_transcriber.capture.segmenter.Segmenter` to the
recorder (sharing the recording's one voice-activity detector with ``--silence-stop``). A phrase
ends at a 0.6 s pause, or — once it is ``input.streamingPhraseSeconds`` long — at a short pause
(``input.streamingShortPause``), and at 1.75 times that length at any 0.2 s pause, so that little
is left open when the stop comes; and the last phrase, when it has a 0.2 s pause leaving
``input.streamingSplitSeconds`` on both sides, is handed out in two at the stop (the part before
that pause was started there, so only the rest is left after the stop). Every finished
phrase is handed to ``backend.transcribe_segment(audio, context)`` in a worker thread
(``backend.segment_concurrency`` at once), ``context`` being the text already decided before it
(``input.streamingContext``). Work on a phrase starts at a 0.2 s pause (on the rest after its
last split point first, when the stop would split it) and is kept if the phrase ends there, or
while it runs, as the first part of a split at the stop; the phrase still being spoken is
transcribed again every ``input.streamingRedecodeSeconds`` of new audio while the backend is
idle, for the live text.
The final text of every phrase comes from one transcription of all its audio with the text
decided before it, so it depends on the audio only: :func:`replay` gives a stored recording
(``retry``) the same text as the live run.

:meth:`StreamingTranscription.result` joins the phrases' texts in order; the pipeline uses it
instead of calling the first backend (``Plan.streamed``). When a phrase fails, the pipeline falls
back to the next backend with the whole recording, which is on disk. Partial text (the phrases
so far, then the phrase being spoken) goes to ``ctx.partial_text``.

Off with ``input.streaming: false``, for backends with ``prefers_whole_file``, and when the
Silero VAD (faster-whisper) is not installed. A backend with ``stream_after_seconds`` (the HTTP
ones: 8 s) starts only once the recording is that long; a shorter one is transcribed whole.
"""

from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import BackendError
from .context import call_component, enter_background
from .types import Segment, Transcript

if TYPE_CHECKING:
    from collections.abc import Callable

    from .capture.recorder import Recorder
    from .capture.segmenter import Segmenter, SpeechSegment
    from .capture.vad import VoiceActivity
    from .context import Backend, RunContext
    from .types import Audio

    import numpy as np

#: A phrase shorter than this goes on past a pause (measured: jfk.flac's "ask not", 0.7 s, lost "ask" alone)
MIN_PHRASE_SECONDS = 2.0
#: A phrase ``streamingPhraseSeconds`` × this long ends at any pause the padding fits in (0.2 s);
#: 5 s / 0.3 s / 8.75 s: the best measured word error rate (docs/streaming.md)
TIGHT_FACTOR = 1.75
#: A phrase is heard with the phrase before it (``input.streamingOverlap``) when both together are
#: at most this long: Whisper hears 30 s at once, and the fitted window adds silence after them
OVERLAP_SECONDS = 25.0
#: Samples per block when a stored recording is replayed (the recorder's 50 ms tick)
REPLAY_BLOCK = 800
#: A rolling commit (``input.streamingCommit``) makes a phrase of at least this many seconds
MIN_COMMIT_SECONDS = 2.0
#: With ``input.streamingCommitAtStop``, a re-decode of what follows the agreed words (while recording) hears
#: only their last this many seconds: it only finds the next words to agree on, and is done sooner (the
#: backend is free sooner at a pause); the rest left at the stop: ``input.streamingStopOverlapSeconds``
PROBE_OVERLAP_SECONDS = 3.0
#: ... and at least this much audio is left after the agreed words (less: the phrase is transcribed whole)
MIN_REST_SECONDS = 0.3


@dataclass(frozen=True)
class Commit:
    """One rolling commit of a recording (``input.streamingCommit``): when the segmenter had judged
    ``judged`` samples, the phrase being spoken was cut after the first ``words`` words of its
    re-decode up to sample ``end``. With these, a replay cuts and decodes the same (``retry``)."""

    judged: int
    end: int
    words: int

    def to_list(self) -> list[int]:
        return [self.judged, self.end, self.words]

    @classmethod
    def from_list(cls, value: object) -> Commit | None:
        """From :meth:`to_list`'s form (a history entry); None when it is not three whole numbers."""
        if isinstance(value, list) and len(value) == 3 and all(isinstance(x, int) and not isinstance(x, bool) for x in value):
            return cls(*value)
        return None


@dataclass(frozen=True)
class _Agreement:
    """The words of the phrase being spoken agreed on so far (``input.streamingCommitAtStop``): phrase
    ``index`` starting at sample ``start``, with ``context`` before it; ``words`` (timed from the
    phrase's start) end before sample ``cut``. Re-decodes of what follows the cut extend them;
    ``steps`` are those agreements as :class:`Commit` entries (for ``retry``). ``like``: a transcript of
    the phrase (backend, model, language)."""

    index: int
    start: int
    context: str
    words: tuple[Segment, ...]
    cut: int
    steps: tuple[Commit, ...]
    like: Transcript

    def head(self) -> Transcript:
        """The agreed words as the transcript of the phrase's first part (up to :attr:`cut`)."""
        text = " ".join(word.text for word in self.words)
        t = self.like
        return Transcript(text=text, backend=t.backend, language=t.language, model=t.model,
                          segments=(Segment(self.words[0].start, self.words[-1].end, text),),
                          audio_duration=(self.cut - self.start) / 16_000, extra=t.extra, words=self.words)


def streams(ctx: RunContext, backend: Backend | None, *, quiet: bool = False) -> Backend | None:
    """``backend`` (a plan's first), when settings and backend allow streaming; else None."""
    from .capture import vad

    if backend is None or not ctx.settings.input.streaming:
        return None
    if backend.prefers_whole_file:
        if not quiet:
            ctx.log(f"backend '{backend.name}' prefers the whole recording: transcribing after the stop")
        return None
    if not vad.available():
        if not quiet:
            ctx.log("no Silero VAD (faster-whisper is not installed): transcribing after the stop")
        return None
    return backend


def start_streaming(ctx: RunContext, backend: Backend | None, recorder: Recorder) -> StreamingTranscription | None:
    """Stream the recording to ``backend`` (a plan's first) when settings and backend allow; None otherwise."""
    backend = streams(ctx, backend)
    if backend is None:
        return None
    session = StreamingTranscription(backend, ctx)

    def attach() -> Segmenter:
        recorder.segmenter = session.segmenter(recorder.voice_activity())
        return recorder.segmenter

    if backend.stream_after_seconds > 0:
        recorder.taps.append(_DeferredStart(recorder, attach, backend.stream_after_seconds, session))
    else:
        segmenter = attach()
        recorder.taps.append(lambda block: (segmenter.feed(block), session.tick(segmenter)))
    return session


def replay(ctx: RunContext, backend: Backend | None, audio: Audio, commits: list[Commit] | None = None,
           simulate: bool = False) -> StreamingTranscription | None:
    """Transcribe a stored recording the way it was streamed live (``retry``): the same phrases,
    each with the same context, hence the same text. ``commits``: the live run's rolling commits
    (its history entry keeps them), made again at the same places. ``simulate``: make rolling
    commits as a live run on an idle machine would (re-decodes finishing at once; the benchmarks).
    None when the settings do not stream."""
    backend = streams(ctx, backend, quiet=True)
    if backend is None or backend.stream_after_seconds > audio.duration:
        return None
    import numpy as np

    samples = np.round(np.clip(audio.pcm(), -1.0, 32767 / 32768) * 32768).astype(np.int16)
    pcm = samples.tobytes()
    session = StreamingTranscription(backend, ctx)
    segmenter = session.segmenter(None, early=False)  # no timing to win: each phrase once, in order
    if not segmenter.activity.wait_ready(30):
        session.cancel()
        return None
    step = REPLAY_BLOCK * 2
    settings = ctx.settings.input
    pending = list(commits or []) if settings.streaming_commit or settings.streaming_commit_at_stop else []
    session._simulate = simulate and not pending
    session._replayed = simulate or bool(pending)
    session._replaying = bool(pending)
    for offset in range(0, len(pcm), step):
        segmenter.feed(pcm[offset:offset + step])
        while pending and segmenter.judged >= pending[0].judged:
            session._recommit(segmenter, pending.pop(0), samples)
        if session._simulate:
            session.tick(segmenter)
    segmenter.flush()
    ctx.log(f"replayed the recording as streamed: {len(session._phrases)} phrase(s)")
    return session


class _DeferredStart:
    """A recorder tap that attaches the segmenter once the recording is ``after`` seconds long
    (``Backend.stream_after_seconds``), feeding it everything recorded so far."""

    def __init__(self, recorder: Recorder, attach: Callable[[], Segmenter], after: float,
                 session: StreamingTranscription) -> None:
        self.recorder, self.attach, self.after, self.session = recorder, attach, after, session
        self.segmenter: Segmenter | None = None

    def __call__(self, block: bytes) -> None:
        if self.segmenter is not None:
            self.segmenter.feed(block)
            self.session.tick(self.segmenter)
        elif self.recorder.seconds >= self.after:  # the recorder's chunks already hold ``block``
            self.segmenter = self.attach()
            self.segmenter.feed(b"".join(self.recorder.chunks))


class StreamingTranscription:
    """Phrases of one recording being transcribed by ``backend`` while the recording goes on."""

    def __init__(self, backend: Backend, ctx: RunContext) -> None:
        self.backend, self.ctx = backend, ctx
        self.settings = ctx.settings.input
        self._executor = ThreadPoolExecutor(max(1, backend.segment_concurrency), thread_name_prefix=f"stream-{backend.name}")
        #: re-decodes of the phrase being spoken, beside the phrases' decodes, when the backend can
        #: (``Backend.background_redecodes``; made on the first one, never in a replay)
        self._idle: ThreadPoolExecutor | None = None
        self._background_redecodes: bool | None = None  #: the backend's ``background_redecodes``, once asked
        self._phrases: list[tuple[SpeechSegment, Future[Transcript]]] = []
        #: Work started at a pause on the phrase as the stop would then hand it out (key → job). Kept when the
        #: speaker goes on: at the stop, the phrase may be split at that pause, and that job is then its head.
        self._early: dict[tuple[int, int, int], Future[Transcript]] = {}
        self._redecode: Future[Transcript] | None = None  #: the latest re-decode of the phrase being spoken
        self._texts: dict[int, str] = {}  #: phrase index → its text, once transcribed and confirmed
        self._words: dict[int, tuple[Segment, ...]] = {}  #: phrase index → its words' timings (when the backend gave them)
        self._confirmed: set[tuple[int, int, int]] = set()  #: phrases handed to :meth:`add`
        self._answers: dict[tuple[int, int, int], tuple[str, Transcript]] = {}  #: key → (context, transcript) of phrases transcribed
        #: key → the span (start, end) of the phrase heard before it (``input.streamingOverlap``), None: heard alone
        self._heard: dict[tuple[int, int, int], tuple[int, int] | None] = {}
        self._segments: dict[tuple[int, int, int], SpeechSegment] = {}  #: key → every phrase confirmed or started
        self._open_text: tuple[int, str] | None = None  #: the latest re-decode of the phrase being spoken
        self._reported: str | None = None  #: the last partial text reported
        self._pending = 0  #: jobs submitted and not finished
        self._redecoded_at = 0  #: end sample of the open phrase when it was last sent for a re-decode
        self.redecodes = 0  #: re-decodes of the phrase being spoken, for the debug line
        #: Rolling commits (``input.streamingCommit``): the open phrase's last re-decode with the context
        #: it counts with — (index, start, context, heard span, words) —, a commit found and not made yet
        #: (made in the recording thread), and the commits made (the history entry keeps them)
        self._probe: tuple[int, int, str, tuple[int, int] | None, tuple[Segment, ...]] | None = None
        self._ready: tuple[SpeechSegment, Transcript, int, str, tuple[int, int] | None] | None = None
        self._probe_end = 0  #: the recording sample where the re-decode :attr:`_probe` came from ended
        self.commits: list[Commit] = []
        #: ``input.streamingCommitAtStop``: the latest agreement on the phrase being spoken, the one each
        #: phrase announced at a pause would be split with (key → agreement), and the probes' judged samples
        self._agreed: _Agreement | None = None
        self._stop_split: dict[tuple[int, int, int], _Agreement] = {}
        self._rests: dict[tuple[int, int, int], _Agreement] = {}  #: the rest after agreed words (key) → that agreement
        self._judged_at: dict[tuple[int, int, int], tuple[int, bool]] = {}  #: (judged, of what follows the cut)
        self._open: SpeechSegment | None = None  #: the phrase being spoken, as last re-decoded
        self._replaying = False  #: a replay making the live run's commits again (no agreement of its own)
        self._whole: dict[tuple[int, int, int], Future[Transcript]] = {}  #: key → the early start a phrase's job waits for
        self._heads: set[tuple[int, int, int]] = set()  #: agreed first parts of the phrase left at the stop
        self._simulate = False  #: a replay making commits as if every re-decode finished at once
        self._replayed = False  #: a replay: the last phrase is split whenever an agreement fits it
        self._timed: bool | None = None  #: the backend gives words' timings (so re-decodes may commit); None: not known yet
        self._lock = threading.Lock()
        self._failed = threading.Event()
        self._cutter: Segmenter | None = None  #: the segmenter :meth:`segmenter` made
        #: every backend call: [what, phrase key, monotonic start, end (None: running)], for where the wait went
        self._jobs: list[_Job] = []
        self._ended_at: float | None = None  #: when the recording's last phrase came (monotonic)

    @property
    def _committing(self) -> bool:
        """Re-decodes of the phrase being spoken may commit words (``input.streamingCommit``,
        ``input.streamingCommitAtStop``); else they only feed the live text."""
        return self.settings.streaming_commit or self.settings.streaming_commit_at_stop

    def segmenter(self, activity: VoiceActivity | None, *, early: bool = True) -> Segmenter:
        """The segmenter this session's settings ask for, handing phrases to :meth:`add` (and, with
        ``early``, the phrase as it would be if the stop came at each pause to :meth:`add_early`)."""
        from .capture.segmenter import Segmenter

        soft = self.settings.streaming_phrase_seconds
        self._cutter = Segmenter(self.add, on_pause=self.add_early if early else None, activity=activity,
                                 min_seconds=MIN_PHRASE_SECONDS, soft_seconds=soft,
                                 soft_pause=self.settings.streaming_short_pause,
                                 tight_seconds=soft * TIGHT_FACTOR if soft else None,
                                 lead=self.settings.streaming_lead_seconds,
                                 split_seconds=self.settings.streaming_split_seconds,
                                 first_pause=self._rest_pause() if early else None, on_first_pause=self.add_rest_early)
        return self._cutter

    def _rest_pause(self) -> float | None:
        """``input.streamingRestPause`` when a commit at the stop may leave a rest after agreed words."""
        return self.settings.streaming_rest_pause if self._fits_at_stop() else None

    def _fits_at_stop(self) -> bool:
        return self.settings.streaming_commit_at_stop and not self.settings.streaming_commit

    def add(self, segment: SpeechSegment) -> None:
        """Queue a finished phrase (the segmenter's ``on_segment``; quick, runs in the recording loop)."""
        self.ctx.log(f"phrase {segment.index} ({segment.start_seconds:.1f}–{segment.end_seconds:.1f} s) finished")
        if segment.final:
            self._ended_at = self._ended_at or time.monotonic()
        if self._failed.is_set() or (segment.final and self._split(segment, None)):
            return
        key = _key(segment)
        if not segment.final and key not in self._stop_split and (agreement := self._fitting(segment)) is not None:
            # input.streamingCommitAtStop: the stop may come before this phrase is transcribed; what follows
            # its agreed words first (soon done), the whole phrase after it
            tail = self._halves(segment, agreement)[1]
            with self._lock:
                self._stop_split[key] = agreement
                started = _key(tail) in self._answers or _key(tail) in self._early
            if not started:
                self._early[_key(tail)] = self._submit(tail)
        with self._lock:  # atomic with the end of _transcribe: exactly one of them remembers the text
            self._confirmed.add(key)
            self._segments[key] = segment
            answer = self._answers.get(key)
            if answer is not None and not (self._decided(segment.index) and answer[0] == self._context_for(segment.index)
                                           and self._heard.get(key) == self._before_span(segment)):
                answer = None  # not known yet to have the context this phrase has: checked by the job below
            early = self._early.pop(key, None)
            if early is not None:
                self._whole[key] = early
            # other work started at pauses is void now, but the tail after this phrase (a split at the stop), and
            # the rest after its agreed words (input.streamingCommitAtStop: the stop may still split it)
            agreed = self._stop_split.get(key)
            keep = {(segment.index + 1, segment.end), *([(segment.index + 1, agreed.cut)] if agreed else [])}
            void = [job for (index, start, _), job in self._early.items() if (index, start) not in keep]
        for job in void:
            job.cancel()  # no effect once it runs: its result is then ignored
        if answer is not None:  # transcribed already (at a pause, or by a re-decode), with this context
            future: Future[Transcript] = Future()
            future.set_result(answer[1])
            self._remember(segment.index, answer[1])
        else:  # the job uses the early start's transcript when it has the right context
            future = self._submit(segment, confirmed=True, early=early)
        self._phrases.append((segment, future))

    def add_early(self, segment: SpeechSegment) -> None:
        """Start on a phrase that may be finished (the segmenter's ``on_pause``): if the speaker stops
        there, :meth:`add` receives the same phrase(s) and the text is ready sooner. With
        ``segment.split``, the stop would split it: its head (usually transcribed at its own pause
        already) and then its tail are started first, then the whole phrase (for when the speaker
        goes on). With agreed words that fit it (``input.streamingCommitAtStop``), only the rest after them: the
        whole phrase starts once the pause ends it (:meth:`add`). Work started at earlier pauses and not running
        yet is dropped; running or done, it is kept (it may be the head of a split at the stop)."""
        if self._failed.is_set():
            return
        parts = [segment]
        if segment.split is not None:
            parts = [_part(segment, segment.start, segment.split, segment.index),
                     _part(segment, segment.split, segment.end, segment.index + 1), segment]
        elif (agreement := self._fitting(segment)) is not None:
            # if the stop comes in this pause: the agreed words, then the rest after them. The whole phrase only once
            # the pause ends it (add): started here too, it held the one worker when the speaker went on, and the rest
            # left at a later pause queued behind it (jfk.flac's "… | for your country": 0.43 s after the stop)
            with self._lock:
                self._stop_split[_key(segment)] = agreement
            parts = [self._halves(segment, agreement)[1]]
        self._start_early(parts)

    def add_rest_early(self, segment: SpeechSegment) -> None:
        """``input.streamingRestPause`` (the segmenter's ``on_first_pause``): the phrase being spoken has
        been silent that long. If the stop comes in this pause, only the rest after its agreed words is left
        (:meth:`_halves`, which ends it that long after the speech in any case): start it now, a tenth of a
        second or so before :meth:`add_early` hears of the pause."""
        if self._failed.is_set() or (agreement := self._fitting(segment)) is None:
            return
        self._start_early([self._halves(segment, agreement)[1]])

    def _start_early(self, parts: list[SpeechSegment]) -> None:
        """Start ``parts`` (in order) unless started already; work started at earlier pauses and not running
        yet, and a re-decode not running yet, are dropped."""
        wanted = {_key(part) for part in parts}
        with self._lock:
            void = [job for key, job in self._early.items() if key not in wanted]
            if self._redecode is not None:
                void.append(self._redecode)  # live text only: the phrase that may be finished goes first
        for job in void:
            job.cancel()  # no effect once it runs
        for part in parts:
            key = _key(part)
            with self._lock:
                started = self._started(key)
            if not started:
                self.ctx.log(f"phrase {part.index} ({part.start_seconds:.1f}–{part.end_seconds:.1f} s) started early")
                self._early[key] = self._submit(part)

    def _fitting(self, segment: SpeechSegment) -> _Agreement | None:
        """The agreement on ``segment``'s words (``input.streamingCommitAtStop``) to split it with at the
        stop: found on this phrase, with the context and the phrase before it has, leaving at least
        :data:`MIN_REST_SECONDS` after the agreed words; else None. One whose rest is transcribed already, or
        being transcribed, comes first: a later agreement (a re-decode that finished in the pause) would leave
        a rest not started yet, transcribed after the stop while that decode still runs, unused."""
        if not self._fits_at_stop():
            return None
        with self._lock:
            for agreement in (*self._started_rests(segment), self._stop_split.get(_key(segment)) or self._agreed):
                if agreement is not None and self._fits(segment, agreement):
                    return agreement
        return None

    def _fits(self, segment: SpeechSegment, agreement: _Agreement) -> bool:
        """``agreement`` may split ``segment`` at the stop (:meth:`_fitting`). Lock held."""
        if (agreement.index, agreement.start) != (segment.index, segment.start):
            return False
        if not segment.start < agreement.cut <= self._rest_end(segment) - MIN_REST_SECONDS * 16_000:
            return False
        return self._decided(segment.index) and agreement.context == self._context_for(segment.index)

    def _started_rests(self, segment: SpeechSegment) -> list[_Agreement]:
        """The agreements on ``segment`` whose rest — as ``segment`` would leave it — is transcribed or being
        transcribed (started at a pause), earliest first. Lock held."""
        end = self._rest_end(segment)
        return [agreement for key, agreement in self._rests.items()
                if (key[0], key[2]) == (segment.index + 1, end) and self._started(key)]

    def _started(self, key: tuple[int, int, int]) -> bool:
        """The part ``key`` is transcribed, or its early start is queued or running (not dropped). Lock held."""
        return key in self._answers or (key in self._early and not self._early[key].cancelled())

    def _halves(self, segment: SpeechSegment, agreement: _Agreement) -> tuple[SpeechSegment, SpeechSegment]:
        """``segment`` split after its agreed words: the first part (its text known: the agreed words) and the rest."""
        from dataclasses import replace

        head = _part(segment, segment.start, agreement.cut, segment.index)
        tail = replace(_part(segment, agreement.cut, self._rest_end(segment), segment.index + 1), final=segment.final)
        with self._lock:
            self._register(head, agreement)
            self._rests.setdefault(_key(tail), agreement)
        return head, tail

    def _rest_end(self, segment: SpeechSegment) -> int:
        """Where the rest after ``segment``'s agreed words ends: its end, or with ``input.streamingRestPause``
        that long after its speech."""
        if (pause := self.settings.streaming_rest_pause) is None:
            return segment.end
        return segment.end - max(0, segment.quiet - int(pause * 16_000))

    def _register(self, head: SpeechSegment, agreement: _Agreement) -> None:
        """Make the agreed words the text of ``head`` (the phrase up to the cut), as if transcribed with the
        phrase's context: what follows is then transcribed after it (:meth:`_before`). Lock held."""
        key = _key(head)
        self._heads.add(key)
        self._segments.setdefault(key, head)
        if key not in self._answers:
            self._answers[key] = (agreement.context, agreement.head())
            self._heard[key] = self._before_span(head)

    def _extend(self, probe: SpeechSegment, transcript: Transcript, count: int, judged: int, tail: bool) -> None:
        """``count`` words of the re-decode ``probe`` of the phrase being spoken — from its start, or
        (``tail``) from the cut after the words agreed on it so far — are agreed on: they join the
        agreement, and the rest of that re-decode is what the next re-decode (of what follows the new
        cut) is compared with. Lock held."""
        agreed, spoken = self._agreed, self._open
        if tail:
            if agreed is None or (agreed.index + 1, agreed.cut) != (probe.index, probe.start):
                return  # the agreement moved on since this re-decode was sent
            index, start, context, earlier, steps = agreed.index, agreed.start, agreed.context, agreed.words, agreed.steps
        else:
            index, start, context, earlier, steps = probe.index, probe.start, self._context_for(probe.index), (), ()
        if spoken is None or (spoken.index, spoken.start) != (index, start):
            return
        offset = (probe.start - start) / 16_000
        words = transcript.words
        cut = probe.start + _boundary(words, count)
        kept = earlier + tuple(Segment(w.start + offset, w.end + offset, w.text) for w in words[:count])
        self._agreed = _Agreement(index, start, context, kept, cut, (*steps, Commit(judged, probe.end, count)), transcript)
        self._register(_part(spoken, start, min(cut, spoken.end), index), self._agreed)
        shift = (cut - probe.start) / 16_000
        rest = tuple(Segment(w.start - shift, w.end - shift, w.text) for w in words[count:])
        following = _part(probe, cut, probe.end, index + 1)
        self._probe = (index + 1, cut, self._context_for(index + 1, cut), self._before_span(following, probe=True), rest)

    def _split_last(self, force: bool) -> None:
        """The recording has ended (``input.streamingCommitAtStop``): the last phrase, when it ended at a
        pause before the stop and is not transcribed yet (``force``: a replay, in any case), is split
        after its agreed words (:meth:`_split`)."""
        if self._phrases:
            segment, future = self._phrases[-1]
            if force or not future.done():
                self._split(segment, future)

    def _split(self, segment: SpeechSegment, future: Future[Transcript] | None) -> bool:
        """The phrase the recording ended in (``future``: its job, when it was handed out before the stop)
        becomes its words agreed on so far (``input.streamingCommitAtStop``) and the rest after them,
        transcribed on its own (hearing the end of the agreed words again) — unless no agreement fits
        it, or (live) its whole transcription is done already, or is running while that rest was never started
        (a decode cannot be stopped: the rest would only begin once it ends). Recorded as :class:`Commit`
        entries, so that ``retry`` splits it the same. False: not split."""
        agreement = self._fitting(segment)
        if agreement is None:
            return False
        key = _key(segment)
        if future is None and not self._replayed:  # its whole transcription, started at its pause, may be done
            with self._lock:
                answer = self._answers.get(key)
                if answer is not None and answer[0] == self._context_for(segment.index) \
                        and self._heard.get(key) == self._before_span(segment):
                    return False
        if not self._replayed and self._whole_running(segment, future, agreement):
            self.ctx.log(f"phrase {segment.index} not split at the stop: its whole transcription is running, "
                         "the rest after the agreed words was never started")
            return False
        head, tail = self._halves(segment, agreement)
        if future is not None:
            for job in (future, self._whole.get(key)):  # (no effect once it runs: its text is then not used)
                if job is not None:
                    job.cancel()
            with self._lock:
                self._confirmed.discard(key)
            self._phrases.pop()
        self.commits.extend(agreement.steps)
        self.ctx.info["agreed before the stop"] = (f"{len(agreement.words)} word(s), {(head.end - head.start) / 16_000:.1f} s; "
                                                   f"{(tail.end - tail.start) / 16_000:.1f} s left")
        self.ctx.log(f"phrase {segment.index} split at the stop after {len(agreement.words)} agreed word(s) "
                     f"({agreement.cut / 16_000:.2f} s)")
        self.add(head)
        self.add(tail)
        return True

    def _whole_running(self, segment: SpeechSegment, future: Future[Transcript] | None, agreement: _Agreement) -> bool:
        """The whole of ``segment`` is being transcribed (its early start from a pause, or its job) while the rest
        after ``agreement``'s words was never started: an agreement that came after the pause (a re-decode that
        finished in it), or one the phrase could not take then (the phrase before not yet decided). Splitting would
        queue that rest behind the running decode, whose text is as good (live ~30 s runs: 0.58 s of waiting where
        the whole decode had 0.23 s left, 2026-12-07)."""
        with self._lock:
            if self._started((segment.index + 1, agreement.cut, self._rest_end(segment))):
                return False
            jobs = (self._early.get(_key(segment)), self._whole.get(_key(segment)), future)
        return any(job is not None and job.running() for job in jobs)

    def tick(self, segmenter: Segmenter) -> None:
        """After each block (a recorder tap): transcribe the phrase being spoken again once it has
        ``input.streamingRedecodeSeconds`` more audio, the backend has nothing else to do, the
        machine is not busy (:func:`_cpu_free`) and the speaker is not pausing (a pause may end the
        phrase: its early start, which counts, must not wait behind a re-decode; a re-decode already
        running then goes on beside it when the backend can, :meth:`_background`)."""
        self._commit(segmenter)
        every = self.settings.streaming_redecode_seconds
        busy = self._pending
        if self._simulate:  # as if every job were done by now
            wait([future for _, future in self._phrases])
            busy = 0
        if not every or busy or self._failed.is_set() or not segmenter.speaking or segmenter.pausing:
            return
        if not ((self._committing and self._timed is not False) or _cpu_free()):
            return  # (re-decodes for the live text only wait for a free machine; those that may commit do not)
        open_segment = segmenter.open_segment()
        if open_segment is None:
            return
        if open_segment.start > self._redecoded_at:
            self._redecoded_at = open_segment.start  # a new phrase: count its audio from its start
        if open_segment.end - self._redecoded_at >= every * 16_000:
            self._redecoded_at = open_segment.end
            self.redecodes += 1
            if self._redecode is not None:
                self._redecode.cancel()
            probe, tail = open_segment, False
            with self._lock:
                self._open, agreed = open_segment, self._agreed
                if self._fitting_open(open_segment, agreed):  # input.streamingCommitAtStop: what follows the agreed words
                    probe, tail = _part(open_segment, agreed.cut, open_segment.end, open_segment.index + 1), True
                if self.settings.streaming_commit_at_stop:
                    self._judged_at[_key(probe)] = (segmenter.judged, tail)
            self._redecode = self._submit(probe, probe=True)
            if self._simulate:
                wait([self._redecode])
                self._commit(segmenter)

    def _fitting_open(self, spoken: SpeechSegment, agreed: _Agreement | None) -> bool:
        """``agreed`` (``input.streamingCommitAtStop``) is on the phrase being spoken, ``spoken``, and
        leaves room after its cut: a re-decode then hears only what follows the cut."""
        return (agreed is not None and not self.settings.streaming_commit and (agreed.index, agreed.start) == (spoken.index, spoken.start)
                and agreed.cut < spoken.end - MIN_REST_SECONDS * 16_000)

    def _commit(self, segmenter: Segmenter) -> None:
        """Make the rolling commit a re-decode found (in the recording thread, which owns the
        segmenter): the phrase being spoken ends after the words two re-decodes in a row agreed
        on, with those words as its text, and goes on as the next phrase. Void when that phrase
        has ended or changed since."""
        with self._lock:
            ready, self._ready = self._ready, None
        if ready is None:
            return
        probe, transcript, count, context, span = ready
        spoken = segmenter.open_segment()
        cut = probe.start + _boundary(transcript.words, count)
        if spoken is None or (spoken.index, spoken.start) != (probe.index, probe.start):
            return
        kept = transcript.words[:count]
        text = " ".join(word.text for word in kept)
        committed = Transcript(text=text, backend=transcript.backend, language=transcript.language, model=transcript.model,
                               segments=(Segment(kept[0].start, kept[-1].end, text),), audio_duration=(cut - probe.start) / 16_000,
                               extra=transcript.extra, words=kept)
        key = (probe.index, probe.start, cut)
        with self._lock:
            self._answers[key] = (context, committed)
            self._heard[key] = span
        judged = segmenter.judged
        if segmenter.commit(cut) is None:
            return
        self.commits.append(Commit(judged, probe.end, count))
        self.ctx.log(f"phrase {probe.index} committed at {cut / 16_000:.2f} s: {count} word(s)")
        rest = tuple(Segment(word.start - (cut - probe.start) / 16_000, word.end - (cut - probe.start) / 16_000, word.text)
                     for word in transcript.words[count:])
        with self._lock:  # what the next re-decode of the rest is compared with
            following = _part(probe, cut, probe.end, probe.index + 1)
            self._probe = (probe.index + 1, cut, self._context_for(probe.index + 1), self._before_span(following), rest)

    def _recommit(self, segmenter: Segmenter, commit: Commit, recording: np.ndarray) -> None:
        """Make a live run's rolling commit again (:func:`replay`, ``recording`` its samples): re-decode
        the phrase being spoken up to ``commit.end`` with the context it had, and cut it after
        ``commit.words`` words. (Live, the recording had reached that sample when the segmenter had
        judged as much as now; here it may not have yet: the samples come from ``recording``.)"""
        from .capture.segmenter import SpeechSegment

        wait([future for _, future in self._phrases])
        spoken = segmenter.open_segment()
        if spoken is None or not spoken.start < commit.end <= len(recording):
            return
        with self._lock:
            self._open, agreed = spoken, self._agreed
            tail = self._fitting_open(spoken, agreed) and agreed.cut < commit.end
            start = agreed.cut if tail else spoken.start
            probe = SpeechSegment(spoken.index + tail, start, recording[start:commit.end].copy())
            self._judged_at[_key(probe)] = (commit.judged, tail)
        try:  # a re-decode as live (partial: the phrase may end mid-sentence)
            transcript = self._submit(probe, probe=True).result()
        except Exception:  # noqa: BLE001 - the phrase is then transcribed whole, and fails there
            return
        with self._lock:
            context, _ = self._answers[_key(probe)]
            span = self._heard[_key(probe)]
            if 0 < commit.words < len(transcript.words):
                if self.settings.streaming_commit:
                    self._ready = (probe, transcript, commit.words, context, span)
                else:  # input.streamingCommitAtStop: used when the recording ends in that phrase
                    self._extend(probe, transcript, commit.words, commit.judged, tail)
        self._commit(segmenter)

    def cancel(self) -> None:
        """Drop the phrases not started yet (the recording was cancelled)."""
        self._failed.set()
        self._shutdown()

    def _shutdown(self) -> None:
        """No more jobs; those not started are dropped (a running re-decode ends on its own, its text unused)."""
        for executor in (self._executor, self._idle):
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)

    def result(self, audio: Audio) -> Transcript:
        """Wait for every phrase and join their texts. Raises the first phrase's :class:`BackendError`."""
        stopped = self._ended_at or time.monotonic()
        for job in [*self._early.values(), *([self._redecode] if self._redecode else [])]:
            job.cancel()
        if self.settings.streaming_commit_at_stop and not self.settings.streaming_commit:
            self._split_last(force=self._replayed)
        if self._phrases:  # (a phrase ended at a pause may still be the last: nobody knew when its decode started)
            last = self._phrases[-1][0]
            self.ctx.info["last phrase"] = (f"{last.end_seconds - last.start_seconds:.1f} s, "
                                            + ("cut by the stop" if last.final else "ended at a pause before the stop"))
        ready = sum(future.done() for _, future in self._phrases)
        left = [segment for segment, future in self._phrases if not future.done()]
        self.ctx.info["streamed phrases"] = (f"{len(self._phrases)}, {ready} done when the recording ended, "
                                             f"{self.redecodes} re-decode(s) of the open phrase, {len(self.commits)} commit(s)")
        self.ctx.info["left at the stop"] = (f"{len(left)} phrase(s), {sum(s.end - s.start for s in left) / 16_000:.1f} s of audio"
                                             + (", the last one split at a pause" if self._cutter is not None and self._cutter.split_at_stop else ""))
        started = time.monotonic()
        try:
            errors = [future.exception() for _, future in self._phrases]
        finally:
            self.ctx.info["waited for phrases"] = f"{time.monotonic() - started:.3f} s"
            self._shutdown()
        self.ctx.info["decodes after the recording ended"] = self._after_stop(stopped)
        if left:  # what the last phrase's decode heard before it (input.streamingOverlap)
            heard = self._heard.get(_key(left[-1]))
            self.ctx.info["heard again before the last phrase"] = f"{(heard[1] - heard[0]) / 16_000 if heard else 0:.1f} s"
        failure = next((e for e in errors if isinstance(e, BackendError)), None) or next((e for e in errors if e), None)
        if failure is not None:
            raise failure
        return _joined(self.backend.name, [(segment, future.result()) for segment, future in self._phrases], audio.duration,
                       self.commits)

    def _after_stop(self, stopped: float) -> str:
        """Where the wait for the phrases went: each backend call running when the recording ended
        (``stopped``: its last phrase came, or the wait began) or started after it — what it was (a re-decode of the phrase being spoken, an early start, a phrase's
        final decode), whether its text counts, the audio it heard (+ heard again before it), and how
        long it ran after the stop."""
        with self._lock:
            jobs = [job for job in self._jobs if job.end is None or job.end > stopped]
            used = {_key(segment) for segment, _ in self._phrases}
        parts = []
        for job in jobs:
            end = job.end if job.end is not None else time.monotonic()
            counts = job.key in used and job.what != "re-decode"
            heard = f" + {job.heard:.1f} s heard again" if job.heard else ""
            notes = [*(["running at the end"] if job.start < stopped else []), *(["beside"] if job.beside else []),
                     *([f"queued {job.queued:.3f} s"] if job.queued >= 0.0005 else [])]
            parts.append(f"{job.what}{'' if counts else ' (unused)'} of {job.seconds:.1f} s{heard}: "
                         f"{end - max(job.start, stopped):.3f} s" + (f" ({', '.join(notes)})" if notes else ""))
        return " · ".join(parts) or "none"

    def _submit(self, segment: SpeechSegment, confirmed: bool = False,
                early: Future[Transcript] | None = None, probe: bool = False) -> Future[Transcript]:
        with self._lock:
            self._pending += 1
            self._segments.setdefault(_key(segment), segment)
        executor = self._background() if probe else self._executor
        future = executor.submit(self._transcribe, segment, confirmed, early, probe, time.monotonic(),
                                 executor is not self._executor)
        future.add_done_callback(self._finished)
        return future

    def _background(self) -> ThreadPoolExecutor:
        """Where a re-decode of the phrase being spoken runs: a worker of its own when the backend can
        serve it beside the phrases' decodes, yielding the CPU to them (``Backend.background_redecodes``),
        so that one still running at a pause (a decode cannot be interrupted) does not hold up the
        phrase's decode started there, which would wait for the rest of it in the one worker; else that
        worker. A replay (``retry``, the offline benchmarks) keeps the one worker: nothing to win there."""
        if self._idle is None and self._beside():
            self._idle = ThreadPoolExecutor(1, thread_name_prefix=f"stream-{self.backend.name}-redecode",
                                            initializer=enter_background)
        return self._idle or self._executor

    def _beside(self) -> bool:
        """Re-decodes run in a worker of their own, beside the phrases' decodes (:meth:`_background`)."""
        if self._replayed:
            return False
        if self._background_redecodes is None:  # (asked once: the local backend looks at its device)
            self._background_redecodes = self.backend.background_redecodes
        return self._background_redecodes

    def _finished(self, _: Future[Transcript]) -> None:
        with self._lock:
            self._pending -= 1

    def _transcribe(self, segment: SpeechSegment, confirmed: bool, early: Future[Transcript] | None,
                    probe: bool = False, submitted: float | None = None, beside: bool = False) -> Transcript:
        """A worker's job: the backend's transcript of one phrase. ``confirmed``: its final text, the
        transcript of the ``early`` start on it when that had the same context (one worker runs the
        jobs in order, so the phrases before are transcribed by now). Else a phrase started early or
        still open, whose text counts only with the context the phrase has once confirmed."""
        if self._failed.is_set():
            raise _Abandoned()
        if early is not None and not early.cancel():
            wait([early])  # running on another worker (a concurrent backend): its transcript may do
        with self._lock:
            context = self._context_for(segment.index, segment.start)
            # a re-decode for the live text only (no commit) hears the phrase alone, prompted with the text
            # before it: half the work of hearing the phrase before again, so that one still running when
            # the speaker stops holds up the phrase's decode that counts for less (docs/streaming.md)
            before = None if probe and not self._committing else self._before(segment, probe=probe)
            span = (before[0].start, before[0].end) if before else None
            answer = self._answers.get(_key(segment))
        if confirmed and answer is not None and answer[0] == context and self._heard.get(_key(segment)) == span:
            self._remember(segment.index, answer[1])
            return answer[1]
        now = time.monotonic()
        job = _Job("re-decode" if probe else "phrase" if confirmed else "early start", _key(segment), now,
                   (segment.end - segment.start) / 16_000, (span[1] - span[0]) / 16_000 if span else 0.0,
                   queued=now - (submitted or now), beside=beside)
        with self._lock:
            self._jobs.append(job)
        try:
            if before is None:
                transcript = call_component(self.backend, "backend", BackendError, self.backend.transcribe_segment,
                                            segment.audio(), context)
            else:
                previous, previous_text, earlier = before
                continuation = self.backend.transcribe_continuation
                if probe:  # the phrase still being spoken: it may end mid-sentence
                    continuation = functools.partial(continuation, partial=True)
                elif self.backend.decodes_stop_rest_apart and self._rest_at_stop(segment):
                    continuation = functools.partial(continuation, stop_rest=True)
                transcript = call_component(self.backend, "backend", BackendError, continuation,
                                            previous.audio(), previous_text, segment.audio(), earlier)
        except BaseException:
            if _key(segment) in self._confirmed:
                self._failed.set()
            raise
        finally:
            job.end = time.monotonic()
        text = transcript.text.strip()
        if text:
            self._timed = bool(self._timed or transcript.words)
        with self._lock:
            self._answers[_key(segment)] = (context, transcript)
            self._heard[_key(segment)] = span
            confirmed = _key(segment) in self._confirmed and (confirmed or (
                context == self._context_for(segment.index) and span == self._before_span(segment)))
            if not confirmed and segment.index not in self._texts:
                agreed = self._agreed
                if probe and agreed is not None and (agreed.index + 1, agreed.cut) == (segment.index, segment.start):
                    # what follows the agreed words of the phrase being spoken (input.streamingCommitAtStop)
                    self._open_text = (agreed.index, " ".join(word.text for word in agreed.words) + (f" {text}" if text else ""))
                else:
                    self._open_text = (segment.index, text)
            if probe and self._committing:
                self._agree(segment, context, span, transcript)
        if confirmed:
            self._remember(segment.index, transcript)
        else:
            self._report()
        return transcript

    def _rest_at_stop(self, segment: SpeechSegment) -> bool:
        """``segment`` is what follows the agreed words of a phrase (``input.streamingCommitAtStop``):
        used only when the recording ends in that phrase, so decoded only for the stop (the same way
        live and in a replay)."""
        with self._lock:
            return any((index + 1, end) == (segment.index, segment.start) for index, _, end in self._heads)

    def _agree(self, segment: SpeechSegment, context: str, span: tuple[int, int] | None, transcript: Transcript) -> None:
        """A re-decode of the phrase being spoken is done: when it has the context the phrase will
        have, the words it and the re-decode before it agree on (from the first, as in
        whisper_streaming's LocalAgreement) — all but at least its last word, and making a phrase
        of at least :data:`MIN_COMMIT_SECONDS` — are ready to be committed; with ``input.streamingCommitAtStop``
        only those both heard ``input.streamingAgreedMarginSeconds`` after, and they are kept for the stop. Lock held."""
        words = transcript.words
        stop = not self.settings.streaming_commit  # input.streamingCommitAtStop
        if self._replaying or not words or span != self._before_span(segment, probe=True) \
                or context != (self._context_for(segment.index, segment.start) if stop else self._context_for(segment.index)):
            return
        previous, self._probe = self._probe, (segment.index, segment.start, context, span, words)
        previous_end, self._probe_end = self._probe_end, segment.end
        if previous is None or previous[:4] != self._probe[:4]:
            return
        agreed = 0
        for before, now in zip(previous[4], words):
            if before.text != now.text:
                break
            agreed += 1
        count = min(agreed, len(words) - 1)
        if stop:  # kept for the stop; only words both re-decodes heard the margin after (the earlier one ended first):
            # the word at the end of a re-decode's audio is the one it hears worst ("feeds back" for "feedback" in two
            # re-decodes in a row, where the whole phrase's decode heard it right; docs/streaming.md)
            heard = previous_end - self.settings.streaming_agreed_margin_seconds * 16_000
            while count > 0 and segment.start + words[count - 1].end * 16_000 > heard:
                count -= 1
            if count > 0:
                judged, tail = self._judged_at.get(_key(segment), (0, False))
                self._extend(segment, transcript, count, judged, tail)
        elif count > 0 and _boundary(words, count) >= MIN_COMMIT_SECONDS * 16_000:
            self._ready = (segment, transcript, count, context, span)

    def _remember(self, index: int, transcript: Transcript) -> None:
        """A confirmed phrase's text is known: keep it (and its words' timings) and report the text so far."""
        text = transcript.text.strip()
        self.ctx.log(f"phrase {index} transcribed: {len(text)} characters")
        with self._lock:
            self._texts[index] = text
            self._words[index] = transcript.words
        self._report()

    def _decided(self, index: int) -> bool:
        """Every phrase before ``index`` is transcribed (its context is complete). Lock held."""
        return all(earlier in self._texts for earlier in range(index))

    def _context_for(self, index: int, start: int | None = None) -> str:
        """The text decided before phrase ``index`` (the phrases before it that are transcribed;
        '' with ``input.streamingContext`` off). For a phrase starting at sample ``start`` whose
        previous phrase is not confirmed yet (the tail of a split, started at a pause), the text
        of the phrase before as transcribed at that pause stands in. Called with the lock held."""
        return " ".join(text for text, _ in self._texts_before(index, start) if text)

    def _texts_before(self, index: int, start: int | None = None) -> list[tuple[str | None, SpeechSegment | None]]:
        """For each phrase before ``index``: its text (None: not transcribed yet) and, for the one
        right before, the phrase itself when known (see :meth:`_context_for`). Lock held."""
        return [(text, segment) for text, segment, _ in self._phrases_before(index, start)]

    def _phrases_before(self, index: int, start: int | None = None
                        ) -> list[tuple[str | None, SpeechSegment | None, tuple[Segment, ...]]]:
        """:meth:`_texts_before`, with the timings of the words of the phrase right before. Lock held."""
        if not self.settings.streaming_context or index == 0:
            return []
        texts: list[tuple[str | None, SpeechSegment | None, tuple[Segment, ...]]] = [
            (self._texts.get(earlier), None, ()) for earlier in range(index)]
        # (a phrase ending after ``start`` is not the one before: ``start`` is then a cut inside it, input.streamingCommitAtStop)
        confirmed = [segment for key, segment in self._segments.items()
                     if key[0] == index - 1 and key in self._confirmed and (start is None or key[2] <= start)]
        if confirmed:
            texts[-1] = (texts[-1][0], confirmed[-1], self._words.get(index - 1, ()))
        elif start is not None:
            heads = [(key, answer) for key, answer in self._answers.items() if (key[0], key[2]) == (index - 1, start)]
            fitting = [(key, answer) for key, answer in heads if answer[0] == self._context_for(index - 1)
                       and self._heard.get(key) == self._before_span(self._segments[key])]
            if fitting:
                transcript = fitting[-1][1][1]
                texts[-1] = (transcript.text.strip(), self._segments[fitting[-1][0]], transcript.words)
        return texts

    def _before(self, segment: SpeechSegment, probe: bool = False) -> tuple[SpeechSegment, str, str] | None:
        """What ``segment`` is heard after, for ``backend.transcribe_continuation``
        (``input.streamingOverlap``): the phrase before it — only its last words, those said in its
        last ``input.streamingOverlapSeconds``, when the backend gave their timings — the text of
        that audio, and the text before it. None when that phrase is not transcribed yet or has no
        text, or both together would be longer than :data:`OVERLAP_SECONDS`. Depends only on the
        phrases and their transcripts, as the context does (the final text of a phrase still comes
        from the recording alone). Lock held."""
        if not self.settings.streaming_overlap:
            return None
        texts = self._phrases_before(segment.index, segment.start)
        if not texts or not texts[-1][0] or texts[-1][1] is None:
            return None
        previous, text, words = texts[-1][1], texts[-1][0], texts[-1][2]
        earlier = " ".join(text for text, _, _ in texts[:-1] if text)
        seconds = self.settings.streaming_overlap_seconds
        # what follows agreed words (input.streamingCommitAtStop): a re-decode hears their last 3 s, the rest left at
        # the stop their last input.streamingStopOverlapSeconds (5: the same text as all of them on the 11 benchmark
        # passages × 4 lead-ins, 2026-12-06, for ~20 % less CPU; 3 lost words at ~30 s, +0.005 against −0.001)
        overlap = PROBE_OVERLAP_SECONDS if probe else self.settings.streaming_stop_overlap_seconds
        if _key(previous) in self._heads and overlap:
            seconds = min(seconds or overlap, overlap)
        cut = _cut(previous, words, seconds)
        if cut is not None:  # hear only the words after the cut again; those before it join the prompt
            at, first = cut
            previous = _part(previous, at, previous.end, previous.index)
            earlier = " ".join(part for part in (earlier, *(word.text for word in words[:first])) if part)
            text = " ".join(word.text for word in words[first:])
        if segment.end - previous.start > OVERLAP_SECONDS * 16_000:
            return None
        return previous, text, earlier

    def _before_span(self, segment: SpeechSegment, probe: bool = False) -> tuple[int, int] | None:
        """Where the phrase :meth:`_before` gives lies ((start, end) samples), None: heard alone. Lock held."""
        before = self._before(segment, probe)
        return (before[0].start, before[0].end) if before else None

    def _report(self) -> None:
        """Report the text so far: the phrases transcribed without a gap from the first, then the
        latest transcription of the phrase being spoken (when it follows them)."""
        with self._lock:  # held while reporting, so that partial texts never arrive out of order
            done = 0
            while done in self._texts:
                done += 1
            parts = [self._texts[index] for index in range(done)]
            if self._open_text is not None and self._open_text[0] == done:
                parts.append(self._open_text[1])
            partial = " ".join(part for part in parts if part)
            if partial and partial != self._reported:
                self._reported = partial
                self.ctx.partial_text(partial)


def _part(segment: SpeechSegment, start: int, end: int, index: int) -> SpeechSegment:
    """Samples ``start``–``end`` of ``segment`` (recording samples) as phrase ``index``."""
    from .capture.segmenter import SpeechSegment

    return SpeechSegment(index, start, segment.samples[start - segment.start:end - segment.start])


def _cut(phrase: SpeechSegment, words: tuple[Segment, ...], seconds: float | None) -> tuple[int, int] | None:
    """Where to start hearing ``phrase`` again before the next one: (sample, index of the first word
    heard), the word boundary before the first word that starts in its last ``seconds``; None:
    hear it whole (no timings, no setting, or the phrase is that short)."""
    if not seconds or not words:
        return None
    duration = (phrase.end - phrase.start) / 16_000
    # the last word starting earlier than that (a long word, or silence after it): hear at least that one
    first = min(next((i for i, word in enumerate(words) if word.start >= duration - seconds), len(words)), len(words) - 1)
    if first <= 0:
        return None
    boundary = (words[first - 1].end + words[first].start) / 2
    return phrase.start + min(max(int(boundary * 16_000), 0), phrase.end - phrase.start - 1), first


def _boundary(words: tuple[Segment, ...], count: int) -> int:
    """Where a phrase is cut after its first ``count`` words (samples from its start): halfway between
    the end of the last of them and the start of the next."""
    return max(int((words[count - 1].end + words[count].start) / 2 * 16_000), 1)


def _cpu_free() -> bool:
    """The machine is not busy: the 1-minute load average is below the cores this process may use.
    A re-decode only feeds the live text; on a busy machine it would delay the phrases that count."""
    import os

    try:
        return os.getloadavg()[0] < len(os.sched_getaffinity(0))
    except (OSError, AttributeError):
        return True


def _key(segment: SpeechSegment) -> tuple[int, int, int]:
    return segment.index, segment.start, segment.end


@dataclass
class _Job:
    """One backend call of a session (:meth:`StreamingTranscription._after_stop`): what it was, on which
    phrase (key), when it ran (monotonic seconds; ``end`` None: running), the seconds of audio it
    transcribed and of the phrase before it heard again, how long it waited for its worker, and where it ran."""

    what: str
    key: tuple[int, int, int]
    start: float
    seconds: float
    heard: float
    end: float | None = None
    queued: float = 0.0  #: seconds from its submission to its start (behind other jobs of its worker)
    beside: bool = False  #: run by the background re-decode worker (``Backend.background_redecodes``)


class _Abandoned(Exception):
    """A phrase not transcribed because an earlier one failed (the whole file goes to the next backend)."""


def _joined(backend: str, transcripts: list[tuple[SpeechSegment, Transcript]], duration: float,
            commits: list[Commit]) -> Transcript:
    """One transcript of the whole recording: the phrases' texts in order, their timings shifted
    (``extra``: how many phrases, and the rolling commits, which the history entry keeps for ``retry``)."""
    texts, segments = [], []
    for phrase, transcript in transcripts:
        text = transcript.text.strip()
        if not text:
            continue
        texts.append(text)
        offset = phrase.start_seconds
        segments += [Segment(s.start + offset, s.end + offset, s.text) for s in transcript.segments] or \
            [Segment(phrase.start_seconds, phrase.end_seconds, text)]
    first = transcripts[0][1] if transcripts else None
    language = next((t.language for _, t in transcripts if t.language), None)
    return Transcript(text=" ".join(texts), backend=backend, language=language, model=first.model if first else None,
                      segments=tuple(segments), audio_duration=duration,
                      extra={**(first.extra if first else {}), "streamed_phrases": len(transcripts),
                             **({"streamed_commits": [commit.to_list() for commit in commits]} if commits else {})})
