"""The local backend's decode of one window of audio with faster-whisper: the prompt, the window fitted to
the audio, the segments as they come (the live text of a whole recording), the words' timings, and the text
cleaned of a decoder loop.

faster-whisper and numpy are used inside the functions: this module loads with the plugin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voice_transcriber import BackendError, Segment

from .local_models import first_line
from .prompts import hotwords, segment_prompt, transcription_prompt
from .runaway import collapse_repeats, max_new_tokens, says_twice, without_runaway
from .whisper_window import (PROMPT_TOKENS, WINDOW_MARGIN, fitted_window, keeping_encoder_output, prompt_token_count,
                             room_to_decode)
from .whisper_words import restored, speech_map, text_after_prefix, word_timings

if TYPE_CHECKING:
    import numpy as np

    from voice_transcriber import RunContext, Settings

    from .local_config import LocalConfig
    from .local_loading import LoadedModel

#: Temperatures of Whisper's fallback (faster-whisper's default), tried in turn while a decode fails its
#: thresholds; only with ``sampledFallback``. CTranslate2's sampler is seeded once per worker thread and
#: cannot be reset, so a sampled text depends on every decode made before it in the process: by
#: default a decode is one beam search at temperature 0, the same text for the same audio every time
#: (a decoder loop it may fall into is bounded and removed by :mod:`.runaway`)
SAMPLED_FALLBACK = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

#: What a decode gives: the text, the segments, and the language (detected when none was given)
Decoded = tuple[str, list[Segment], str | None]


@dataclass(frozen=True)
class Decode:
    """What a decode of one window (:func:`decode`) is asked for.

    ``context``: the text before (a phrase's, or the previous window's), as prompt; None: a whole recording's
    first window, prompted with the transcription prompt. ``offset``: where this window starts, in seconds.
    ``before``: the text of the windows before it. ``whole``: a whole recording, whose text so far goes to the
    pipeline after each segment (a streamed phrase is reported by the core). ``prefix``: the decided text of the
    audio's first ``samples.size / 16000 - own_seconds`` seconds (``prefix_tokens`` tokens long), which the
    decoder is held to; the text after it is returned, as one segment. ``words``: a streamed phrase's list to
    fill with the timing of every word heard (the prefix's included), from Whisper's cross-attention over the
    encoder output the decode used (:func:`~.whisper_words.word_timings`). ``margin_seconds``: the silence after
    a prefixed phrase in the fitted window (default ``continuationMarginSeconds``). ``beam_size``: the beam width
    (default ``beamSize``); ``prompt_tokens``: the longest prompt, ``prefix_tokens`` included (default all
    Whisper reads). ``one_window``: the samples are a whole recording of at most
    :data:`~.whisper_window.ONE_WINDOW_SECONDS`, with ``fitWindow`` decoded in a window fitted to them as a
    streamed phrase is (never a later window of a long file, nor a file over 30 s: there only its short last
    window would be fitted, where tiny.en lost or repeated words, docs/streaming.md). ``fit``: False for a decode
    in Whisper's 30 s window whatever ``fitWindow`` says (a fitted one that repeated itself, :func:`decode`).
    """

    context: str | None
    offset: float = 0.0
    before: str = ""
    whole: bool = True
    prefix: str | None = None
    prefix_tokens: int = 0
    own_seconds: float | None = None
    words: list[Segment] | None = None
    margin_seconds: float | None = None
    beam_size: int | None = None
    prompt_tokens: int | None = None
    one_window: bool = False
    fit: bool = True


def decode(config: LocalConfig, ctx: RunContext, loaded: LoadedModel, samples: np.ndarray, language: str | None,
           request: Decode) -> Decoded | None:
    """Decode ``samples`` segment by segment as ``request`` asks, in ``language`` (None: detected).

    None when the decode in a fitted window says a phrase 3+ times in a row, or one of 4+ words twice (the
    prefix included): it is then decoded again in Whisper's 30 s window (``fit`` False), and that text is kept.
    On a clip cut mid-word tiny.en can loop in the fitted window ("…Americans, and, and, and, …", under the
    runaway guard's rate) where it does not in the 30 s one, and held to "Please" it heard "send the report by
    Friday. Please send the report by Friday." for one sentence (docs/backends-local.md)."""
    whisper = loaded.whisper
    prompt = _prompt(ctx.settings, whisper, request)
    # a streamed phrase, or a file of one window
    fitted = request.fit and config.fit_window and (not request.whole or request.one_window)
    if fitted:
        margin = config.continuation_margin_seconds if request.margin_seconds is None else request.margin_seconds
        whisper = fitted_window(whisper, round(margin * 100) if request.prefix else WINDOW_MARGIN)
    encoded: list[Any] = []
    words = request.words
    words_before = len(words) if words is not None else 0
    filtered = config.vad_filter and not request.prefix
    speech = speech_map(samples) if words is not None and filtered else None
    if words is not None:
        whisper = keeping_encoder_output(whisper, encoded)
    seconds = samples.size / 16_000 if request.own_seconds is None else request.own_seconds
    text, segments, detected = _segments(config, ctx, loaded, whisper, samples, language, prompt, request,
                                         filtered=filtered, seconds=seconds)
    if words is not None and len(encoded) == 1 and text.strip() and (speech is None or speech[1]):
        # one encoder pass heard it all (a second window would hold only the end)
        words += _timed_words(whisper, encoded[0], text.strip(), samples, speech, language)
    if request.prefix:  # the output starts with the prefix it was held to: keep what follows, as one segment
        text = text_after_prefix(text, request.prefix)
        segments = [Segment(request.offset, request.offset + seconds, text)] if text else []
    if fitted and (collapse_repeats(text.strip()) != text.strip() or says_twice(text, request.prefix or "")):
        ctx.log(f"local: the fitted window repeated a phrase on {seconds:.1f} s of audio; "
                "heard again in the 30 s window")
        if words is not None:
            del words[words_before:]
        return None
    text, segments = _without_loop(ctx, text, segments, seconds)
    return text, segments, detected


def _prompt(settings: Settings, whisper: Any, request: Decode) -> str | None:
    """The prompt: a whole recording's, or a phrase's with the end of its context that fits beside the prefix."""
    if request.context is None:
        return transcription_prompt(settings)
    room = request.prompt_tokens or PROMPT_TOKENS
    return segment_prompt(settings, request.context,
                          fits=lambda text: prompt_token_count(whisper, text) + request.prefix_tokens <= room)


def _segments(config: LocalConfig, ctx: RunContext, loaded: LoadedModel, whisper: Any, samples: np.ndarray,
              language: str | None, prompt: str | None, request: Decode, *, filtered: bool,
              seconds: float) -> Decoded:
    """faster-whisper's decode (``whisper`` may be a view of the loaded model), telling the pipeline the text so
    far (``before`` this window and the window's) after each segment, for a ``whole`` recording."""
    text, segments = "", []
    favoured = hotwords(ctx.settings, config.hotwords)
    try:
        decoded, info = whisper.transcribe(
            samples, language=language, beam_size=request.beam_size or config.beam_size, vad_filter=filtered,
            initial_prompt=prompt, hotwords=favoured, prefix=request.prefix, without_timestamps=bool(request.prefix),
            temperature=SAMPLED_FALLBACK if config.sampled_fallback else 0.0,
            max_new_tokens=max_new_tokens(seconds, room_to_decode(whisper, favoured)))
        for raw in decoded:  # a generator: each step decodes the next segment
            text += raw.text  # Whisper's own spacing (none between CJK segments)
            segments.append(Segment(raw.start + request.offset, raw.end + request.offset, raw.text.strip()))
            if request.whole:
                ctx.partial_text(f"{request.before} {text.strip()}".strip())
    except (RuntimeError, ValueError) as exc:
        raise BackendError(f"local model '{loaded.model.name}' failed while decoding: {first_line(exc)} "
                           "(rerun with --debug; try transcription.local.computeType \"float32\")") from None
    return text, segments, info.language


def _timed_words(whisper: Any, encoder_output: Any, text: str, samples: np.ndarray, speech: tuple[Any, int] | None,
                 language: str | None) -> list[Segment]:
    """The timings of the words of ``text``, in the phrase's time: through the VAD filter (``speech``) they are
    in the speech it kept, and mapped back."""
    heard_size = samples.size if speech is None else speech[1]
    found = word_timings(whisper, encoder_output, text, heard_size, language or "en")
    return found if speech is None else [restored(speech[0], word) for word in found]


def _without_loop(ctx: RunContext, text: str, segments: list[Segment], seconds: float) -> tuple[str, list[Segment]]:
    """A decoder loop ("f s s s s …" on a cut word) cut back to one copy, as one segment."""
    cleaned = without_runaway(text.strip(), seconds)
    if cleaned != text.strip():
        ctx.log(f"local model repeated itself on {seconds:.1f} s of audio: "
                f"{len(text.split())} words, {len(cleaned.split())} kept")
        text = cleaned
        segments = [Segment(segments[0].start, segments[-1].end, text)] if segments and text else []
    return text.strip(), segments
