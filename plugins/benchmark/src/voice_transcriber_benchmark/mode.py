"""``benchmarkMode``: compare the configured backends on every dictation, after delivery.

The pipeline transcribes and delivers with its own backend as usual; these observers keep the
audio and time that backend, and once the run has finished (the text is already where the user
wanted it) the other backends transcribe the same audio, once each, and a comparison table is
printed on stderr.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .measure import Result, configured_backends, decoded, record, run

if TYPE_CHECKING:
    from voice_transcriber import Audio, RunContext, Transcript


@dataclass
class Watch:
    """What the observers saw of one run."""

    audio: Audio
    started: dict[str, float] = field(default_factory=dict)
    seconds: float | None = None


_watches: dict[str, Watch] = {}  # by run id; one process may run several pipelines (`transcribe a b`)
_lock = threading.Lock()


def transcription_started(ctx: RunContext, audio: Audio, backend: str) -> None:
    with _lock:
        watch = _watches.setdefault(ctx.run_id, Watch(audio))
    watch.started[backend] = time.perf_counter()  # a fallback chain restarts the clock for the next backend


def transcript_ready(ctx: RunContext, transcript: Transcript) -> None:
    watch = _watches.get(ctx.run_id)
    if watch is not None and transcript.backend in watch.started:
        watch.seconds = time.perf_counter() - watch.started[transcript.backend]


def forget(ctx: RunContext) -> Watch | None:
    with _lock:
        return _watches.pop(ctx.run_id, None)


def pipeline_finished(ctx: RunContext, transcript: Transcript) -> None:
    """Run the other backends on the dictation's audio and print the comparison on stderr."""
    from .compare import compare
    from .settings import BenchmarkConfig
    from .report import console, print_table

    watch = forget(ctx)
    if watch is None:
        return
    delivered = record(Result(transcript.backend, None, [watch.seconds] if watch.seconds is not None else []),
                       transcript)
    chosen = ctx.settings.section("benchmark", BenchmarkConfig).backends
    others = [name for name in configured_backends(ctx, chosen) if name != transcript.backend]
    if not others:
        ctx.warn("benchmarkMode: no other backend to compare with (set benchmark.backends, "
                 "or configure another backend's section)")
    audio = decoded(watch.audio)
    results = [delivered, *(run(ctx, name, None, audio, runs=1) for name in others)]
    print_table([compare(watch.audio.label or "dictation", audio.duration, 1, results, None)],
                console(stderr=True))

