"""The command line's exit skips Python's last garbage collection (``runner._skip_exit_collection``)."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from voice_transcriber import runner


def test_every_exit_path_freezes_the_objects_once_before_the_last_collection(monkeypatch):
    registered = []
    monkeypatch.setattr("atexit.register", registered.append)
    monkeypatch.setattr(runner, "_exit_collection_skipped", False)
    with pytest.raises(SystemExit) as ok:
        runner.exit_after(lambda: 0, debug=False)
    with pytest.raises(SystemExit) as failed:
        runner.exit_after(lambda: 1 / 0, debug=False)
    assert (ok.value.code, failed.value.code) == (0, 1)
    assert registered == [gc.freeze]


def test_a_process_exiting_so_still_runs_its_exit_handlers_and_flushes_its_output(tmp_path):
    """Frozen objects are skipped by the collection only: exit handlers run, buffered output and
    files written without closing them explicitly still reach the disk."""
    done = tmp_path / "handler-ran"
    code = f"""
import atexit, sys
from voice_transcriber import runner
atexit.register(lambda: open({str(done)!r}, "w").write("yes"))
log = open({str(tmp_path / 'log')!r}, "w")
log.write("unflushed")
sys.stdout.write("buffered")
runner.exit_after(lambda: 3, debug=False)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (3, "buffered", "")
    assert done.read_text() == "yes"
    assert (tmp_path / "log").read_text() == "unflushed"
