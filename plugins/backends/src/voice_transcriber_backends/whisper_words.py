"""The words of a decode: when each was said (Whisper's forced alignment), and which belong to the phrase
itself when the decoder was held to the text of the phrase before it (a prefix).

faster-whisper is imported inside the functions: this module loads with the plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voice_transcriber import Segment

if TYPE_CHECKING:
    import numpy as np


def word_timings(whisper: Any, encoder_output: Any, text: str, samples: int, language: str) -> list[Segment]:
    """When each word of ``text`` was said in the audio whose encoder output is ``encoder_output``
    (``samples`` long): Whisper's forced alignment (cross-attention + dynamic time warping, what
    faster-whisper's ``word_timestamps`` use), one decoder pass over the text. A word is what
    ``text.split()`` gives ("20%", "ill-disposed,"), so the words joined with spaces are ``text``;
    none when the alignment's words do not add up to them."""
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import merge_punctuations

    tokenizer = Tokenizer(whisper.hf_tokenizer, whisper.model.is_multilingual, task="transcribe", language=language)
    tokens = tokenizer.encode(" " + text)
    frames = max(1, samples // 160)
    found = whisper.find_alignment(tokenizer, [tokens], encoder_output, frames)[0] if tokens else []
    merge_punctuations(found, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")
    pieces = [Segment(float(word["start"]), float(word["end"]), "".join(word["word"].split())) for word in found]
    return _tiled([piece for piece in pieces if piece.text], text)


def speech_map(samples: np.ndarray) -> tuple[Any, int]:
    """Where faster-whisper's VAD filter (its default options, as ``transcribe`` uses them) keeps speech
    in ``samples``: a map from the kept audio's time back to the phrase's, and how many samples it keeps."""
    from faster_whisper.vad import SpeechTimestampsMap, VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(samples, VadOptions())
    return SpeechTimestampsMap(chunks, 16_000), sum(chunk["end"] - chunk["start"] for chunk in chunks)


def restored(speech: Any, word: Segment) -> Segment:
    """``word``'s timing in the kept speech, back in the phrase's time (both ends in the chunk of its middle)."""
    chunk = speech.get_chunk_index((word.start + word.end) / 2)
    return Segment(speech.get_original_time(word.start, chunk), speech.get_original_time(word.end, chunk), word.text)


def _tiled(pieces: list[Segment], text: str) -> list[Segment]:
    """``pieces`` (Whisper's words: "20" "%", "ill" "-disposed") grouped into the words of ``text``."""
    words, used = [], 0
    for token in text.split():
        first, joined = used, ""
        while used < len(pieces) and len(joined) < len(token):
            joined += pieces[used].text
            used += 1
        if joined != token:
            return []
        words.append(Segment(pieces[first].start, pieces[used - 1].end, token))
    return words if used == len(pieces) else []


def words_after_prefix(words: list[Segment], prefix: str) -> list[Segment]:
    """The words after those of ``prefix`` (the text a decode was held to starts with it)."""
    wanted = prefix.split()
    return words[len(wanted):] if [word.text for word in words[:len(wanted)]] == wanted else []


def text_after_prefix(text: str, prefix: str) -> str:
    """``text`` without the ``prefix`` faster-whisper's output starts with (the decoder was held to it)."""
    text = text.strip()
    return text[len(prefix):].strip() if text.startswith(prefix) else text


def words_spelling(words: tuple[Segment, ...], text: str) -> tuple[Segment, ...]:
    """``words`` when they spell ``text`` (the phrase's decided text), else none: a timing that does
    not match the text (a decode cleaned of a loop, the phrase heard alone instead) is not used."""
    return words if words and " ".join(word.text for word in words).split() == text.split() else ()
