"""History: every transcript is appended (also when a sink fails), listed, shown, re-delivered; retry."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from voice_transcriber import Backend, BackendError, Sink, SinkError, hookimpl, history
from voice_transcriber.errors import UsageError
from voice_transcriber.recordings import recordings_dir
from vt_testing.core import ListSink, run_cli, run_in_process
from vt_testing.speech import JFK_TEXT, wer


class BrokenSink(Sink):
    name = "broken"

    def deliver(self, text, transcript):
        raise SinkError("broken: the target window is gone (focus a window and retry)")


class DownBackend(Backend):
    name = "down"

    def transcribe(self, audio):
        raise BackendError("down: server unreachable at http://127.0.0.1:9 (start it or pick another backend)")


class ExtraComponents:
    @hookimpl
    def vt_register_sinks(self, register):
        register(BrokenSink)

    @hookimpl
    def vt_register_backends(self, register):
        register(DownBackend)


@pytest.fixture
def extra(plugin_manager):
    plugin_manager.register_plugin(ExtraComponents(), "extra")
    try:
        yield
    finally:
        plugin_manager.unregister(name="extra")


@pytest.fixture
def stored_recording(jfk_path) -> Path:
    """The JFK sample as the recorder would leave it: a 16 kHz mono 16-bit WAV named by a run id."""
    folder = recordings_dir()
    folder.mkdir(parents=True, mode=0o700)
    path = folder / "20261125-120000-abc123.wav"
    subprocess.run(["sox", "-D", str(jfk_path), "-r", "16000", "-c", "1", "-b", "16", str(path)], check=True)
    return path


def run_fake(cli, *args):
    return cli("--backend", "fake-duration", "--format", "fake-upper", *args)


def test_history_records_every_transcript_with_details(cli, jfk_path):
    run_fake(cli, "--input", str(jfk_path), "--output", "fake-list")
    run_fake(cli, "--input", str(jfk_path), "--output", "fake-list")
    entries = history.load()
    assert len(entries) == 2 and entries[0].id != entries[1].id
    entry = entries[-1]
    assert (entry.text, entry.raw_text) == ("11.0 SECONDS OF AUDIO", "11.0 seconds of audio")
    assert entry.backend == "fake-duration" and entry.audio_duration == 11.0
    assert {"transcribe", "format", "deliver"} <= set(entry.durations)
    assert entry.sinks_delivered == ["fake-list"] and entry.sinks_failed == [] and entry.error is None
    assert entry.recording is None and entry.timestamp.endswith("Z")
    assert stat.S_IMODE(history.history_path().stat().st_mode) == 0o600


def test_history_list_json_and_show(cli, jfk_path):
    run_fake(cli, "--input", str(jfk_path), "--output", "fake-list")
    entry = history.get("last")
    listing = cli("history").output
    assert entry.id in listing and "11.0 SECONDS OF AUDIO" in listing and "fake-duration" in listing
    records = json.loads(cli("history", "--json", "-n", "5").output)
    assert [r["id"] for r in records] == [entry.id] and records[0]["raw_text"] == "11.0 seconds of audio"
    assert cli("history", "show").output == "11.0 SECONDS OF AUDIO\n"
    assert cli("history", "show", entry.id[-6:], "--raw").output == "11.0 seconds of audio\n"
    assert json.loads(cli("history", "show", entry.id[:15], "--json").output)["id"] == entry.id
    with pytest.raises(UsageError, match="'nope' is not in the history"):
        cli("history", "show", "nope")


def test_history_is_written_when_a_sink_fails(cli, extra, jfk_path):
    with pytest.raises(SinkError) as failure:
        run_fake(cli, "--input", str(jfk_path), "--output", "fake-list,broken")
    entry = history.get("last")
    assert entry.text == "11.0 SECONDS OF AUDIO"
    assert entry.sinks_delivered == ["fake-list"] and entry.sinks_failed == ["broken"]
    assert "target window is gone" in entry.error
    assert f"voice-transcriber history show {entry.id} --output" in str(failure.value)


def test_history_show_output_delivers_again_without_a_new_entry(cli, jfk_path):
    run_fake(cli, "--input", str(jfk_path), "--output", "stdout")
    ListSink.delivered = []
    cli("history", "show", "last", "--output", "fake-list")
    assert ListSink.delivered == ["11.0 SECONDS OF AUDIO"]
    assert len(history.load()) == 1


def test_library_api_load_get(cli, jfk_path):
    for _ in range(3):
        run_fake(cli, "--input", str(jfk_path), "--output", "fake-list")
    with history.history_path().open("a") as out:
        out.write('{"id": "cut-short-by-a-cr')  # a crash mid-line must not hide the other entries
    entries = history.load()
    assert len(entries) == 3 and [e.id for e in history.load(limit=2)] == [e.id for e in entries[1:]]
    assert history.get("last") == entries[-1] and history.get(entries[0].id).text == "11.0 SECONDS OF AUDIO"
    with pytest.raises(UsageError, match="several entries"):
        history.get("2")  # every id starts with the year


def test_empty_history(cli):
    assert cli("history", "--json").output.strip() == "[]"
    with pytest.raises(UsageError, match="history is empty"):
        history.get("last")


def test_retry_runs_a_stored_recording_with_other_options(cli, stored_recording, monkeypatch):
    monkeypatch.setenv("VOICE_TRANSCRIBER_INPUT__STREAMING", "false")  # the whole file at once (see the next test)
    cli("retry", "--backend", "fake-duration", "--output", "fake-list")
    assert ListSink.delivered == ["11.0 seconds of audio"]
    entry = history.get("last")
    assert entry.recording == str(stored_recording) and entry.text == "11.0 seconds of audio"
    cli("retry", "20261125-120000", "--backend", "fake-duration", "--format", "fake-upper", "--output", "fake-list")
    assert ListSink.delivered[-1] == "11.0 SECONDS OF AUDIO"


def test_retry_replays_a_recording_phrase_by_phrase_as_it_was_streamed(cli, stored_recording):
    cli("retry", "--backend", "fake-duration", "--output", "fake-list")
    phrases = ListSink.delivered[0].split(" seconds of audio")[:-1]
    assert len(phrases) >= 2, ListSink.delivered  # jfk.flac's pauses cut it, as while recording
    assert 9.0 <= sum(float(seconds) for seconds in phrases) <= 11.0, "all the speech, without the pauses between phrases"


def test_backend_failure_names_the_recording_and_the_retry_command(cli, extra, stored_recording, monkeypatch):
    monkeypatch.setenv("VOICE_TRANSCRIBER_INPUT__STREAMING", "false")
    with pytest.raises(BackendError) as failure:
        cli("retry", "last", "--backend", "down", "--output", "fake-list")
    message = str(failure.value)
    assert "server unreachable" in message and str(stored_recording) in message
    assert "`voice-transcriber retry 20261125-120000-abc123`" in message
    assert history.load() == []  # no transcript, no entry; the recording is what is kept
    cli("retry", "20261125-120000-abc123", "--backend", "fake-duration", "--output", "fake-list")
    assert ListSink.delivered == ["11.0 seconds of audio"]


def test_retry_unknown_recording_is_one_clear_line():
    result = run_cli("retry", "nope")
    assert result.returncode == 2
    assert result.stderr.decode().strip() == "voice-transcriber: error: no recordings yet in " \
        f"{recordings_dir()} (record one: run `voice-transcriber`)"


@pytest.mark.slow
def test_retry_with_the_local_backend_in_a_real_process(stored_recording):
    result = run_cli("retry", "last", "--backend", "local", "--output", "stdout", "--no-format")
    assert result.returncode == 0, result.stderr.decode()
    assert wer(JFK_TEXT, result.stdout.decode()) < 0.2
    shown = run_in_process("history", "show", "last", "--json")  # the entry the real process wrote, read here
    entry = json.loads(shown.stdout)
    assert entry["backend"] == "local" and entry["model"] == "tiny.en" and entry["recording"] == str(stored_recording)
    assert entry["audio_duration"] == pytest.approx(11.0, abs=0.1)
    assert os.environ["XDG_STATE_HOME"] in str(history.history_path())
    assert shutil.which("sox")


def test_retry_makes_the_rolling_commits_the_live_run_kept_in_its_history_entry(cli, stored_recording, monkeypatch):
    """``input.streamingCommit``: where the live run cut the phrase being spoken is part of its history
    entry; ``retry`` of that recording (by id or ``last``) hands those commits to the replay, so that it
    cuts the same. An entry with malformed commits is reported as damaged, not used."""
    import voice_transcriber.streaming as streaming
    from voice_transcriber.streaming import stored

    monkeypatch.setenv("VOICE_TRANSCRIBER_INPUT__STREAMING_COMMIT", "true")  # as the live run had it
    live = [[65536, 65600, 5], [112640, 114400, 9]]
    history.append(history.HistoryEntry(id="20261125-120000-abc123", timestamp="2026-11-25T12:00:00Z", text="live",
                                        raw_text="live", recording=str(stored_recording), commits=live))
    handed: list[list[streaming.Commit] | None] = []
    replay = stored.replay
    monkeypatch.setattr(stored, "replay", lambda ctx, backend, audio, commits=None, simulate=False:
                        handed.append(commits) or replay(ctx, backend, audio, commits, simulate))
    cli("retry", "--backend", "fake-duration", "--output", "fake-list")
    cli("retry", "20261125-120000-abc123", "--backend", "fake-duration", "--output", "fake-list")

    assert handed == [[streaming.Commit(*commit) for commit in live]] * 2
    assert history.get("last").commits is None, "the fake backend gives no word timings: nothing to commit"
    with pytest.raises(ValueError, match="'commits' is not"):
        history.HistoryEntry.from_dict({"id": "x", "timestamp": "t", "text": "", "raw_text": "", "commits": [[1, 2]]})
