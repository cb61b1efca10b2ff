"""The segmenter on real speech (espeak-ng sentences with pauses, jfk.flac), and the adaptive tail.

Audio is fed in 50 ms blocks, as the recorder's taps get it. The Silero VAD is the real one.
"""

from __future__ import annotations

import time
import wave
from types import SimpleNamespace

import numpy as np
import pytest

from voice_transcriber.capture.recorder import Recorder
from voice_transcriber.capture.segmenter import Segmenter, SpeechSegment
from voice_transcriber.capture.stops import StopControl
from voice_transcriber.config import load_settings
from voice_transcriber.context import RunContext

RATE = 16_000
BLOCK = 800 * 2  # bytes: 50 ms


def segment(pcm: bytes, **options) -> tuple[list[SpeechSegment], SpeechSegment | None, Segmenter]:
    found: list[SpeechSegment] = []
    segmenter = Segmenter(found.append, **options)
    assert segmenter.activity.wait_ready(10), segmenter.activity.error
    for offset in range(0, len(pcm), BLOCK):
        segmenter.feed(pcm[offset:offset + BLOCK])
    last = segmenter.flush()
    return found, last, segmenter


def pcm_of(path) -> bytes:
    with wave.open(str(path)) as wav:
        return wav.readframes(wav.getnframes())


def silence(seconds: float) -> bytes:
    return bytes(2 * int(seconds * RATE))


def test_sentences_separated_by_pauses_become_one_phrase_each(espeak_passage):
    wav, _, spans = espeak_passage(10)
    pcm = pcm_of(wav) + silence(1.0)
    found, last, _ = segment(pcm)

    assert len(found) == len(spans), [(s.start_seconds, s.end_seconds) for s in found]
    assert last is None, "the recording ended in silence: every phrase was out before the stop"
    for phrase, (start, end) in zip(found, spans):
        assert phrase.start_seconds <= start + 0.1 and phrase.end_seconds >= end - 0.1, "the whole sentence is in"
        assert phrase.start_seconds >= start - 0.5 and phrase.end_seconds <= end + 0.5, "with a little padding only"
    assert [p.index for p in found] == list(range(len(spans)))
    assert all(a.end <= b.start for a, b in zip(found, found[1:])), "phrases never overlap"
    assert np.array_equal(found[1].samples, np.frombuffer(pcm, dtype=np.int16)[found[1].start:found[1].end])


def test_the_stop_in_the_middle_of_a_sentence_flushes_it_as_the_final_phrase(espeak_passage):
    wav, _, spans = espeak_passage(10)
    pcm = pcm_of(wav)
    cut = int((spans[1][0] + 1.0) * RATE) * 2  # one second into the second sentence
    found, last, _ = segment(pcm[:cut])

    assert len(found) == 2 and found[-1] is last and last.final
    assert last.end == cut // 2, "everything up to the stop"
    audio = last.audio()
    assert audio.sample_rate == RATE and audio.samples.dtype == np.float32 and abs(audio.samples).max() <= 1.0


def test_jfk_is_cut_at_its_pauses_and_nothing_spoken_is_left_out(jfk_audio):
    pcm = (jfk_audio.samples * 32767).astype(np.int16).tobytes() + silence(1.0)
    found, _, _ = segment(pcm)

    assert len(found) >= 2, "Kennedy pauses after 'Americans' and after 'for you'"
    from faster_whisper.vad import get_speech_timestamps

    for speech in get_speech_timestamps(jfk_audio.samples):
        covered = [p for p in found if p.start <= speech["start"] + 1600 and p.end >= speech["end"] - 1600]
        inside = [p for p in found if p.start < speech["end"] and p.end > speech["start"]]
        assert covered or len(inside) >= 1, f"speech at {speech} is in no phrase"


def test_a_phrase_without_pauses_is_cut_at_its_quietest_point_before_the_maximum(espeak_passage):
    wav, _, _ = espeak_passage(10, pause=0.3)  # pauses shorter than min_pause: one long phrase
    pcm = pcm_of(wav)
    found, _, _ = segment(pcm, max_seconds=4.0)
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32)

    assert len(found) >= 3
    assert all(p.end_seconds - p.start_seconds <= 4.0 + 0.05 for p in found)
    for phrase in found[:-1]:
        cut = phrase.end
        window_energy = (samples[cut:cut + 512] ** 2).mean()
        assert window_energy <= np.percentile(
            [(samples[i:i + 512] ** 2).mean() for i in range(phrase.start, cut - 512, 512)], 25), "cut where it is quiet"
    assert all(a.end == b.start for a, b in zip(found, found[1:])), "a cut in speech loses no sample"


def test_an_early_pause_announces_the_phrase_that_then_follows_unchanged(espeak_passage):
    wav, _, spans = espeak_passage(10)
    early: list[SpeechSegment] = []
    found, _, _ = segment(pcm_of(wav) + silence(1.0), on_pause=early.append)

    confirmed = {(p.index, p.start, p.end) for p in found}
    assert len(found) == len(spans)
    assert confirmed <= {(p.index, p.start, p.end) for p in early}, "each finished phrase was announced first"


def test_a_first_pause_announces_the_phrase_sooner_with_less_silence_after_its_speech(espeak_passage):
    """``first_pause`` (``input.streamingRestPause``): after 0.1 s of silence ``on_first_pause`` hears of the phrase,
    0.1 s of silence after its speech, before ``on_pause`` does with the whole 0.2 s of padding. Every phrase says
    how much of its end is that silence (``quiet``), so a listener cuts the announced and the finished one alike."""
    wav, _, spans = espeak_passage(10)
    heard: list[tuple[str, SpeechSegment]] = []
    found, _, _ = segment(pcm_of(wav) + silence(1.0), on_pause=lambda p: heard.append(("pause", p)), first_pause=0.1,
                          on_first_pause=lambda p: heard.append(("first", p)))

    assert len(found) == len(spans)
    for phrase in found:
        mine = [(at, kind, p) for at, (kind, p) in enumerate(heard) if (p.index, p.start) == (phrase.index, phrase.start)]
        first = [(at, p) for at, kind, p in mine if kind == "first"][-1]  # (its last pause: the one that ended it)
        late = [(at, p) for at, kind, p in mine if kind == "pause"][-1]
        assert first[0] < late[0]
        assert (first[1].quiet, late[1].quiet, phrase.quiet) == (int(0.1 * RATE), int(0.2 * RATE), int(0.2 * RATE))
        assert (first[1].end, late[1].end) == (phrase.end - int(0.1 * RATE), phrase.end)
        assert np.array_equal(first[1].samples, phrase.samples[: len(first[1].samples)])
    with pytest.raises(ValueError, match="below the padding"):
        Segmenter(lambda p: None, first_pause=0.2, on_first_pause=lambda p: None)


def test_a_pause_is_heard_within_a_block_of_its_fourth_window_and_is_under_way_until_announced(espeak_passage):
    """Live, the VAD judges the windows of a group not yet whole in a pause after speech (the model is causal: the
    same numbers as the whole group, each group still judged whole once): ``on_first_pause`` fires within a block of
    the window that makes the 0.1 s (the fourth after the speech: 128 ms), not up to 3 windows later when its group
    is whole. ``pause_under_way`` (the recorder then looks at the microphone every 10 ms instead of 50) is true from
    the silence after the speech until that announcement, false just after it and mostly while speaking."""
    wav, _, spans = espeak_passage(10)
    pcm = pcm_of(wav) + silence(1.0)
    late: list[int] = []
    segmenter: Segmenter

    def first(phrase: SpeechSegment) -> None:
        late.append(segmenter._buffer_start + len(segmenter._buffer) - phrase.end)

    block = 320 * 2  # 20 ms
    segmenter = Segmenter(lambda p: None, first_pause=0.1, on_first_pause=first)
    assert segmenter.activity.wait_ready(10), segmenter.activity.error
    states: list[tuple[int, bool, int]] = []  # (samples fed, under way, announcements so far)
    for offset in range(0, len(pcm), block):
        segmenter.feed(pcm[offset:offset + block])
        states.append(((offset + block) // 2, segmenter.pause_under_way(), len(late)))
    segmenter.flush()

    assert len(late) >= len(spans), "every phrase's pause was announced"
    assert max(late) < 4 * 512 - 1600 + 320, f"heard within a block of the fourth silent window, not windows later: {late}"
    activity = segmenter.activity
    assert activity.early_passes > 0 and activity.passes == -(-activity.windows // 4), "each group judged whole once"
    during = [under for fed, under, _ in states if fed < int(spans[0][1] * RATE) - RATE // 10]
    assert during.count(True) < len(during) // 4, "mostly not while the first sentence is spoken"
    before = [[under for _, under, heard in states if heard == count][-1] for count in range(len(late))]
    # (not before those whose 4 silent windows are one whole group, judged at once in the block that announces it)
    assert sum(before) >= len(late) / 2, f"under way from the first silent window judged until announced: {before}"
    for count in range(len(late)):
        assert not any([under for _, under, heard in states if heard == count + 1][:3]), "no longer once announced"


def test_silence_and_clicks_give_no_phrase():
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(3 * RATE) * 200).astype(np.int16).tobytes()
    click = silence(1) + (np.ones(800, dtype=np.int16) * 20000).tobytes() + silence(1)
    for pcm in (silence(3), noise, click):
        found, last, _ = segment(pcm)
        assert found == [] and last is None


def test_ended_in_silence_tells_a_finished_sentence_from_one_cut_off(espeak_wav):
    pcm = pcm_of(espeak_wav("Please send the report by Friday."))
    speech_end = len(np.trim_zeros(np.frombuffer(pcm, dtype=np.int16), "b")) * 2
    finished = Segmenter(lambda s: None)
    cut_off = Segmenter(lambda s: None)
    for segmenter, audio in ((finished, pcm[:speech_end] + silence(0.5)), (cut_off, pcm[:speech_end // 4 * 2])):
        segmenter.activity.wait_ready(10)
        for offset in range(0, len(audio), BLOCK):
            segmenter.feed(audio[offset:offset + BLOCK])
    assert finished.ended_in_silence()
    assert not cut_off.ended_in_silence()


class RealTimeMic:
    """Stands in for :class:`Microphone`: hands out ``pcm`` (then silence) as fast as time passes."""

    def __init__(self, pcm: bytes) -> None:
        self.pcm, self.rate, self.name, self.latency = pcm, RATE, "fake", 0.02
        self.started = time.monotonic()
        self.given = 0
        self.stream = SimpleNamespace(active=True)

    def drain(self) -> list[bytes]:
        due = int((time.monotonic() - self.started) * RATE) * 2
        audio = (self.pcm + bytes(max(0, due - len(self.pcm))))[self.given:due]
        self.given = max(self.given, due)
        return [audio] if audio else []

    def close(self) -> None:
        pass


def record_until_stop(pcm: bytes, stop_at: float, tail_ms: int = 300) -> tuple[float, dict]:
    """Seconds recorded after the stop request, with a segmenter attached; and ctx.info."""
    settings = load_settings(overrides={"input.tailPaddingMs": tail_ms})
    ctx = RunContext(settings, quiet=True)
    stop = StopControl()
    file = SimpleNamespace(write=lambda block: None, close=lambda: None)
    mic = RealTimeMic(pcm)
    recorder = Recorder(mic, stop, file, settings.input, ctx)
    recorder.segmenter = Segmenter(lambda s: None)
    recorder.segmenter.activity.wait_ready(10)
    recorder.taps.append(recorder.segmenter.feed)
    recorder.stop.wait = lambda seconds, watch: (time.sleep(seconds),
                                                 stop.request_stop("test") if time.monotonic() - mic.started >= stop_at else None)
    recorder.run()
    return recorder.seconds - stop_at, ctx.info


def test_adaptive_tail_none_after_finished_speech_full_when_the_stop_cuts_into_speech(espeak_wav):
    pcm = pcm_of(espeak_wav("We will review the budget for the new office."))
    speech = len(np.trim_zeros(np.frombuffer(pcm, dtype=np.int16), "b")) / RATE

    after_speech, info = record_until_stop(pcm[: int(speech * RATE) * 2], stop_at=speech + 0.5, tail_ms=1000)
    assert after_speech < 0.5, "the speech had ended: no tail (only the loop's and the device's latency)"
    assert "none" in info.get("tail", "")

    for _ in range(3):  # (a recording loop the machine starved for seconds ends after the speech: run it again)
        into_speech, info = record_until_stop(pcm, stop_at=speech / 2, tail_ms=1000)
        if float(info["stop → end of recording"].split()[0]) < 2.0:
            break
    assert into_speech >= 1.0, "the stop cut into speech that goes on: the full tail is kept"
    assert "tail" not in info, info


def test_the_last_phrase_is_split_at_its_last_pause_into_the_phrase_announced_there():
    """short-1 is one 12 s phrase (no pause long enough to end it sooner). With split_seconds, a stop
    0.4 s after its last word hands it out in two, at its last 0.2 s pause leaving 3 s on both
    sides; the head is exactly the phrase announced at that pause (its transcription starts there)
    and the announcement at the last pause says where a stop would split. A stop 2.5 s later, or
    more speech after it, leave the phrase whole."""
    from vt_testing.passages import natural_passage

    pcm, _ = natural_passage("short-1")
    options = dict(min_seconds=2.0, soft_seconds=5.0, soft_pause=0.3, tight_seconds=8.75)
    whole, _, _ = segment(pcm + silence(0.4), **options)
    early: list[SpeechSegment] = []
    found, last, _ = segment(pcm + silence(0.4), split_seconds=3.0, on_pause=early.append, **options)

    assert len(whole) == 1
    head, tail = found
    assert (head.start, tail.end) == (whole[0].start, whole[0].end) and head.end == tail.start, "no sample lost or doubled"
    assert (head.index, tail.index, head.final, tail.final) == (0, 1, False, True) and last == tail
    assert head.end - head.start >= 3 * RATE and tail.end - tail.start >= 3 * RATE
    samples = np.abs(np.frombuffer(pcm, dtype=np.int16).astype(np.int32))
    assert np.percentile(samples[head.end - 1600:head.end + 1600], 90) < 0.1 * samples.max(), "cut in a pause"
    assert (head.index, head.start, head.end) in {(p.index, p.start, p.end) for p in early}
    assert (early[-1].start, early[-1].end, early[-1].split) == (head.start, tail.end, head.end)
    again, _, _ = segment(pcm + silence(0.4), split_seconds=3.0, **options)
    assert [(p.start, p.end) for p in again] == [(p.start, p.end) for p in found], "the cut depends on the audio alone"
    for longer in (pcm + silence(2.5), pcm + silence(0.8) + pcm + silence(0.4)):
        more, _, _ = segment(longer, split_seconds=3.0, **options)
        assert (more[0].start, more[0].end) == (whole[0].start, whole[0].end)
    shorter, _, _ = segment(pcm + silence(0.4), split_seconds=6.0, **options)
    assert len(shorter) == 1, "no pause leaves 6 s on both sides: not split"
