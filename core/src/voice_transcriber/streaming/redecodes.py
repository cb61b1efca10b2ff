"""Re-decodes of the phrase being spoken: when one is due, what it hears (with agreed words kept for the stop,
only what follows them), and the rolling commit two of them found (``input.streamingCommit``), made in the
recording thread, which owns the segmenter; in a replay, a live run's commits made again.
"""

from __future__ import annotations

from concurrent.futures import wait
from typing import TYPE_CHECKING

from ..types import Segment
from .phrases import Commit, phrase_key, phrase_part, word_boundary, words_transcript

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Future

    import numpy as np

    from ..capture.segmenter import Segmenter, SpeechSegment
    from ..context import RunContext
    from ..types import Transcript
    from .agreement import Agreements
    from .jobs import PhraseJobs


class Redecodes:
    """The re-decodes of one streamed recording's phrase being spoken. ``submit(segment, probe=True)`` hands one to
    the workers; ``phrases`` and ``commits`` are the session's (the phrases handed out, the rolling commits made)."""

    def __init__(self, ctx: RunContext, agreements: Agreements, jobs: PhraseJobs,
                 submit: Callable[..., Future[Transcript]], phrases: list[tuple[SpeechSegment, Future[Transcript]]],
                 commits: list[Commit]) -> None:
        self.ctx, self.agreements, self.jobs, self._submit = ctx, agreements, jobs, submit
        self.settings, self.lock = agreements.settings, agreements.lock
        self.phrases, self.commits = phrases, commits
        self.latest: Future[Transcript] | None = None  #: the latest re-decode of the phrase being spoken
        self._redecoded_at = 0  #: end sample of the open phrase when it was last sent for a re-decode
        self.count = 0  #: re-decodes of the phrase being spoken, for the debug line
        self.simulate = False  #: a replay making commits as if every re-decode finished at once

    def tick(self, segmenter: Segmenter) -> None:
        """After each block (a recorder tap): transcribe the phrase being spoken again once it has
        ``input.streamingRedecodeSeconds`` more audio, the backend has nothing else to do, the
        machine is not busy (:func:`cpu_free`) and the speaker is not pausing (a pause may end the
        phrase: its early start, which counts, must not wait behind a re-decode; a re-decode already
        running then goes on beside it when the backend can, :meth:`~.workers.Workers.redecode_executor`)."""
        self._commit(segmenter)
        every = self.settings.streaming_redecode_seconds
        busy = self.jobs.workers.pending
        if self.simulate:  # as if every job were done by now
            wait([future for _, future in self.phrases])
            busy = 0
        if not every or busy or self.jobs.failed.is_set() or not segmenter.speaking or segmenter.pausing:
            return
        if not ((self.agreements.committing and self.jobs.timed is not False) or cpu_free()):
            return  # (re-decodes for the live text only wait for a free machine; those that may commit do not)
        open_segment = segmenter.open_segment()
        if open_segment is None:
            return
        if open_segment.start > self._redecoded_at:
            self._redecoded_at = open_segment.start  # a new phrase: count its audio from its start
        if open_segment.end - self._redecoded_at >= every * 16_000:
            self._redecoded_at = open_segment.end
            self._redecode_open(open_segment, segmenter.judged)
            if self.simulate:
                wait([self.latest])
                self._commit(segmenter)

    def _redecode_open(self, open_segment: SpeechSegment, judged: int) -> None:
        """Transcribe the phrase being spoken again (what follows its agreed words, when they leave room)."""
        self.count += 1
        if self.latest is not None:
            self.latest.cancel()
        probe, tail, agreements = open_segment, False, self.agreements
        with self.lock:
            agreements.spoken, agreed = open_segment, agreements.agreed
            if agreements.fits_open(open_segment, agreed):  # input.streamingCommitAtStop: what follows the agreed words
                probe, tail = phrase_part(open_segment, agreed.cut, open_segment.end, open_segment.index + 1), True
            if self.settings.streaming_commit_at_stop:
                agreements.judged_at[phrase_key(probe)] = (judged, tail)
        self.latest = self._submit(probe, probe=True)

    def _commit(self, segmenter: Segmenter) -> None:
        """Make the rolling commit a re-decode found (in the recording thread, which owns the
        segmenter): the phrase being spoken ends after the words two re-decodes in a row agreed
        on, with those words as its text, and goes on as the next phrase. Void when that phrase
        has ended or changed since."""
        agreements, decided = self.agreements, self.agreements.decided
        with self.lock:
            ready, agreements.ready = agreements.ready, None
        if ready is None:
            return
        probe, transcript, count, context, span = ready
        spoken = segmenter.open_segment()
        cut = probe.start + word_boundary(transcript.words, count)
        if spoken is None or (spoken.index, spoken.start) != (probe.index, probe.start):
            return
        committed = words_transcript(transcript.words[:count], transcript, (cut - probe.start) / 16_000)
        key = (probe.index, probe.start, cut)
        with self.lock:
            decided.answers[key] = (context, committed)
            decided.heard[key] = span
        judged = segmenter.judged
        if segmenter.commit(cut) is None:
            return
        self.commits.append(Commit(judged, probe.end, count))
        self.ctx.log(f"phrase {probe.index} committed at {cut / 16_000:.2f} s: {count} word(s)")
        rest = tuple(Segment(word.start - (cut - probe.start) / 16_000, word.end - (cut - probe.start) / 16_000, word.text)
                     for word in transcript.words[count:])
        with self.lock:  # what the next re-decode of the rest is compared with
            following = phrase_part(probe, cut, probe.end, probe.index + 1)
            agreements.probe = (probe.index + 1, cut, decided.context_for(probe.index + 1), decided.before_span(following), rest)

    def recommit(self, segmenter: Segmenter, commit: Commit, recording: np.ndarray) -> None:
        """Make a live run's rolling commit again (:func:`~.stored.replay`, ``recording`` its samples): re-decode
        the phrase being spoken up to ``commit.end`` with the context it had, and cut it after
        ``commit.words`` words. (Live, the recording had reached that sample when the segmenter had
        judged as much as now; here it may not have yet: the samples come from ``recording``.)"""
        from ..capture.segmenter import SpeechSegment

        wait([future for _, future in self.phrases])
        spoken = segmenter.open_segment()
        if spoken is None or not spoken.start < commit.end <= len(recording):
            return
        agreements, decided = self.agreements, self.agreements.decided
        with self.lock:
            agreements.spoken, agreed = spoken, agreements.agreed
            tail = agreements.fits_open(spoken, agreed) and agreed.cut < commit.end
            start = agreed.cut if tail else spoken.start
            probe = SpeechSegment(spoken.index + tail, start, recording[start:commit.end].copy())
            agreements.judged_at[phrase_key(probe)] = (commit.judged, tail)
        try:  # a re-decode as live (partial: the phrase may end mid-sentence)
            transcript = self._submit(probe, probe=True).result()
        except Exception:  # noqa: BLE001 - the phrase is then transcribed whole, and fails there
            return
        with self.lock:
            context, _ = decided.answers[phrase_key(probe)]
            span = decided.heard[phrase_key(probe)]
            if 0 < commit.words < len(transcript.words):
                if self.settings.streaming_commit:
                    agreements.ready = (probe, transcript, commit.words, context, span)
                else:  # input.streamingCommitAtStop: used when the recording ends in that phrase
                    agreements.extend(probe, transcript, commit.words, commit.judged, tail)
        self._commit(segmenter)


def cpu_free() -> bool:
    """The machine is not busy: the 1-minute load average is below the cores this process may use.
    A re-decode only feeds the live text; on a busy machine it would delay the phrases that count."""
    import os

    try:
        return os.getloadavg()[0] < len(os.sched_getaffinity(0))
    except (OSError, AttributeError):
        return True
