"""Long speech with pauses: espeak-ng sentences joined by silence, as a person dictates.

For the streaming tests and ``bench/post_stop_latency.py``: :func:`make_passage` builds the
int16 samples and the text; the ``espeak_passage`` fixture writes them as a 16 kHz WAV.
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import pytest

RATE = 16_000
SENTENCES = (
    "The meeting starts at nine in the morning.", "Please bring the quarterly report and your laptop.",
    "We will review the budget for the new office.", "After lunch the design team presents the prototype.",
    "Questions about the schedule go to the project manager.", "The train to the city leaves every twenty minutes.",
    "My sister bought a small house near the river.", "It rained all weekend, so we stayed inside and read books.",
    "The library closes early on public holidays.", "Remember to water the plants before you leave.",
    "Our new neighbours moved in from the north of the country.", "The doctor said I should walk for half an hour every day.",
)


def sentence_pcm(text: str, folder: Path) -> bytes:
    """One espeak-ng sentence as int16 16 kHz samples, without espeak's leading and trailing silence."""
    raw, out = folder / "raw.wav", folder / "sentence.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out), "silence", "1", "0.01", "0.1%",
                    "reverse", "silence", "1", "0.01", "0.1%", "reverse"], check=True)
    with wave.open(str(out)) as wav:
        return wav.readframes(wav.getnframes())


def make_passage(seconds: float, pause: float = 0.8, first: int = 0) -> tuple[bytes, str, list[tuple[float, float]]]:
    """At least ``seconds`` of speech: sentences from ``SENTENCES[first]`` on, ``pause`` s apart.

    Returns the int16 samples, the text, and each sentence's (start, end) in seconds.
    """
    gap = bytes(2 * int(pause * RATE))
    parts, words, spans, total = [], [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        index = first
        while total / RATE < seconds:
            pcm = sentence_pcm(SENTENCES[index % len(SENTENCES)], Path(tmp))
            if parts:
                parts.append(gap)
                total += len(gap) // 2
            spans.append((total / RATE, (total + len(pcm) // 2) / RATE))
            parts.append(pcm)
            words.append(SENTENCES[index % len(SENTENCES)])
            total += len(pcm) // 2
            index += 1
    return b"".join(parts), " ".join(words), spans


def write_wav(path: Path, pcm: bytes) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm)
    return path


@pytest.fixture(scope="session")
def espeak_passage(espeak_wav, tmp_path_factory):
    """Factory: ``espeak_passage(seconds, pause=0.8)`` → (WAV path, text, sentence spans in seconds)."""
    folder = tmp_path_factory.mktemp("passages")
    made: dict[tuple[float, float], tuple[Path, str, list[tuple[float, float]]]] = {}

    def make(seconds: float, pause: float = 0.8):
        if (seconds, pause) not in made:
            pcm, text, spans = make_passage(seconds, pause)
            made[seconds, pause] = (write_wav(folder / f"passage{len(made)}.wav", pcm), text, spans)
        return made[seconds, pause]

    return make
