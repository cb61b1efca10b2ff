"""``--continuous`` through the real executable: PulseAudio virtual mic → segmenter → tiny.en → stdout.

espeak-ng sentences separated by 1.5 s of silence are played into the virtual microphone; each
must come out as its own delivery, in order, while the recording goes on. A stop signal waits until
the recorder's file holds everything said (``heard_until_now``).

Sessions that hear the same speech and differ only in how they are run and what is checked listen to one
playback together (a microphone has any number of listeners): each is still a real recorder of its own with
its own XDG dirs, and each test reads only its own session (module fixtures, one xdist group per pair).
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voice_transcriber import Backend, Sink, SinkError, Transcript, VoiceTranscriberError
from voice_transcriber.capture.continuous import ContinuousDictation
from voice_transcriber.capture.stop_phrase import split_stop_phrase
from voice_transcriber.capture.segmenter import SpeechSegment
from voice_transcriber.capture.stops import StopControl
from voice_transcriber.config import load_settings
from voice_transcriber.context import RunContext
from voice_transcriber.pipeline import Plan
from vt_testing.core import ListSink, run_cli, run_in_process
from vt_testing.desktop import empty_window
from vt_testing.recorder import RecordingProcess, heard_until_now, private_world, recorder_env, recordings_of, wav_seconds
from vt_testing.x11 import give_x_focus

FIRST, SECOND = "Please send the report by Friday.", "The meeting moves to Monday."
STOP = "Stop dictation."

pytestmark = pytest.mark.slow


@pytest.fixture
def env(pulse, tiny_model_dir, isolated_dirs, tmp_path) -> dict[str, str]:
    return recorder_env(pulse, tiny_model_dir, tmp_path / "runtime")


@pytest.fixture
def store(isolated_dirs) -> Path:
    return recordings_of(isolated_dirs)


def joined_speech(espeak_wav, folder: Path, *sentences: str) -> Path:
    """One WAV (in ``folder``) of the sentences with 1.5 s of silence between them."""
    gap = np.zeros(int(1.5 * 16000), dtype=np.int16)
    parts = [soundfile.read(espeak_wav(text), dtype="int16")[0] for text in sentences]
    joined = np.concatenate([piece for part in parts for piece in (part, gap)][:-1])
    out = folder / f"speech{len(list(folder.glob('speech*.wav')))}.wav"
    soundfile.write(out, joined, 16000, subtype="PCM_16")
    return out


@pytest.fixture
def speech(espeak_wav, tmp_path):
    """``speech(text, ...)``: one WAV of the sentences with 1.5 s of silence between them."""
    return lambda *sentences: joined_speech(espeak_wav, tmp_path, *sentences)


#: The default beam (5) for the sessions that end with the stop phrase: greedy decoding (the tests'
#: beam 1, for speed) of the short "Stop dictation." utterance, with the second of silence before it
#: that an utterance keeps (utterances.LEAD), sometimes gave "Stop the citation."
DEFAULT_BEAM = {"VOICE_TRANSCRIBER_TRANSCRIPTION__LOCAL__BEAM_SIZE": "5"}


def heard_any(line: str, keywords: tuple[str, ...]) -> bool:
    return any(word in line.lower() for word in keywords)


#: Words that show which sentence an utterance holds: any of them (tiny.en, greedy, on a session captured in
#: real time under load heard "Please end the report on iFriVate." once; "iFriday" now and then)
FIRST_WORDS, SECOND_WORDS = ("report", "friday"), ("meeting", "monday")


def history(isolated_dirs) -> list[dict]:
    path = isolated_dirs / "xdg_state_home" / "voice-transcriber" / "history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def stop_phrase_sessions(pulse, tiny_model_dir, espeak_wav, xvfb, x_window_of_the_session, tmp_path_factory):
    """Two sessions hear one playback of the first sentence, the second and the stop phrase, and end by it: ``plain``
    (``--continuous``, stdout) and ``live`` (``--continuous --live``, typing into the session's X window and
    stdout). Each: ``(exit code, stdout, stderr, the recording, its world's root, its env)``; ``live`` also has
    the window's text once it settled. Said once for both: ~12 s of real-time speech less."""
    folder = tmp_path_factory.mktemp("stop-phrase")
    window = x_window_of_the_session
    assert window.proc.poll() is None, "the session's Tk target window exited"
    empty_window(window)
    assert give_x_focus(xvfb.display, int(window.window_id)), "the session's Tk target window did not take the focus"
    sessions = {}
    for name, args, extra in (
            ("plain", ("--output", "stdout"), {}),
            ("live", ("--live", "--output", "typing,stdout"),
             {"DISPLAY": xvfb.display, "VOICE_TRANSCRIBER_OUTPUT__TYPING__START_DELAY": "0"})):
        env = {**private_world(folder / name, pulse, tiny_model_dir), **DEFAULT_BEAM, **extra}
        sessions[name] = (RecordingProcess("--continuous", *args, "--backend", "local", env=env), env)
    try:
        paths = {name: rec.wait_for_file(recordings_of(folder / name)) for name, (rec, _) in sessions.items()}
        pulse.play(joined_speech(espeak_wav, folder, FIRST, SECOND, STOP)).wait(timeout=30)
        done = {name: (*rec.finish(timeout=60), paths[name], folder / name, env)  # no signal: the stop phrase ends it
                for name, (rec, env) in sessions.items()}
    finally:
        for rec, _ in sessions.values():
            rec.kill_if_running()
    return {**done, "typed": window.settle()}


@pytest.mark.xdist_group("continuous-stop-phrase")
def test_each_utterance_is_delivered_at_its_pause_and_the_stop_phrase_ends_the_session(stop_phrase_sessions):
    code, out, err, path, world, env = stop_phrase_sessions["plain"]

    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert heard_any(lines[0], FIRST_WORDS) and heard_any(lines[1], SECOND_WORDS), out
    assert "stop" not in out.lower() and "dictation" not in out.lower(), "the stop phrase is not delivered"
    assert "continuous dictation ended (the stop phrase was said): 2 utterance(s) delivered" in err, err
    entries = history(world)
    session = path.stem
    assert [e["id"] for e in entries] == [f"{session}-1", f"{session}-2"]
    assert [e["text"] for e in entries] == lines and {e["recording"] for e in entries} == {str(path)}
    assert wav_seconds(path) > 6.0, "the session's recording holds everything that was said"
    assert path.with_suffix(".delivered").exists()
    assert entries[0]["context"] == "" and entries[1]["context"] == entries[0]["raw_text"]
    assert 0 <= entries[0]["start"] < entries[0]["end"] < entries[1]["start"] < entries[1]["end"] < wav_seconds(path)
    # retry of one utterance: its own audio, prompted with the session's text before it, as live (both retries in
    # this process, in the session's world: what they replay is the point, not retry's process, which
    # test_history_cli runs)
    retried = run_in_process("retry", f"{session}-2", "--output", "stdout", env=env)
    assert retried.returncode == 0, retried.stderr.decode()
    assert retried.stdout.decode().strip() == lines[1]
    # retry of the session's recording: the session again, utterance by utterance with its context, the stop
    # phrase taken off: the text it delivered, the utterances joined (not one decode of the whole file)
    replayed = run_in_process("retry", "last", "--output", "stdout", env=env)
    assert replayed.returncode == 0, replayed.stderr.decode()
    assert replayed.stdout.decode().strip() == " ".join(lines)


def test_a_long_silence_ends_the_session_after_delivering_what_was_said(pulse, env, store, speech):
    rec = RecordingProcess("--continuous", "--silence-stop", "2", "--backend", "local", "--output", "stdout", env=env)
    rec.wait_for_file(store)
    pulse.play(speech(FIRST)).wait(timeout=30)
    code, out, err = rec.finish(timeout=60)

    assert code == 0, err
    assert len(out.splitlines()) == 1 and heard_any(out, FIRST_WORDS), out
    assert "continuous dictation ended (stopped by 2 s without speech): 1 utterance(s) delivered" in err, err


@pytest.fixture(scope="module")
def stopped_sessions(pulse, tiny_model_dir, espeak_wav, tmp_path_factory):
    """Two sessions hear one playback of the first sentence and the second, then are stopped: ``ctrl-c`` (a
    ``--continuous`` recorder in the foreground, stdout; SIGINT) and ``toggle`` (`toggle --continuous --wait`:
    a recorder in the background, then `toggle --wait`, as the sway binding of the docs does). ``ctrl-c``:
    ``(exit code, stdout, stderr)``; ``toggle``: ``(the first toggle, the second, its world's root, its env)``.
    Said once for both: ~6 s of real-time speech less."""
    import os
    import re

    folder = tmp_path_factory.mktemp("stopped")
    foreground = private_world(folder / "ctrl-c", pulse, tiny_model_dir)
    background = private_world(folder / "toggle", pulse, tiny_model_dir)
    rec = RecordingProcess("--continuous", "--backend", "local", "--output", "stdout", env=foreground)
    pid = None
    try:
        since = time.monotonic()
        started = run_cli("toggle", "--continuous", "--wait", "--backend", "local", "--output", "stdout", env=background)
        assert started.returncode == 0, started.stderr.decode()
        pid = int(re.search(rb"pid (\d+)", started.stdout).group(1))
        rec.wait_for_file(recordings_of(folder / "ctrl-c"))
        pulse.play(joined_speech(espeak_wav, folder, FIRST, SECOND)).wait(timeout=30)
        heard_until_now(rec.process.pid, rec.started)
        heard_until_now(pid, since)
        rec.signal(signal.SIGINT)
        stopped = run_cli("toggle", "--wait", env=background)
        return {"ctrl-c": rec.finish(timeout=60), "toggle": (started, stopped, folder / "toggle", background)}
    finally:
        rec.kill_if_running()
        if pid is not None and Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)


@pytest.mark.xdist_group("continuous-stopped")
def test_ctrl_c_ends_the_session_and_everything_said_is_delivered(stopped_sessions):
    code, out, err = stopped_sessions["ctrl-c"]

    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and heard_any(lines[0], FIRST_WORDS) and heard_any(lines[1], SECOND_WORDS), out
    assert "stopped by Ctrl-C" in err, err


@pytest.mark.parametrize(("text", "expected"), [
    ("Send it now, stop dictation.", ("Send it now", True)),
    ("Stop dictation.", ("", True)),
    ("stop. Dictation!", ("", True)),
    ("STOP   DICTATION", ("", True)),
    ("I said stop dictation now.", ("I said stop dictation now.", False)),
    ("Nonstop dictation.", ("Nonstop dictation.", False)),
    ("Okay, stop the dictation.", ("Okay", True)),
    ("Stop, uh, the dictation!", ("", True)),
    ("Stop dictation please.", ("Stop dictation please.", False)),
    ("The dictation.", ("The dictation.", False)),
    ("dictation", ("dictation", False)),
    ("", ("", False)),
    ("Stop victation.", ("", True)),  # tiny.en, once in a CI rehearsal: a long word one letter off still stops
    ("Done, stop dictations.", ("Done", True)),
    ("Stop dictaton!", ("", True)),
    ("Stop diction.", ("Stop diction.", False)),  # two letters off
    ("Stop vacation.", ("Stop vacation.", False)),
    ("Stab dictation.", ("Stab dictation.", False)),  # a short word must be heard exactly
    ("Top dictation.", ("", True)),  # tiny.en, once in a CI rehearsal: the utterance's first sound clipped
    ("Top, the dictation!", ("", True)),
    ("Go to the top dictation.", ("Go to the top dictation.", False)),  # only at the utterance's start
    ("Tp dictation.", ("Tp dictation.", False)),
    ("Op dictation.", ("Op dictation.", False)),
    ("Don't stop dictating.", ("Don't stop dictating.", False)),
])
def test_stop_phrase_is_matched_at_the_end_without_case_or_punctuation(text, expected):
    assert split_stop_phrase(text, "stop dictation") == expected


def test_no_stop_phrase_configured_never_stops():
    assert split_stop_phrase("stop dictation", None) == ("stop dictation", False)
    assert split_stop_phrase("It’s over.", "it's over") == ("", True)


@pytest.mark.xdist_group("continuous-stop-phrase")
def test_live_typing_in_a_session_types_each_utterance_after_the_one_before(stop_phrase_sessions):
    code, out, err, *_ = stop_phrase_sessions["live"]

    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and heard_any(lines[0], FIRST_WORDS) and heard_any(lines[1], SECOND_WORDS), out
    assert stop_phrase_sessions["typed"] == " ".join(lines), \
        "typed as delivered, one space between utterances, no stop phrase"


def test_continuous_with_a_file_is_a_usage_error(jfk_path, isolated_dirs):
    from vt_testing.core import run_cli

    done = run_cli("--continuous", "--input", str(jfk_path), timeout=60)
    assert done.returncode == 2
    assert done.stderr.decode().strip() == ("voice-transcriber: error: --continuous records from the microphone; "
                                            "it cannot transcribe files or --input")


class Said(Backend):
    """Answers each utterance with the next of ``texts`` (the delivery worker's view of a backend)."""

    name = "fake-said"
    texts: list[str] = []

    def transcribe(self, audio):
        return Transcript(text=Said.texts.pop(0), backend=self.name)


class FlakySink(Sink):
    name = "flaky"

    def deliver(self, text, transcript):
        if self.ctx.info["utterance"] == 2:
            raise SinkError("flaky: the window went away")


def worker_session(plugin_manager, texts: list[str], *sinks: type[Sink]) -> ContinuousDictation:
    """A session whose delivery worker has handled one utterance per text (no microphone)."""
    Said.texts = list(texts)
    ctx = RunContext(load_settings(), pm=plugin_manager)
    session = ContinuousDictation(ctx, lambda c: Plan([Said(c)], [], [sink(c) for sink in sinks]))
    session.stop = StopControl()
    for index in range(len(texts)):
        session.utterances.put(SpeechSegment(index, index * 48_000, np.full(16_000 + index * 8000, 1000, np.int16)))
    session.utterances.put(None)
    session.deliver_all()
    return session


def test_a_failed_utterance_is_reported_the_session_goes_on_and_ends_with_an_error(plugin_manager, isolated_dirs, capsys):
    session = worker_session(plugin_manager, ["one.", "two.", "three."], FlakySink, ListSink)

    assert ListSink.delivered == ["one.", "two.", "three."], "the other sinks and utterances still get their text"
    assert "utterance 2 (3.0–4.5 s of the recording) was not delivered: flaky: the window went away" in capsys.readouterr().err
    with pytest.raises(VoiceTranscriberError, match=r"^1 utterance\(s\) of the session were not delivered \(utterance 2"):
        session.report()


def test_the_stop_phrase_stops_the_recording_and_nothing_after_it_is_delivered(plugin_manager, isolated_dirs, capsys):
    session = worker_session(plugin_manager, ["Hello there.", "Send it now, stop dictation.", "Too late."], ListSink)

    assert ListSink.delivered == ["Hello there.", "Send it now"]
    assert session.stop.reason == "the stop phrase" and session.stop.requested_at is not None
    session.report()
    assert session.ctx.transcript.text == "Hello there. Send it now", "the session's text, for callers such as the daemon"
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        "voice-transcriber: continuous dictation ended (the stop phrase was said): 2 utterance(s) delivered"


def test_an_utterance_of_only_the_stop_phrase_is_not_reported_as_no_speech(plugin_manager, isolated_dirs, capsys):
    session = worker_session(plugin_manager, ["Hello.", "Stop dictation."], ListSink)

    assert ListSink.delivered == ["Hello."] and session.stop_heard
    assert "no speech" not in capsys.readouterr().err


@pytest.mark.xdist_group("continuous-stopped")
def test_toggle_starts_a_hands_free_session_in_the_background_and_toggle_ends_it(stopped_sessions):
    """What the sway binding of the docs does: `toggle --continuous`, speak, `toggle`."""
    started, stopped, world, env = stopped_sessions["toggle"]

    assert started.returncode == 0, started.stderr.decode()
    assert stopped.returncode == 0, stopped.stderr.decode()
    texts = [entry["text"] for entry in history(world)]
    assert len(texts) == 2 and heard_any(texts[0], FIRST_WORDS) and heard_any(texts[1], SECOND_WORDS), texts
    # the background recorder's session, retried (in this process, in its world, as above): the session again,
    # the text it delivered
    replayed = run_in_process("retry", "last", "--output", "stdout", env=env)
    assert replayed.returncode == 0, replayed.stderr.decode()
    assert replayed.stdout.decode().strip() == " ".join(texts)


def test_each_utterance_is_prompted_with_the_session_so_far_until_a_long_pause_or_new_paragraph():
    from voice_transcriber import Transcript
    from voice_transcriber.capture.continuous import ContinuousDictation
    from voice_transcriber.capture.segmenter import SpeechSegment
    from voice_transcriber.config import load_settings
    from voice_transcriber.context import RunContext

    session = ContinuousDictation(RunContext(load_settings(), quiet=True), make_plan=lambda ctx: None)
    rate = 16_000

    def utterance(start: float) -> SpeechSegment:
        return SpeechSegment(0, int(start * rate), np.zeros(rate, dtype=np.int16))

    assert session._context(utterance(0)) == "", "the first utterance has no context"
    session.delivered.append(Transcript("Dear Anna,", backend="x"))
    session._previous_end = 2 * rate
    assert session._context(utterance(5)) == "Dear Anna,"
    session.delivered.append(Transcript("thanks for the draft.", backend="x").with_text("Thanks for the draft."))
    session._previous_end = 8 * rate
    assert session._context(utterance(10)) == "Dear Anna, thanks for the draft.", "the backend's own words, in order"
    assert session._context(utterance(8 + 30)) == "", "30 s of silence: a new topic"
    session.delivered.append(Transcript("See you soon. New paragraph.", backend="x"))
    assert session._context(utterance(10)) == "", "after 'new paragraph' the context starts afresh"
    session.delivered.append(Transcript("PS: the slides.", backend="x"))
    assert session._context(utterance(10)) == "PS: the slides."
    settings = load_settings()
    settings.input.continuous_context_seconds = None  # null in config.json: off
    off = ContinuousDictation(RunContext(settings, quiet=True), make_plan=lambda ctx: None)
    off.delivered.append(Transcript("Dear Anna,", backend="x"))
    off._previous_end = 0
    assert off._context(utterance(1)) == ""


def test_an_utterance_is_heard_after_the_one_before_unless_off_a_new_topic_or_too_long():
    from voice_transcriber.capture.utterances import OVERLAP_SECONDS, HeardAfter, heard_after

    settings = load_settings().input
    rate = 16_000

    def utterance(start: float, seconds: float) -> SpeechSegment:
        return SpeechSegment(0, int(start * rate), np.zeros(int(seconds * rate), dtype=np.int16))

    before = (utterance(0, 5), " thanks for the draft.")
    assert heard_after(settings, before, "Dear Anna, thanks for the draft.", utterance(6, 4)) == \
        HeardAfter("thanks for the draft.", "Dear Anna,"), "its text held fixed, the text before it the prompt"
    assert heard_after(settings, None, "", utterance(6, 4)) is None, "the first utterance"
    assert heard_after(settings, before, "", utterance(6, 4)) is None, "a new topic (long pause, 'new paragraph')"
    assert heard_after(settings, before, "Dear Anna, thanks for the draft.", utterance(6, OVERLAP_SECONDS)) is None, \
        "both together longer than Whisper's window allows"
    settings.continuous_overlap = False
    assert heard_after(settings, before, "Dear Anna, thanks for the draft.", utterance(6, 4)) is None
