"""Where a streamed recording's backend calls run, and what each of them did.

The phrases' decodes run in one worker (``backend.segment_concurrency`` at once); a re-decode of the phrase being
spoken runs beside them in a worker of its own when the backend can (``Backend.background_redecodes``). Every call
is recorded as a :class:`Job`, so that the debug line says where the wait after the stop went.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..context import enter_background

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Future

    from ..context import Backend
    from ..types import Transcript
    from .phrases import Key


@dataclass
class Job:
    """One backend call of a session (:meth:`Workers.after_stop`): what it was, on which
    phrase (key), when it ran (monotonic seconds; ``end`` None: running), the seconds of audio it
    transcribed and of the phrase before it heard again, how long it waited for its worker, and where it ran."""

    what: str
    key: Key
    start: float
    seconds: float
    heard: float
    end: float | None = None
    queued: float = 0.0  #: seconds from its submission to its start (behind other jobs of its worker)
    beside: bool = False  #: run by the background re-decode worker (``Backend.background_redecodes``)


class Workers:
    """The threads ``backend``'s calls of one session run in, and the record of those calls."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.executor = ThreadPoolExecutor(max(1, backend.segment_concurrency), thread_name_prefix=f"stream-{backend.name}")
        #: re-decodes of the phrase being spoken, beside the phrases' decodes, when the backend can
        #: (``Backend.background_redecodes``; made on the first one, never in a replay)
        self._idle: ThreadPoolExecutor | None = None
        self._background_redecodes: bool | None = None  #: the backend's ``background_redecodes``, once asked
        self.pending = 0  #: jobs submitted and not finished
        #: every backend call, for where the wait went
        self.jobs: list[Job] = []
        self._lock = threading.Lock()

    def submit(self, job: Callable[[float, bool], Transcript], *, redecode: bool, replayed: bool) -> Future[Transcript]:
        """Run ``job(submitted, beside)``: a phrase's decode in the phrases' worker, a ``redecode`` of the phrase
        being spoken where :meth:`redecode_executor` says (``replayed``: a replay)."""
        with self._lock:
            self.pending += 1
        executor = self.redecode_executor(replayed) if redecode else self.executor
        future = executor.submit(job, time.monotonic(), executor is not self.executor)
        future.add_done_callback(self._finished)
        return future

    def redecode_executor(self, replayed: bool) -> ThreadPoolExecutor:
        """Where a re-decode of the phrase being spoken runs: a worker of its own when the backend can
        serve it beside the phrases' decodes, yielding the CPU to them (``Backend.background_redecodes``),
        so that one still running at a pause (a decode cannot be interrupted) does not hold up the
        phrase's decode started there, which would wait for the rest of it in the one worker; else that
        worker. A replay (``retry``, the offline benchmarks) keeps the one worker: nothing to win there."""
        if self._idle is None and not replayed and self._beside():
            self._idle = ThreadPoolExecutor(1, thread_name_prefix=f"stream-{self.backend.name}-redecode",
                                            initializer=enter_background)
        return self._idle or self.executor

    def _beside(self) -> bool:
        """The backend serves re-decodes beside the phrases' decodes (:meth:`redecode_executor`)."""
        if self._background_redecodes is None:  # (asked once: the local backend looks at its device)
            self._background_redecodes = self.backend.background_redecodes
        return self._background_redecodes

    def _finished(self, _: Future[Transcript]) -> None:
        with self._lock:
            self.pending -= 1

    def started(self, what: str, key: Key, seconds: float, heard: float, submitted: float | None,
                beside: bool) -> Job:
        """A backend call starts now (``submitted``: when its job was handed in): recorded as a :class:`Job`."""
        now = time.monotonic()
        job = Job(what, key, now, seconds, heard, queued=now - (submitted or now), beside=beside)
        with self._lock:
            self.jobs.append(job)
        return job

    def shutdown(self) -> None:
        """No more jobs; those not started are dropped (a running re-decode ends on its own, its text unused)."""
        for executor in (self.executor, self._idle):
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)

    def after_stop(self, stopped: float, used: set[Key]) -> str:
        """Where the wait for the phrases went: each backend call running when the recording ended
        (``stopped``: its last phrase came, or the wait began) or started after it — what it was (a re-decode of the
        phrase being spoken, an early start, a phrase's final decode), whether its text counts (``used``: the
        phrases' keys), the audio it heard (+ heard again before it), and how long it ran after the stop."""
        with self._lock:
            jobs = [job for job in self.jobs if job.end is None or job.end > stopped]
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

