"""What each utterance of a ``--continuous`` session is transcribed with, live and when ``retry`` replays it.

The session's segmenter cuts the utterances (:func:`utterance_segmenter`); each is prompted with the session's
text before it (:func:`session_context`) and, with ``input.continuousOverlap``, heard after the utterance
before it again (:func:`heard_after`, :class:`Continuation`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import InputSettings
    from ..context import Backend
    from ..types import Audio, Transcript
    from .segmenter import Segmenter, SpeechSegment
    from .vad import VoiceActivity

RATE = 16_000
#: Audio kept before and after each utterance's speech (s). More than the segmenter's default:
#: a short utterance has no neighbouring context, and tiny.en mishears a soft first word cut
#: close ("The meeting" → "Let me do", measured through a PulseAudio virtual microphone).
PADDING = 0.4
#: Audio kept before an utterance's first speech (s), down to the end of the utterance before: the
#: pause before it, up to 1 s. With the padding alone, a soft first word the VAD scores low was cut
#: off at some positions of its 32 ms grid (jfk.flac's "ask" after a 1 s pause: "mark mark mark"
#: instead of "ask not"); bench/stream_accuracy.py --only continuous: WER − batch +0.013 → +0.010
#: over six sessions (docs/streaming.md).
LEAD = 1.0
#: ``input.continuousOverlap``: an utterance is heard after the one before it only when both together
#: are at most this long (s), as phrases are (``streaming.decided.OVERLAP_SECONDS``): Whisper hears 30 s at once
OVERLAP_SECONDS = 25.0
#: An utterance ending with this starts a new context (see :func:`session_context`).
NEW_PARAGRAPH = re.compile(r"\bnew paragraph\W*$", re.IGNORECASE)


def utterance_segmenter(settings: InputSettings, on_utterance: Callable[[SpeechSegment], None],
                        activity: VoiceActivity | None = None) -> Segmenter:
    """The segmenter that cuts a session into utterances (at ``input.utterancePauseSeconds`` pauses,
    :data:`PADDING` after and :data:`LEAD` before each); ``activity``: the recording's shared VAD."""
    from .segmenter import Segmenter

    return Segmenter(on_utterance, min_pause=settings.utterance_pause_seconds, padding=PADDING, lead=LEAD,
                     activity=activity)


def session_context(settings: InputSettings, delivered: list[Transcript], previous_end: int | None,
                    segment: SpeechSegment) -> str:
    """The session's text before ``segment`` (the backends' own words of the ``delivered``
    utterances, the last of which ended at sample ``previous_end``): its prompt
    (``input.continuousContextSeconds``). Reset — '' — for the first utterance, after that many
    seconds without speech (a new topic), and after an utterance that ended with "new paragraph"."""
    limit = settings.continuous_context_seconds
    if not limit or not delivered or previous_end is None:
        return ""
    if segment.start - previous_end >= limit * RATE:
        return ""
    texts: list[str] = []
    for transcript in reversed(delivered):
        raw = transcript.raw_text if transcript.raw_text is not None else transcript.text
        if NEW_PARAGRAPH.search(raw):
            break
        texts.insert(0, raw.strip())
    return " ".join(texts)


@dataclass(frozen=True)
class HeardAfter:
    """What an utterance is heard after (``input.continuousOverlap``): the utterance before it again."""

    text: str  #: the backend's text of the utterance before, which the decoder is held to
    context: str  #: the session's text before that one (the prompt)

    @classmethod
    def ending(cls, context: str, text: str) -> HeardAfter:
        """After the utterance whose ``text`` ends the session's ``context``."""
        return cls(text, context[: len(context) - len(text)].strip())


def heard_after(settings: InputSettings, previous: tuple[SpeechSegment, str] | None, context: str,
                segment: SpeechSegment) -> HeardAfter | None:
    """With ``input.continuousOverlap``: ``segment`` is transcribed after ``previous`` (the utterance
    delivered before it and its text) when that one's text ends the session's ``context`` (no new
    topic, no "new paragraph" since) and both together are at most :data:`OVERLAP_SECONDS` long."""
    if not settings.continuous_overlap or previous is None or not context:
        return None
    before, text = previous[0], previous[1].strip()
    if not text or not context.endswith(text) or segment.end - before.start > OVERLAP_SECONDS * RATE:
        return None
    return HeardAfter.ending(context, text)


class Continuation:
    """One utterance transcribed by ``backend`` after the one before it, heard again
    (``backend.transcribe_continuation``): ``plan.streamed`` of that utterance's run (a failure
    there goes on to the next backend, which gets the session's text as prompt)."""

    def __init__(self, backend: Backend, before: Audio, after: HeardAfter) -> None:
        self.backend, self.before, self.after = backend, before, after

    def result(self, audio: Audio) -> Transcript:
        from ..context import call_component
        from ..errors import BackendError

        return call_component(self.backend, "backend", BackendError, self.backend.transcribe_continuation,
                              self.before, self.after.text, audio, self.after.context)

    def cancel(self) -> None:
        """Nothing runs in the background."""
