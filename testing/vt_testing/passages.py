"""Long speech with pauses: espeak-ng sentences joined by silence, as a person dictates.

For the streaming tests and ``bench/post_stop_latency.py``: :func:`make_passage` builds the
int16 samples and the text; the ``espeak_passage`` fixture writes them as a 16 kHz WAV.
"""

from __future__ import annotations

import functools
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


def sentence_pcm(text: str, folder: Path, speed: int = 150) -> bytes:
    """One espeak-ng sentence as int16 16 kHz samples, without espeak's leading and trailing silence."""
    raw, out = folder / "raw.wav", folder / "sentence.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(speed), "-w", str(raw), text], check=True)
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


#: Natural dictation: email-like paragraphs read in one go by espeak-ng (commas and full stops, no
#: pause longer than espeak's own ~0.4 s between clauses), three per length (~12 s, ~30 s, ~62 s).
NATURAL = {
    "short-1": "Hi Anna, thanks for sending the draft so quickly. I read it on the train this morning, "
               "and I think the second part needs a few more examples before we share it.",
    "short-2": "Could you book the small meeting room for Thursday afternoon, please? We need it from two "
               "until four, and somebody should check that the projector works.",
    "short-3": "The delivery arrived today, but two of the boxes were damaged, so I took photos of them and "
               "sent everything back to the supplier with a short note.",
    "medium-1": "Dear team, I wanted to give you a quick update on the website project. The new design is "
                "almost finished, and the developers have started moving the old pages over. We found a few "
                "broken links along the way, which we are fixing now. If everything goes to plan, we can show "
                "the first version to the client at the end of next week, and collect their feedback before the "
                "summer holidays start.",
    "medium-2": "Hello Peter, I hope you had a good weekend. I looked at the numbers you sent on Friday, and most "
                "of them match what we expected. The only surprise is the cost of shipping, which went up by almost "
                "twenty percent since the spring. Could you ask the warehouse whether they changed the carrier, or "
                "whether this is just the new price list? I would like to understand it before the board meeting.",
    "medium-3": "Just a reminder that the office will be closed on Monday for the public holiday. Please make sure "
                "that your computers are switched off before you leave on Friday, and that nothing is left in the "
                "fridge in the kitchen. The cleaners will come in on Tuesday morning, so the first meeting of the "
                "week will start at ten instead of nine. Enjoy the long weekend, and see you all on Tuesday.",
    "long-1": "Dear Maria, thank you for your letter and for the kind words about our visit last month. We really "
              "enjoyed the time at your farm, and the children still talk about the horses and the long walks by the "
              "lake. I am writing because we would like to come back in the autumn, if that suits you. We were "
              "thinking of the second week of October, when the schools are closed, but we can easily change the "
              "dates if you already have other guests. This time we would also bring my mother, who has heard so "
              "much about the place that she wants to see it for herself. She cannot walk very far any more, so a "
              "room on the ground floor would be best for her. Please let me know what you think, and whether there "
              "is anything we can bring from the city.",
    "long-2": "Hello everyone, here is a short summary of what we decided at yesterday's planning meeting. First, "
              "the release of the new version moves from March to April, because the testing took longer than we "
              "hoped and we do not want to ship with known problems. Second, the support team gets two more people "
              "from the first of February, which should bring the waiting time for customers back under one day. "
              "Third, we will stop working on the old mobile application and put that effort into the new one "
              "instead. I know that some of you spent a lot of time on the old version, and I want to thank you for "
              "that work. If you have questions about any of these points, please write to me directly, or bring "
              "them to the team meeting on Wednesday.",
    "long-3": "Good morning, I am calling about the order we placed two weeks ago for the new office chairs. "
              "According to the tracking page, the package left your warehouse on Monday, but it has not arrived "
              "yet, and the delivery company says they have no record of it. We have twelve new people starting "
              "next week, and at the moment they would have nowhere to sit, so this is becoming quite urgent for "
              "us. Could you please check what happened to the shipment, and tell us whether you can send a "
              "replacement before Friday? If that is not possible, we would like to cancel the order and get a "
              "refund, so that we can buy the chairs from a local shop instead. Thank you for your help, and I "
              "look forward to hearing from you soon.",
}


@functools.cache
def natural_passage(name: str) -> tuple[bytes, str]:
    """A :data:`NATURAL` paragraph read by espeak-ng in one go: (int16 16 kHz samples, text).

    Words per minute: 125 for the short and medium ones (11–12 s, 28–31 s), 110 for the long ones (60–62 s).
    Made once per process (espeak-ng gives the same samples every time)."""
    with tempfile.TemporaryDirectory() as tmp:
        return sentence_pcm(NATURAL[name], Path(tmp), 110 if name.startswith("long") else 125), NATURAL[name]


def natural_utterances(name: str, count: int = 3) -> list[tuple[bytes, str]]:
    """A :data:`NATURAL` paragraph as ``count`` utterances: its sentences in ``count`` runs of about
    equal length, each read by espeak-ng in one go at the paragraph's pace — a person dictating it
    hands-free with a pause between thoughts. [(int16 16 kHz samples, text), …]"""
    import re

    sentences = [s.strip() for s in re.findall(r"[^.?!]+[.?!]", NATURAL[name])]
    if len(sentences) < count:
        raise ValueError(f"{name} has fewer than {count} sentences")
    best: tuple[int, list[list[str]]] | None = None
    for cuts in _cut_points(len(sentences), count):
        groups = [sentences[a:b] for a, b in zip((0, *cuts), (*cuts, len(sentences)))]
        longest = max(sum(len(s) for s in group) for group in groups)
        if best is None or longest < best[0]:
            best = (longest, groups)
    assert best is not None
    speed = 110 if name.startswith("long") else 125
    with tempfile.TemporaryDirectory() as tmp:
        return [(sentence_pcm(" ".join(group), Path(tmp), speed), " ".join(group)) for group in best[1]]


def _cut_points(size: int, count: int, first: int = 1) -> list[tuple[int, ...]]:
    """Every way to cut ``range(size)`` into ``count`` non-empty runs: the cut indices, in order."""
    if count == 1:
        return [()]
    return [(cut, *rest) for cut in range(first, size - count + 2) for rest in _cut_points(size, count - 1, cut + 1)]
