"""Permissions: 0700 directories and 0600 files whatever the umask; never writing through a planted symlink."""

from __future__ import annotations

import os
import stat
import wave
from contextlib import contextmanager
from pathlib import Path

import pytest

from voice_transcriber import history
from voice_transcriber.files import UnsafePathError, open_private, private_dir, write_private_atomic
from voice_transcriber.recordings import RecordingFile, fallback_dir, recordings_dir
from vt_testing.core import run_cli

ENTRY = history.HistoryEntry(id="20261125-120000-abc123", timestamp="2026-11-25T12:00:00Z", text="secret words",
                             raw_text="secret words")


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def victim(tmp_path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    path.chmod(0o644)
    return path


@pytest.mark.parametrize("mask", [0o000, 0o777])
def test_config_init_makes_0700_dirs_and_a_0600_file_whatever_the_umask(isolated_dirs, mask):
    config_home = isolated_dirs / "fresh-config-home"
    with umask(mask):
        result = run_cli("config", "init", env={"XDG_CONFIG_HOME": str(config_home)})
    assert result.returncode == 0, result.stderr
    assert mode(config_home) == 0o700 and mode(config_home / "voice-transcriber") == 0o700
    assert mode(config_home / "voice-transcriber" / "config.json") == 0o600


def test_history_and_recordings_are_private_under_umask_000(isolated_dirs):
    with umask(0):
        history.append(ENTRY)
        recording = RecordingFile("20261125-120000-abc123", warn=pytest.fail)
        recording.write(b"\0\0" * 100)
        recording.close()
    state = history.history_path().parent
    assert mode(state) == 0o700 and mode(history.history_path()) == 0o600
    assert mode(recordings_dir()) == 0o700 and mode(recording.path) == 0o600


def test_config_init_refuses_a_symlinked_config_file(write_config, victim):
    path = write_config("{}")
    path.unlink()
    path.symlink_to(victim)
    for args in (("config", "init"), ("config", "init", "--force")):
        result = run_cli(*args)
        err = result.stderr.decode()
        assert result.returncode == 2 and err.count("\n") == 1 and "is a symlink to" in err and "rm " in err
    assert victim.read_text() == "precious\n" and mode(victim) == 0o644


def test_history_refuses_a_symlink_and_leaves_its_target_alone(victim):
    path = history.history_path()
    path.parent.mkdir(parents=True)
    path.symlink_to(victim)
    with pytest.raises(UnsafePathError, match="is a symlink to"):
        history.append(ENTRY)
    assert victim.read_text() == "precious\n" and mode(victim) == 0o644
    path.unlink()
    path.symlink_to(victim.parent / "not-there-yet.txt")  # a dangling link must not create its target either
    with pytest.raises(UnsafePathError):
        history.append(ENTRY)
    assert not (victim.parent / "not-there-yet.txt").exists()


def test_a_transcript_is_still_delivered_when_the_history_is_a_symlink(cli, tmp_path, victim):
    wav = tmp_path / "one-second.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes(b"\0\1" * 16000)
    path = history.history_path()
    path.parent.mkdir(parents=True)
    path.symlink_to(victim)
    result = cli("--input", str(wav), "--backend", "fake-duration", "--output", "fake-list")
    assert result.exit_code == 0
    assert "could not add the transcript to the history" in result.stderr and "is a symlink" in result.stderr
    assert victim.read_text() == "precious\n"


def test_a_symlinked_recording_path_moves_the_recording_to_the_fallback(isolated_dirs, monkeypatch, victim):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(isolated_dirs / "runtime"))
    (isolated_dirs / "runtime").mkdir(mode=0o700)
    recordings_dir().mkdir(parents=True, mode=0o700)
    (recordings_dir() / "20261125-120000-abc123.wav").symlink_to(victim)
    warnings: list[str] = []
    recording = RecordingFile("20261125-120000-abc123", warn=warnings.append)
    recording.write(b"\1\0" * 100)
    recording.close()
    assert recording.path == fallback_dir() / "20261125-120000-abc123.wav" and recording.path.stat().st_size == 244
    assert len(warnings) == 1 and "is a symlink to" in warnings[0]
    assert victim.read_text() == "precious\n"


def test_open_private_refuses_fifos_and_tightens_modes(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError):  # no reader: never a hang, and never written to
        open_private(fifo, os.O_WRONLY | os.O_APPEND)
    loose = tmp_path / "loose"
    loose.write_text("")
    loose.chmod(0o666)
    os.close(open_private(loose, os.O_WRONLY | os.O_APPEND))
    assert mode(loose) == 0o600


def test_private_dir_refuses_a_symlinked_directory_unless_asked_to_follow_it(tmp_path):
    real = private_dir(tmp_path / "real")
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(UnsafePathError, match="is a symlink"):
        private_dir(link)
    assert private_dir(link, follow_symlink=True) == link


def test_write_private_atomic_replaces_the_file_privately_and_refuses_a_symlinked_folder(tmp_path, victim):
    target = tmp_path / "state" / "index.json"
    with umask(0o000):
        write_private_atomic(target, "old")
        write_private_atomic(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o600 and mode(target.parent) == 0o700
    assert [path.name for path in target.parent.iterdir()] == ["index.json"]  # no temporary file left
    link = tmp_path / "linked"
    link.symlink_to(victim.parent)
    with pytest.raises(UnsafePathError, match="is a symlink"):
        write_private_atomic(link / "index.json", "secret")
    assert victim.read_text() == "precious\n" and not (victim.parent / "index.json").exists()
