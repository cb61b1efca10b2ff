"""A stored recording transcribed the way it was streamed live (``retry``, the offline benchmarks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .session import StreamingTranscription
from .start import streams

if TYPE_CHECKING:
    from ..context import Backend, RunContext
    from ..types import Audio
    from .phrases import Commit

#: Samples per block when a stored recording is replayed (the recorder's 50 ms tick)
REPLAY_BLOCK = 800


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
    session.mark_replay(simulate=simulate, recommit=bool(pending))
    ticking = simulate and not pending  # as a live run on an idle machine: re-decodes as the recording goes
    for offset in range(0, len(pcm), step):
        segmenter.feed(pcm[offset:offset + step])
        while pending and segmenter.judged >= pending[0].judged:
            session.recommit(segmenter, pending.pop(0), samples)
        if ticking:
            session.tick(segmenter)
    segmenter.flush()
    ctx.log(f"replayed the recording as streamed: {len(session.phrases)} phrase(s)")
    return session
