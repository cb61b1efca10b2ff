"""Run by tests/test_isolation.py in a child pytest (not collected by the suite itself).

A full pipeline run (file → fake backend → fake sink, with the tracker publishing the run's
state and history) inside the test suite's isolation; it records where its state went.
"""

from __future__ import annotations

import json
import os
import wave
from pathlib import Path

ENV_AT_IMPORT = {var: os.environ.get(var) for var in
                 ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR")}


def test_a_full_pipeline_run(cli, tmp_path):
    audio = tmp_path / "one-second.wav"
    with wave.open(str(audio), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(32000))
    result = cli("--input", str(audio), "-b", "fake-duration", "-o", "fake-list")
    assert result.exit_code in (0, None), result.output

    runs = list(Path(os.environ["XDG_RUNTIME_DIR"], "voice-transcriber", "runs").glob("*.json"))
    history = Path(os.environ["XDG_STATE_HOME"], "voice-transcriber", "history.jsonl")
    assert runs and history.exists()  # the run really wrote its state: into the test's own dirs
    report = {"at_import": ENV_AT_IMPORT, "in_test": {var: os.environ.get(var) for var in ENV_AT_IMPORT},
              "run_files": [str(path) for path in runs], "history": str(history)}
    Path(os.environ["VOICE_TRANSCRIBER_TEST_PROBE_REPORT"]).write_text(json.dumps(report), encoding="utf-8")
