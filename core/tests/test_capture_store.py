"""The recordings store: streamed WAV files, permissions, fallback, repair, find, prune."""

from __future__ import annotations

import os
import stat
import wave
from pathlib import Path

import numpy as np
import pytest

from voice_transcriber import UsageError, recordings
from voice_transcriber.config import load_settings
from voice_transcriber.context import RunContext
from voice_transcriber.recordings import RecordingFile


@pytest.fixture
def runtime(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "runtime"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    return folder


def tone(seconds: float) -> bytes:
    t = np.arange(int(seconds * 16000)) / 16000
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16).tobytes()


def frames_on_disk(path: Path) -> int:
    with wave.open(str(path)) as wav:
        return wav.getnframes()


def test_the_file_is_private_and_valid_while_it_is_being_written(isolated_dirs):
    warnings: list[str] = []
    file = RecordingFile("20260101-000000-aaaaaa", warn=warnings.append)
    assert file.path.parent == recordings.recordings_dir()
    assert stat.S_IMODE(file.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(file.path.parent.stat().st_mode) == 0o700
    assert frames_on_disk(file.path) == 0, "a valid empty WAV from the first moment"
    file.write(tone(0.3))
    assert frames_on_disk(file.path) == 0, "not flushed yet: under half a second"
    file.write(tone(0.3))
    assert frames_on_disk(file.path) == int(0.6 * 16000), "flushed with its header, readable mid-recording"
    file.write(tone(0.1))
    file.close()
    assert frames_on_disk(file.path) == int(0.7 * 16000)
    assert warnings == []


def test_an_unwritable_state_dir_falls_back_with_one_warning(isolated_dirs, runtime, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker / "state"))
    warnings: list[str] = []
    file = RecordingFile("20260101-000000-bbbbbb", warn=warnings.append)
    file.write(tone(1.0))
    file.close()
    assert file.path == runtime / "voice-transcriber" / "recordings" / "20260101-000000-bbbbbb.wav"
    assert frames_on_disk(file.path) == 16000
    assert len(warnings) == 1 and "cannot write recordings to" in warnings[0] and str(file.path) in warnings[0]
    assert recordings.find("last") == file.path, "find() looks in the fallback dir too"


def test_a_write_error_mid_recording_rewrites_everything_in_the_fallback(isolated_dirs, runtime, monkeypatch):
    warnings: list[str] = []
    file = RecordingFile("20260101-000000-cccccc", warn=warnings.append)
    first = file.path
    file.write(tone(1.0))
    real_append = RecordingFile._append

    def disk_full_once(self, chunks):
        monkeypatch.setattr(RecordingFile, "_append", real_append)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RecordingFile, "_append", disk_full_once)
    file.write(tone(1.0))
    file.write(tone(0.5))
    file.close()
    assert not first.exists(), "the partial copy is removed"
    assert file.path.parent == runtime / "voice-transcriber" / "recordings"
    assert frames_on_disk(file.path) == int(2.5 * 16000), "no sample lost"
    assert len(warnings) == 1 and "No space left on device" in warnings[0]


def test_repair_recovers_samples_written_after_the_last_header_update(isolated_dirs):
    file = RecordingFile("20260101-000000-dddddd", warn=print)
    file.write(tone(1.0))
    file.flush()
    with open(file.path, "ab") as raw:  # what a writer killed between data and header leaves
        raw.write(tone(0.5))
    assert frames_on_disk(file.path) == 16000
    audio = recordings.load("20260101-000000-dddddd")
    assert frames_on_disk(file.path) == 24000
    assert len(audio.pcm()) == 24000
    assert recordings.repair(file.path) is False, "idempotent"


def make_recordings(count: int) -> list[Path]:
    paths = []
    for i in range(count):
        file = RecordingFile(f"20260101-0000{i:02d}-abcdef", warn=print)
        file.close()
        paths.append(file.path)
    return paths


def test_find_by_last_id_prefix_and_the_errors(isolated_dirs):
    with pytest.raises(UsageError, match="no recordings yet"):
        recordings.find("last")
    paths = make_recordings(3)
    assert recordings.find("last") == paths[-1]
    assert recordings.find(paths[0].stem) == paths[0]
    assert recordings.find("20260101-000001") == paths[1]
    with pytest.raises(UsageError, match="ambiguous"):
        recordings.find("20260101")
    with pytest.raises(UsageError, match="no recording 'nope'"):
        recordings.find("nope")


def test_prune_deletes_only_delivered_recordings_beyond_the_newest_n(isolated_dirs):
    paths = make_recordings(5)
    for path in paths[1:]:
        path.with_suffix(".delivered").touch()
    removed = recordings.prune(keep=2)
    assert removed == paths[1:3]
    assert recordings.list_recordings() == [paths[0], *paths[3:]], "the undelivered oldest one stays"
    assert not paths[1].with_suffix(".delivered").exists()


def test_settle_marks_the_run_delivered_and_applies_keep_recordings(isolated_dirs):
    paths = make_recordings(3)
    for path in paths[:2]:
        path.with_suffix(".delivered").touch()
    ctx = RunContext(load_settings(overrides={"input.keepRecordings": 1}))
    ctx.info["recording"] = str(paths[2])
    recordings.settle(ctx)
    assert recordings.list_recordings() == [paths[2]] and recordings.is_delivered(paths[2])


def test_fallback_dir_without_a_runtime_dir_is_private_in_tmp(monkeypatch):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    assert recordings.fallback_dir() == Path(f"/tmp/voice-transcriber-{os.getuid()}/recordings")
