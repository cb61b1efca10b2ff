"""What Whisper hears at once: a long file cut into windows at quiet moments, the encoder window fitted
to a short recording, and the tokens of prompt a decode has room for.

numpy and faster-whisper's model are used inside the functions: this module loads with the plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np

    from voice_transcriber import Audio

#: Whisper gets at most this many seconds at once: a longer file is transcribed window by window,
#: each cut at its quietest moment near its end, so memory stays bounded whatever the length
#: (faster-whisper's VAD and features cost ~1 MB per second of window: 120 s → ~290 MB peak in all,
#: 600 s → ~530 MB; bench/long_files.py).
WINDOW_SECONDS = 120.0
#: Where to look for the cut: the last this many seconds of a window, in frames of CUT_FRAME_SECONDS.
CUT_SEARCH_SECONDS = 20.0
CUT_FRAME_SECONDS = 0.1

#: Whisper's window: a whole recording at most this long is heard in one (and may be fitted, ``fitWindow``)
ONE_WINDOW_SECONDS = 30.0
#: Tokens of prompt Whisper reads (faster-whisper keeps the last ``max_length // 2 - 1`` = 223)
PROMPT_TOKENS = 223
#: Silence (mel frames, 10 ms each) kept after the audio in a fitted window: with 1-3 s, tiny.en
#: repeated itself on short phrases (measured on jfk.flac); 6-10 s kept the text of the 30 s window
WINDOW_MARGIN = 1000


def keeping_encoder_output(whisper: Any, encoded: list[Any]) -> Any:
    """A view of ``whisper`` that appends each encoder output to ``encoded`` (for
    :func:`~.whisper_words.word_timings`)."""
    import copy

    view = copy.copy(whisper)
    encode = whisper.encode

    def keeping_encode(features: Any) -> Any:
        output = encode(features)
        encoded.append(output)
        return output

    view.encode = keeping_encode
    return view


def room_to_decode(whisper: Any, favoured: str | None) -> int:
    """Tokens a decode may produce beside the longest prompt faster-whisper builds: the previous
    text (at most :data:`PROMPT_TOKENS`), the hotwords and the start-of-transcript tokens."""
    favoured_tokens = min(prompt_token_count(whisper, favoured), PROMPT_TOKENS) if favoured else 0
    return whisper.max_length - 1 - PROMPT_TOKENS - favoured_tokens - 6


def prompt_token_count(whisper: Any, text: str) -> int:
    """How many tokens ``text`` takes in a prompt (or a prefix) of ``whisper``."""
    return len(whisper.hf_tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)


def fitted_window(whisper: Any, margin: int = WINDOW_MARGIN) -> Any:
    """A view of ``whisper`` whose encoder sees the audio plus ``margin`` frames, not 30 s.

    faster-whisper pads every window's mel features with zeros to 3,000 frames (30 s) before the
    encoder, so a 2 s phrase costs nearly what 20 s do. CTranslate2's Whisper encoder takes shorter
    inputs: the padding (all-zero columns: a real mel frame is never exactly zero) is cut back to
    ``margin`` frames. Everything else (prompting, the decode's thresholds, timestamps) is
    faster-whisper's own. The model itself is shared, not copied.
    """
    import copy

    import numpy as np

    view = copy.copy(whisper)
    encode = whisper.encode

    def fitted_encode(features: np.ndarray) -> Any:
        batch = features if features.ndim == 3 else features[np.newaxis]
        used = np.flatnonzero(np.any(batch != 0, axis=(0, 1)))
        frames = int(used[-1]) + 1 + margin if used.size else margin
        frames = min(batch.shape[-1], frames + frames % 2)  # the encoder's convolution halves it
        return encode(np.ascontiguousarray(batch[..., :frames]))

    view.encode = fitted_encode
    return view


def windows(audio: Audio, window_seconds: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """``(start in seconds, 16 kHz mono float32)`` windows of ``audio``, decoded as a stream (libsndfile,
    else PyAV for m4a, webm …); at least one, maybe empty. Raises AudioError when it cannot be decoded."""
    import numpy as np

    limit = int((window_seconds or WINDOW_SECONDS) * 16_000)
    pending: list[np.ndarray] = []
    size, start = 0, 0
    for block in audio.blocks(16_000):
        pending.append(block)
        size += block.size
        while size >= limit:
            joined = np.concatenate(pending)
            cut = quietest_cut(joined[:limit])
            yield start / 16_000, joined[:cut]
            start += cut
            pending, size = [joined[cut:]], joined.size - cut
    yield start / 16_000, np.concatenate(pending) if pending else np.zeros(0, dtype=np.float32)


def quietest_cut(samples: np.ndarray) -> int:
    """Where to end a window: the middle of the quietest short frame among its last seconds (a pause, not a word)."""
    import numpy as np

    frame = int(CUT_FRAME_SECONDS * 16_000)
    search = min(samples.size, int(CUT_SEARCH_SECONDS * 16_000)) // frame * frame
    if search < frame:
        return samples.size
    tail = samples[samples.size - search:].reshape(-1, frame)
    quietest = int(np.argmin(np.square(tail, dtype=np.float32).mean(axis=1)))
    return samples.size - search + quietest * frame + frame // 2
