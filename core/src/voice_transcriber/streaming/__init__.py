"""Transcribe while recording: each phrase goes to the first backend as soon as the speaker pauses.

:func:`start_streaming` (:mod:`.start`) streams a recording, :func:`replay` (:mod:`.stored`) a stored one as it
was streamed; :class:`StreamingTranscription` (:mod:`.session`) is the session, with its phrases' jobs
(:mod:`.jobs`, run by :mod:`.workers`), the text decided before each phrase (:mod:`.decided`), the re-decodes of
the phrase being spoken (:mod:`.redecodes`) and what they agree on (:mod:`.agreement`), and the phrases and their
texts joined (:mod:`.phrases`). See docs/streaming.md.
"""

from .phrases import Commit
from .session import StreamingTranscription
from .start import start_streaming, streams
from .stored import replay

__all__ = ["Commit", "StreamingTranscription", "replay", "start_streaming", "streams"]
